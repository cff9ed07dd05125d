import HTTPTypes
import NIOHTTP1
import TaskAPI
import TaskCore

extension Request {
    /// The request as TaskAPI sees it, from the head NIO parsed. nginx passes its `$request_id` as `X-Request-ID`.
    /// Throws `ValidationError` when the method is not a valid HTTP method token: such a request is answered 400 as
    /// what it is, never read as some other method.
    init(head: HTTPRequestHead) throws(ValidationError) {
        guard let method = HTTPRequest.Method(head.method.rawValue) else {
            throw ValidationError(
                parameter: "method",
                message: "The request method '\(head.method.rawValue.prefix(32))' is not a valid HTTP method.")
        }
        let target = head.uri
        let path: Substring
        let query: Substring
        if let mark = target.firstIndex(of: "?") {
            path = target[..<mark]
            query = target[target.index(after: mark)...]
        } else {
            path = target[...]
            query = ""
        }
        var fields = HTTPFields()
        for (name, value) in head.headers {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        self.init(
            method: method, path: String(path), rawQuery: String(query), headerFields: fields, body: [],
            requestID: head.headers.first(name: "X-Request-ID"))
    }
}
