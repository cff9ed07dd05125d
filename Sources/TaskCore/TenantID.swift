/// The owner of keys and workspaces. Names are chosen by an admin: 1 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit.
public struct TenantID: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public static let maximumLength = 64

    public let rawValue: String

    public init(parsing text: String) throws(ValidationError) {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= Self.maximumLength, Self.isAlphanumeric(first),
            bytes.allSatisfy({
                Self.isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            })
        else {
            throw ValidationError(
                parameter: "tenant",
                message:
                    "A tenant name is 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit; got '\(text.prefix(70))'."
            )
        }
        self.rawValue = text
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    public static func < (lhs: TenantID, rhs: TenantID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try TenantID(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
