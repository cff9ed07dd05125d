// taskd runs on Linux (libfcgi, systemd, inotify); the store speaks to glibc directly.
import Glibc

/// Thin wrappers over the system calls the store uses: each retries `EINTR` through `retrying` (except `close`,
/// which must never be retried on Linux) and turns a failure into `StoreError.io` naming the operation and the path.
enum Syscall {
    /// Calls `call` until it returns something other than -1 with `errno` `EINTR`; a result of -1 with any other
    /// `errno` becomes `StoreError.io`. The one place the store retries an interrupted system call.
    @discardableResult
    static func retrying<Result: BinaryInteger>(
        _ operation: String, path: String, _ call: () -> Result
    ) throws(StoreError) -> Result {
        while true {
            let result = call()
            if result != -1 { return result }
            let code = errno
            if code != EINTR { throw .io(operation: operation, path: path, errno: code) }
        }
    }

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o600) throws(StoreError) -> Int32 {
        try retrying("open", path: path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// Opens an existing file; `nil` when it (or its directory) does not exist.
    static func openIfExists(_ path: String, _ flags: Int32) throws(StoreError) -> Int32? {
        do {
            return try open(path, flags)
        } catch {
            if case .io(_, _, let code) = error, code == ENOENT || code == ENOTDIR { return nil }
            throw error
        }
    }

    /// Closes a descriptor. Never retried: on Linux the descriptor is gone even when `close` reports `EINTR`.
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Reads up to `count` bytes and appends them to `buffer`; returns how many were read (0 at end of file).
    static func read(_ fd: Int32, appendingTo buffer: inout [UInt8], count: Int, path: String) throws(StoreError) -> Int
    {
        try withUnsafeTemporaryAllocation(byteCount: count, alignment: 1) { (scratch) throws(StoreError) -> Int in
            let result = try retrying("read", path: path) { Glibc.read(fd, scratch.baseAddress, count) }
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<result]))
            return result
        }
    }

    /// Reads from the current position to the end of the file; `expectedSize` (from `fstat`) sizes the first read,
    /// so that a whole document usually takes one allocation and one `read`.
    static func readToEnd(_ fd: Int32, path: String, expectedSize: Int = 0) throws(StoreError) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(expectedSize + 1)
        var chunk = max(4096, min(expectedSize + 1, 16 << 20))
        while try read(fd, appendingTo: &bytes, count: chunk, path: path) > 0 { chunk = 64 * 1024 }
        return bytes
    }

    /// Reads from `offset` to the end of the file (`pread`, so the descriptor's position does not matter).
    static func readToEnd(_ fd: Int32, from offset: Int64, path: String, expectedSize: Int = 0) throws(StoreError)
        -> [UInt8]
    {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(expectedSize + 1)
        var position = offset
        while true {
            let chunk = max(4096, min(expectedSize + 1, 16 << 20))
            let count = try withUnsafeTemporaryAllocation(byteCount: chunk, alignment: 1) {
                (scratch) throws(StoreError) -> Int in
                let result = try retrying("pread", path: path) {
                    pread(fd, scratch.baseAddress, chunk, off_t(position))
                }
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<result]))
                return result
            }
            if count == 0 { return bytes }
            position += Int64(count)
        }
    }

    /// Writes every byte, continuing after short writes.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(StoreError) {
        var offset = 0
        while offset < bytes.count {
            let written = try retrying("write", path: path) {
                bytes.withUnsafeBytes { raw in Glibc.write(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset)
                }
            }
            // A regular file never accepts 0 bytes of a non-empty write unless something is badly wrong.
            if written == 0 { throw .io(operation: "write", path: path, errno: EIO) }
            offset += written
        }
    }

    static func fsync(_ fd: Int32, path: String) throws(StoreError) {
        try retrying("fsync", path: path) { Glibc.fsync(fd) }
    }

    /// Makes a file's data and its size durable (not its other metadata): what an append needs.
    static func fdatasync(_ fd: Int32, path: String) throws(StoreError) {
        try retrying("fdatasync", path: path) { Glibc.fdatasync(fd) }
    }

    static func truncate(_ fd: Int32, to length: Int64, path: String) throws(StoreError) {
        try retrying("ftruncate", path: path) { ftruncate(fd, off_t(length)) }
    }

    /// Makes a directory's entries (a rename, a new file or subdirectory) durable.
    static func fsyncDirectory(_ path: String) throws(StoreError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    static func rename(_ source: String, to destination: String) throws(StoreError) {
        try retrying("rename", path: source) { Glibc.rename(source, destination) }
    }

    static func unlinkIfExists(_ path: String) {
        _ = Glibc.unlink(path)
    }

    static func fchmod(_ fd: Int32, _ mode: mode_t, path: String) throws(StoreError) {
        try retrying("chmod", path: path) { Glibc.fchmod(fd, mode) }
    }

    /// `flock(2)`: whole-file, per open file description, released when the description is closed. Blocks.
    static func lock(_ fd: Int32, _ operation: Int32, path: String) throws(StoreError) {
        try retrying("flock", path: path) { flock(fd, operation) }
    }

    /// `flock` without blocking: `false` when another open file description holds a conflicting lock.
    static func tryLock(_ fd: Int32, _ operation: Int32, path: String) throws(StoreError) -> Bool {
        do {
            try retrying("flock", path: path) { flock(fd, operation | LOCK_NB) }
            return true
        } catch {
            if case .io(_, _, EWOULDBLOCK) = error { return false }
            throw error
        }
    }

    /// Drops a `flock` taken with `lock` (the descriptor stays open).
    static func unlock(_ fd: Int32) {
        _ = flock(fd, LOCK_UN)
    }

    static func seekToEnd(_ fd: Int32, path: String) throws(StoreError) -> Int64 {
        Int64(try retrying("lseek", path: path) { lseek(fd, 0, SEEK_END) })
    }

    /// Reads and discards whatever a non-blocking descriptor holds (inotify events).
    static func discardPending(_ fd: Int32) {
        withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 8) { scratch in
            while Glibc.read(fd, scratch.baseAddress, scratch.count) > 0 {}
        }
    }

    /// Waits until `fd` is readable or `milliseconds` pass; `EINTR` counts as a wake-up.
    static func waitReadable(_ fd: Int32, milliseconds: Int32) {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = Glibc.poll(&descriptor, 1, milliseconds)
    }
}
