import HTTPTypes
import TaskAPI

extension Response {
    /// The CGI answer libfcgi sends to nginx: `Status: 201 Created`, the header fields, a blank line, the body.
    var fastCGIRecord: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(160 + body.count)
        // Appended piece by piece: string interpolation would build (and free) a String per line on every request.
        bytes.append(contentsOf: "Status: ".utf8)
        let code = status.code
        bytes.append(UInt8(48 + code / 100))
        bytes.append(UInt8(48 + code / 10 % 10))
        bytes.append(UInt8(48 + code % 10))
        bytes.append(UInt8(ascii: " "))
        bytes.append(contentsOf: status.reasonPhrase.utf8)
        bytes.append(contentsOf: "\r\n".utf8)
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
