/// A small pull parser over JSON bytes, for the documents read on every request, where `JSONDecoder` is too slow.
///
/// It reads values in the order the caller asks for them, validates as it goes, and reports the byte offset of the
/// first thing it cannot accept. Keys may come in any order and unknown keys are skipped, so a document rewritten by
/// `jq` still reads.
struct JSONReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private(set) var offset = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    func failure(_ what: String) -> WireFormatError {
        WireFormatError(message: "\(what) at byte \(offset)")
    }

    private mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x0A, 0x0D, 0x09: offset += 1
            default: return
            }
        }
    }

    private mutating func peek() -> UInt8? {
        skipWhitespace()
        return offset < bytes.count ? bytes[offset] : nil
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        offset += 1
        return true
    }

    private mutating func expect(_ byte: UInt8) throws(WireFormatError) {
        guard consume(byte) else { throw failure("expected '\(Character(Unicode.Scalar(byte)))'") }
    }

    /// Fails unless only white space is left.
    mutating func expectEnd() throws(WireFormatError) {
        guard peek() == nil else { throw failure("unexpected data after the document") }
    }

    /// Calls `body` with each key of an object; `body` must read the key's value.
    mutating func readObject(_ body: (inout JSONReader, String) throws(WireFormatError) -> Void) throws(WireFormatError)
    {
        try expect(UInt8(ascii: "{"))
        if consume(UInt8(ascii: "}")) { return }
        repeat {
            let key = try readString()
            try expect(UInt8(ascii: ":"))
            try body(&self, key)
        } while consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "}"))
    }

    /// Calls `body` for each element of an array; `body` must read the element.
    mutating func readArray(_ body: (inout JSONReader) throws(WireFormatError) -> Void) throws(WireFormatError) {
        try expect(UInt8(ascii: "["))
        if consume(UInt8(ascii: "]")) { return }
        repeat {
            try body(&self)
        } while consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "]"))
    }

    mutating func readNull() -> Bool {
        guard peek() == UInt8(ascii: "n"), bytes.count - offset >= 4, bytes[offset + 1] == UInt8(ascii: "u"),
            bytes[offset + 2] == UInt8(ascii: "l"), bytes[offset + 3] == UInt8(ascii: "l")
        else { return false }
        offset += 4
        return true
    }

    /// An integer without fraction or exponent, within Int64.
    mutating func readInt64() throws(WireFormatError) -> Int64 {
        _ = peek()
        var negative = false
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "-") {
            negative = true
            offset += 1
        }
        let start = offset
        var value: Int64 = 0
        while offset < bytes.count, bytes[offset] >= UInt8(ascii: "0"), bytes[offset] <= UInt8(ascii: "9") {
            let digit = Int64(bytes[offset] - UInt8(ascii: "0"))
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (added, overflow2) = shifted.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { throw failure("integer out of range") }
            value = added
            offset += 1
        }
        guard offset > start else { throw failure("expected an integer") }
        if offset < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[offset]) {
            throw failure("expected a whole number")
        }
        return negative ? -value : value
    }

    /// An integer that must be in `range`: the error names `field` (and the value, when it is out of range).
    mutating func readInt64(_ field: String, in range: ClosedRange<Int64>) throws(WireFormatError) -> Int64 {
        _ = peek()
        let start = offset
        let value: Int64
        do {
            value = try readInt64()
        } catch {
            throw WireFormatError(message: "\(field): \(error.message)")
        }
        guard range.contains(value) else {
            offset = start
            throw failure(StoredLimits.outOfRange(field, "\(value)", range).message)
        }
        return value
    }

    mutating func readString() throws(WireFormatError) -> String {
        try expect(UInt8(ascii: "\""))
        let start = offset
        var isASCII = true
        // Fast path: no escapes, the bytes are the string; ASCII needs no UTF-8 validation.
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<offset])
                offset += 1
                if isASCII { return String(decoding: slice, as: UTF8.self) }
                guard let string = String(validating: slice, as: UTF8.self) else { throw failure("invalid UTF-8") }
                return string
            }
            isASCII = isASCII && byte < 0x80
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw failure("control character in a string") }
            offset += 1
        }
        var scalars = Array(bytes[start..<offset])
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(validating: scalars, as: UTF8.self) else { throw failure("invalid UTF-8") }
                return string
            case UInt8(ascii: "\\"):
                try readEscape(into: &scalars)
            case 0x00..<0x20:
                throw failure("control character in a string")
            default:
                scalars.append(byte)
            }
        }
        throw failure("unterminated string")
    }

    private mutating func readEscape(into buffer: inout [UInt8]) throws(WireFormatError) {
        guard offset < bytes.count else { throw failure("unterminated escape") }
        let byte = bytes[offset]
        offset += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(byte)
        case UInt8(ascii: "n"): buffer.append(0x0A)
        case UInt8(ascii: "r"): buffer.append(0x0D)
        case UInt8(ascii: "t"): buffer.append(0x09)
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "u"):
            var code = try readHex4()
            if (0xD800..<0xDC00).contains(code) {
                guard bytes.count - offset >= 6, bytes[offset] == UInt8(ascii: "\\"),
                    bytes[offset + 1] == UInt8(ascii: "u")
                else { throw failure("unpaired surrogate") }
                offset += 2
                let low = try readHex4()
                guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate") }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(code) {
                throw failure("unpaired surrogate")
            }
            guard let scalar = Unicode.Scalar(code) else { throw failure("invalid escape") }
            buffer.append(contentsOf: String(Character(scalar)).utf8)
        default:
            throw failure("invalid escape")
        }
    }

    private mutating func readHex4() throws(WireFormatError) -> UInt32 {
        guard bytes.count - offset >= 4 else { throw failure("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        return value
    }

    /// Reads and discards any value, for keys a newer version may have added.
    mutating func skipValue(depth: Int = 0) throws(WireFormatError) {
        guard depth < 64 else { throw failure("nesting too deep") }
        switch peek() {
        case UInt8(ascii: "{"):
            try readObject { (reader, _) throws(WireFormatError) in try reader.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            try readArray { (reader) throws(WireFormatError) in try reader.skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""):
            _ = try readString()
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            for literal in ["true", "false", "null"] where matches(literal) {
                offset += literal.utf8.count
                return
            }
            throw failure("invalid literal")
        case .some:
            let start = offset
            while offset < bytes.count, Self.isNumberByte(bytes[offset]) { offset += 1 }
            guard offset > start else { throw failure("unexpected character") }
        case nil:
            throw failure("unexpected end")
        }
    }

    private func matches(_ literal: String) -> Bool {
        let utf8 = Array(literal.utf8)
        guard bytes.count - offset >= utf8.count else { return false }
        return (0..<utf8.count).allSatisfy { bytes[offset + $0] == utf8[$0] }
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e")
            || byte == UInt8(ascii: "E")
    }
}

/// A stored document that cannot be read: what is wrong and where.
public struct WireFormatError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
