import Foundation
import TaskCore
import TaskStore

import Glibc

/// A sharded deployment for one test: `count` complete installations (a `TaskdHarness` each: nginx, taskd-fcgi,
/// taskd-ws, state directory) behind a front nginx rendered from `nginx/front.conf.template`, which routes each key to
/// its shard. Shards are numbered from 1, as in the keys; shard 1 is the front's default. Use it through
/// `ShardedHarness.with(_:_:)`, which always tears everything down.
final class ShardedHarness: @unchecked Sendable {
    // @unchecked: the front process is only replaced by `start`, which runs before the test body sees the harness;
    // the harness is never shared between tests.

    let shards: [TaskdHarness]
    let prefix: URL
    let routesFile: URL
    let httpPort: Int
    let client: HTTPClient
    private(set) var front: ChildProcess?

    static func with<Result>(
        shards count: Int = 3, _ options: TaskdHarness.Options = TaskdHarness.Options(),
        _ body: (ShardedHarness) async throws -> Result
    ) async throws -> Result {
        try await withShards(count, options, []) { shards in
            let harness = try ShardedHarness(shards: shards)
            do {
                try await harness.start()
                let result = try await body(harness)
                await harness.front?.stop()
                harness.removePrefix()
                return result
            } catch {
                let logs = harness.logs
                await harness.front?.stop()
                harness.removePrefix()
                throw HarnessError("\(error)\n\(logs)")
            }
        }
    }

    /// Starts the shards one inside the other, so that each is torn down however the test ends.
    private static func withShards<Result>(
        _ count: Int, _ options: TaskdHarness.Options, _ started: [TaskdHarness],
        _ body: ([TaskdHarness]) async throws -> Result
    ) async throws -> Result {
        guard started.count < count else { return try await body(started) }
        return try await TaskdHarness.with(options) { shard in
            try await withShards(count, options, started + [shard], body)
        }
    }

