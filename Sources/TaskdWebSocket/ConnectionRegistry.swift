import NIOCore
import Synchronization
import TaskAPI
import TaskCore
import TaskStore

/// The sidecar's connections: how many sockets it serves against its budget, how many each tenant holds (for the
/// per-tenant limit) and all tenants together (for open mode's limit), and the live WebSocket connections with the key grant each was opened with (to close them when
/// the key is revoked, and to say goodbye on shutdown). Safe from any thread.
final class ConnectionRegistry: Sendable {
    private struct Live {
        let connection: WebSocketConnection
        /// The key ring's generation when the connection's grant was last known to hold.
        var checkedGeneration: UInt64
    }

    private struct State {
        var served = 0
        var perTenant: [TenantID: Int] = [:]
        /// Connections counted against a tenant, of all tenants.
        var reserved = 0
        var live: [ObjectIdentifier: Live] = [:]
        var isClosing = false
    }

    /// Sockets served at once (see `DescriptorBudget.connections`).
    let budget: Int
    let limitPerTenant: Int
    /// The most connections of all tenants together, in open mode (where every key is a tenant); nil otherwise.
    let limitInAll: Int?
    private let state = Mutex(State())

    init(budget: Int, limitPerTenant: Int, limitInAll: Int? = nil) {
        self.budget = budget
        self.limitPerTenant = limitPerTenant
        self.limitInAll = limitInAll
    }

    // MARK: Admission

    /// Counts `channel` against the server's budget until it closes; `false` (nothing counted) when the budget is
    /// spent, and the connection is to be refused before anything else is done with it.
    func serve(_ channel: any Channel) -> Bool {
        let admitted = state.withLock { state in
            guard state.served < budget else { return false }
            state.served += 1
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { _ in self.state.withLock { $0.served -= 1 } }
        }
        return admitted
    }

    /// Counts a connection against `tenant` until `channel` closes; throws `LimitError` when the tenant already has
    /// `limitPerTenant` connections, or all tenants together `limitInAll`.
    func reserve(for tenant: TenantID, channel: any Channel) throws(LimitError) {
        try state.withLock { [limitInAll] (state: inout State) throws(LimitError) in
            if let limitInAll, state.reserved >= limitInAll {
                throw LimitError.openModeConnections(limit: limitInAll)
            }
            let count = state.perTenant[tenant, default: 0]
            guard count < limitPerTenant else { throw LimitError.connections(limit: limitPerTenant) }
            state.perTenant[tenant] = count + 1
            state.reserved += 1
        }
        channel.closeFuture.whenComplete { _ in
            self.state.withLock { state in
                let count = state.perTenant[tenant, default: 1] - 1
                state.perTenant[tenant] = count > 0 ? count : nil
                state.reserved -= 1
            }
        }
    }

    /// How many sockets are served now (for tests and logs).
    var servedCount: Int { state.withLock { $0.served } }

    // MARK: Live connections

    /// Adds an upgraded connection, whose grant held at key-ring `generation`, until it closes; `false` when the
    /// server is already shutting down (the caller says goodbye).
    func add(_ connection: WebSocketConnection, generation: UInt64) -> Bool {
        let added = state.withLock { state in
            guard !state.isClosing else { return false }
            state.live[ObjectIdentifier(connection)] = Live(connection: connection, checkedGeneration: generation)
            return true
        }
        connection.closeFuture.whenComplete { _ in
            _ = self.state.withLock { $0.live.removeValue(forKey: ObjectIdentifier(connection)) }
        }
        return added
    }

    /// The live connections whose grant has not been checked since the key ring reached `generation`.
    func unchecked(before generation: UInt64) -> [WebSocketConnection] {
        state.withLock { state in
            state.live.values.filter { $0.checkedGeneration < generation }.map(\.connection)
        }
    }

    /// Records that the grants of `connections` still held at `generation`.
    func markChecked(_ connections: [WebSocketConnection], generation: UInt64) {
        state.withLock { state in
            for connection in connections {
                let id = ObjectIdentifier(connection)
                if let live = state.live[id], live.checkedGeneration < generation {
                    state.live[id]?.checkedGeneration = generation
                }
            }
        }
    }

    /// Stops admitting connections and returns every live one.
    func closeAll() -> [WebSocketConnection] {
        state.withLock { state in
            state.isClosing = true
            return state.live.values.map(\.connection)
        }
    }
}
