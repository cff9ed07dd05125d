/// The steps of a write where a test can make the store fail or die, to prove that a crash or an I/O error at any
/// of them loses no acknowledged change and half-applies nothing.
///
/// Only a hook given in `StoreOptions.faultHook` ever sees them, and only the test probe (`taskd-store-probe`, armed
/// by `TASKD_STORE_FAULT`) installs one; the servers and `taskctl` never do, so in production each point is one
/// check of a `nil` optional.
public enum FaultPoint: String, CaseIterable, Sendable {
    /// The batch's lines were written to the journal; the fdatasync has not run.
    case afterAppend = "after-append"
    /// The fdatasync returned: the batch is durable, nobody has been told.
    case afterSync = "after-sync"
    /// The change-log records of a durable batch were appended; the callers have not been answered.
    case afterChangeLog = "after-change-log"
    /// A new checkpoint is complete and fsynced under its temporary name; it has not been renamed.
    case beforeCheckpointRename = "before-checkpoint-rename"
    /// The new checkpoint was renamed into place (and its directory fsynced); the journal still holds its records.
    case afterCheckpointRename = "after-checkpoint-rename"
    /// The journal was replaced by a new one that starts at the checkpoint (or a torn tail was truncated).
    case afterJournalRotate = "after-journal-rotate"
    /// A durable batch's change-log records are about to be appended: the wait for `changes.lock` begins. Failing
    /// here is that wait running out (or the log failing): the batch stays committed, only unannounced.
    case changeLogLock = "change-log-lock"
    /// A failed batch's lines are about to be cut off the journal again (also each later retry of that cut).
    /// Failing here is the cut failing: the lines stay in the journal until a retry succeeds. Reached only after a
    /// write failed, so the crash tests, which fail nothing, never see it (`isOnEveryWrite`).
    case rollBack = "roll-back"

    /// Whether every write passes this point when nothing fails (a crash test kills a writer there).
    public var isOnEveryWrite: Bool { self != .rollBack }
}

/// What a fault hook decides at a point: carry on, or fail the step as if a system call had set `errno`.
public enum FaultAction: Sendable {
    case proceed
    case fail(errno: Int32)
}
