import ArgumentParser
import Foundation
import NIOCore

/// `taskd-ws-bench`: the client side of `make bench-ws` (scripts/bench-ws.sh starts the servers).
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskd-ws-bench",
        abstract: "Measures taskd-ws: change-to-frame latency and memory per idle connection.",
        subcommands: [Latency.self, Idle.self, Floor.self])
}

struct Latency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time from a POST's response to the frame reaching every subscriber of the workspace.")

    @Option(help: "nginx's port on 127.0.0.1") var httpPort: Int
    @Option(help: "API key") var apiKey: String
    @Option(help: "Workspace id") var workspace: String = "bench"
    @Option(help: "Subscriber counts, comma-separated") var subscribers: String = "1,100,1000"
    @Option(help: "Measured creates per subscriber count") var rounds: Int = 200
    @Option(help: "Client event-loop threads") var threads: Int = 2
    @Option(help: "Subscribe on taskd-ws's unix socket instead of through nginx") var socket: String?
    @Option(help: "The server's process id, to report its CPU time per frame sent") var pid: Int32?
    @Option(help: "Send the creates and deletes to this unix socket (the floor server) instead of through nginx")
    var triggerSocket: String?
    @Option(help: "Which server is measured, for the output") var server: String = "taskd"

    func run() async throws {
        let query = "api_key=\(apiKey)&workspace_id=\(workspace)"
        let setup = try connectTrigger()
        // One long task holds the only slot, so every measured task stays queued (and deletable) and no timed
        // transition adds frames of its own.
        let blocker = try setup.request("POST", "/tasks?\(query)", body: #"{"name":"blocker","type":"gx.heavy"}"#)
        guard blocker.status == 201, let blockerID = Self.id(in: blocker.body) else {
            throw ValidationError("cannot create the blocking task: \(blocker.status) \(blocker.body)")
        }
        var nextID = blockerID + 1
        for count in subscribers.split(separator: ",").compactMap({ Int($0) }) {
            // A fresh connection per count: nginx closes a keep-alive connection after 1,000 requests.
            let http = try connectTrigger()
            let clients = BenchSubscribers(threads: threads)
            let endpoint: BenchSubscribers.Endpoint =
                socket.map { .unix(path: $0) } ?? .tcp(host: "127.0.0.1", port: httpPort)
            try await clients.open(count: count, endpoint: endpoint, target: "/ws/tasks?\(query)")
            var latencies: [UInt64] = []
            latencies.reserveCapacity(rounds * count)
            var early = 0
            let cpuBefore = try pid.map(Self.cpuSeconds(pid:))
            for round in 0..<(rounds + 10) {
                clients.expect(#"{"id":\#(nextID),"#)
                let created = try http.request("POST", "/tasks?\(query)", body: #"{"name":"m","type":"gx.tiny"}"#)
                let answered = NIODeadline.now().uptimeNanoseconds
                guard created.status == 201, Self.id(in: created.body) == nextID else {
                    throw ValidationError("unexpected create answer: \(created.status) \(created.body)")
                }
                let arrivals = try await clients.arrivals(timeout: .seconds(10))
                if round >= 10 {  // the first rounds warm up caches and connections
                    for arrival in arrivals {
                        if arrival < answered { early += 1 }
                        latencies.append(arrival > answered ? arrival - answered : 0)
                    }
                }
                clients.expect(#"{"id":\#(nextID),"#, absent: true)
                let deleted = try http.request("DELETE", "/tasks/\(nextID)?\(query)")
                guard deleted.status == 204 else {
                    throw ValidationError("unexpected delete answer: \(deleted.status) \(deleted.body)")
                }
                // Wait for the delete's frames everywhere, so that they do not queue in front of the next round's.
                _ = try await clients.arrivals(timeout: .seconds(10))
                nextID += 1
            }
            // Every round sends two lists (the create's and the delete's) to every subscriber.
            let cpu = try pid.map { pid in
                let seconds = try Self.cpuSeconds(pid: pid) - (cpuBefore ?? 0)
                return String(
                    format: " server_cpu_per_frame=%.2fus", seconds * 1e6 / Double(2 * (rounds + 10) * count))
            }
            await clients.closeAll()
            try await clients.group.shutdownGracefully()
            latencies.sort()
            print(
                "latency server=\(server) via=\(socket == nil ? "nginx" : "direct") workspace=\(workspace) "
                    + "subscribers=\(count) "
                    + "frames=\(latencies.count) "
                    + "p50=\(Self.ms(latencies, 0.50)) p90=\(Self.ms(latencies, 0.90)) p99=\(Self.ms(latencies, 0.99)) max=\(Self.ms(latencies, 1.0)) "
                    + "before_response=\(early)\(cpu ?? "")")
        }
    }

    /// Where creates and deletes go: nginx (and taskd-fcgi behind it), or the floor server's own socket.
    private func connectTrigger() throws -> BenchHTTPClient {
        if let triggerSocket { return try BenchHTTPClient(unixPath: triggerSocket) }
        return try BenchHTTPClient(host: "127.0.0.1", port: httpPort)
    }

    /// User plus system CPU time of a process, from /proc (clock ticks of 10 ms).
    static func cpuSeconds(pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        guard let close = stat.lastIndex(of: ")") else { throw ValidationError("unreadable /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else {
            throw ValidationError("unreadable /proc/\(pid)/stat")
        }
        return (user + system) / 100
    }

    static func id(in body: String) -> Int? {
        guard let range = body.range(of: #""id":"#) else { return nil }
        return Int(body[range.upperBound...].prefix { $0.isNumber })
    }

    static func ms(_ sorted: [UInt64], _ quantile: Double) -> String {
        guard !sorted.isEmpty else { return "n/a" }
        let index = min(sorted.count - 1, Int((Double(sorted.count) * quantile).rounded(.up)) - 1)
        return String(format: "%.3fms", Double(sorted[max(0, index)]) / 1_000_000)
    }
}

struct Idle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Resident memory of taskd-ws per idle WebSocket connection.")

    @Option(help: "taskd-ws's unix socket") var socket: String
    @Option(help: "taskd-ws's process id") var pid: Int32
    @Option(help: "API key") var apiKey: String
    @Option(help: "Workspace id") var workspace: String = "idle"
    @Option(help: "Connections to open") var connections: Int = 10_000
    @Option(help: "Client event-loop threads") var threads: Int = 2

    func run() async throws {
        let target = "/ws/tasks?api_key=\(apiKey)&workspace_id=\(workspace)"
        // Warm up: the first connections allocate the server's pools and the workspace; they stay open.
        let warm = BenchSubscribers(threads: threads)
        try await warm.open(count: 100, endpoint: .unix(path: socket), target: target)
        try await Task.sleep(for: .seconds(1))
        let before = try Self.residentKiB(pid: pid)
        let clients = BenchSubscribers(threads: threads)
        let clock = ContinuousClock()
        let started = clock.now
        try await clients.open(count: connections, endpoint: .unix(path: socket), target: target)
        let elapsed = clock.now - started
        try await Task.sleep(for: .seconds(2))
        let after = try Self.residentKiB(pid: pid)
        let perConnection = Double(after - before) * 1_024 / Double(connections)
        print(
            "idle connections=\(connections) rss_before=\(before)KiB rss_after=\(after)KiB "
                + "per_connection=\(String(format: "%.0f", perConnection))B opened_in=\(elapsed)")
        await clients.closeAll()
        await warm.closeAll()
    }

    static func residentKiB(pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            if let value = Int(line.split(separator: " ").dropFirst().first ?? "") { return value }
        }
        throw ValidationError("no VmRSS for process \(pid)")
    }
}
