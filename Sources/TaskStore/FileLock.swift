import Glibc

// Design note: locking.
//
// Every read-modify-write of a workspace holds `flock(LOCK_EX)` on that workspace's `lock` file, a file that exists
// only to be locked and is never renamed or replaced. `flock` locks belong to the open file description, so two
// threads of one process that each open the file exclude each other exactly like two processes do, and the kernel
// drops the lock when the holder dies (even by SIGKILL): a crashed writer can never leave a workspace locked.
// POSIX `fcntl` record locks are not used: they belong to the process, so a second thread would silently share the
// first one's lock, and closing any descriptor of the file releases them all.
//
// The document itself is replaced by rename, so it must never be the locked file (a lock on the old inode would not
// exclude a writer who opened the new one). The same pattern guards the per-tenant workspace count (`.lock` in the
// tenant directory), open mode's counts of tenants and workspaces (`workspaces/.usage`, which also holds them: it is
// rewritten in place, never renamed), the keys file (`<keys file>.lock`) and the change log's rotation
// (`changes.lock`: appenders hold it shared, the rotating writer exclusive). Every wait for a lock on the write path
// ends at a deadline (`init(path:exclusive:deadline:)`, see BoundedLockWait.swift): a holder that never lets go costs
// a waiter its deadline, never its thread.

/// An acquired `flock` on a lock file, held until `unlock()` (or deinit).
final class FileLock {
    private var fd: Int32
    let path: String

    /// Opens (creating if needed) and locks `path`, blocking until the lock is granted.
    init(path: String, exclusive: Bool = true) throws(StoreError) {
        let fd = try Syscall.open(path, O_RDWR | O_CREAT, mode: 0o600)
        do {
            try Syscall.lock(fd, exclusive ? LOCK_EX : LOCK_SH, path: path)
        } catch {
            Syscall.close(fd)
            throw error
        }
        self.fd = fd
        self.path = path
    }

    /// Opens and locks `path` (exclusively unless `exclusive` is false), unless the lock is not granted by
    /// `deadline` (`StoreError.lockTimeout`). Within a process only each workspace's batch leader takes a workspace's
    /// lock (see `CommitQueue`), so there this waits only while another process holds it.
    init(path: String, exclusive: Bool = true, deadline: Deadline) throws(StoreError) {
        let operation = exclusive ? LOCK_EX : LOCK_SH
        let fd = try Syscall.open(path, O_RDWR | O_CREAT, mode: 0o600)
        do throws(StoreError) {
            if try !Syscall.tryLock(fd, operation, path: path) {
                try BoundedLockWait.lock(fd, operation, path: path, deadline: deadline)
            }
        } catch {
            Syscall.close(fd)
            throw error
        }
        self.fd = fd
        self.path = path
    }

    /// The descriptor that holds the lock, handed to the caller, who must close it to release the lock; this value
    /// holds nothing any more (its `unlock` and deinit do nothing). -1 when it was already unlocked.
    func handOver() -> Int32 {
        let held = fd
        fd = -1
        return held
    }

    /// The descriptor, for reading and writing a lock file that also holds data (it is never renamed).
    var descriptor: Int32 { fd }

    /// Releases the lock by closing the descriptor. Idempotent.
    func unlock() {
        guard fd >= 0 else { return }
        Syscall.close(fd)
        fd = -1
    }

    deinit { unlock() }
}
