import HTTPTypes

/// A request for a path the API does not have, or with a method the path does not accept.
public enum RoutingError: Error, Equatable, Sendable {
    case notFound(path: String)
    case methodNotAllowed(HTTPRequest.Method, allowed: [HTTPRequest.Method])
}
