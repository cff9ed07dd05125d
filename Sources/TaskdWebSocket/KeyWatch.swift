import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TaskStore

/// Closes the streams whose key was revoked: every `interval` it asks the key ring for its generation (which re-reads
/// the keys file when it changed) and checks the grant of every connection not yet checked at that generation; a
/// connection whose key no longer grants its tenant gets close 1008 and nothing more.
///
/// The key ring re-reads the file at most every 200 ms, so a revocation closes its streams within about
/// `interval` + 200 ms. Connections admitted while the ring moved carry the older generation and are checked on the
/// next tick, so none slips between an admission and a sweep.
final class KeyWatch: Service {
    /// How often the key ring is asked.
    static let interval: Duration = .milliseconds(200)

    private let keys: KeyRing
    private let registry: ConnectionRegistry
    private let threadPool: NIOThreadPool
    private let logger: Logger

    init(keys: KeyRing, registry: ConnectionRegistry, threadPool: NIOThreadPool, logger: Logger) {
        self.keys = keys
        self.registry = registry
        self.threadPool = threadPool
        self.logger = logger
    }

    func run() async throws {
        // Sleeping is cancelled on graceful shutdown, which ends the loop.
        try? await cancelWhenGracefulShutdown {
            while true {
                try await Task.sleep(for: Self.interval)
                try await self.sweep()
            }
        }
        logger.debug("Key watch stopped")
    }

    /// One check: the key ring is read on the thread pool (it may read the keys file), never on the concurrency pool.
    func sweep() async throws {
        let (keys, registry) = (self.keys, self.registry)
        let revoked = try await threadPool.runIfActive { () -> [WebSocketConnection] in
            let generation = keys.generation()
            let unchecked = registry.unchecked(before: generation)
            guard !unchecked.isEmpty else { return [] }
            var verdicts: [KeyGrant: Bool] = [:]
            var kept: [WebSocketConnection] = []
            var revoked: [WebSocketConnection] = []
            for connection in unchecked {
                let holds = verdicts[connection.grant] ?? keys.stillGrants(connection.grant)
                verdicts[connection.grant] = holds
                if holds { kept.append(connection) } else { revoked.append(connection) }
            }
            registry.markChecked(kept, generation: generation)
            return revoked
        }
        for connection in revoked {
            connection.eventLoop.execute { connection.revoke() }
        }
    }
}
