import TaskAPI
import TaskCore

/// What `shouldUpgrade` decided for one connection, for the fallback handler on the same channel. Used only on the
/// channel's event loop.
final class UpgradeDecision: @unchecked Sendable {
    // @unchecked Sendable: written by the upgrader's callback and read by the fallback handler, both on the
    // channel's event loop (NIO runs a channel's handlers and the upgrader's completions there).
    var rejection: Response?
    var key: WorkspaceKey?
}
