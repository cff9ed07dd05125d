import HTTPTypes
import Logging
import TaskCore
import TaskStore

/// An error the API answers with its own status and code. This file is the only one that knows status codes.
protocol HTTPErrorConvertible: Error {
    var status: HTTPResponse.Status { get }
    /// The `code` of the JSON error body, as listed in the contract's error table.
    var code: String { get }
    /// A sentence a person can act on.
    var message: String { get }
    /// Header fields the status calls for, such as `Allow` on a 405.
    var headerFields: HTTPFields { get }
}

extension HTTPErrorConvertible {
    var headerFields: HTTPFields { [:] }
}

extension APIHandler {
    /// The one place errors become answers: known errors get their status, anything else a logged 500.
    func errorResponse(for error: any Error, to request: Request, logger: Logger) -> Response {
        var response: Response
        if let error = error as? any HTTPErrorConvertible {
            response = .json(WireFormat.error(code: error.code, message: error.message), status: error.status)
            response.headerFields.append(contentsOf: error.headerFields)
            // A busy workspace is load and a frozen tenant a decision, not faults: under a burst they would otherwise
            // log an error per request.
            if response.status.kind == .serverError && (error as? StoreError)?.isDeliberate != true {
                requestLogger(for: request).error(
                    "Request failed", metadata: ["error": "\(error)", "http.status": "\(response.status.code)"])
            } else if logger.logLevel <= .debug {
                requestLogger(for: request).debug(
                    "Request refused",
                    metadata: [
                        "http.method": "\(request.method.rawValue)", "http.path": "\(request.path)",
                        "http.status": "\(response.status.code)", "error.code": "\(error.code)",
                    ])
            }
        } else {
            requestLogger(for: request).error("Request failed", metadata: ["error": "\(error)", "http.status": "500"])
            response = .json(
                WireFormat.error(code: "internal_error", message: internalErrorMessage), status: .internalServerError)
        }
        cors.addAllowOrigin(for: request, to: &response.headerFields)
        return response
    }
}

extension APIHandler {
    /// The JSON error for a request too malformed to become a `Request` (an HTTP parser error, a method that is not
    /// a token): there is no method, path or origin to go by, so it carries no CORS field.
    public func errorResponse(forUnreadableRequest error: ValidationError) -> Response {
        logger.debug("Unreadable request refused", metadata: ["error.message": "\(error.message)"])
        return .json(WireFormat.error(code: error.code, message: error.message), status: error.status)
    }
}

/// What a client learns of a fault of ours: the details go to the log only.
let internalErrorMessage = "The server failed to answer this request; it has been logged."

extension ValidationError: HTTPErrorConvertible {
    var status: HTTPResponse.Status { .badRequest }
    var code: String { "invalid_request" }
}

extension BodyError: HTTPErrorConvertible {
    var status: HTTPResponse.Status {
        switch self {
        case .tooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        }
    }

    var code: String {
        switch self {
        case .tooLarge: "payload_too_large"
        case .unsupportedMediaType: "unsupported_media_type"
        }
    }

    var message: String {
        switch self {
        case .tooLarge(let limit):
            "The request body is larger than \(limit) bytes."
        case .unsupportedMediaType(let mediaType):
            "The request body must be sent as application/json, got Content-Type '\(mediaType)'."
        }
    }
}

extension RoutingError: HTTPErrorConvertible {
    var status: HTTPResponse.Status {
        switch self {
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        }
    }

    var code: String {
        switch self {
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        }
    }

    var message: String {
        switch self {
        case .notFound(let path):
            "No such endpoint: '\(path.prefix(100))'. The API serves \(Route.pathsText)."
        case .methodNotAllowed(let method, let allowed):
            "Method \(method.rawValue.prefix(20)) is not allowed here; use \(allowed.map(\.rawValue).joined(separator: ", "))."
        }
    }

    var headerFields: HTTPFields {
        switch self {
        case .notFound: [:]
        case .methodNotAllowed(_, let allowed): [.allow: allowed.map(\.rawValue).joined(separator: ", ")]
        }
    }
}

extension AuthError: HTTPErrorConvertible {
    var status: HTTPResponse.Status { .unauthorized }
    var code: String { "unauthorized" }

    var message: String {
        switch self {
        case .missingKey: "Query parameter 'api_key' is required."
        case .unknownKey: "The api_key is not valid: it is unknown or has been revoked."
        }
    }
}

extension TaskError: HTTPErrorConvertible {
    var status: HTTPResponse.Status {
        switch self {
        case .notFound: .notFound
        case .notDeletable: .conflict
        case .taskLimitReached, .idsExhausted, .sequenceExhausted: .tooManyRequests
        }
    }

    var code: String {
        switch self {
        case .notFound: "not_found"
        case .notDeletable: "conflict"
        case .taskLimitReached, .idsExhausted, .sequenceExhausted: "limit_exceeded"
        }
    }

