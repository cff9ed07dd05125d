import TaskCore

/// One line of the change log: which workspace changed, how, and its sequence number after the change.
///
/// `sequence` equals the workspace document's `seq` once the change is applied, so a follower holding a copy of the
/// state at sequence `n` applies a record with `n + 1`, ignores one with `≤ n` and re-reads on anything else.
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
}
