import Glibc

/// File status and directories.
extension Syscall {
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

        /// Same file, same size and same change time: nothing was written to it in between, as far as `stat` can
        /// tell (see docs/state-directory.md for the one case it cannot).
        func isUnchanged(since other: FileIdentity) -> Bool {
            isSameFile(as: other) && size == other.size && changedSeconds == other.changedSeconds
                && changedNanoseconds == other.changedNanoseconds
        }
    }

    /// `stat(2)`; `nil` when the path does not exist.
    static func status(_ path: String) throws(StoreError) -> FileIdentity? {
        var info = stat()
        do {
            try retrying("stat", path: path) { stat(path, &info) }
        } catch {
            if case .io(_, _, let code) = error, code == ENOENT || code == ENOTDIR { return nil }
            throw error
        }
        return identity(of: info)
    }

    static func status(of fd: Int32, path: String) throws(StoreError) -> FileIdentity {
        var info = stat()
        try retrying("fstat", path: path) { fstat(fd, &info) }
        return identity(of: info)
    }

    private static func identity(of info: stat) -> FileIdentity {
        FileIdentity(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modifiedSeconds: Int64(info.st_mtim.tv_sec), modifiedNanoseconds: Int64(info.st_mtim.tv_nsec),
            changedSeconds: Int64(info.st_ctim.tv_sec), changedNanoseconds: Int64(info.st_ctim.tv_nsec),
            isDirectory: (info.st_mode & S_IFMT) == S_IFDIR, permissions: UInt32(info.st_mode & 0o7777))
    }

    /// Creates a directory; `false` when it already exists.
    static func makeDirectory(_ path: String, mode: mode_t = 0o750) throws(StoreError) -> Bool {
        do {
            try retrying("mkdir", path: path) { mkdir(path, mode) }
            return true
        } catch {
            if case .io(_, _, EEXIST) = error { return false }
            throw error
        }
    }

    /// Creates a directory and any missing parents, fsyncing each parent that gained an entry.
    static func makeDirectories(_ path: String) throws(StoreError) {
        if try status(path) != nil { return }
        let parent = parentDirectory(of: path)
        if parent != path { try makeDirectories(parent) }
        if try makeDirectory(path) { try fsyncDirectory(parent) }
    }

    /// Gives the file at `source` the second name `destination`, which must not exist yet; `false` when it does.
    /// Unlike `rename`, it never replaces a file.
    static func link(_ source: String, to destination: String) throws(StoreError) -> Bool {
        do {
            try retrying("link", path: destination) { Glibc.link(source, destination) }
            return true
        } catch {
            if case .io(_, _, EEXIST) = error { return false }
            throw error
        }
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
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
}
