import HTTPTypes

/// One answer: status, header fields and body, for an adapter to write out as it is.
public struct Response: Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var headerFields: HTTPFields
    public var body: [UInt8]

    public init(status: HTTPResponse.Status, headerFields: HTTPFields = [:], body: [UInt8] = []) {
        self.status = status
        self.headerFields = headerFields
        self.body = body
    }

    /// A JSON answer with `Content-Type: application/json; charset=utf-8` and its `Content-Length`.
    public static func json(_ body: [UInt8], status: HTTPResponse.Status) -> Response {
        var fields = HTTPFields()
        fields.reserveCapacity(6)
        fields[.contentType] = contentTypeJSON
        fields[.contentLength] = String(body.count)
        return Response(status: status, headerFields: fields, body: body)
    }

    /// `204 No Content`: no body and no `Content-Type`.
    public static func noContent() -> Response {
        Response(status: .noContent)
    }

    public static let contentTypeJSON = "application/json; charset=utf-8"
}
