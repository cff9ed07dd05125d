/// A request body that cannot be read at all (before its fields are looked at).
public enum BodyError: Error, Equatable, Sendable {
    /// The body is larger than `APIHandler.maximumBodyBytes`.
    case tooLarge(limit: Int)
    /// The body's `Content-Type` is not `application/json`; carries the media type as sent (trimmed, shortened).
    case unsupportedMediaType(String)
}
