import Glibc
import Synchronization
import TaskCore

// Design note: a failed append that cannot be taken back.
//
// A batch's lines are appended, then fdatasynced. When either step fails, nobody has been told of the batch and its
// callers are answered 503, so the lines must go: the leader cuts the journal back to where the batch began
// (ftruncate, then fdatasync). If the cut fails too (a disk that failed the write may well fail it as well), the
// journal keeps complete lines with good checks, which any reader takes for committed changes and the next write
// would build on: a change answered 503 would become committed. So the leader does not let go of the workspace: the
// descriptor holding its lock moves here, and the workspace is unavailable in this process until the cut succeeds.
// Every later read and write of it retries the cut first, without waiting (one thread retries at a time; the others
// answer at once), and answers `rollbackPending` (503) while it still fails. Once the cut has succeeded, the lock is
// released and the workspace is used as before.
//
// Other processes do not share this registry. Their writers wait for the held lock and answer 503 when their wait
// runs out; their readers, which take no lock, see the lines until the cut succeeds; and if this process ends before
// it does, the kernel drops the lock and the lines stay, indistinguishable from a committed change. The error logged
// at the failure names the workspace, the journal and the offset to cut at (docs/state-directory.md says what an
// operator does).

/// The journals of this process that still hold the lines of a failed batch, each with the workspace lock kept until
/// they are cut off.
final class UncutJournals: Sendable {
    /// One journal to cut back.
    struct Cut: Sendable {
        let journal: String
        /// The journal file the lines are in (a journal replaced since holds none of them); `nil` when even `fstat`
        /// failed.
        let identity: Syscall.FileIdentity?
        /// Where the failed batch began: the journal's length to cut back to.
        let length: Int64
    }

    private struct Entry {
        let cut: Cut
        /// The descriptor holding the workspace's lock; closing it releases the lock.
        let lockDescriptor: Int32
        /// A thread is retrying the cut now.
        var isCutting = false
    }

    private let entries = Monitor<[WorkspaceKey: Entry]>([:])
    /// How many entries there are: lets every read skip the registry's mutex while no cut is pending (the usual case).
    private let count = Atomic<Int>(0)

    /// Keeps the workspace's lock (`lockDescriptor`, owned from now on by this registry) until `cut` succeeds.
    func add(_ key: WorkspaceKey, _ cut: Cut, lockDescriptor: Int32) {
        let replaced: Int32? = entries.withValue { entries in
            let previous = entries[key]?.lockDescriptor
            entries[key] = Entry(cut: cut, lockDescriptor: lockDescriptor)
            if previous == nil { count.add(1, ordering: .releasing) }
            return previous
        }
        // Not expected (a pending cut keeps the lock, so no batch of this process can fail on the workspace again).
        if let replaced, replaced != lockDescriptor { Syscall.close(replaced) }
    }

    /// Returns `false` at once when no cut is pending for `key`. Otherwise retries it with `attempt`, unless another
    /// thread is retrying it right now, and releases the lock once it succeeds (`true`); throws `rollbackPending`
    /// while it does not.
    func settle(_ key: WorkspaceKey, attempt: (Cut) throws(StoreError) -> Void) throws(StoreError) -> Bool {
        guard count.load(ordering: .acquiring) > 0 else { return false }
        let claimed: Cut? = try entries.withValue { (entries) throws(StoreError) -> Cut? in
            guard var entry = entries[key] else { return nil }
            guard !entry.isCutting else { throw .rollbackPending(path: entry.cut.journal) }
            entry.isCutting = true
            entries[key] = entry
            return entry.cut
        }
        guard let claimed else { return false }
        do {
            try attempt(claimed)
        } catch {
            entries.withValue { $0[key]?.isCutting = false }
            throw .rollbackPending(path: claimed.journal)
        }
        let lockDescriptor: Int32? = entries.withValue { entries in
            let removed = entries.removeValue(forKey: key)
            if removed != nil { count.subtract(1, ordering: .releasing) }
            return removed?.lockDescriptor
        }
        if let lockDescriptor { Syscall.close(lockDescriptor) }
        return true
    }
}
