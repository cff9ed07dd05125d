import HTTPTypes
import TaskCore

/// The REST operations. This file is the only place where REST paths are spelled out.
public enum Route: Hashable, Sendable {
    case listTasks
    case createTask
    case deleteTask(TaskID)
    case flushTasks

    /// Resolves method and path in one step: `nil` for an unknown path or a method the path does not serve
    /// (`OPTIONS` included); throws when a `/tasks/:id` is not a positive decimal integer. The handler uses the two
    /// steps of `Endpoint` instead, to keep the contract's order of checks.
    public init?(method: HTTPRequest.Method, path: String) throws(ValidationError) {
        guard let endpoint = Endpoint(path: path), let route = try endpoint.route(for: method) else { return nil }
        self = route
    }

    /// The API's paths as a client would write them, for messages (the WebSocket stream is served by `taskd-ws`).
    public static let pathsText = "/tasks, /tasks/{id}, /tasks/flush and /ws/tasks"

    /// A path the API knows, before the method is considered or an `:id` is parsed.
    ///
    /// Resolution comes in two steps because the contract orders its checks: an unknown path (404) or method (405) is
    /// reported before the `api_key` is looked at, but a malformed `:id` (400) only after it.
    public enum Endpoint: Hashable, Sendable {
        /// `/tasks`
        case tasks
        /// `/tasks/flush`
        case flush
        /// `/tasks/:id`, the id as written
        case task(rawID: Substring)

        /// Matches a path exactly: no trailing slash, no extra segments, case-sensitive.
        public init?(path: String) {
            let prefix = "/tasks"
            guard path.hasPrefix(prefix) else { return nil }
            let rest = path.dropFirst(prefix.count)
            if rest.isEmpty {
                self = .tasks
                return
            }
            guard rest.first == "/" else { return nil }
            let segment = rest.dropFirst()
            guard !segment.isEmpty, !segment.contains("/") else { return nil }
            self = segment == "flush" ? .flush : .task(rawID: segment)
        }

        /// The methods the path answers, as listed in `Allow` and `Access-Control-Allow-Methods`.
        public var allowedMethods: [HTTPRequest.Method] {
            switch self {
            case .tasks: [.get, .post, .options]
            case .flush: [.post, .options]
            case .task: [.delete, .options]
            }
        }

        /// The operation for a method the path allows (not `OPTIONS`); `nil` for any other method.
        /// Throws when the path's `:id` is not a positive decimal integer.
        public func route(for method: HTTPRequest.Method) throws(ValidationError) -> Route? {
            switch (self, method) {
            case (.tasks, .get): .listTasks
            case (.tasks, .post): .createTask
            case (.flush, .post): .flushTasks
            case (.task(let rawID), .delete): .deleteTask(try TaskID(parsing: rawID))
            default: nil
            }
        }

        public func allows(_ method: HTTPRequest.Method) -> Bool {
            allowedMethods.contains(method)
        }
    }
}
