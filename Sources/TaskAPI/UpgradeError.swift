/// A plain HTTP request reached the WebSocket endpoint.
public enum UpgradeError: Error, Equatable, Sendable {
    case upgradeRequired
}
