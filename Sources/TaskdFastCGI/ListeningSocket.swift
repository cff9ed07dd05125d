import Glibc

/// The socket nginx connects to: created here, handed over by systemd, or inherited on fd 0 from a spawner.
///
/// libfcgi's `FCGX_OpenSocket` is never used: it calls exit() when bind or listen fails and speaks only IPv4.
struct ListeningSocket {
    let descriptor: Int32
    /// The path to unlink when the process stops, for a socket this process created.
    let createdPath: String?
    /// The inode of the created socket file, so that a file another process has put there since is left alone.
    let createdInode: UInt64
    /// How the socket was obtained, for the startup log line.
    let origin: String
    /// False for a TCP socket handed over by systemd or a spawner (its connections inherit its receive timeout).
    let isUnixDomain: Bool

    /// Opens the configured listener. A listening socket on fd 0 wins over the default path (spawn-fcgi and
    /// similar spawners pass it that way); an explicit `--socket` / `TASKD_FCGI_SOCKET` wins over fd 0.
    static func open(_ listener: FastCGIConfiguration.Listener) throws(StartupError) -> ListeningSocket {
        switch listener {
        case .systemd(let fd):
            try requireListeningSocket(fd)
            // The variables are for this process only; nothing it starts must believe it owns the socket.
            unsetenv("LISTEN_FDS")
            unsetenv("LISTEN_PID")
            unsetenv("LISTEN_FDNAMES")
            return try prepared(fd, createdPath: nil, origin: "systemd socket activation (fd \(fd))")
        case .unixSocket(let path, let mode, let isExplicit):
            if !isExplicit, isListeningSocket(0) {
                return try prepared(0, createdPath: nil, origin: "inherited listening socket (fd 0)")
            }
            let fd = try create(path: path, mode: mode)
            return try prepared(fd, createdPath: path, origin: "unix socket \(path)")
        }
    }

    /// Removes the socket file this process created, unless another process has replaced it since.
    func close() {
        _ = Glibc.close(descriptor)
        var info = stat()
        if let createdPath, lstat(createdPath, &info) == 0, UInt64(info.st_ino) == createdInode {
            _ = unlink(createdPath)
        }
    }

    // MARK: Private

    private static func prepared(_ fd: Int32, createdPath: String?, origin: String) throws(StartupError)
        -> ListeningSocket
    {
        // Every worker blocks in its own accept() (the kernel wakes one waiter per connection), and returns from it
        // every `acceptWakeInterval` to look at the shutdown flag: the socket must block, with a receive timeout,
        // which on a listening socket bounds accept(). Both apply to the socket itself, which systemd or a spawner
        // may share; any other taskd-fcgi on it sets the same.
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 else { throw .system("fcntl", errno) }
        let interval = FastCGIWorker.acceptWakeInterval.components
        var timeout = timeval(tv_sec: Int(interval.seconds), tv_usec: Int(interval.attoseconds / 1_000_000_000_000))
        guard setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) == 0 else {
            throw .system("setsockopt(SO_RCVTIMEO)", errno)
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var info = stat()
        let inode = createdPath.map { lstat($0, &info) == 0 ? UInt64(info.st_ino) : 0 } ?? 0
        return ListeningSocket(
            descriptor: fd, createdPath: createdPath, createdInode: inode, origin: origin,
            isUnixDomain: socketFamily(fd) == AF_UNIX)
    }

    private static func socketFamily(_ fd: Int32) -> Int32 {
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return named == 0 ? Int32(address.ss_family) : -1
    }

    private static func isListeningSocket(_ fd: Int32) -> Bool {
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0 && accepting != 0
    }

    private static func requireListeningSocket(_ fd: Int32) throws(StartupError) {
        guard isListeningSocket(fd) else {
            throw .invalidInheritedSocket(fd: fd, reason: "it is not a listening socket")
        }
    }

    private static func create(path: String, mode: UInt32) throws(StartupError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { throw .socket(path: path, operation: "use", errno: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        try removeStaleSocket(path: path, address: address)

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .socket(path: path, operation: "create", errno: errno) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            let code = errno
            _ = Glibc.close(fd)
            throw .socket(path: path, operation: "bind", errno: code)
        }
        guard chmod(path, mode_t(mode)) == 0 else {
            let code = errno
            _ = Glibc.close(fd)
            _ = unlink(path)
            throw .socket(path: path, operation: "set permissions of", errno: code)
        }
        guard listen(fd, SOMAXCONN) == 0 else {
            let code = errno
            _ = Glibc.close(fd)
            _ = unlink(path)
            throw .socket(path: path, operation: "listen on", errno: code)
        }
        return fd
    }

    /// A socket file left by a process that died is removed; one that still accepts connections is someone else's.
    private static func removeStaleSocket(path: String, address: sockaddr_un) throws(StartupError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { throw .notASocket(path: path) }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard probe >= 0 else { throw .socket(path: path, operation: "probe", errno: errno) }
        defer { _ = Glibc.close(probe) }
        var target = address
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if connected == 0 { throw .socketInUse(path: path) }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw .socket(path: path, operation: "remove the stale", errno: errno)
        }
    }
}
