import CFastCGI

import Glibc

/// One request as libfcgi delivered it, copied into Swift values at once: libfcgi frees the parameter strings at
/// the next accept or finish.
struct FastCGIExchange: Sendable, Equatable {
    /// Every FastCGI parameter (`REQUEST_METHOD`, `QUERY_STRING`, `HTTP_ORIGIN`, …); a repeated name keeps its first value.
    var parameters: [String: String]
    /// At most `bodyLimit` bytes of the request body.
    var body: [UInt8]

    init(parameters: [String: String], body: [UInt8]) {
        self.parameters = parameters
        self.body = body
    }

    /// Copies the parameters and reads the body, at most `bodyLimit` bytes (the handler answers 413 when it gets
    /// more than its maximum, so reading one byte past it is enough to know).
    init(request: UnsafeMutablePointer<FCGX_Request>, bodyLimit: Int) {
        var parameters: [String: String] = [:]
        if var entry = request.pointee.envp {
            while let pointer = entry.pointee {
                let pair = UnsafeBufferPointer(
                    start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self),
                    count: strlen(pointer))
                if let separator = pair.firstIndex(of: UInt8(ascii: "=")) {
                    let name = String(decoding: pair[..<separator], as: UTF8.self)
                    if parameters[name] == nil {
                        parameters[name] = String(decoding: pair[(separator + 1)...], as: UTF8.self)
                    }
                }
                entry += 1
            }
        }
        self.parameters = parameters
        self.body = Self.readBody(
            from: request.pointee.in, declaredLength: parameters["CONTENT_LENGTH"], limit: bodyLimit)
    }

    private static func readBody(from stream: UnsafeMutablePointer<FCGX_Stream>?, declaredLength: String?, limit: Int)
        -> [UInt8]
    {
        guard let stream else { return [] }
        let declared = declaredLength.flatMap { Int($0) }.map { max(0, $0) }
        let capacity = min(declared ?? limit, limit)
        guard capacity > 0 else { return [] }
        var body = [UInt8](repeating: 0, count: capacity)
        var filled = 0
        body.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            while filled < capacity {
                let read = base.advanced(by: filled).withMemoryRebound(to: CChar.self, capacity: capacity - filled) {
                    FCGX_GetStr($0, Int32(capacity - filled), stream)
                }
                if read <= 0 { break }
                filled += Int(read)
            }
        }
        body.removeSubrange(filled...)
        if filled == limit { drain(stream) }
        return body
    }

    /// Reads and drops the rest of a body too large to keep, so that nginx, still writing it, sees the answer
    /// rather than a connection closed under it (which it would report as a 502). nginx's
    /// `client_max_body_size` bounds it; `drainLimit` bounds it when nginx is configured without one.
    private static func drain(_ stream: UnsafeMutablePointer<FCGX_Stream>) {
        var scratch = [CChar](repeating: 0, count: 16_384)
        var drained = 0
        while drained < drainLimit {
            let read = scratch.withUnsafeMutableBufferPointer { FCGX_GetStr($0.baseAddress, Int32($0.count), stream) }
            if read <= 0 { return }
            drained += Int(read)
        }
    }

    private static let drainLimit = 16 << 20
}
