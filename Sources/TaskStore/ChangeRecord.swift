import TaskCore

/// One line of the change log: which workspace changed, how, and its sequence number after the change.
///
/// `sequence` equals the workspace document's `seq` once the change is applied, so a follower holding a copy of the
/// state at sequence `n` applies a record with `n + 1`, ignores one with `≤ n` and re-reads on anything else.
///
/// The log is read as untrusted input like every stored file: decoding checks the sequence and every number of the
/// change against `StoredLimits`, and the names against their rules, so a follower never applies a value that could
/// make its arithmetic trap.
public struct ChangeRecord: Codable, Hashable, Sendable {
    public let sequence: UInt64
    public let key: WorkspaceKey
    public let change: TaskChange

    public init(sequence: UInt64, key: WorkspaceKey, change: TaskChange) {
        self.sequence = sequence
        self.key = key
        self.change = change
    }

    enum CodingKeys: String, CodingKey {
        case sequence = "seq"
        case key
        case change
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.sequence = try container.decode(UInt64.self, forKey: .sequence)
        self.key = try container.decode(WorkspaceKey.self, forKey: .key)
        self.change = try container.decode(TaskChange.self, forKey: .change)
        do throws(WireFormatError) {
            try StoredLimits.check(sequence: sequence, in: StoredLimits.changeSequences)
            try StoredLimits.check(change)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: container.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(sequence, forKey: .sequence)
        try container.encode(key, forKey: .key)
        try container.encode(change, forKey: .change)
    }
}
