import HTTPTypes
import TaskAPI

extension Request {
    /// The request nginx forwarded, from its FastCGI parameters: `REQUEST_METHOD`, the path in `DOCUMENT_URI` (the
    /// locations file passes nginx's normalised `$uri` there), `QUERY_STRING`, `CONTENT_TYPE`, `CONTENT_LENGTH`,
    /// every `HTTP_*` header (`HTTP_ORIGIN`, `HTTP_ACCESS_CONTROL_REQUEST_METHOD`, …) and `REQUEST_ID` (`$request_id`).
    init(fastCGI exchange: FastCGIExchange) {
        let parameters = exchange.parameters
        let method = parameters["REQUEST_METHOD"].flatMap { HTTPRequest.Method($0) } ?? .get
        self.init(
            method: method,
            path: Self.path(from: parameters),
            rawQuery: parameters["QUERY_STRING"] ?? "",
            headerFields: Self.headerFields(from: parameters),
            body: exchange.body,
            requestID: parameters["REQUEST_ID"].flatMap { $0.isEmpty ? nil : $0 })
    }

    private static func path(from parameters: [String: String]) -> String {
        if let uri = parameters["DOCUMENT_URI"], !uri.isEmpty { return uri }
        let requestURI = parameters["REQUEST_URI"] ?? "/"
        return String(requestURI.prefix { $0 != "?" })
    }

    private static func headerFields(from parameters: [String: String]) -> HTTPFields {
        var fields = HTTPFields()
        if let contentType = parameters["CONTENT_TYPE"], !contentType.isEmpty {
            fields[.contentType] = contentType
        }
        if let contentLength = parameters["CONTENT_LENGTH"], !contentLength.isEmpty {
            fields[.contentLength] = contentLength
        }
        // Sorted, so that the order of repeated-looking headers does not depend on dictionary order.
        for (parameter, value) in parameters.sorted(by: { $0.key < $1.key }) where parameter.hasPrefix("HTTP_") {
            let headerName = parameter.dropFirst(5).replacingOccurrences(of: "_", with: "-").lowercased()
            guard let name = HTTPField.Name(headerName), name != .contentType, name != .contentLength else { continue }
            fields.append(HTTPField(name: name, value: value))
        }
        return fields
    }
}

extension Substring {
    fileprivate func replacingOccurrences(of target: Character, with replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
