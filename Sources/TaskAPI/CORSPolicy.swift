import HTTPTypes

/// Which origins may read the API's answers, and the header fields that say so.
///
/// Every answer, errors included, carries `Access-Control-Allow-Origin`: `*` when any origin is allowed, otherwise
/// the request's `Origin` when it is configured (with `Vary: Origin`, so caches keep answers per origin). An origin
/// that is not configured gets the first configured one, which its browser then refuses, as it should.
public struct CORSPolicy: Sendable, Equatable {
    /// How long a browser may cache a preflight's answer, in seconds (Chromium caps this at 7200).
    public static let maxAgeSeconds = 7_200
    static let defaultAllowedHeaders = "Content-Type"

    public let allowsAnyOrigin: Bool
    public let origins: [String]

    public init(origins: [String]) {
        self.allowsAnyOrigin = origins.isEmpty || origins.contains("*")
        self.origins = origins.filter { $0 != "*" }
    }

    /// Adds `Access-Control-Allow-Origin` (and `Vary: Origin` when the answer depends on it) to `fields`.
    public func addAllowOrigin(for request: Request, to fields: inout HTTPFields) {
        if allowsAnyOrigin {
            fields[.accessControlAllowOrigin] = "*"
            return
        }
        if let origin = request.headerFields[.origin], origins.contains(origin) {
            fields[.accessControlAllowOrigin] = origin
        } else {
            fields[.accessControlAllowOrigin] = origins.first ?? "*"
        }
        fields.append(HTTPField(name: .vary, value: "Origin"))
    }

    /// The header fields of a preflight's `204`: allowed methods and headers and how long to cache them (the caller
    /// adds `Access-Control-Allow-Origin`, as on every answer).
    ///
    /// The requested headers are echoed back when they are a plain list of header names (the API reads none of them
    /// but `Content-Type`, so allowing them costs nothing and keeps client libraries that add their own working).
    public func preflightFields(allowedMethods: [HTTPRequest.Method], for request: Request) -> HTTPFields {
        var fields = HTTPFields()
        fields[.accessControlAllowMethods] = allowedMethods.map(\.rawValue).joined(separator: ", ")
        if let requested = request.headerFields[.accessControlRequestHeaders], Self.isHeaderNameList(requested) {
            fields[.accessControlAllowHeaders] = requested
            fields.append(HTTPField(name: .vary, value: "Access-Control-Request-Headers"))
        } else {
            fields[.accessControlAllowHeaders] = Self.defaultAllowedHeaders
        }
        fields[.accessControlMaxAge] = String(Self.maxAgeSeconds)
        return fields
    }

    /// `content-type, x-requested-with`: header-name tokens separated by commas and spaces, of reasonable length.
    static func isHeaderNameList(_ value: String) -> Bool {
        let bytes = value.utf8
        guard !bytes.isEmpty, bytes.count <= 1_024 else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: ","),
                UInt8(ascii: " "):
                true
            default: false
            }
        } && bytes.contains { $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: " ") }
    }
}