    private init(shards: [TaskdHarness]) throws {
        self.shards = shards
        var buffer = Array("/tmp/taskd-front-XXXXXX".utf8CString)
        guard let created = mkdtemp(&buffer) else { throw HarnessError("mkdtemp failed: errno \(errno)") }
        prefix = URL(fileURLWithPath: String(cString: created))
        routesFile = prefix.appendingPathComponent("routes.map")
        for directory in ["logs", "tmp"] {
            try FileManager.default.createDirectory(
                at: prefix.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        httpPort = try FreePort.next()
        client = HTTPClient(port: httpPort)
    }

    /// The installation of shard `number` (from 1).
    func shard(_ number: Int) -> TaskdHarness { shards[number - 1] }

    /// Issues a key for `tenant` on shard `number`, as `taskctl key add TENANT --shard N` there would.
    func issueKey(tenant: String, onShard number: Int) throws -> String {
        try KeysFile.issue(
            tenant: TenantID(parsing: tenant), shard: number, path: shard(number).keysFile.path
        ).key
    }

    /// The shards whose state directory holds anything of `tenant` (its workspaces' directory).
    func shardsHoldingState(of tenant: String) -> [Int] {
        (1...shards.count).filter { number in
            FileManager.default.fileExists(
                atPath: shard(number).stateDirectory.appendingPathComponent("workspaces/\(tenant)").path)
        }
    }

    // MARK: The front

    private var configurationFile: URL { prefix.appendingPathComponent("nginx.conf") }

    private func start() async throws {
        try "# Moved keys: <key id> <shard>;\n".write(to: routesFile, atomically: true, encoding: .utf8)
        let upstreams = shards.enumerated().map { index, shard in
            "upstream taskd_shard_\(index + 1) {\n    server 127.0.0.1:\(shard.httpPort);\n    keepalive 16;\n}\n"
        }
        let names = (1...shards.count).map { "    \($0) taskd_shard_\($0);\n" }
        let shardsFile = prefix.appendingPathComponent("shards.conf")
        try
            (upstreams.joined() + "map $taskd_shard $taskd_upstream {\n    default taskd_shard_1;\n" + names.joined()
            + "}\n").write(to: shardsFile, atomically: true, encoding: .utf8)
        let template = try String(
            contentsOf: PackagePaths.nginxDirectory.appendingPathComponent("front.conf.template"), encoding: .utf8)
        let rendered = try TaskdHarness.render(
            template,
            [
                "USER_DIRECTIVE": geteuid() == 0 ? "user root root;" : "",
                "WORKER_PROCESSES": "1",
                "PREFIX": prefix.path,
                "PID_FILE": prefix.appendingPathComponent("nginx.pid").path,
                "ERROR_LOG": "stderr",
                "ACCESS_LOG": prefix.appendingPathComponent("logs/access.log").path + " taskd_front",
                "LISTEN": "127.0.0.1:\(httpPort)",
                "SERVER_NAME": "localhost",
                "SERVER_DIRECTIVES": "",
                "RATE_LIMIT": "10000r/s",
                "RATE_BURST": "10000",
                "WS_CONNECTIONS_PER_ADDRESS": "65535",
                "DEFAULT_SHARD": "1",
                "ROUTES_FILE": routesFile.path,
                "SHARDS_FILE": shardsFile.path,
            ])
        try rendered.write(to: configurationFile, atomically: true, encoding: .utf8)
        front = try ChildProcess(
            name: "front-nginx", executable: try PackagePaths.nginx(),
            arguments: ["-p", prefix.path + "/", "-c", configurationFile.path, "-g", "daemon off;"],
            environment: ProcessInfo.processInfo.environment, logDirectory: prefix.appendingPathComponent("logs"))
        try await waitUntil("the front nginx on port \(httpPort) to reach shard 1") {
            if let front = self.front, !front.isRunning { throw HarnessError("the front nginx exited") }
            let answer = try await self.client.get("/tasks")
            return answer.status == 401 && answer.header("X-Taskd-Shard") == "1"
        }
    }

    /// Applies the routes file as an operator does: `nginx -s reload`, then waits until `key` reaches `shard`.
    func reloadFront(untilKey key: String, reaches shard: Int) async throws {
        let reload = try await OperationsCommand.run(
            try PackagePaths.nginx().path, ["-p", prefix.path + "/", "-c", configurationFile.path, "-s", "reload"],
            timeout: .seconds(20))
        guard reload.status == 0 else { throw HarnessError("nginx -s reload failed: \(reload)") }
        try await waitUntil("the front to send the key to shard \(shard) after the reload") {
            try await self.client.get(self.target("/tasks", key: key)).header("X-Taskd-Shard") == "\(shard)"
        }
    }

    func target(_ path: String, key: String?, workspace: String? = nil) -> String {
        shards[0].target(path, key: key, workspace: workspace)
    }

    func openWebSocket(key: String, workspace: String? = nil) async throws -> WebSocketClient {
        try await WebSocketClient.connect(
            port: httpPort, target: target("/ws/tasks", key: key, workspace: workspace))
    }

    private func removePrefix() {
        try? FileManager.default.removeItem(at: prefix)
    }

    var logs: String {
        let access = (try? String(contentsOf: prefix.appendingPathComponent("logs/access.log"), encoding: .utf8)) ?? ""
        return "--- front nginx (\(front?.isRunning == true ? "running" : "exited")) ---\n"
            + (front?.logTail() ?? "") + "\n--- front access log (tail) ---\n" + access.suffix(3_000)
    }
}

extension ShardedHarness {
    /// `GET /tasks` through the front, expecting a 200 from `shard` when given; decoded.
    func listTasks(key: String, workspace: String? = nil, expectingShard shard: Int? = nil) async throws -> [WireTask] {
        let answer = try await client.get(target("/tasks", key: key, workspace: workspace))
        guard answer.status == 200, shard == nil || answer.header("X-Taskd-Shard") == shard.map({ "\($0)" }),
            let tasks = try answer.jsonObject()["tasks"] as? [Any]
        else {
            throw HarnessError("GET /tasks through the front failed: \(answer)")
        }
        return try tasks.map(WireTask.init(json:))
    }

    /// `POST /tasks` through the front; the answer as it came.
    func postTask(key: String, workspace: String? = nil, name: String, type: String = "gx.heavy") async throws
        -> HTTPAnswer
    {
        try await client.post(
            target("/tasks", key: key, workspace: workspace), json: TaskdHarness.taskBody(name: name, type: type))
    }
}
