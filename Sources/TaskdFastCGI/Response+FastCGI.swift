import HTTPTypes
import TaskAPI

extension Response {
    /// The CGI answer libfcgi sends to nginx: `Status: 201 Created`, the header fields, a blank line, the body.
    var fastCGIRecord: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128 + body.count)
        bytes.append(contentsOf: "Status: \(status.code) \(status.reasonPhrase)\r\n".utf8)
        for field in headerFields {
            bytes.append(contentsOf: field.name.rawName.utf8)
            bytes.append(contentsOf: ": ".utf8)
            bytes.append(contentsOf: field.value.utf8)
            bytes.append(contentsOf: "\r\n".utf8)
        }
        bytes.append(contentsOf: "\r\n".utf8)
        bytes.append(contentsOf: body)
        return bytes
    }
}
