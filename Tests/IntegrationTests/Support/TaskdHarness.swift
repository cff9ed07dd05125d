import Foundation
import TaskCore
import TaskStore

import Glibc

/// A private taskd installation for one test: a temporary prefix with its own state dir, nginx on a free port
/// rendered from `nginx/local.conf.template` (the production locations), `taskd-fcgi` on a unix socket and,
/// optionally, `taskd-ws`. Use it through `TaskdHarness.with(_:_:)`, which always tears everything down.
final class TaskdHarness: @unchecked Sendable {
    // @unchecked: the mutable state (the responder and sidecar processes) is only replaced through the methods
    // below, which a test calls from its own task one at a time; the harness is never shared between tests.

    struct Options: Sendable {
        var slots = 6
        /// Durations × this; 0.001 turns gx.tiny (3 s) into 1.5–4.5 ms and gx.heavy (300 s) into 150–450 ms.
        var timeScale = 0.001
        var maxTasks: Int?
        var maxWorkspaces: Int?
        var openMode = false
        var corsOrigins: String?
        var threads = 4
        /// Start taskd-ws too and proxy /ws/tasks to it.
        var startWebSocket = true
        /// nginx's per-address rate limit (`limit_req_zone ... rate=`) and burst.
        var rateLimit = "10000r/s"
        var rateBurst = 10_000
        /// nginx's limit on open WebSocket streams per client address (`limit_conn`); tests that open thousands
        /// from 127.0.0.1 need it high (65,535 is the most nginx accepts).
        var webSocketConnectionsPerAddress = 65_535
        /// Put the state directory on its own small tmpfs (root only), so a test can fill it up (ENOSPC).
        var stateOnTmpfs = false
        /// Extra `TASKD_*` variables for the servers.
        var environment: [String: String] = [:]
        /// Start taskd-ws with this open-files limit (soft and hard), as `ulimit -n` would.
        var webSocketFileLimit: Int?
        /// Let taskd-ws see the state directory through a read-only bind mount, as systemd's `ReadOnlyPaths=` does
        /// (root only).
        var webSocketStateIsReadOnly = false

        init() {}
    }

    let options: Options
    let prefix: URL
    let stateDirectory: URL
    let keysFile: URL
    let fcgiSocket: URL
    let webSocketSocket: URL
    let httpPort: Int
    let client: HTTPClient
    private(set) var nginx: ChildProcess?
    private(set) var responder: ChildProcess?
    private(set) var webSocket: ChildProcess?
    private var retired: [ChildProcess] = []

    /// Runs `body` against a freshly started installation and tears it down afterwards, also when `body` throws; a
    /// thrown error carries the last output of every process.
    static func with<Result>(
        _ options: Options = Options(), _ body: (TaskdHarness) async throws -> Result
    ) async throws -> Result {
        let harness = try TaskdHarness(options: options)
        do {
            try await harness.start()
            let result = try await body(harness)
            await harness.stop()
            harness.removePrefix()
            return result
        } catch {
            let logs = harness.logs
            await harness.stop()
            harness.removePrefix()
            throw HarnessError("\(error)\n\(logs)")
        }
    }

