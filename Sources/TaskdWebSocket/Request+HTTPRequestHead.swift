import HTTPTypes
import NIOHTTP1
import TaskAPI

extension Request {
    /// The request as TaskAPI sees it, from the head NIO parsed. nginx passes its `$request_id` as `X-Request-ID`.
    init(head: HTTPRequestHead) {
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
            method: HTTPRequest.Method(head.method.rawValue) ?? .get,
            path: String(path),
            rawQuery: String(query),
            headerFields: fields,
            body: [],
            requestID: head.headers.first(name: "X-Request-ID"))
    }
}
