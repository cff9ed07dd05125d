import Foundation
import TaskCore
import Testing

@testable import TaskStore

/// Sharded deployments: three complete installations behind the front nginx each. One test at a time, since each
/// starts ten processes (three stacks and a front) on a machine that runs the other suites meanwhile.
@Suite(.serialized) struct ShardedDeploymentTests {}

/// Every key reaches the shard it names through the front (nginx/front.conf.template), for REST and the stream
/// alike, and a shard's failure stays with its own tenants.
extension ShardedDeploymentTests {
    @Suite(.timeLimit(.minutes(3))) struct ShardRoutingTests {
        static let tenants = [(name: "alpha", shard: 1), (name: "beta", shard: 2), (name: "gamma", shard: 3)]

        @Test func tenantsOnDifferentShardsCreateListAndStreamThroughTheFront() async throws {
            try await ShardedHarness.with { front in
                var keys: [String: String] = [:]
                for tenant in Self.tenants {
                    keys[tenant.name] = try front.issueKey(tenant: tenant.name, onShard: tenant.shard)
                }
                // Streams first, so that they see every create.
                var streams: [String: WebSocketClient] = [:]
                for tenant in Self.tenants {
                    streams[tenant.name] = try await front.openWebSocket(
                        key: try #require(keys[tenant.name]), workspace: "w")
                }
                for tenant in Self.tenants {
                    for number in 1...3 {
                        let answer = try await front.postTask(
                            key: try #require(keys[tenant.name]), workspace: "w", name: "\(tenant.name)-\(number)")
                        #expect(answer.status == 201, "\(answer)")
                        #expect(answer.header("X-Taskd-Shard") == "\(tenant.shard)", "\(answer)")
                    }
                }
                for tenant in Self.tenants {
                    let key = try #require(keys[tenant.name])
                    let names = (1...3).map { "\(tenant.name)-\($0)" }
                    let tasks = try await front.listTasks(key: key, workspace: "w", expectingShard: tenant.shard)
                    // Each tenant's ids start at 1: nothing of another shard's tenants is mixed in.
                    #expect(tasks.map(\.name) == names && tasks.map(\.id) == [1, 2, 3])
                    let stream = try #require(streams[tenant.name])
                    try await stream.waitForFrames("\(tenant.name)'s stream to show its three tasks") { frames in
                        frames.last.flatMap { try? WebSocketClient.tasks(in: $0).map(\.name) } == names
                    }
                    #expect(stream.frames.allSatisfy { !$0.contains(tenant.name == "alpha" ? "beta-" : "alpha-") })
                    await stream.close()
                }
                for tenant in Self.tenants {
                    // The state lives on the tenant's shard only, and the other shards do not know its key.
                    #expect(front.shardsHoldingState(of: tenant.name) == [tenant.shard])
                    let key: String = try #require(keys[tenant.name])
                    for other in 1...3 where other != tenant.shard {
                        let direct = try await front.shard(other).client.get(
                            front.target("/tasks", key: key, workspace: "w"))
                        expectError(direct, status: 401, code: "unauthorized")
                    }
                }
            }
        }

        @Test func keysWithoutAShardGoToTheDefaultShard() async throws {
            try await ShardedHarness.with { front in
                // A key issued before shards existed (`tk_` + 43 characters) keeps working, on the default shard.
                let legacy = "tk_" + String(repeating: "Lg", count: 21) + "x"
                let entry = KeyEntry(
                    id: "k_00000000000a", tenant: try TenantID(parsing: "old"), sha256: KeyHash(of: legacy),
                    createdAt: Timestamp(milliseconds: 0))
                #expect(try KeysFile.add([entry], path: front.shard(1).keysFile.path).added == [entry])
                let created = try await front.postTask(key: legacy, name: "still here")
                #expect(created.status == 201 && created.header("X-Taskd-Shard") == "1", "\(created)")
                #expect(try await front.listTasks(key: legacy, expectingShard: 1).map(\.name) == ["still here"])

                // A key naming a shard that does not exist, and no key at all: the default shard's 401.
                let nowhere = "tk_s7_0123456789ab_" + String(repeating: "A", count: 43)
                for key in [nowhere, "", "garbage"] {
                    let answer = try await front.client.get(front.target("/tasks", key: key.isEmpty ? nil : key))
                    expectError(answer, status: 401, code: "unauthorized")
                    #expect(answer.header("X-Taskd-Shard") == "1", "\(answer)")
                }
                // What every shard serves alike comes from the default shard too.
                let page = try await front.client.get("/")
                #expect(page.status == 200 && page.header("X-Taskd-Shard") == "1", "\(page)")
            }
        }

        @Test func killingAShardAffectsOnlyItsTenants() async throws {
            try await ShardedHarness.with { front in
                var keys: [String: String] = [:]
                var streams: [String: WebSocketClient] = [:]
                for tenant in Self.tenants {
                    let key = try front.issueKey(tenant: tenant.name, onShard: tenant.shard)
                    keys[tenant.name] = key
                    #expect(try await front.postTask(key: key, name: "before").status == 201)
                    streams[tenant.name] = try await front.openWebSocket(key: key)
                }
                let beta = try #require(keys["beta"])

                // Shard 2's responder dies: its nginx answers 502 for it, as JSON, through the front.
                await front.shard(2).responder?.stop()
                expectError(try await front.postTask(key: beta, name: "lost"), status: 502, code: "unavailable")
                try await Self.expectWorking(front, keys, streams, round: 1)

                // The whole of shard 2 dies: the front itself answers 502 as JSON, with Retry-After; beta's stream ends
                // and a new one is refused the same way.
                await front.shard(2).stop()
                for answer in [
                    try await front.client.get(front.target("/tasks", key: beta)),
                    try await front.postTask(key: beta, name: "x"),
                ] {
                    expectError(answer, status: 502, code: "unavailable")
                    #expect(answer.header("Retry-After") != nil, "\(answer)")
                }
                let betaStream = try #require(streams["beta"])
                try await betaStream.waitForClose(timeout: .seconds(10))
                do {
                    _ = try await front.openWebSocket(key: beta)
                    Issue.record("a stream of a dead shard was upgraded")
                } catch let rejected as WebSocketClient.Rejected {
                    expectError(rejected.answer, status: 502, code: "unavailable")
                }
                try await Self.expectWorking(front, keys, streams, round: 2)
            }
        }

        /// alpha (shard 1) and gamma (shard 3) still create, list and stream through the front.
        static func expectWorking(
            _ front: ShardedHarness, _ keys: [String: String], _ streams: [String: WebSocketClient], round: Int
        ) async throws {
            for tenant in ["alpha", "gamma"] {
                let key = try #require(keys[tenant])
                let created = try await front.postTask(key: key, name: "round \(round)")
                #expect(created.status == 201, "\(created)")
                let names = try await front.listTasks(key: key).map(\.name)
                #expect(names.last == "round \(round)")
                let stream = try #require(streams[tenant])
                try await stream.waitForFrames("\(tenant)'s stream to show round \(round)") {
                    frames in frames.last.flatMap { try? WebSocketClient.tasks(in: $0).map(\.name) } == names
                }
            }
        }
    }
}
