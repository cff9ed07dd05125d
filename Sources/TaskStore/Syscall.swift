// taskd runs on Linux (libfcgi, systemd, inotify); the store speaks to glibc directly.
import Glibc

/// Thin wrappers over the system calls the store uses: each retries `EINTR` (except `close`, which must never be
/// retried on Linux) and turns a failure into `StoreError.io` naming the operation and the path.
enum Syscall {
    /// The identity of a file: it changes when a file is replaced by a rename, even when its size does not.
    struct FileIdentity: Hashable, Sendable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modifiedSeconds: Int64
        var modifiedNanoseconds: Int64
        var changedSeconds: Int64
        var changedNanoseconds: Int64
        var isDirectory: Bool
        /// The permission bits (`0o600` …).
        var permissions: UInt32

        /// Same file (device and inode), whatever its contents.
        func isSameFile(as other: FileIdentity) -> Bool { device == other.device && inode == other.inode }
    }

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o600) throws(StoreError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            let code = errno
            if code != EINTR { throw .io(operation: "open", path: path, errno: code) }
        }
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
        let result = withUnsafeTemporaryAllocation(byteCount: count, alignment: 1) { scratch -> Int in
            while true {
                let result = Glibc.read(fd, scratch.baseAddress, count)
                if result > 0 { buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<result])) }
                if result >= 0 { return result }
                if errno != EINTR { return -Int(errno) }
            }
        }
        if result < 0 { throw .io(operation: "read", path: path, errno: Int32(-result)) }
        return result
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

    /// Writes every byte, continuing after short writes.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(StoreError) {
        var offset = 0
        while offset < bytes.count {
            let result = bytes.withUnsafeBytes { raw in
                Glibc.write(fd, raw.baseAddress.map { $0 + offset }, bytes.count - offset)
            }
            if result > 0 {
                offset += result
            } else if result < 0 {
                let code = errno
                if code != EINTR { throw .io(operation: "write", path: path, errno: code) }
            } else {
                throw .io(operation: "write", path: path, errno: EIO)
            }
        }
    }

    static func fsync(_ fd: Int32, path: String) throws(StoreError) {
        while Glibc.fsync(fd) != 0 {
            let code = errno
            if code != EINTR { throw .io(operation: "fsync", path: path, errno: code) }
        }
    }

    /// Makes a directory's entries (a rename, a new file or subdirectory) durable.
    static func fsyncDirectory(_ path: String) throws(StoreError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    static func rename(_ source: String, to destination: String) throws(StoreError) {
        while Glibc.rename(source, destination) != 0 {
            let code = errno
            if code != EINTR { throw .io(operation: "rename", path: source, errno: code) }
        }
    }

    static func unlinkIfExists(_ path: String) {
        _ = Glibc.unlink(path)
    }

    static func fchmod(_ fd: Int32, _ mode: mode_t, path: String) throws(StoreError) {
        while Glibc.fchmod(fd, mode) != 0 {
            let code = errno
            if code != EINTR { throw .io(operation: "chmod", path: path, errno: code) }
        }
    }

    /// `flock(2)`: whole-file, per open file description, released when the description is closed. Blocks.
    static func lock(_ fd: Int32, _ operation: Int32, path: String) throws(StoreError) {
        while flock(fd, operation) != 0 {
            let code = errno
            if code != EINTR { throw .io(operation: "flock", path: path, errno: code) }
        }
    }

    /// Drops a `flock` taken with `lock` (the descriptor stays open).
    static func unlock(_ fd: Int32) {
        _ = flock(fd, LOCK_UN)
    }

    static func seekToEnd(_ fd: Int32, path: String) throws(StoreError) -> Int64 {
        let result = lseek(fd, 0, SEEK_END)
        if result < 0 { throw .io(operation: "lseek", path: path, errno: errno) }
        return Int64(result)
    }

    /// Creates a directory; `false` when it already exists.
    static func makeDirectory(_ path: String, mode: mode_t = 0o750) throws(StoreError) -> Bool {
        while mkdir(path, mode) != 0 {
            let code = errno
            if code == EEXIST { return false }
            if code != EINTR { throw .io(operation: "mkdir", path: path, errno: code) }
        }
        return true
    }

    /// Creates a directory and any missing parents, fsyncing each parent that gained an entry.
    static func makeDirectories(_ path: String) throws(StoreError) {
        if try status(path) != nil { return }
        let parent = parentDirectory(of: path)
        if parent != path { try makeDirectories(parent) }
        if try makeDirectory(path) { try fsyncDirectory(parent) }
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// `stat(2)`; `nil` when the path does not exist.
    static func status(_ path: String) throws(StoreError) -> FileIdentity? {
        var info = stat()
        while stat(path, &info) != 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            if code != EINTR { throw .io(operation: "stat", path: path, errno: code) }
        }
        return identity(of: info)
    }

    static func status(of fd: Int32, path: String) throws(StoreError) -> FileIdentity {
        var info = stat()
        while fstat(fd, &info) != 0 {
            let code = errno
            if code != EINTR { throw .io(operation: "fstat", path: path, errno: code) }
        }
        return identity(of: info)
    }

    private static func identity(of info: stat) -> FileIdentity {
        FileIdentity(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modifiedSeconds: Int64(info.st_mtim.tv_sec), modifiedNanoseconds: Int64(info.st_mtim.tv_nsec),
            changedSeconds: Int64(info.st_ctim.tv_sec), changedNanoseconds: Int64(info.st_ctim.tv_nsec),
            isDirectory: (info.st_mode & S_IFMT) == S_IFDIR, permissions: UInt32(info.st_mode & 0o7777))
    }

    /// The names in a directory, without `.` and `..`; `nil` when the directory does not exist.
    static func directoryEntries(_ path: String) throws(StoreError) -> [String]? {
        guard let directory = opendir(path) else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw .io(operation: "opendir", path: path, errno: code)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
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
