/// A task's name: 1 to 256 characters, not only white space, kept exactly as sent.
public struct TaskName: Hashable, Sendable, Codable, CustomStringConvertible {
    public static let maximumLength = 256

    public let rawValue: String

    /// Validates the `name` field of a create. Length counts user-perceived characters.
    public init(parsing text: String) throws(ValidationError) {
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

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try TaskName(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
