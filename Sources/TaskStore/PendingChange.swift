import TaskCore

/// One change waiting to be committed: the caller's body, and what became of it.
///
/// The body runs on whichever thread leads the batch that takes the change (see `CommitQueue`), at most once; its
/// result or error is read by the caller's thread after the queue marked the change finished.
final class PendingChange: @unchecked Sendable {
    // @unchecked Sendable: `status` is only read or written with the owning queue's monitor held. `body` and
    // `failure` are touched by one thread at a time, handed over through that monitor: the leader that took the
    // change (status `.taken`) runs and clears the body and sets `failure` before it marks the change `.finished`;
    // the caller reads `failure` only after it saw `.finished`, or clears the body itself after withdrawing the change
    // while it was still `.waiting` (so no leader ever saw it).
    enum Status {
        /// In the queue, not yet part of a batch.
        case waiting
        /// Part of a batch a leader is committing.
        case taken
        /// Handed the lead: the caller's thread commits the next batch itself.
        case promoted
        /// Committed, or failed; `failure` says which.
        case finished
    }

    var status = Status.waiting
    let deadline: Deadline
    private var body: ((inout WorkspaceState) throws -> TaskChange?)?
    private(set) var failure: (any Error)?

    init(deadline: Deadline, body: @escaping (inout WorkspaceState) throws -> TaskChange?) {
        self.deadline = deadline
        self.body = body
    }

    /// Runs the body on `state` (which it may change); the change it made, or `nil` when it made none. A body that
    /// throws leaves its error here and `state` as it was.
    func run(on state: inout WorkspaceState) -> TaskChange? {
        guard let body else { return nil }
        self.body = nil
        var candidate = state
        do {
            let change = try body(&candidate)
            if change != nil { state = candidate }
            return change
        } catch {
            failure = error
            return nil
        }
    }

    /// Records why the change did not commit (its batch's write failed, or its lock wait ran out).
    func fail(_ error: any Error) {
        body = nil
        failure = error
    }

    /// Drops the body without running it (the caller withdrew the change).
    func discard() {
        body = nil
    }
}
