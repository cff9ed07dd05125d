import Foundation
import Glibc

/// A client that does exactly what a test tells it and nothing else, on a plain non-blocking socket, for hostile
/// WebSocket behaviour.
///
/// It binds the loopback source address it is given (Linux lets a client use any address of 127.0.0.0/8, so each
/// hostile client can stand at an address of its own in front of nginx's per-address limits), sends the bytes it is
/// given, and reads only when asked: a client that "never reads" really leaves every byte in the kernel's buffers.
/// What it reads is kept. Every wait polls the socket without blocking, with a deadline.
final class RawSocketClient: @unchecked Sendable {
    // @unchecked Sendable: a client is used by one task at a time; tests hand clients on between tasks, never share
    // one between two at once.

    struct Ended: Error, CustomStringConvertible {
        let errno: Int32
        var description: String { "the connection ended (errno \(errno))" }
    }

    /// An HTTP response as read from the socket.
    struct Response: CustomStringConvertible {
        let status: Int
        let head: String
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var description: String { "\(head.prefix(200)) \(text.prefix(300))" }
    }

    /// One frame as the server sent it (server frames are never masked).
    struct ServerFrame {
        let opcode: UInt8
        let payload: [UInt8]

        static let text: UInt8 = 0x1
        static let close: UInt8 = 0x8
        static let ping: UInt8 = 0x9
        static let pong: UInt8 = 0xA

        /// The status code of a close frame.
        var closeCode: UInt16? {
            guard opcode == Self.close, payload.count >= 2 else { return nil }
            return UInt16(payload[0]) << 8 | UInt16(payload[1])
        }
        var closeReason: String { String(decoding: payload.dropFirst(2), as: UTF8.self) }
    }

    let fd: Int32
    /// Every byte read so far (after the response head, once `upgrade` has read it).
    private(set) var received: [UInt8] = []
    /// The peer closed the connection (end of file) or reset it.
    private(set) var hasEnded = false
    /// The errno that ended the connection, when it was not a clean end of file.
    private(set) var endError: Int32?

    private init(fd: Int32) {
        self.fd = fd
    }

    deinit {
        close(fd)
    }

    // MARK: Connecting

    /// Connects to `127.0.0.1:port` from `source` (an address of 127.0.0.0/8), with a receive buffer of
    /// `receiveBuffer` bytes when given (set before connecting, so that the TCP window is small from the start).
    static func connect(
        port: Int, from source: String = "127.0.0.1", receiveBuffer: Int? = nil, timeout: Duration = .seconds(5)
    ) async throws -> RawSocketClient {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed: errno \(errno)") }
        let client = RawSocketClient(fd: fd)
        if var size = receiveBuffer.map(Int32.init) {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        guard inet_pton(AF_INET, source, &local.sin_addr) == 1 else { throw HarnessError("bad address \(source)") }
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw HarnessError("cannot bind \(source): errno \(errno)") }
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = in_port_t(UInt16(port).bigEndian)
        remote.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let started = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try await client.finishConnect(started: started, timeout: timeout, to: "127.0.0.1:\(port) from \(source)")
        return client
    }

