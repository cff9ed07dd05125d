/// One line of a workspace journal.
public enum JournalEntry: Hashable, Sendable {
    /// The first line: the journal continues the state at sequence `base`, whose chain value is `chain`.
    case header(base: UInt64, chain: UInt32)
    /// A committed change; `previous` is the chain value of the state it applies to.
    case change(StateDelta, previous: UInt32)
}

/// A journal line read back: what it says and its check value, which is also the chain value of the state after it.
public struct JournalLine: Hashable, Sendable {
    public let entry: JournalEntry
    public let check: UInt32

    public init(entry: JournalEntry, check: UInt32) {
        self.entry = entry
        self.check = check
    }
}
