import Glibc

/// Replaces files so that a reader sees either the old or the new contents, and the new ones survive a crash once
/// `write` returns: temporary file, fsync, rename over the target, fsync the directory.
enum AtomicFile {
    /// `temporary` must be in the same directory as `path`, and the caller must hold the lock that guards `path`
    /// (so no one else writes the same temporary file). A temporary file left by a crash is simply truncated.
    static func write(_ bytes: [UInt8], to path: String, temporary: String, mode: mode_t = 0o600) throws(StoreError) {
        _ = try replace(bytes, at: path, temporary: temporary, mode: mode)
        try Syscall.fsyncDirectory(Syscall.parentDirectory(of: path))
    }

    /// The first half of `write`: the new contents are complete and fsynced, and visible under `path` once this
    /// returns, but the rename is durable only after the directory is fsynced. When this throws, `path` is unchanged.
    /// `beforeRename` runs once the temporary file is complete (a test's fault point); the new file's identity after
    /// the rename is returned.
    @discardableResult
    static func replace(
        _ bytes: [UInt8], at path: String, temporary: String, mode: mode_t = 0o600,
        beforeRename: () throws(StoreError) -> Void = {}
    ) throws(StoreError) -> Syscall.FileIdentity {
        let fd = try Syscall.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        defer { Syscall.close(fd) }
        do {
            // The mode given to open is filtered by the umask; secrets must end up exactly 0600.
            try Syscall.fchmod(fd, mode, path: temporary)
            try Syscall.writeAll(fd, bytes, path: temporary)
            try Syscall.fsync(fd, path: temporary)
            try beforeRename()
            try Syscall.rename(temporary, to: path)
        } catch {
            Syscall.unlinkIfExists(temporary)
            throw error
        }
        // After the rename: a rename changes the file's ctime, which readers compare.
        return try Syscall.status(of: fd, path: path)
    }

    /// The whole file; `nil` when it does not exist.
    static func read(_ path: String) throws(StoreError) -> [UInt8]? {
        guard let fd = try Syscall.openIfExists(path, O_RDONLY) else { return nil }
        defer { Syscall.close(fd) }
        let size = try Syscall.status(of: fd, path: path).size
        return try Syscall.readToEnd(fd, path: path, expectedSize: Int(clamping: size))
    }
}
