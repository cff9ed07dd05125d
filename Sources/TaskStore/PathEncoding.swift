/// Turns names into single path components that no input can steer: `[A-Za-z0-9_-]` stay, every other byte
/// (including `.`, `/`, `\`, the backtick, `[`, `^`) is written `%XX`. So `.` and `..` cannot occur, a name never
/// contains `/`, names starting with `.` stay free for the store's own files, and distinct names never collide.
enum PathEncoding {
    static func encode(_ name: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(name.utf8.count)
        for byte in name.utf8 {
            if isKept(byte) {
                bytes.append(byte)
            } else {
                bytes.append(UInt8(ascii: "%"))
                bytes.append(hexDigits[Int(byte >> 4)])
                bytes.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The name a component encodes; `nil` unless it is exactly what `encode` would write.
    static func decode(_ component: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = component.utf8.makeIterator()
        while let byte = iterator.next() {
            if isKept(byte) {
                bytes.append(byte)
            } else if byte == UInt8(ascii: "%"), let high = iterator.next().flatMap(hexValue),
                let low = iterator.next().flatMap(hexValue)
            {
                bytes.append(high << 4 | low)
            } else {
                return nil
            }
        }
        guard let name = String(validating: bytes, as: UTF8.self), encode(name) == component else { return nil }
        return name
    }

    private static func isKept(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: "-")
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)
}
