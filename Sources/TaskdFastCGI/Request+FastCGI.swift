import HTTPTypes
import TaskAPI
import TaskCore

extension Request {
    /// The request nginx forwarded, from its FastCGI parameters: `REQUEST_METHOD`, the path in `DOCUMENT_URI` (the
    /// locations file passes nginx's normalised `$uri` there), `QUERY_STRING`, `REQUEST_ID` (`$request_id`), and
    /// the header fields the API reads: `CONTENT_TYPE`, `HTTP_ORIGIN`, `HTTP_ACCESS_CONTROL_REQUEST_METHOD` and
    /// `HTTP_ACCESS_CONTROL_REQUEST_HEADERS`.
    ///
    /// Throws when `REQUEST_METHOD` is missing or not an HTTP method token (nginx never forwards such a request; any
    /// other local peer might): it is answered as the invalid request it is, never served as some other method. Throws
    /// too when the body does not match `CONTENT_LENGTH` (a body cut short, or a length that is not one), so that a
    /// truncated body is never served as a complete one.
    init(fastCGI exchange: FastCGIExchange) throws(ValidationError) {
        guard let method = exchange[.requestMethod].flatMap({ HTTPRequest.Method($0) }) else {
            throw Self.unparsableMethod(exchange[.requestMethod])
        }
        if let fault = exchange.bodyFault { throw Self.mismatchedBody(fault, length: exchange[.contentLength]) }
        self.init(
            method: method, path: Self.path(from: exchange), rawQuery: exchange[.queryString] ?? "",
            headerFields: Self.headerFields(from: exchange), body: exchange.body,
            requestID: exchange[.requestID].flatMap { $0.isEmpty ? nil : $0 })
    }

    static func unparsableMethod(_ raw: String?) -> ValidationError {
        guard let raw else {
            return ValidationError(
                parameter: "REQUEST_METHOD",
                message: "The request has no method; it must be GET, POST, DELETE or OPTIONS.")
        }
        let shown = String(raw.unicodeScalars.prefix(20).map { $0.isASCII && $0.value >= 0x20 ? Character($0) : "?" })
        return ValidationError(
            parameter: "REQUEST_METHOD", message: "The request method '\(shown)' is not an HTTP method.")
    }

    static func mismatchedBody(_ fault: FastCGIExchange.BodyFault, length: String?) -> ValidationError {
        let message: String
        switch fault {
        case .unreadableLength:
            let shown = String(
                (length ?? "").unicodeScalars.prefix(20).map { $0.isASCII && $0.value >= 0x20 ? Character($0) : "?" })
            message = "CONTENT_LENGTH '\(shown)' is not a length in bytes (a decimal integer); nothing was done."
        case .shorter(let declared, let received):
            message =
                "The request body ended after \(received) of the \(declared) bytes its CONTENT_LENGTH announced;"
                + " nothing was done. Send the whole body."
        case .longer(let declared):
            message =
                "The request body is longer than the \(declared) bytes its CONTENT_LENGTH announced; nothing was done."
        }
        return ValidationError(parameter: "CONTENT_LENGTH", message: message)
    }

    private static func path(from exchange: FastCGIExchange) -> String {
        if let uri = exchange[.documentURI], !uri.isEmpty { return uri }
        let requestURI = exchange[.requestURI] ?? "/"
        return String(requestURI.prefix { $0 != "?" })
    }

    private static let passedFields: [(FastCGIExchange.Parameter, HTTPField.Name)] = [
        (.contentType, .contentType), (.origin, .origin), (.accessControlRequestMethod, .accessControlRequestMethod),
        (.accessControlRequestHeaders, .accessControlRequestHeaders),
    ]

    private static func headerFields(from exchange: FastCGIExchange) -> HTTPFields {
        var fields = HTTPFields()
        for (parameter, name) in passedFields {
            // FastCGI passes an absent header as an empty parameter (nginx's `$content_type` of a GET).
            if let value = exchange[parameter], !value.isEmpty { fields[name] = value }
        }
        return fields
    }
}
