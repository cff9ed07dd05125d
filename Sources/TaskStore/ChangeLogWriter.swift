import Glibc
import TaskCore

/// Appends change records to `changes.log` and rotates it to `changes.log.1` when it grows past a limit.
///
/// The log is not fsynced: the workspace journals are the durable truth, and the log only tells followers which
/// workspace changed and how. A change is logged after its journal lines are durable, so a follower never hears of a
/// change that may be undone; one whose record is lost (a crash in between, or a lock wait that ran out) is found by
/// `ChangeLogFollower.verify`.
///
/// Appends hold `changes.lock` shared, so appenders in many processes and threads run side by side; each is one
/// `O_APPEND` write of a whole line. Rotation holds it exclusive, so once a follower sees a new file at `changes.log`,
/// every append to the old one has finished. Every wait for the lock has a deadline (`BoundedLockWait`): a writer
/// holds its workspace's lock while it appends, so a rotation (or any process) that kept `changes.lock` would
/// otherwise hold that workspace, and every thread queued behind it, for as long. Each append and each rotation locks
/// through a descriptor of its own (`flock` belongs to the open file description, so threads sharing one could not
/// take and drop the lock independently), and no thread waits for `changes.lock` while it holds `handles`.
/// Appenders share one descriptor of the log and reopen it when its inode changed.
final class ChangeLogWriter: Sendable {
    static let fileName = "changes.log"
    static let rotatedFileName = "changes.log.1"
    static let lockFileName = "changes.lock"

    let path: String
    let rotatedPath: String
    let lockPath: String
    /// The size in bytes past which the next append rotates the log.
    let limit: Int64

    private struct Handles {
        var logFD: Int32 = -1
        var logIdentity: Syscall.FileIdentity?
    }

    // Held only for the reopen check, the write and an fstat: never while waiting for `changes.lock`.
    private let handles = Monitor(Handles())

    init(directory: String, limit: Int64) {
        self.path = directory + "/" + Self.fileName
        self.rotatedPath = directory + "/" + Self.rotatedFileName
        self.lockPath = directory + "/" + Self.lockFileName
        self.limit = limit
    }

    deinit {
        handles.withValue { handles in
            if handles.logFD >= 0 { Syscall.close(handles.logFD) }
        }
    }

    /// Creates the log and its lock file if they are missing, so followers can open it at once.
    func prepare(deadline: Deadline) throws(StoreError) {
        let lock = try FileLock(path: lockPath, exclusive: false, deadline: deadline)
        defer { lock.unlock() }
        try handles.withValue { (handles: inout Handles) throws(StoreError) in try reopenIfReplaced(&handles) }
    }

    /// Appends records as lines with one write (a batch's records stay together), then rotates if the log has
    /// grown past the limit. Throws `lockTimeout` when `changes.lock` is not granted by `deadline` (nothing was
    /// appended then); a rotation that cannot get the lock in time is left to a later append.
    func append(_ records: [ChangeRecord], deadline: Deadline) throws(StoreError) {
        var lines: [UInt8] = []
        for record in records {
            do {
                lines.append(contentsOf: try WireFormat.encode(record))
            } catch {
                throw .encodingFailed(detail: "\(error)")
            }
            lines.append(UInt8(ascii: "\n"))
        }
        let lock = try FileLock(path: lockPath, exclusive: false, deadline: deadline)
        let size: Int64
        do throws(StoreError) {
            size = try handles.withValue { (handles: inout Handles) throws(StoreError) -> Int64 in
                try reopenIfReplaced(&handles)
                try Syscall.writeAll(handles.logFD, lines, path: path)
                return try Syscall.status(of: handles.logFD, path: path).size
            }
        } catch {
            lock.unlock()
            throw error
        }
        lock.unlock()
        guard size > limit else { return }
        do {
            try rotate(ifLargerThan: limit, deadline: deadline)
        } catch .lockTimeout {
            // Appenders of other processes kept the lock: the next append past the limit tries again.
        }
    }

    /// Rotates now if the log holds anything (`taskctl log compact`).
    func rotateNow(deadline: Deadline) throws(StoreError) {
        try rotate(ifLargerThan: 0, deadline: deadline)
    }

    /// Points `logFD` at the file now called `changes.log`, creating it if needed. Call with the lock held.
    private func reopenIfReplaced(_ handles: inout Handles) throws(StoreError) {
        if handles.logFD >= 0, let known = handles.logIdentity, let current = try Syscall.status(path),
            current.isSameFile(as: known)
        {
            return
        }
        let fd = try Syscall.open(path, O_WRONLY | O_APPEND | O_CREAT, mode: 0o600)
        if handles.logFD >= 0 { Syscall.close(handles.logFD) }
        handles.logFD = fd
        handles.logIdentity = try Syscall.status(of: fd, path: path)
    }

    /// Renames the log to `changes.log.1` (replacing the previous one) and starts an empty one, under the
    /// exclusive lock, unless someone else already did. Appenders notice the new inode and reopen.
    private func rotate(ifLargerThan threshold: Int64, deadline: Deadline) throws(StoreError) {
        let lock = try FileLock(path: lockPath, deadline: deadline)
        defer { lock.unlock() }
        guard let current = try Syscall.status(path), current.size > threshold else { return }
        try Syscall.rename(path, to: rotatedPath)
        Syscall.close(try Syscall.open(path, O_WRONLY | O_APPEND | O_CREAT, mode: 0o600))
    }
}