    private init(options: Options) throws {
        self.options = options
        // Short paths: a unix socket path must stay under 108 bytes.
        let template = "/tmp/taskd-it-XXXXXX"
        var buffer = Array(template.utf8CString)
        guard let created = mkdtemp(&buffer) else { throw HarnessError("mkdtemp failed: errno \(errno)") }
        prefix = URL(fileURLWithPath: String(cString: created))
        stateDirectory = prefix.appendingPathComponent("state")
        keysFile = stateDirectory.appendingPathComponent("keys.json")
        fcgiSocket = prefix.appendingPathComponent("fcgi.sock")
        webSocketSocket = prefix.appendingPathComponent("ws.sock")
        for directory in ["state", "logs", "tmp"] {
            try FileManager.default.createDirectory(
                at: prefix.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        httpPort = try FreePort.next()
        client = HTTPClient(port: httpPort)
        if options.stateOnTmpfs {
            try Self.mount(["-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", stateDirectory.path])
        }
    }

    /// Fills the tmpfs state directory (see `Options.stateOnTmpfs`) to the last byte, so that every write fails with
    /// ENOSPC, or frees it again. (Remounting read-only is refused while the servers hold files open for writing.)
    func fillState(_ full: Bool) throws {
        let filler = stateDirectory.appendingPathComponent("filler")
        guard full else {
            try FileManager.default.removeItem(at: filler)
            return
        }
        let fd = open(filler.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw HarnessError("cannot create \(filler.path): errno \(errno)") }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x20, count: 65_536)
        var size = chunk.count
        // Large writes first, then smaller ones, until not even one byte fits.
        while size > 0 {
            let written = chunk.withUnsafeBytes { write(fd, $0.baseAddress, size) }
            if written < 0 {
                guard errno == ENOSPC else { throw HarnessError("filling the state directory: errno \(errno)") }
                size /= 2
            }
        }
    }

    private static func mount(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/mount")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw HarnessError(
                "mount \(arguments.joined(separator: " ")) failed with status \(process.terminationStatus)")
        }
    }

    // MARK: Keys

    /// Issues a key for `tenant` in this installation's keys file and returns the secret.
    func issueKey(tenant: String = "acme") throws -> String {
        let tenantID = try TenantID(parsing: tenant)
        return try KeysFile.issue(tenant: tenantID, path: keysFile.path).key
    }

    // MARK: URLs

    /// `/tasks...?api_key=…&workspace_id=…` with the values percent-encoded.
    func target(_ path: String, key: String?, workspace: String? = nil, extra: [(String, String)] = []) -> String {
        var items: [(String, String)] = []
        if let key { items.append(("api_key", key)) }
        if let workspace { items.append(("workspace_id", workspace)) }
        items += extra
        guard !items.isEmpty else { return path }
        return path + "?" + items.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    // MARK: Processes

    var serverEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TASKD_") }
        environment["TASKD_STATE_DIR"] = stateDirectory.path
        environment["TASKD_KEYS_FILE"] = keysFile.path
        environment["TASKD_SLOTS"] = "\(options.slots)"
        environment["TASKD_TIME_SCALE"] = "\(options.timeScale)"
        environment["TASKD_OPEN_MODE"] = options.openMode ? "true" : "false"
        environment["TASKD_LOG_LEVEL"] = "info"
        environment["TASKD_FCGI_SOCKET"] = fcgiSocket.path
        environment["TASKD_FCGI_THREADS"] = "\(options.threads)"
        environment["TASKD_WS_LISTEN"] = "unix:\(webSocketSocket.path)"
        if let maxTasks = options.maxTasks { environment["TASKD_MAX_TASKS"] = "\(maxTasks)" }
        if let maxWorkspaces = options.maxWorkspaces { environment["TASKD_MAX_WORKSPACES"] = "\(maxWorkspaces)" }
        if let origins = options.corsOrigins { environment["TASKD_CORS_ORIGINS"] = origins }
        environment.merge(options.environment) { _, new in new }
        return environment
    }

    private func start() async throws {
        try renderNginxConfiguration()
        try startResponder()
        if options.startWebSocket {
            try startWebSocket()
        }
        nginx = try ChildProcess(
            name: "nginx", executable: try PackagePaths.nginx(),
            arguments: ["-p", prefix.path + "/", "-c", prefix.appendingPathComponent("nginx.conf").path],
            environment: ProcessInfo.processInfo.environment, logDirectory: prefix.appendingPathComponent("logs"))
        try await waitUntilReady()
    }

    /// The state directory as taskd-ws sees it: a read-only view with `webSocketStateIsReadOnly`.
    var webSocketStateDirectory: URL {
        options.webSocketStateIsReadOnly ? prefix.appendingPathComponent("state-ro") : stateDirectory
    }

    private func startWebSocket() throws {
        let binary = try PackagePaths.binaryDirectory().appendingPathComponent("taskd-ws")
        var environment = serverEnvironment
        if options.webSocketStateIsReadOnly {
            let view = webSocketStateDirectory
            try FileManager.default.createDirectory(at: view, withIntermediateDirectories: true)
            try Self.mount(["--bind", stateDirectory.path, view.path])
            try Self.mount(["-o", "remount,bind,ro", view.path])
            environment["TASKD_STATE_DIR"] = view.path
            environment["TASKD_KEYS_FILE"] = view.appendingPathComponent("keys.json").path
        }
        if let limit = options.webSocketFileLimit {
            // The shell lowers its own limit, which the sidecar then inherits.
            webSocket = try ChildProcess(
                name: "taskd-ws", executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", "ulimit -n \(limit) && exec \"$0\"", binary.path], environment: environment,
                logDirectory: prefix.appendingPathComponent("logs"))
        } else {
            webSocket = try ChildProcess(
                name: "taskd-ws", executable: binary, arguments: [], environment: environment,
                logDirectory: prefix.appendingPathComponent("logs"))
        }
    }

    /// Starts (or restarts) taskd-fcgi on the same socket and state dir, and waits until nginx reaches it.
    ///
    /// With `inheritingSocket`, the harness creates the listening socket itself and hands it over as fd 0, the way
    /// spawn-fcgi does, with `TASKD_FCGI_SOCKET` unset.
    func startResponder(inheritingSocket: Bool = false) throws {
        if let responder { retired.append(responder) }
        let binary = try PackagePaths.binaryDirectory().appendingPathComponent("taskd-fcgi")
        var environment = serverEnvironment
        var input = FileHandle.nullDevice
        if inheritingSocket {
            environment["TASKD_FCGI_SOCKET"] = nil
            input = FileHandle(fileDescriptor: try Self.listen(on: fcgiSocket.path), closeOnDealloc: true)
        }
        responder = try ChildProcess(
            name: "taskd-fcgi-\(retired.count)", executable: binary, arguments: [], environment: environment,
            logDirectory: prefix.appendingPathComponent("logs"), standardInput: input)
        if inheritingSocket { try input.close() }
    }

    /// A listening unix socket at `path` (replacing a stale file), for a responder to inherit.
    static func listen(on path: String) throws -> Int32 {
        _ = unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, Glibc.listen(fd, 128) == 0 else {
            close(fd)
            throw HarnessError("cannot listen on \(path): errno \(errno)")
        }
        return fd
    }

    /// Polls, with a deadline, until nginx answers and the responder (and sidecar) behind it do too.
    func waitUntilReady() async throws {
        try await waitUntil("nginx on port \(httpPort) and taskd-fcgi behind it to answer") {
            if let nginx = self.nginx, !nginx.isRunning { throw HarnessError("nginx exited") }
            if let responder = self.responder, !responder.isRunning { throw HarnessError("taskd-fcgi exited") }
            // Without a key the responder answers 401; nginx alone would answer 502. A test with a tight rate limit
            // may get 429 instead: then the responder's socket accepting connections is the sign.
            let answer = try await self.client.get("/tasks")
            return answer.status == 401 || (answer.status == 429 && Self.acceptsConnections(self.fcgiSocket.path))
        }
        if options.startWebSocket {
            try await waitUntil("taskd-ws behind nginx to answer") {
                let answer = try await self.client.get("/ws/tasks")
                return answer.status != 502
            }
        }
    }

    /// Whether a process accepts connections on the unix socket at `path`.
    static func acceptsConnections(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }

    func stop() async {
        for child in [nginx, responder, webSocket].compactMap({ $0 }) + retired {
            await child.stop()
        }
    }

    private func removePrefix() {
        if options.webSocketStateIsReadOnly {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/umount")
            process.arguments = [webSocketStateDirectory.path]
            try? process.run()
            process.waitUntilExit()
        }
        if options.stateOnTmpfs {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/umount")
            process.arguments = [stateDirectory.path]
            try? process.run()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: prefix)
    }

    /// The tail of every process's output, for failure messages.
    var logs: String {
        ([nginx, responder, webSocket].compactMap { $0 } + retired).map { child in
            "--- \(child.name) (\(child.isRunning ? "running" : "exited \(child.terminationStatus)")) ---\n"
                + child.logTail()
        }.joined(separator: "\n")
    }

    // MARK: nginx configuration

    private func renderNginxConfiguration() throws {
        let template = try String(
            contentsOf: PackagePaths.nginxDirectory.appendingPathComponent("local.conf.template"), encoding: .utf8)
        let values: [String: String] = [
            "USER_DIRECTIVE": geteuid() == 0 ? "user root root;" : "",
            "WORKER_PROCESSES": "1",
            "PREFIX": prefix.path,
            "ERROR_LOG": "stderr",
            "ACCESS_LOG": prefix.appendingPathComponent("logs/access.log").path + " taskd",
            "FCGI_SOCKET": fcgiSocket.path,
            "WS_UPSTREAM": "unix:\(webSocketSocket.path)",
            "RATE_LIMIT": options.rateLimit,
            "RATE_BURST": "\(options.rateBurst)",
            "WS_CONNECTIONS_PER_ADDRESS": "\(options.webSocketConnectionsPerAddress)",
            "HTTP_PORT": "\(httpPort)",
            "OPENAPI_DIR": PackagePaths.openAPIDirectory.path,
            "WEB_DIR": PackagePaths.webDirectory.path,
            "LOCATIONS_FILE": PackagePaths.nginxDirectory.appendingPathComponent("taskd-locations.conf").path,
        ]
        let rendered = try Self.render(template, values)
        try rendered.write(to: prefix.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
    }

    /// Replaces every `{{NAME}}`; a placeholder without a value is an error, so template and harness stay in step.
    static func render(_ template: String, _ values: [String: String]) throws -> String {
        var output = template
        for (name, value) in values {
            output = output.replacingOccurrences(of: "{{\(name)}}", with: value)
        }
        if let range = output.range(of: "{{") {
            throw HarnessError("nginx template placeholder without a value: \(output[range.lowerBound...].prefix(40))")
        }
        return output
    }
}
