import CFastCGI

import Glibc

/// One request as libfcgi delivered it, copied into Swift values at once (libfcgi frees the parameter strings at the
/// next accept or finish). Only the parameters taskd reads are copied: nginx sends twenty or so, and turning each
/// into a `String` in a dictionary was a measurable share of a request.
struct FastCGIExchange: Sendable, Equatable {
    /// A FastCGI parameter taskd reads; nginx's others (`SCRIPT_NAME`, `SERVER_PORT`, most `HTTP_*`) are skipped.
    enum Parameter: Int, CaseIterable, Sendable {
        case requestMethod, documentURI, requestURI, queryString, contentType, contentLength, requestID
        case origin, accessControlRequestMethod, accessControlRequestHeaders

        var name: StaticString {
            switch self {
            case .requestMethod: "REQUEST_METHOD"
            case .documentURI: "DOCUMENT_URI"
            case .requestURI: "REQUEST_URI"
            case .queryString: "QUERY_STRING"
            case .contentType: "CONTENT_TYPE"
            case .contentLength: "CONTENT_LENGTH"
            case .requestID: "REQUEST_ID"
            case .origin: "HTTP_ORIGIN"
            case .accessControlRequestMethod: "HTTP_ACCESS_CONTROL_REQUEST_METHOD"
            case .accessControlRequestHeaders: "HTTP_ACCESS_CONTROL_REQUEST_HEADERS"
            }
        }

        /// The parameter called `name` (bytes, without the `=`), if taskd reads it.
        static func named(_ name: UnsafeRawBufferPointer) -> Parameter? {
            guard let base = name.baseAddress else { return nil }
            for parameter in all {
                let known = parameter.name
                if known.utf8CodeUnitCount == name.count, memcmp(known.utf8Start, base, name.count) == 0 {
                    return parameter
                }
            }
            return nil
        }

        private static let all = Parameter.allCases
    }

    /// The values, indexed by `Parameter.rawValue`; a repeated name keeps its first value.
    private var values: [String?] = Array(repeating: nil, count: Parameter.allCases.count)
    /// At most `bodyLimit` bytes of the request body.
    var body: [UInt8] = []

    subscript(_ parameter: Parameter) -> String? { values[parameter.rawValue] }

    /// Parameters given by name (tests, and anything that is not libfcgi); unknown names are ignored.
    init(parameters: [String: String], body: [UInt8]) {
        for (name, value) in parameters {
            var name = name
            name.withUTF8 { bytes in
                if let parameter = Parameter.named(UnsafeRawBufferPointer(bytes)) { record(parameter, value) }
            }
        }
        self.body = body
    }

    /// Copies the parameters taskd reads and reads the body, at most `bodyLimit` bytes (the handler answers 413 when
    /// it gets more than its maximum, so reading one byte past it is enough to know).
    init(request: UnsafeMutablePointer<FCGX_Request>, bodyLimit: Int) {
        if var entry = request.pointee.envp {
            // Each entry is "NAME=value", NUL-terminated.
            while let pointer = entry.pointee {
                let length = strlen(pointer)
                let raw = UnsafeRawPointer(pointer)
                if let separator = memchr(raw, Int32(UInt8(ascii: "=")), length) {
                    let nameLength = raw.distance(to: UnsafeRawPointer(separator))
                    if let parameter = Parameter.named(UnsafeRawBufferPointer(start: raw, count: nameLength)) {
                        let value = UnsafeRawBufferPointer(start: raw + nameLength + 1, count: length - nameLength - 1)
                        record(parameter, String(decoding: value, as: UTF8.self))
                    }
                }
                entry += 1
            }
        }
        let declared = self[.contentLength].flatMap { Int($0) }
        body = Self.readBody(from: request.pointee.in, declaredLength: declared, limit: bodyLimit)
    }

    private mutating func record(_ parameter: Parameter, _ value: String) {
        if values[parameter.rawValue] == nil { values[parameter.rawValue] = value }
    }

    /// Reads the body into an array of the declared size without clearing it first, then whatever follows (a body
    /// without a declared length) in stack-sized chunks, up to `limit`.
    private static func readBody(from stream: UnsafeMutablePointer<FCGX_Stream>?, declaredLength: Int?, limit: Int)
        -> [UInt8]
    {
        guard let stream else { return [] }
        let expected = min(max(declaredLength ?? 0, 0), limit)
        var body: [UInt8] = []
        // Not for an empty body: an array of capacity 0 is the process-wide empty-array singleton, and this
        // initializer writes its count there (ThreadSanitizer reported the writes of concurrent GETs racing).
        if expected > 0 {
            body = [UInt8](unsafeUninitializedCapacity: expected) { buffer, count in
                count = fill(buffer, from: stream)
            }
        }
        guard body.count == expected else { return body }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4_096) { chunk in
            while body.count < limit {
                let wanted = UnsafeMutableBufferPointer(rebasing: chunk[..<min(chunk.count, limit - body.count)])
                let read = fill(wanted, from: stream)
                if read == 0 { return }
                body.append(contentsOf: wanted[..<read])
            }
        }
        if body.count == limit { drain(stream) }
        return body
    }

    /// Reads until `buffer` is full or the stream ends; returns the bytes read.
    private static func fill(
        _ buffer: UnsafeMutableBufferPointer<UInt8>, from stream: UnsafeMutablePointer<FCGX_Stream>
    ) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var filled = 0
        while filled < buffer.count {
            let read = UnsafeMutableRawPointer(base + filled).withMemoryRebound(
                to: CChar.self, capacity: buffer.count - filled
            ) {
                FCGX_GetStr($0, Int32(buffer.count - filled), stream)
            }
            if read <= 0 { break }
            filled += Int(read)
        }
        return filled
    }

    /// Reads and drops the rest of a body too large to keep, so that nginx, still writing it, sees the answer
    /// rather than a connection closed under it (which it would report as a 502). nginx's
    /// `client_max_body_size` bounds it; `drainLimit` bounds it when nginx is configured without one (and the
    /// connection's deadline bounds how long it may take).
    private static func drain(_ stream: UnsafeMutablePointer<FCGX_Stream>) {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 16_384) { scratch in
            var drained = 0
            while drained < drainLimit {
                let read = FCGX_GetStr(scratch.baseAddress, Int32(scratch.count), stream)
                if read <= 0 { return }
                drained += Int(read)
            }
        }
    }

    private static let drainLimit = 16 << 20
}
