import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import TaskAPI
import TaskCore

/// Decides, before any upgrade, whether a request may watch a workspace: the path, then the same `api_key` and
/// `workspace_id` checks as REST, then whether it asks for an upgrade at all, then the tenant's connection limit.
///
/// The checks run on the thread pool: the key ring may read the keys file.
struct UpgradeGate: Sendable {
    /// The one path taskd-ws serves.
    static let path = "/ws/tasks"

    /// What to do with one request.
    enum Admission: Sendable {
        /// Upgrade, and watch this workspace. The connection already counts against the tenant's limit.
        case accepted(WorkspaceKey)
        /// Answer this instead; nothing is upgraded.
        case rejected(Response)
    }

    let api: APIHandler
    let registry: ConnectionRegistry
    let threadPool: NIOThreadPool

    /// Checks `head`; `isUpgrade` tells whether it is a valid WebSocket upgrade request.
    func admit(_ head: HTTPRequestHead, isUpgrade: Bool, channel: any Channel) -> EventLoopFuture<Admission> {
        let request = Request(head: head)
        return threadPool.runIfActive(eventLoop: channel.eventLoop) { [api, registry] in
            do {
                let key = try Self.check(request, isUpgrade: isUpgrade, api: api)
                try registry.reserve(for: key.tenant, channel: channel)
                return Admission.accepted(key)
            } catch {
                return Admission.rejected(api.errorResponse(for: error, to: request))
            }
        }
    }

    private static func check(_ request: Request, isUpgrade: Bool, api: APIHandler) throws -> WorkspaceKey {
        guard request.path == path else { throw RoutingError.notFound(path: request.path) }
        guard request.method == .get else {
            throw RoutingError.methodNotAllowed(request.method, allowed: [.get])
        }
        let key = try api.authorize(request)
        guard isUpgrade else { throw UpgradeError.upgradeRequired }
        return key
    }
}
