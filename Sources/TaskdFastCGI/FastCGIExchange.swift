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

    /// What `CONTENT_LENGTH` announces.
    enum DeclaredLength: Equatable, Sendable {
        /// Absent or empty (nginx's `$content_length` of a request without a body): the body is what the stream
        /// holds.
        case none
        case bytes(Int)
        /// Not a decimal count of bytes: a sign, a space, another character, or more than 18 digits.
        case unreadable
    }

    /// How the body failed to match its `CONTENT_LENGTH`. Such a request is answered 400 and never served: a body
    /// cut short (its stream ended early) must not be taken for a complete shorter one, which may well parse.
    enum BodyFault: Equatable, Sendable {
        case unreadableLength
        /// The stream ended after `received` of the `declared` bytes.
        case shorter(declared: Int, received: Int)
        /// More bytes followed the `declared` ones.
        case longer(declared: Int)
    }

    /// The values, indexed by `Parameter.rawValue`; a repeated name keeps its first value.
    private var values: [String?] = Array(repeating: nil, count: Parameter.allCases.count)
    /// At most `bodyLimit` bytes of the request body.
    var body: [UInt8] = []
    /// Set when the body does not match `CONTENT_LENGTH`.
    var bodyFault: BodyFault?

    subscript(_ parameter: Parameter) -> String? { values[parameter.rawValue] }

    /// Parameters given by name (tests, and anything that is not libfcgi); unknown names are ignored. `body` is the
    /// whole body, checked against `CONTENT_LENGTH` as a received one would be.
    init(parameters: [String: String], body: [UInt8]) {
        for (name, value) in parameters {
            var name = name
            name.withUTF8 { bytes in
                if let parameter = Parameter.named(UnsafeRawBufferPointer(bytes)) { record(parameter, value) }
            }
        }
        self.body = body
        switch Self.declaredLength(self[.contentLength]) {
        case .none: bodyFault = nil
        case .unreadable: bodyFault = .unreadableLength
        case .bytes(let declared) where body.count < declared:
            bodyFault = .shorter(declared: declared, received: body.count)
        case .bytes(let declared) where body.count > declared: bodyFault = .longer(declared: declared)
        case .bytes: bodyFault = nil
        }
    }

    /// Reads `CONTENT_LENGTH`: only ASCII digits, at most 18 of them (so the value fits any length taskd compares).
    static func declaredLength(_ text: String?) -> DeclaredLength {
        guard let text, !text.isEmpty else { return .none }
        let digits = text.utf8
        guard digits.count <= 18, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let value = Int(text)
        else { return .unreadable }
        return .bytes(value)
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
        (body, bodyFault) = Self.readBody(
            from: request.pointee.in, declared: Self.declaredLength(self[.contentLength]), limit: bodyLimit)
    }

    private mutating func record(_ parameter: Parameter, _ value: String) {
        if values[parameter.rawValue] == nil { values[parameter.rawValue] = value }
    }

    /// Reads the body and checks it against its declared length: exactly that many bytes, then the end of the stream.
    /// A declared length of `limit` or more is too large for any endpoint: `limit` bytes are kept (the handler answers
    /// 413) and the rest is read and dropped, counted to tell a body that ended early.
    private static func readBody(
        from stream: UnsafeMutablePointer<FCGX_Stream>?, declared: DeclaredLength, limit: Int
    ) -> (body: [UInt8], fault: BodyFault?) {
        switch declared {
        case .unreadable:
            if let stream { _ = drain(stream) }
            return ([], .unreadableLength)
        case .none:
            return (stream.map { readToEnd($0, limit: limit) } ?? [], nil)
        case .bytes(let declared):
            guard declared > 0 else { return ([], stream.map { hasMore($0) } == true ? .longer(declared: 0) : nil) }
            guard let stream else { return ([], .shorter(declared: declared, received: 0)) }
            let expected = min(declared, limit)
            // Read into an array of the declared size without clearing it first (not empty, so never the process-wide
            // empty-array singleton, whose count this initializer would write: ThreadSanitizer saw concurrent GETs
            // race on it).
            let body = [UInt8](unsafeUninitializedCapacity: expected) { buffer, count in
                count = fill(buffer, from: stream)
            }
            if body.count < expected { return (body, .shorter(declared: declared, received: body.count)) }
            if declared >= limit {
                let (dropped, sawEnd) = drain(stream)
                if sawEnd && limit + dropped < declared {
                    return (body, .shorter(declared: declared, received: limit + dropped))
                }
                return (body, nil)
            }
            return (body, hasMore(stream) ? .longer(declared: declared) : nil)
        }
    }

    /// Whether the stream holds another byte (one is read; the rest is drained, so nginx sees the answer).
    private static func hasMore(_ stream: UnsafeMutablePointer<FCGX_Stream>) -> Bool {
        guard FCGX_GetChar(stream) >= 0 else { return false }
        _ = drain(stream)
        return true
    }

    /// A body without a declared length: whatever the stream holds, in stack-sized chunks, up to `limit`.
    private static func readToEnd(_ stream: UnsafeMutablePointer<FCGX_Stream>, limit: Int) -> [UInt8] {
        var body: [UInt8] = []
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4_096) { chunk in
            while body.count < limit {
                let wanted = UnsafeMutableBufferPointer(rebasing: chunk[..<min(chunk.count, limit - body.count)])
                let read = fill(wanted, from: stream)
                if read == 0 { return }
                body.append(contentsOf: wanted[..<read])
            }
        }
        if body.count == limit { _ = drain(stream) }
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
    /// connection's deadline bounds how long it may take). Returns the bytes dropped and whether the stream ended.
    private static func drain(_ stream: UnsafeMutablePointer<FCGX_Stream>) -> (dropped: Int, sawEnd: Bool) {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 16_384) { scratch in
            var drained = 0
            while drained < drainLimit {
                let read = FCGX_GetStr(scratch.baseAddress, Int32(scratch.count), stream)
                if read <= 0 { return (drained, true) }
                drained += Int(read)
            }
            return (drained, false)
        }
    }

    private static let drainLimit = 16 << 20
}