    var message: String { description }
}

extension LimitError: HTTPErrorConvertible {
    var status: HTTPResponse.Status { .tooManyRequests }
    var code: String { "limit_exceeded" }

    var message: String {
        switch self {
        case .connections(let limit):
            "This tenant already has \(limit) open WebSocket connections, the most allowed; close one first."
        case .openModeConnections(let limit):
            "This open-mode server already holds \(limit) WebSocket connections, the most it allows; try again later."
        }
    }

    var headerFields: HTTPFields {
        switch self {
        case .connections: [:]
        case .openModeConnections: [.retryAfter: "5"]
        }
    }
}

extension UpgradeError: HTTPErrorConvertible {
    var status: HTTPResponse.Status {
        switch self {
        case .upgradeRequired: .upgradeRequired
        case .overCapacity: .serviceUnavailable
        }
    }

    var code: String {
        switch self {
        case .upgradeRequired: "upgrade_required"
        case .overCapacity: "unavailable"
        }
    }

    var message: String {
        switch self {
        case .upgradeRequired:
            "/ws/tasks is a WebSocket endpoint; connect with a WebSocket client (Upgrade: websocket)."
        case .overCapacity:
            "The server has as many WebSocket connections as it can hold; try again in a few seconds."
        }
    }

    var headerFields: HTTPFields {
        switch self {
        case .upgradeRequired: [.upgrade: "websocket"]
        case .overCapacity: [.retryAfter: "5"]
        }
    }
}

extension StoreError: HTTPErrorConvertible {
    var status: HTTPResponse.Status {
        switch self {
        case .workspaceLimitReached, .tenantCountReached, .workspaceCountReached: .tooManyRequests
        case .io: isUnavailable ? .serviceUnavailable : .internalServerError
        case .lockTimeout, .tooManyWriters, .processBusy, .corrupt, .tenantFrozen, .rollbackPending:
            .serviceUnavailable
        case .keyNotFound, .encodingFailed: .internalServerError
        }
    }

    var code: String {
        switch self {
        case .workspaceLimitReached, .tenantCountReached, .workspaceCountReached: "limit_exceeded"
        case .io: isUnavailable ? "unavailable" : "internal_error"
        case .lockTimeout, .tooManyWriters, .processBusy, .corrupt, .tenantFrozen, .rollbackPending: "unavailable"
        case .keyNotFound, .encodingFailed: "internal_error"
        }
    }

    /// Never the error's own description: paths and errno values are for the log, not for clients. A damaged
    /// workspace is not even named by its file: which file and where is the operator's business (the log line and
    /// `taskctl check` name it).
    var message: String {
        switch self {
        case .workspaceLimitReached(let limit):
            "This tenant already uses \(limit) workspaces, the most allowed; use an existing workspace_id."
        case .tenantCountReached(let limit):
            "This server (in open mode, where every new api_key is a new tenant) already holds \(limit) tenants, the"
                + " most it allows, so a new key cannot write; keep using a key that has written before, or ask the"
                + " server's operator to make room. Reads go on."
        case .workspaceCountReached(let limit):
            "This server (in open mode) already holds \(limit) workspaces over all keys, the most it allows, so no"
                + " new workspace can be created; write to a workspace_id that you have used before, or ask the"
                + " server's operator to make room. Reads go on."
        case .io where isUnavailable:
            "The task store cannot be written right now (disk full, read-only or failing); nothing was changed."
                + " Try again later."
        case .lockTimeout, .tooManyWriters:
            "This workspace is busy with other changes; nothing was changed. Try again in a moment."
        case .processBusy:
            "The server is busy with changes to other workspaces; nothing was changed. Try again in a moment."
        case .rollbackPending:
            "This workspace cannot be used right now: a failed write could not be taken back yet (the disk is"
                + " failing); nothing was changed. Try again later."
        case .tenantFrozen:
            "This tenant's data is being moved or maintained, so changes are paused for a few seconds; nothing was"
                + " changed. Reads go on. Try again after the Retry-After delay."
        case .corrupt:
            "This workspace's stored data is damaged, so the workspace cannot be used until an operator repairs it"
                + " (taskctl check says how); nothing was changed, and other workspaces are unaffected."
        case .io, .keyNotFound, .encodingFailed:
            internalErrorMessage
        }
    }

    /// A busy workspace or server is worth retrying within a second, a frozen tenant in two (a move takes a few), a
    /// full or failing disk (or a failed write not yet taken back) a little later.
    var headerFields: HTTPFields {
        if isBusy { return [.retryAfter: "1"] }
        if case .tenantFrozen = self { return [.retryAfter: "2"] }
        if isUnavailable { return [.retryAfter: "5"] }
        return [:]
    }
}
