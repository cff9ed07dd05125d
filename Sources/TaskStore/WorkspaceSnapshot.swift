import TaskCore

/// A decoded workspace together with what it was read from, so that the next read can tell with one `stat` whether
/// anything changed since (and, when the journal only grew, read just the new lines).
struct WorkspaceSnapshot: Sendable {
    /// Where a journal stood when it was read.
    struct JournalPosition: Sendable {
        /// The journal as `fstat` saw it when it was read (its size may include a torn or unfinished tail).
        var identity: Syscall.FileIdentity
        /// The byte after the last good line.
        var validEnd: Int64
        /// Where the last good line starts, and its check value: an incremental read first finds that line again,
        /// so a journal cut back and rewritten since is noticed.
        var lastLineStart: Int64
        var lastLineCheck: UInt32
        /// The checkpoint as `stat` saw it when the journal was read (`nil`: none). Checked too, so that a
        /// checkpoint replaced or damaged behind the store's back is noticed at once.
        var checkpoint: Syscall.FileIdentity?
    }

    enum Source: Sendable {
        /// No file at all: the workspace was never written.
        case nothing
        /// Version 1's `state.json`, not yet converted.
        case legacy(Syscall.FileIdentity)
        /// A checkpoint without a journal (a conversion interrupted between the two).
        case checkpointOnly(Syscall.FileIdentity)
        case journal(JournalPosition)
    }

    var state: WorkspaceState
    /// The chain value of `state`: the check of the journal line that produced it, or the checkpoint's `chain`.
    var chain: UInt32
    var source: Source

    static let nothing = WorkspaceSnapshot(state: .empty, chain: 0, source: .nothing)

    var journalPosition: JournalPosition? {
        if case .journal(let position) = source { return position }
        return nil
    }
}
