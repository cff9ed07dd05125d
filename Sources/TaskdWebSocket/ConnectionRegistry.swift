import NIOCore
import Synchronization
import TaskAPI
import TaskCore

/// The sidecar's connections: how many each tenant holds (for the per-tenant limit), and the live WebSocket
/// connections (to say goodbye to on shutdown). Safe from any thread.
final class ConnectionRegistry: Sendable {
    private struct State {
        var perTenant: [TenantID: Int] = [:]
        var connections: [ObjectIdentifier: WebSocketConnection] = [:]
        var isClosing = false
    }

    private let limit: Int
    private let state = Mutex(State())

    init(limitPerTenant: Int) {
        self.limit = limitPerTenant
    }

    /// Counts a connection against `tenant` until `channel` closes; throws `LimitError` when the tenant already has
    /// `limit` connections.
    func reserve(for tenant: TenantID, channel: any Channel) throws {
        try state.withLock { state in
            let count = state.perTenant[tenant, default: 0]
            guard count < limit else { throw LimitError.connections(limit: limit) }
            state.perTenant[tenant] = count + 1
        }
        channel.closeFuture.whenComplete { _ in
            self.state.withLock { state in
                let count = state.perTenant[tenant, default: 1] - 1
                state.perTenant[tenant] = count > 0 ? count : nil
            }
        }
    }

    /// Adds an upgraded connection; `false` when the server is already shutting down (the caller says goodbye).
    func add(_ connection: WebSocketConnection) -> Bool {
        state.withLock { state in
            guard !state.isClosing else { return false }
            state.connections[ObjectIdentifier(connection)] = connection
            return true
        }
    }

    func remove(_ connection: WebSocketConnection) {
        _ = state.withLock { state in state.connections.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    /// Stops admitting connections and returns every live one.
    func closeAll() -> [WebSocketConnection] {
        state.withLock { state in
            state.isClosing = true
            return Array(state.connections.values)
        }
    }
}
