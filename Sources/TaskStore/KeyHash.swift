import TaskCore

/// The SHA-256 of an API key, as the keys file and a tenant's export keep it: written as exactly 64 lower-case hex
/// digits, held and compared as its 32 bytes.
///
/// One spelling only, so that two entries can never name the same key in different words: an upper-case or
/// otherwise different spelling of a hash is refused wherever a hash is read (the keys file, an export), never
/// folded into the same key.
public struct KeyHash: Hashable, Sendable, Codable, CustomStringConvertible {
    public static let hexLength = 64

    /// The 32 bytes of the digest.
    let bytes: [UInt8]

    /// The hash of `key`'s UTF-8 bytes.
    public init(of key: String) {
        bytes = KeyDigest.digest(of: key)
    }

    /// Reads the stored spelling: exactly 64 of `0-9 a-f`.
    public init(parsing text: String) throws(ValidationError) {
        guard let bytes = KeyDigest.bytes(fromLowerHex: text) else {
            throw ValidationError(
                parameter: "sha256",
                message:
                    "A key hash is exactly \(Self.hexLength) lower-case hex digits (0-9, a-f); got \(text.utf8.count)"
                    + " characters\(text.utf8.count == Self.hexLength ? " that are not all 0-9 a-f" : "").")
        }
        self.bytes = bytes
    }

    /// The 64 lower-case hex digits.
    public var hex: String { KeyDigest.hex(bytes) }

    public var description: String { hex }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try KeyHash(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}
