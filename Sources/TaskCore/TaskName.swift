/// A task's name: 1 to 256 characters (Unicode code points, as JSON Schema's `maxLength` counts them) and at most
/// 1 KiB of UTF-8, not only white space, kept exactly as sent.
public struct TaskName: Hashable, Sendable, Codable, CustomStringConvertible {
    public static let maximumLength = 256
    /// The most UTF-8 bytes a name may take: a few characters with thousands of combining marks would otherwise
    /// count as "a few characters" and make workspaces of hundreds of megabytes.
    public static let maximumBytes = 1024

    public let rawValue: String

    /// Validates the `name` field of a create. Length counts Unicode code points, size counts UTF-8 bytes.
    public init(parsing text: String) throws(ValidationError) {
        guard text.utf8.count <= Self.maximumBytes else {
            throw ValidationError(
                parameter: "name",
                message:
                    "Field 'name' must be at most \(Self.maximumBytes) bytes long in UTF-8"
                    + " (and at most \(Self.maximumLength) characters).")
        }
        guard text.utf8.count <= Self.maximumLength || text.unicodeScalars.count <= Self.maximumLength else {
            throw ValidationError(
                parameter: "name", message: "Field 'name' must be at most \(Self.maximumLength) characters long.")
        }
        try self.init(stored: text)
    }

    /// A name read back from the store: the rules of `init(parsing:)` except the size in bytes and the count of code
    /// points, which older versions did not check (they counted user-perceived characters), so that a state
    /// directory they wrote still reads.
    public init(stored text: String) throws(ValidationError) {
        guard !text.isEmpty else {
            throw ValidationError(parameter: "name", message: "Field 'name' must not be empty.")
        }
        // A string of at most 256 UTF-8 bytes has at most 256 characters; count graphemes only when it may matter.
        guard text.utf8.count <= Self.maximumLength || text.count <= Self.maximumLength else {
            throw ValidationError(
                parameter: "name", message: "Field 'name' must be at most \(Self.maximumLength) characters long.")
        }
        guard !text.allSatisfy(\.isWhitespace) else {
            throw ValidationError(parameter: "name", message: "Field 'name' must not be only white space.")
        }
        self.rawValue = text
    }

    public var description: String { rawValue }

    /// Decoding reads stored values (change-log records), so it applies the stored rules.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try TaskName(stored: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
