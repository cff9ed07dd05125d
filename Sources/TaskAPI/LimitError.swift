/// A limit on connections that the WebSocket sidecar enforces.
public enum LimitError: Error, Equatable, Sendable {
    /// The tenant already holds this many open WebSocket connections.
    case connections(limit: Int)
    /// In open mode, where every key is a tenant of its own: the server already holds this many WebSocket
    /// connections of all tenants together.
    case openModeConnections(limit: Int)
}
