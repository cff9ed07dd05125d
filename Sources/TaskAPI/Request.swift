import HTTPTypes

/// One REST (or WebSocket handshake) request as the API sees it: no sockets, no FastCGI, just values.
public struct Request: Sendable {
    public var method: HTTPRequest.Method
    /// The path without the query string, e.g. `/tasks/3`.
    public var path: String
    /// Query parameters, percent-decoded with `+` read as a space; the first occurrence of a name wins.
    public var query: [String: String]
    /// `Content-Type`, `Origin`, `Access-Control-Request-Method`/`-Headers` and whatever else the adapter passes on.
    public var headerFields: HTTPFields
    /// The body; adapters read at most `APIHandler.maximumBodyBytes + 1` bytes, so an oversized body is noticed.
    public var body: [UInt8]
    /// nginx's `$request_id`, attached to every log line of the request.
    public var requestID: String?

    public init(
        method: HTTPRequest.Method, path: String, rawQuery: String, headerFields: HTTPFields = [:],
        body: [UInt8] = [], requestID: String? = nil
    ) {
        self.method = method
        self.path = path
        self.query = Self.parseQuery(rawQuery)
        self.headerFields = headerFields
        self.body = body
        self.requestID = requestID
    }

    /// Splits `a=1&b=2` into names and values. Empty segments are skipped, a segment without `=` has an empty value,
    /// and the first occurrence of a name wins (so a later `api_key` cannot override an earlier one).
    static func parseQuery(_ rawQuery: String) -> [String: String] {
        var query: [String: String] = [:]
        guard !rawQuery.isEmpty else { return query }
        // On every request: one pass over the bytes in place, without an array of segments.
        query.reserveCapacity(4)
        var rawQuery = rawQuery
        rawQuery.withUTF8 { bytes in
            var start = 0
            while start < bytes.count {
                let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.count
                if end > start {
                    let segment = bytes[start..<end]
                    let equals = segment.firstIndex(of: UInt8(ascii: "="))
                    let name = percentDecode(segment[..<(equals ?? end)])
                    if query[name] == nil {
                        query[name] = percentDecode(segment[(equals.map { $0 + 1 } ?? end)...])
                    }
                }
                start = end + 1
            }
        }
        return query
    }

    /// Decodes `%XX` escapes and `+`. A malformed escape is kept as written; bytes that are not UTF-8 become U+FFFD,
    /// which no valid parameter contains, so such a value is simply rejected later.
    static func percentDecode(_ bytes: some Collection<UInt8>) -> String {
        guard bytes.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else {
            return String(decoding: bytes, as: UTF8.self)
        }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                decoded.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"),
                let high = bytes.index(index, offsetBy: 1, limitedBy: bytes.endIndex), high != bytes.endIndex,
                let low = bytes.index(high, offsetBy: 1, limitedBy: bytes.endIndex), low != bytes.endIndex,
                let highValue = hexValue(bytes[high]), let lowValue = hexValue(bytes[low])
            {
                decoded.append(highValue << 4 | lowValue)
                index = low
            } else {
                decoded.append(byte)
            }
            index = bytes.index(after: index)
        }
        return String(decoding: decoded, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
