import Glibc
import TaskCore

/// Appends change records to `changes.log` and rotates it to `changes.log.1` when it grows past a limit.
///
/// The log is not fsynced: the workspace journals are the durable truth, and the log only tells followers which
/// workspace changed and how. A change is logged after its journal lines are durable, so a follower never hears of a
/// change that may be undone; one whose record is lost (a crash in between) is found by `ChangeLogFollower.verify`.
///
/// Appends hold `changes.lock` shared, so appenders in many processes run side by side; each is one `O_APPEND`
/// write of a whole line. Rotation holds it exclusive, so once a follower sees a new file at `changes.log`, every
/// append to the old one has finished. Appenders keep a descriptor open and reopen it when the inode changed.
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
        var lockFD: Int32 = -1
        var logFD: Int32 = -1
        var logIdentity: Syscall.FileIdentity?
    }

    // One process-wide lock: `flock` is per open file description, so threads sharing `lockFD` must not take and
    // drop the shared lock independently (one thread's unlock would drop it for all). Appends are one short write.
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
            if handles.lockFD >= 0 { Syscall.close(handles.lockFD) }
        }
    }

    /// Creates the log and its lock file if they are missing, so followers can open it at once.
    func prepare() throws(StoreError) {
        try handles.withValue { (handles: inout Handles) throws(StoreError) in
            try openLock(&handles)
            try Syscall.lock(handles.lockFD, LOCK_SH, path: lockPath)
            defer { Syscall.unlock(handles.lockFD) }
            try reopenIfReplaced(&handles)
        }
    }

    /// Appends records as lines with one write (a batch's records stay together), then rotates if the log has
    /// grown past the limit.
    func append(_ records: [ChangeRecord]) throws(StoreError) {
        var lines: [UInt8] = []
        for record in records {
            do {
                lines.append(contentsOf: try WireFormat.encode(record))
            } catch {
                throw .encodingFailed(detail: "\(error)")
            }
            lines.append(UInt8(ascii: "\n"))
        }
        try handles.withValue { (handles: inout Handles) throws(StoreError) in
            try openLock(&handles)
            try Syscall.lock(handles.lockFD, LOCK_SH, path: lockPath)
            let size: Int64
            do throws(StoreError) {
                try reopenIfReplaced(&handles)
                try Syscall.writeAll(handles.logFD, lines, path: path)
                size = try Syscall.status(of: handles.logFD, path: path).size
            } catch {
                Syscall.unlock(handles.lockFD)
                throw error
            }
            Syscall.unlock(handles.lockFD)
            if size > limit { try rotate(&handles, ifLargerThan: limit) }
        }
    }

    /// Rotates now if the log holds anything (`taskctl log compact`).
    func rotateNow() throws(StoreError) {
        try handles.withValue { (handles: inout Handles) throws(StoreError) in
            try openLock(&handles)
            try rotate(&handles, ifLargerThan: 0)
        }
    }

    private func openLock(_ handles: inout Handles) throws(StoreError) {
        if handles.lockFD < 0 { handles.lockFD = try Syscall.open(lockPath, O_RDWR | O_CREAT, mode: 0o600) }
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
    /// exclusive lock, unless someone else already did.
    private func rotate(_ handles: inout Handles, ifLargerThan threshold: Int64) throws(StoreError) {
        try Syscall.lock(handles.lockFD, LOCK_EX, path: lockPath)
        defer { Syscall.unlock(handles.lockFD) }
        guard let current = try Syscall.status(path), current.size > threshold else { return }
        try Syscall.rename(path, to: rotatedPath)
        let fd = try Syscall.open(path, O_WRONLY | O_APPEND | O_CREAT, mode: 0o600)
        if handles.logFD >= 0 { Syscall.close(handles.logFD) }
        handles.logFD = fd
        handles.logIdentity = try Syscall.status(of: fd, path: path)
    }
}
