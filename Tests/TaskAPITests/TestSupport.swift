import Foundation
import HTTPTypes
import Logging
import Synchronization
import TaskAPI
import TaskCore
import TaskStore

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let milliseconds: Atomic<Int64>

    init(_ start: Int64 = 1_700_000_000_000) {
        milliseconds = Atomic(start)
    }

    var now: Timestamp { Timestamp(milliseconds: milliseconds.load(ordering: .relaxed)) }

    func advance(by delta: Int64) {
        milliseconds.add(delta, ordering: .relaxed)
    }
}

/// Keeps every log entry in memory, so tests can check what was (and was not) logged.
final class LogRecorder: @unchecked Sendable {
    // @unchecked Sendable: `stored` is only touched with `lock` held. An NSLock (pthread) rather than
    // `Synchronization.Mutex`, whose locking ThreadSanitizer cannot see on Linux (`make sanitize` runs these tests).
    struct Entry: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: Logger.Metadata
    }

    private let lock = NSLock()
    private var stored: [Entry] = []

    var entries: [Entry] { lock.withLock { stored } }

    func append(_ entry: Entry) {
        lock.withLock { stored.append(entry) }
    }

    func logger() -> Logger {
        Logger(label: "taskd.test") { _ in Handler(recorder: self) }
    }

    /// Every logged message and metadata value as one text, to search for secrets.
    var allText: String {
        entries.map { entry in
            entry.message + " " + entry.metadata.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }.joined(separator: "\n")
    }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged = metadata
            if let extra = event.metadata { merged.merge(extra) { $1 } }
            recorder.append(Entry(level: event.level, message: "\(event.message)", metadata: merged))
        }
    }
}

/// A real store and key ring in a temporary directory, a hand-moved clock and the real handler.
final class APIHarness {
    let directory: String
    let clock: TestClock
    let recorder = LogRecorder()
    let settings: ServiceSettings
    let store: WorkspaceStore
    let keys: KeyRing
    let handler: APIHandler
    /// A key of tenant `alpha` and one of tenant `beta`.
    let alphaKey: String
    let betaKey: String
    /// The id under which `alphaKey` is listed in the keys file (for `KeysFile.revoke`).
    let alphaKeyID: String

    init(
        slots: Int = 6, maxTasks: Int? = nil, maxWorkspaces: Int? = nil, corsOrigins: String? = nil,
        openMode: Bool = false
    ) throws {
        directory = try Self.makeTemporaryDirectory()
        clock = TestClock()
        var overrides = ServiceSettings.Overrides()
        overrides.stateDirectory = directory
        overrides.slots = slots
        overrides.maxTasksPerWorkspace = maxTasks
        overrides.maxWorkspacesPerTenant = maxWorkspaces
        overrides.corsOrigins = corsOrigins
        overrides.openMode = openMode
        settings = try ServiceSettings.resolve(overrides: overrides, environment: [:])
        let logger = recorder.logger()
        let alpha = try KeysFile.issue(tenant: TenantID(parsing: "alpha"), path: settings.keysFile)
        alphaKey = alpha.key
        alphaKeyID = alpha.entry.id
        betaKey = try KeysFile.issue(tenant: TenantID(parsing: "beta"), path: settings.keysFile).key
        store = try WorkspaceStore(
            directory: directory, maxWorkspacesPerTenant: settings.maxWorkspacesPerTenant, logger: logger)
        keys = KeyRing(path: settings.keysFile, openMode: settings.openMode, logger: logger)
        let clock = self.clock
        handler = APIHandler(settings: settings, store: store, keys: keys, clock: { clock.now }, logger: logger)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func makeTemporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "taskd-api-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Sends a request; `query` is the raw query string (without `?`).
    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ path: String, query: String, body: String? = nil,
        headers: HTTPFields = [:]
    ) -> Response {
        handler.handle(
            Request(
                method: method, path: path, rawQuery: query, headerFields: headers,
                body: body.map { Array($0.utf8) } ?? [], requestID: "test-request"))
    }

    func query(key: String? = nil, workspace: String? = nil) -> String {
        var items = ["api_key=" + (key ?? alphaKey)]
        if let workspace { items.append("workspace_id=" + workspace) }
        return items.joined(separator: "&")
    }

    /// Creates a task and returns its id.
    @discardableResult
    func create(_ name: String = "abc", type: String = "gx.tiny", key: String? = nil, workspace: String? = nil) throws
        -> Int64
    {
        let response = send(
            .post, "/tasks", query: query(key: key, workspace: workspace),
            body: #"{"name":"\#(name)","type":"\#(type)"}"#)
        guard response.status == .created else { throw HarnessError.unexpected(response) }
        let envelope = try JSONDecoder().decode(TaskEnvelope.self, from: Data(response.body))
        return envelope.task.id
    }

    func list(key: String? = nil, workspace: String? = nil) throws -> [WireTask] {
        let response = send(.get, "/tasks", query: query(key: key, workspace: workspace))
        guard response.status == .ok else { throw HarnessError.unexpected(response) }
        return try JSONDecoder().decode(TasksEnvelope.self, from: Data(response.body)).tasks
    }

    func statuses(key: String? = nil, workspace: String? = nil) throws -> [Int64: String] {
        Dictionary(uniqueKeysWithValues: try list(key: key, workspace: workspace).map { ($0.id, $0.status) })
    }
}

enum HarnessError: Error {
    case unexpected(Response)
}

struct WireTask: Decodable, Equatable {
    let id: Int64
    let name: String
    let type: String
    let status: String
}

struct TaskEnvelope: Decodable {
    let task: WireTask
}

struct TasksEnvelope: Decodable {
    let tasks: [WireTask]
}

struct WireError: Decodable, Equatable {
    let code: String
    let message: String
}

extension Response {
    var text: String { String(decoding: body, as: UTF8.self) }

    var error: WireError? { try? JSONDecoder().decode(WireError.self, from: Data(body)) }
}
