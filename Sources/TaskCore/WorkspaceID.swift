/// A workspace's name within its tenant: `^[A-z\-\_\d]+$`, taken literally, at most 64 characters.
///
/// The range `A-z` is kept as the API document writes it, so it also admits `[ \ ] ^ _` and the backtick.
public struct WorkspaceID: Hashable, Sendable, Codable, CustomStringConvertible {
    public static let maximumLength = 64
    public static let `default` = WorkspaceID(uncheckedRawValue: "default")

    public let rawValue: String

    private init(uncheckedRawValue: String) { self.rawValue = uncheckedRawValue }

    /// Validates a `workspace_id` query value.
    public init(parsing text: String) throws(ValidationError) {
        let bytes = text.utf8
        guard !bytes.isEmpty else {
            throw ValidationError(parameter: "workspace_id", message: "Parameter 'workspace_id' must not be empty.")
        }
        guard bytes.count <= Self.maximumLength else {
            throw ValidationError(
                parameter: "workspace_id",
                message: "Parameter 'workspace_id' must be at most \(Self.maximumLength) characters long.")
        }
        guard bytes.allSatisfy(Self.isAllowed) else {
            throw ValidationError(
                parameter: "workspace_id",
                message: "Parameter 'workspace_id' must match ^[A-z\\-\\_\\d]+$ (letters, digits, '-', '_').")
        }
        self.rawValue = text
    }

    /// `A`…`z` (which includes `[ \ ] ^ _` and the backtick), `-`, `_` and the ASCII digits.
    static func isAllowed(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
    }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try WorkspaceID(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
