import Foundation
import Testing

/// `taskctl tenant …` refusing what would lose or mix data, with the real binary: each refusal exits 1 with a
/// message and changes nothing.
@Suite(.timeLimit(.minutes(1)))
struct OperationsTenantTests {
    typealias StateDirectory = OperationsTaskCtlTests.StateDirectory

    @Test func everyStepRefusesWhatWouldLoseOrMixData() async throws {
        let source = try StateDirectory()
        let target = try StateDirectory()
        defer {
            source.remove()
            target.remove()
        }
        try source.createTasks(3, tenant: "acme", workspace: "w")
        let key = try await source.taskctl("key", "add", "acme", "--shard", "2")
        #expect(key.status == 0 && key.lastLine.hasPrefix("tk_s2_"), "\(key)")
        let badShard = try await source.taskctl("key", "add", "acme", "--shard", "0")
        #expect(badShard.status == 78 && badShard.stderr.contains("TASKD_SHARD"), "\(badShard)")
        let fromEnvironment = try await source.taskctl(["key", "add", "acme"], environment: ["TASKD_SHARD": "7"])
        #expect(fromEnvironment.lastLine.hasPrefix("tk_s7_"), "\(fromEnvironment)")

        // Not frozen: no export (but a live copy), no retire.
        let unfrozen = try await source.taskctl("tenant", "export", "acme")
        #expect(unfrozen.status == 1 && unfrozen.stdout.isEmpty && unfrozen.stderr.contains("not frozen"))
        #expect(try await source.taskctl("tenant", "export", "acme", "--live").status == 0)
        #expect(try await source.taskctl("tenant", "retire", "acme").status == 1)
        #expect(try await source.taskctl("tenant", "export", "nobody", "--live").status == 1)
        #expect(try await source.taskctl("tenant", "unfreeze", "acme").status == 1)

        #expect(try await source.taskctl("tenant", "freeze", "acme").status == 0)
        let exported = try await source.taskctl("tenant", "export", "acme")
        #expect(exported.status == 0 && exported.stderr.contains("1 workspace(s), 3 task(s), 2 key(s)"), "\(exported)")
        let file = target.path + "/acme.json"
        try exported.stdout.write(toFile: file, atomically: true, encoding: .utf8)

        let imported = try await target.taskctl("tenant", "import", file, "--json")
        #expect(imported.status == 0, "\(imported)")
        #expect(try target.json(imported)["tasks"] as? Int == 3)
        // A second import would write over the workspace: refused, unless asked to.
        let again = try await target.taskctl("tenant", "import", file)
        #expect(again.status == 1 && again.stderr.contains("already exists here"), "\(again)")
        #expect(try await target.taskctl("tenant", "import", file, "--replace").status == 0)
        let show = try await target.taskctl("workspace", "show", "acme", "w", "--json")
        #expect((try target.json(show)["tasks"] as? [Any])?.count == 3, "\(show)")

        // The front's routes: both keys named other shards than 3, so both get a line.
        let routes = target.path + "/routes.map"
        let routed = try await target.taskctl("tenant", "route", file, "--shard", "3", "--routes", routes)
        #expect(routed.status == 0 && routed.stdout.contains("2 key(s) routed to shard 3"), "\(routed)")
        #expect(try String(contentsOfFile: routes, encoding: .utf8).components(separatedBy: " 3;").count == 3)
        #expect(try await target.taskctl("tenant", "route", file, "--shard", "0", "--routes", routes).status == 64)

        #expect(try await target.taskctl("tenant", "unfreeze", "acme").status == 0)
        let retired = try await source.taskctl("tenant", "retire", "acme")
        #expect(retired.status == 0 && retired.stdout.contains("Removed 2 key(s)"), "\(retired)")
        let left = try await source.taskctl("key", "list", "--tenant", "acme", "--json")
        #expect((try source.json(left)["keys"] as? [Any])?.isEmpty == true, "\(left)")
    }
}
