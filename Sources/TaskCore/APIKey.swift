/// The secret a caller presents as `api_key`. Never printed: its description is redacted.
public struct APIKey: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public static let maximumLength = 256

    public let rawValue: String

    /// Accepts any non-empty value of reasonable length; whether it is known is the key ring's business.
    public init?(_ text: String?) {
        guard let text, !text.isEmpty, text.utf8.count <= Self.maximumLength else { return nil }
        self.rawValue = text
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "APIKey(<redacted>)" }
}
