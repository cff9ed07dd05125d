/// A per-tenant limit that the WebSocket sidecar enforces.
public enum LimitError: Error, Equatable, Sendable {
    /// The tenant already holds this many open WebSocket connections.
    case connections(limit: Int)
}
