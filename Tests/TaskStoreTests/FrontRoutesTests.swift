import Foundation
import TaskCore
import Testing

@testable import TaskStore

@Suite struct FrontRoutesTests {
    static func entry(_ hex: String, shard: Int?, tenant: String = "acme") throws -> KeyEntry {
        KeyEntry(
            id: "k_" + hex, tenant: try TenantID(parsing: tenant),
            sha256: try KeyHash(parsing: String(repeating: String(hex.prefix(1)), count: 64)),
            createdAt: Timestamp(milliseconds: 0), shard: shard)
    }

    @Test func routingAddsLinesForKeysThatNameAnotherShardAndClearsThemWhenTheyComeBack() throws {
        let first = try Self.entry("0123456789ab", shard: 1)
        let second = try Self.entry("ba9876543210", shard: 3)
        let legacy = try Self.entry("00000000000f", shard: nil)
        var routes = FrontRoutes()
        let change = routes.route([first, second, legacy], to: 3)
        #expect(change.added == [first] && change.cleared.isEmpty && change.unroutable == [legacy])
        #expect(routes.routes == [FrontRoutes.Route(routedID: "0123456789ab", shard: 3, tenant: "acme")])

        // Moving on to shard 2: both keys now need a line, the first one's replaced.
        #expect(routes.route([first, second], to: 2).added == [first, second])
        #expect(routes.routes.map(\.shard) == [2, 2] && routes.routes.count == 2)

        // Back home to shard 1: the first key needs no line any more.
        let back = routes.route([first, second], to: 1)
        #expect(back.cleared == [first] && back.added == [second])
        #expect(routes.routes == [FrontRoutes.Route(routedID: "ba9876543210", shard: 1, tenant: "acme")])
    }

    @Test func theTextParsesBackToTheSameRoutes() throws {
        var routes = FrontRoutes()
        _ = routes.route([try Self.entry("0123456789ab", shard: 1), try Self.entry("abcdefabcdef", shard: 9)], to: 4)
        let parsed = try FrontRoutes(parsing: routes.text, path: "routes.map")
        #expect(parsed == routes)
        #expect(routes.text.contains("0123456789ab 4;  # acme\n"))
        #expect(try FrontRoutes(parsing: "", path: "r").routes.isEmpty)
        #expect(try FrontRoutes(parsing: "  # note\n\n0123456789ab 7;\n", path: "r").routes.map(\.shard) == [7])
    }

    @Test(arguments: [
        "0123456789ab 3", "0123456789AB 3;", "0123456789a 3;", "0123456789ab 0;", "0123456789ab three;",
        "0123456789ab 3; extra", "default 3;", "0123456789ab 10000;",
    ])
    func linesThatAreNotRoutesAreRefused(line: String) {
        #expect(throws: StoreError.self) { try FrontRoutes(parsing: "# ok\n" + line + "\n", path: "routes.map") }
    }

    @Test func editingReplacesTheFileAndLeavesAnUnreadableOneAlone() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/routes.map"
        let key = try Self.entry("0123456789ab", shard: 1)
        let change = try FrontRoutes.edit(path: path) { routes in routes.route([key], to: 2) }
        #expect(change.added == [key])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(try FrontRoutes(parsing: text, path: path).routes.map(\.routedID) == ["0123456789ab"])

        try Data("0123456789ab 3 # no semicolon\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: StoreError.self) { try FrontRoutes.edit(path: path) { routes in routes.route([key], to: 2) } }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "0123456789ab 3 # no semicolon\n")
    }
}
