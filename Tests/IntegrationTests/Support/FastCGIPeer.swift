import Foundation

import Glibc

/// A raw client of taskd-fcgi's unix socket, for the peers nginx never is: silent, trickling, truncated, garbage.
/// Non-blocking; every wait polls with a deadline (`waitUntil`), so none can hang a test or block the thread pool.
final class FastCGIPeer: @unchecked Sendable {
    // @unchecked: one test task owns each peer; `descriptor` only changes in `close()`.
    private(set) var descriptor: Int32
    /// Every byte the responder has sent so far.
    private(set) var received: [UInt8] = []
    /// Whether the responder has closed (or shut down) its side.
    private(set) var sawEnd = false

    /// Connects to the unix socket at `path`.
    init(path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            Glibc.close(fd)
            throw HarnessError("connect(\(path)) failed: errno \(code)")
        }
        descriptor = fd
    }

    deinit { close() }

    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    /// Sends every byte (the socket buffer takes far more than these tests send); fails once the responder has gone.
    func send(_ bytes: [UInt8]) throws {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw HarnessError("write to the responder failed: errno \(errno)") }
    }

    /// Stops sending (the peer's half-close), keeping the connection open for reading.
    func finishSending() {
        _ = shutdown(descriptor, Int32(SHUT_WR))
    }

    /// Reads whatever has arrived, without waiting; notes the end of the stream (EOF or a reset).
    func drainAvailable() {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while descriptor >= 0 {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                received += buffer[..<count]
                continue
            }
            if count == 0 || errno != EAGAIN { sawEnd = true }
            return
        }
    }

    /// Waits until the responder has closed its side, reading what it sent before.
    func waitForEnd(timeout: Duration) async throws {
        try await waitUntil("taskd-fcgi to close a peer's connection", timeout: timeout, interval: .milliseconds(10)) {
            self.drainAvailable()
            return self.sawEnd
        }
    }

    /// The `Status:` line and body of the CGI answer carried by the STDOUT records received so far.
    var answer: (status: Int?, body: String) {
        let stdout = FastCGIRecord.stdoutContent(of: received)
        let text = String(decoding: stdout, as: UTF8.self)
        let status = text.split(separator: "\r\n").first { $0.hasPrefix("Status: ") }
            .flatMap { Int($0.dropFirst(8).prefix(3)) }
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, body)
    }
}

/// FastCGI records as a web server sends them (FastCGI 1.0 specification, responder role).
enum FastCGIRecord {
    static let beginRequest: UInt8 = 1
    static let endRequest: UInt8 = 3
    static let params: UInt8 = 4
    static let stdin: UInt8 = 5
    static let stdout: UInt8 = 6

    static func record(type: UInt8, requestID: UInt16 = 1, content: [UInt8]) -> [UInt8] {
        precondition(content.count <= 65_535)
        let padding = (8 - content.count % 8) % 8
        var bytes: [UInt8] = [
            1, type, UInt8(requestID >> 8), UInt8(requestID & 0xFF), UInt8(content.count >> 8),
            UInt8(content.count & 0xFF), UInt8(padding), 0,
        ]
        bytes += content
        bytes += [UInt8](repeating: 0, count: padding)
        return bytes
    }

    /// FCGI_BEGIN_REQUEST for the responder role, without FCGI_KEEP_CONN.
    static func begin(requestID: UInt16 = 1) -> [UInt8] {
        record(type: beginRequest, requestID: requestID, content: [0, 1, 0, 0, 0, 0, 0, 0])
    }

    /// One FCGI_PARAMS record holding `pairs`, in the specification's name-value encoding.
    static func parameters(_ pairs: [(String, String)], requestID: UInt16 = 1) -> [UInt8] {
        var content: [UInt8] = []
        for (name, value) in pairs {
            for length in [name.utf8.count, value.utf8.count] {
                if length < 128 {
                    content.append(UInt8(length))
                } else {
                    content += [
                        UInt8(length >> 24) | 0x80, UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF),
                        UInt8(length & 0xFF),
                    ]
                }
            }
            content += Array(name.utf8) + Array(value.utf8)
        }
        return record(type: params, requestID: requestID, content: content)
    }

    /// A whole request: begin, parameters, their end, an empty body.
    static func request(_ pairs: [(String, String)]) -> [UInt8] {
        begin() + parameters(pairs) + record(type: params, content: []) + record(type: stdin, content: [])
    }

    /// The concatenated content of the STDOUT records in `bytes` (complete records only).
    static func stdoutContent(of bytes: [UInt8]) -> [UInt8] {
        var content: [UInt8] = []
        var offset = 0
        while offset + 8 <= bytes.count {
            let length = Int(bytes[offset + 4]) << 8 | Int(bytes[offset + 5])
            let end = offset + 8 + length + Int(bytes[offset + 6])
            guard end <= bytes.count else { break }
            if bytes[offset + 1] == stdout { content += bytes[(offset + 8)..<(offset + 8 + length)] }
            offset = end
        }
        return content
    }
}
