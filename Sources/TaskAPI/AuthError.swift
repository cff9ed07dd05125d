/// The caller could not be identified: `api_key` is missing, empty, unknown or revoked.
public enum AuthError: Error, Equatable, Sendable {
    case missingKey
    case unknownKey
}
