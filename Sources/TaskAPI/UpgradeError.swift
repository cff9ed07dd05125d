/// A request to the WebSocket endpoint that cannot be upgraded.
public enum UpgradeError: Error, Equatable, Sendable {
    /// A plain HTTP request reached the WebSocket endpoint.
    case upgradeRequired
    /// The sidecar already serves as many connections as its open-files limit allows.
    case overCapacity
}
