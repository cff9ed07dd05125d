import HTTPTypes
import Logging
import TaskCore
import TaskStore

/// Turns a `Request` into a `Response`: routing, authentication, validation, the operation, errors and CORS.
///
/// Shared by every thread of the responder and by the WebSocket sidecar's handshake; it holds no mutable state.
public final class APIHandler: Sendable {
    /// The largest body `POST /tasks` accepts (64 KiB); adapters read one byte more so that a larger one is noticed.
    public static let maximumBodyBytes = 65_536

    let settings: ServiceSettings
    let store: WorkspaceStore
    let keys: KeyRing
    let clock: @Sendable () -> Timestamp
    let logger: Logger
    let machine: TaskStateMachine
    let cors: CORSPolicy

    public init(
        settings: ServiceSettings, store: WorkspaceStore, keys: KeyRing,
        clock: @escaping @Sendable () -> Timestamp = WallClock.now, logger: Logger
    ) {
        self.settings = settings
        self.store = store
        self.keys = keys
        self.clock = clock
        self.logger = logger
        self.machine = TaskStateMachine(policy: settings.policy)
        self.cors = CORSPolicy(origins: settings.corsOrigins)
    }

    /// Answers one REST request. Never throws and never traps; every answer carries CORS header fields.
    ///
    /// Checks run in the contract's order: preflight, path and method, `api_key`, `workspace_id`, then the body or
    /// the `:id`, then the operation.
    public func handle(_ request: Request) -> Response {
        // Attaching `request.id` copies the logger's metadata and has the handler render it again: worth it only
        // when a line of this request may be written (`errorResponse` attaches it for the lines it writes).
        let logger = self.logger.logLevel <= .debug ? requestLogger(for: request) : self.logger
        var response: Response
        do {
            response = try route(request, logger: logger)
        } catch {
            return errorResponse(for: error, to: request, logger: logger)
        }
        cors.addAllowOrigin(for: request, to: &response.headerFields)
        logger.debug(
            "Request answered",
            metadata: [
                "http.method": "\(request.method.rawValue)", "http.path": "\(request.path)",
                "http.status": "\(response.status.code)",
            ])
        return response
    }

    /// The same `api_key` and `workspace_id` checks as REST, for the WebSocket sidecar's handshake.
    public func authorize(_ request: Request) throws -> WorkspaceKey {
        try authorizeGrant(request).workspace
    }

    /// `authorize`, plus what the key granted, so that a stream can later ask `KeyRing.stillGrants` whether the key
    /// was revoked since.
    public func authorizeGrant(_ request: Request) throws -> (workspace: WorkspaceKey, grant: KeyGrant) {
        guard let text = request.query["api_key"], !text.isEmpty else { throw AuthError.missingKey }
        guard let key = APIKey(text), let grant = keys.grant(for: key) else { throw AuthError.unknownKey }
        let workspace = try request.query["workspace_id"].map(WorkspaceID.init(parsing:)) ?? .default
        return (WorkspaceKey(tenant: grant.tenant, workspace: workspace), grant)
    }

    /// The JSON error answer (with CORS) for anything `authorize` or the sidecar throws.
    public func errorResponse(for error: any Error, to request: Request) -> Response {
        errorResponse(for: error, to: request, logger: logger)
    }

    // MARK: Steps

    private func route(_ request: Request, logger: Logger) throws -> Response {
        guard let endpoint = Route.Endpoint(path: request.path) else {
            throw RoutingError.notFound(path: request.path)
        }
        if request.method == .options {
            return Response(
                status: .noContent,
                headerFields: cors.preflightFields(allowedMethods: endpoint.allowedMethods, for: request))
        }
        guard endpoint.allows(request.method) else {
            throw RoutingError.methodNotAllowed(request.method, allowed: endpoint.allowedMethods)
        }
        let key = try authorize(request)
        // `allows` has just said yes, and every allowed method other than OPTIONS has an operation.
        guard let route = try endpoint.route(for: request.method) else {
            throw RoutingError.methodNotAllowed(request.method, allowed: endpoint.allowedMethods)
        }
        switch route {
        case .listTasks:
            return try listTasks(in: key)
        case .createTask:
            let body = try Self.checkedJSONBody(of: request)
            return try createTask(CreateTaskBody(parsing: body), in: key, logger: logger)
        case .deleteTask(let id):
            return try deleteTask(id, in: key, logger: logger)
        case .flushTasks:
            return try flushTasks(in: key, logger: logger)
        }
    }

    /// The body of a request that must carry JSON: at most 64 KiB, and `application/json` unless no type is given.
    static func checkedJSONBody(of request: Request) throws(BodyError) -> [UInt8] {
        guard request.body.count <= maximumBodyBytes else { throw .tooLarge(limit: maximumBodyBytes) }
        if let contentType = request.headerFields[.contentType] {
            let mediaType = contentType.prefix { $0 != ";" }.trimmingSpaces()
            // FastCGI passes an absent Content-Type as an empty CONTENT_TYPE: read both as JSON.
            if !mediaType.isEmpty && !mediaType.elementsEqualIgnoringASCIICase("application/json") {
                throw .unsupportedMediaType(String(mediaType.prefix(100)))
            }
        }
        return request.body
    }

    func requestLogger(for request: Request) -> Logger {
        var logger = self.logger
        if let requestID = request.requestID {
            logger[metadataKey: "request.id"] = "\(requestID)"
        }
        return logger
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }

    fileprivate func elementsEqualIgnoringASCIICase(_ other: String) -> Bool {
        utf8.count == other.utf8.count
            && zip(utf8, other.utf8).allSatisfy { lhs, rhs in
                lhs == rhs
                    || (lhs | 0x20 == rhs | 0x20 && (lhs | 0x20) >= UInt8(ascii: "a")
                        && (lhs | 0x20) <= UInt8(ascii: "z"))
            }
    }
}