    /// Connects to the unix socket at `path`.
    static func connect(unixPath path: String, timeout: Duration = .seconds(5)) async throws -> RawSocketClient {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed: errno \(errno)") }
        let client = RawSocketClient(fd: fd)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw HarnessError("path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let started = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try await client.finishConnect(started: started, timeout: timeout, to: path)
        return client
    }

    private func finishConnect(started: Int32, timeout: Duration, to peer: String) async throws {
        guard started != 0 else { return }
        guard errno == EINPROGRESS || errno == EAGAIN else { throw HarnessError("connect to \(peer): errno \(errno)") }
        guard try await wait(for: Int16(POLLOUT), timeout: timeout) else {
            throw HarnessError("connect to \(peer) timed out")
        }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        guard error == 0 else { throw HarnessError("connect to \(peer): errno \(error)") }
    }

    // MARK: Sending

    /// Sends what the socket takes now, without waiting: the number of bytes taken (0 when its buffer is full).
    /// Throws `Ended` once the connection is gone.
    func sendSome(_ bytes: ArraySlice<UInt8>) throws -> Int {
        let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        if sent >= 0 { return sent }
        let code = errno
        if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { return 0 }
        hasEnded = true
        endError = code
        throw Ended(errno: code)
    }

    /// Sends all of `bytes`, waiting while the socket's buffer is full.
    func sendAll(_ bytes: [UInt8], timeout: Duration = .seconds(5)) async throws {
        var offset = 0
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while offset < bytes.count {
            let sent = try sendSome(bytes[offset...])
            offset += sent
            if sent == 0 {
                guard ContinuousClock.now < deadline else { throw HarnessError("sending timed out") }
                _ = try await wait(for: Int16(POLLOUT), timeout: .milliseconds(50))
            }
        }
    }

    // MARK: Reading

    /// Reads everything the socket holds now, without waiting; returns how many bytes were read.
    @discardableResult
    func readAvailable() -> Int {
        var total = 0
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while !hasEnded {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 {
                received += chunk[0..<count]
                total += count
            } else if count == 0 {
                hasEnded = true
            } else {
                let code = errno
                if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { break }
                hasEnded = true
                endError = code
            }
        }
        return total
    }

    /// Reads until the peer ends the connection; throws when it has not within `timeout`.
    func readUntilEnd(timeout: Duration) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            readAvailable()
            if hasEnded { return }
            guard ContinuousClock.now < deadline else {
                throw HarnessError("the connection did not end within \(timeout) (\(received.count) bytes read)")
            }
            _ = try await wait(for: Int16(POLLIN), timeout: .milliseconds(50))
        }
    }

    /// Reads from every client until each has ended; throws when some have not within `timeout`. One `poll` looks at
    /// all of them every 10 ms, so that a thousand clients cost a thousand descriptors in one call, not a thousand
    /// waiting tasks.
    static func readUntilAllEnd(_ clients: [RawSocketClient], timeout: Duration) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let open = clients.filter { !$0.hasEnded }
            if open.isEmpty { return }
            var entries = open.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            if poll(&entries, nfds_t(entries.count), 0) > 0 {
                for (client, entry) in zip(open, entries) where entry.revents != 0 { client.readAvailable() }
            }
            guard ContinuousClock.now < deadline else {
                throw HarnessError("\(open.count) of \(clients.count) connections did not end within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits up to `timeout` for `events` on the socket, polling without blocking a thread: after 1 ms, then at
    /// doubling intervals up to 8 ms, so that many waiting clients do not keep the test process busy.
    private func wait(for events: Int16, timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var pause = Duration.milliseconds(1)
        while true {
            var entry = pollfd(fd: fd, events: events, revents: 0)
            if poll(&entry, 1, 0) > 0 { return true }
            if ContinuousClock.now >= deadline { return false }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(8))
        }
    }

    // MARK: HTTP and WebSocket

    /// The handshake's request for `target`, as a browser sends it.
    static func handshake(target: String, host: String = "127.0.0.1") -> [UInt8] {
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        return Array(
            ("GET \(target) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8)
    }

    /// Sends the handshake for `target` and reads the answer: the status line and headers, and the body when the
    /// answer has one (a 101 has none: what follows it stays in `received`).
    func upgrade(target: String, timeout: Duration = .seconds(5)) async throws -> Response {
        try await sendAll(Self.handshake(target: target), timeout: timeout)
        return try await readResponse(timeout: timeout)
    }

    /// Reads one HTTP response (head, and a body of `Content-Length` bytes); the bytes after it stay in `received`.
    func readResponse(timeout: Duration) async throws -> Response {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        while true {
            readAvailable()
            if let end = received.firstRange(of: separator) {
                let head = String(decoding: received[..<end.lowerBound], as: UTF8.self)
                let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
                let length =
                    head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if received.count - end.upperBound >= length {
                    let body = Array(received[end.upperBound..<(end.upperBound + length)])
                    received.removeFirst(end.upperBound + length)
                    return Response(status: status, head: head, body: body)
                }
            }
            guard !hasEnded, ContinuousClock.now < deadline else {
                throw HarnessError(
                    "no complete response within \(timeout): \(String(decoding: received.prefix(300), as: UTF8.self))")
            }
            _ = try await wait(for: Int16(POLLIN), timeout: .milliseconds(50))
        }
    }

    /// The complete server frames in what was read after the handshake, in order.
    var serverFrames: [ServerFrame] {
        var frames: [ServerFrame] = []
        var index = 0
        let bytes = received
        while bytes.count - index >= 2 {
            let opcode = bytes[index] & 0x0F
            var length = Int(bytes[index + 1] & 0x7F)
            var header = 2
            if length == 126 {
                guard bytes.count - index >= 4 else { break }
                length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
                header = 4
            } else if length == 127 {
                guard bytes.count - index >= 10 else { break }
                length = (0..<8).reduce(0) { $0 << 8 | Int(bytes[index + 2 + $1]) }
                header = 10
            }
            guard bytes.count - index - header >= length else { break }
            frames.append(
                ServerFrame(opcode: opcode, payload: Array(bytes[(index + header)..<(index + header + length)])))
            index += header + length
        }
        return frames
    }

    /// A masked client frame. `claimedLength` writes another payload length into the header than the payload has
    /// (for a frame whose payload the test streams afterwards).
    static func clientFrame(
        opcode: UInt8, fin: Bool = true, payload: [UInt8] = [], claimedLength: Int? = nil
    ) -> [UInt8] {
        let length = claimedLength ?? payload.count
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        switch length {
        case ..<126:
            frame.append(0x80 | UInt8(length))
        case ..<65_536:
            frame.append(0x80 | 126)
            frame += [UInt8(length >> 8), UInt8(length & 0xFF)]
        default:
            frame.append(0x80 | 127)
            frame += (0..<8).reversed().map { UInt8((length >> ($0 * 8)) & 0xFF) }
        }
        let mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return frame
    }
}
