import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import TaskAPI
import TaskCore
import TaskStore

/// Decides, before any upgrade, whether a request may watch a workspace: the path, then the same `api_key` and
/// `workspace_id` checks as REST, then whether it asks for an upgrade at all, then the tenant's connection limit.
///
/// The checks run on the thread pool: the key ring may read the keys file.
struct UpgradeGate: Sendable {
    /// The one path taskd-ws serves.
    static let path = "/ws/tasks"

    /// What an accepted request may watch, and with which key.
    struct Ticket: Sendable {
        let key: WorkspaceKey
        let grant: KeyGrant
        /// The key ring's generation read before the key was checked: a change after it is checked again.
        let generation: UInt64
    }

    /// What to do with one request.
    enum Admission: Sendable {
        /// Upgrade, and watch `ticket.key`. The connection already counts against the tenant's limit.
        case accepted(Ticket)
        /// Answer this instead; nothing is upgraded.
        case rejected(Response)
    }

    let api: APIHandler
    let keys: KeyRing
    let registry: ConnectionRegistry
    let threadPool: NIOThreadPool

    /// Checks `head`; `isUpgrade` tells whether it asks for a WebSocket upgrade.
    func admit(_ head: HTTPRequestHead, isUpgrade: Bool, channel: any Channel) -> EventLoopFuture<Admission> {
        let request: Request
        do {
            request = try Request(head: head)
        } catch {
            return channel.eventLoop.makeSucceededFuture(.rejected(api.errorResponse(forUnreadableRequest: error)))
        }
        return threadPool.runIfActive(eventLoop: channel.eventLoop) { [api, keys, registry] in
            do {
                let generation = keys.generation()
                let (key, grant) = try Self.check(request, isUpgrade: isUpgrade, api: api)
                try registry.reserve(for: key.tenant, channel: channel)
                return Admission.accepted(Ticket(key: key, grant: grant, generation: generation))
            } catch {
                return Admission.rejected(api.errorResponse(for: error, to: request))
            }
        }
    }

    private static func check(_ request: Request, isUpgrade: Bool, api: APIHandler) throws -> (
        WorkspaceKey, KeyGrant
    ) {
        guard request.path == path else { throw RoutingError.notFound(path: request.path) }
        guard request.method == .get else {
            throw RoutingError.methodNotAllowed(request.method, allowed: [.get])
        }
        let (key, grant) = try api.authorizeGrant(request)
        guard isUpgrade else { throw UpgradeError.upgradeRequired }
        return (key, grant)
    }

    /// Whether `head` is a complete WebSocket handshake, one NIO's upgrader takes (RFC 6455 §4.2.1): `Upgrade:
    /// websocket`, one `Sec-WebSocket-Key` and `Sec-WebSocket-Version: 13`. Anything less is answered 426, like a
    /// plain request, so that every request the gate accepts is upgraded.
    static func asksForWebSocket(_ head: HTTPRequestHead) -> Bool {
        let headers = head.headers
        return headers[canonicalForm: "upgrade"].contains { $0.lowercased() == "websocket" }
            && headers[canonicalForm: "sec-websocket-key"].count == 1
            && headers[canonicalForm: "sec-websocket-version"] == ["13"]
    }
}
