import Glibc
import TaskCore

// Design note: following the change log.
//
// The follower holds a read descriptor on `changes.log` and consumes complete lines only: bytes after the last line
// break stay buffered until the rest arrives. Writers append one whole line per `write` under `changes.lock` shared.
//
// Rotation renames `changes.log` to `changes.log.1` and creates a new `changes.log`, under `changes.lock` held
// exclusive. So when `stat("changes.log")` names another inode than the one we read, every append to our file has
// finished: we read it to its end, then switch. The switch is safe (nothing missed) only when `changes.log.1` is
// still our old file, i.e. the new log is its direct successor; the new log is opened *before* `changes.log.1` is
// checked, so a rotation in between shows up as a mismatch. In every other case (rotated twice, the file shrank, a
// line that does not parse, an unfinished line left in a rotated file) the follower reports `.reset`, positioned at
// the end of the current log, and its owner re-reads every workspace it holds. Sequence numbers let the owner skip
// records it has already seen through that re-read, and detect a record missed for any other reason.
//
// The log is not the truth, the journals are: a writer that dies between its journal's fdatasync and its log append
// leaves a committed change unannounced. `verify` finds those for the workspaces the owner watches, by comparing
// what it holds with what the store has committed.
//
// `waitForActivity` sleeps on an inotify descriptor watching the state directory (created before the log is opened,
// so no write between a `poll` and the wait is lost). Any event wakes it; `poll` then decides what really happened.

/// Tails the change log from its end at creation, across rotations. Owned by one thread.
public final class ChangeLogFollower {
    private let path: String
    private let rotatedPath: String
    private var fd: Int32
    private var identity: Syscall.FileIdentity
    /// Bytes consumed from `fd`.
    private var offset: Int64
    /// The start of a line whose end has not been written yet.
    private var pending: [UInt8] = []
    private var inotifyFD: Int32 = -1
    private var detector = UnloggedChangeDetector()

    /// Starts at the current end of the log (creating the directory and an empty log if needed).
    public init(directory: String) throws(StoreError) {
        self.path = directory + "/" + ChangeLogWriter.fileName
        self.rotatedPath = directory + "/" + ChangeLogWriter.rotatedFileName
        try Syscall.makeDirectories(directory)
        inotifyFD = Self.watch(directory)
        let fd = try Syscall.open(path, O_RDONLY | O_CREAT, mode: 0o600)
        do {
            self.identity = try Syscall.status(of: fd, path: path)
            self.offset = try Syscall.seekToEnd(fd, path: path)
        } catch {
            Syscall.close(fd)
            if inotifyFD >= 0 { Syscall.close(inotifyFD) }
            throw error
        }
        self.fd = fd
    }

    deinit {
        Syscall.close(fd)
        if inotifyFD >= 0 { Syscall.close(inotifyFD) }
    }

    /// Every complete record written since the last call, in log order; never blocks.
    public func poll() throws(StoreError) -> [FollowerEvent] {
        var events: [FollowerEvent] = []
        // Looked up before reading: if the name already points elsewhere, all writes to our file are done.
        let current = try Syscall.status(path)
        if try Syscall.status(of: fd, path: path).size < offset {
            try resetToEnd(&events)
            return events
        }
        try drain(into: &events)
        if let current, !current.isSameFile(as: identity) {
            try switchToNewLog(&events)
        }
        return events
    }

    /// Compares what the owner holds of each watched workspace (`held`: its sequence) with what the store has
    /// committed, and reports `.stale` for a workspace whose committed change was not announced by the log within one
    /// check (see `UnloggedChangeDetector`). Call it every few hundred milliseconds: a change whose writer died
    /// before logging it then reaches the owner within two calls.
    public func verify(held: [WorkspaceKey: UInt64], store: WorkspaceStore) -> [FollowerEvent] {
        var committed: [WorkspaceKey: UInt64] = [:]
        for key in held.keys {
            // A workspace that cannot be read is the owner's to report when it reads it; here it is skipped.
            if let state = try? store.read(key) { committed[key] = state.sequence }
        }
        return detector.check(held: held, committed: committed).map(FollowerEvent.stale)
    }

    /// Blocks until the log may have changed or `timeout` passes. Spurious wake-ups happen; call `poll` after.
    public func waitForActivity(timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        let milliseconds = max(0, min(Int64(Int32.max), seconds * 1000 + attoseconds / 1_000_000_000_000_000))
        guard inotifyFD >= 0 else {
            // Without inotify, poll the file every 20 ms.
            usleep(useconds_t(min(milliseconds, 20) * 1000))
            return
        }
        Syscall.waitReadable(inotifyFD, milliseconds: Int32(milliseconds))
        Syscall.discardPending(inotifyFD)
    }

    // MARK: Reading

    private func drain(into events: inout [FollowerEvent]) throws(StoreError) {
        while true {
            let count = try Syscall.read(fd, appendingTo: &pending, count: 64 * 1024, path: path)
            if count == 0 { break }
            offset += Int64(count)
        }
        guard let lastBreak = pending.lastIndex(of: UInt8(ascii: "\n")) else { return }
        var sawDamage = false
        for line in pending[...lastBreak].split(separator: UInt8(ascii: "\n")) {
            do {
                events.append(.change(try WireFormat.decode(ChangeRecord.self, from: line)))
            } catch {
                sawDamage = true
            }
        }
        pending.removeSubrange(...lastBreak)
        if sawDamage { events.append(.reset) }
    }

    private func switchToNewLog(_ events: inout [FollowerEvent]) throws(StoreError) {
        guard let newFD = try Syscall.openIfExists(path, O_RDONLY) else { return }
        let newIdentity: Syscall.FileIdentity
        let rotated: Syscall.FileIdentity?
        do {
            newIdentity = try Syscall.status(of: newFD, path: path)
            rotated = try Syscall.status(rotatedPath)
        } catch {
            Syscall.close(newFD)
            throw error
        }
        let isDirectSuccessor = rotated?.isSameFile(as: identity) == true && pending.isEmpty
        Syscall.close(fd)
        fd = newFD
        identity = newIdentity
        offset = 0
        pending = []
        if isDirectSuccessor {
            try drain(into: &events)
        } else {
            try resetToEnd(&events)
        }
    }

    private func resetToEnd(_ events: inout [FollowerEvent]) throws(StoreError) {
        offset = try Syscall.seekToEnd(fd, path: path)
        pending = []
        events.append(.reset)
    }

    private static func watch(_ directory: String) -> Int32 {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return -1 }
        let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE)
        guard inotify_add_watch(fd, directory, mask) >= 0 else {
            Syscall.close(fd)
            return -1
        }
        return fd
    }
}
