import TaskCore
import Testing

@testable import TaskStore

@Suite struct PathEncodingTests {
    @Test(arguments: [
        ("..", "%2E%2E"), (".", "%2E"), ("a`b", "a%60b"), ("x\\y", "x%5Cy"), ("[x]", "%5Bx%5D"), ("^", "%5E"),
        ("a/b", "a%2Fb"), ("a%b", "a%25b"), ("Ab_-9", "Ab_-9"), ("ü", "%C3%BC"),
    ])
    func hostileNamesMapToSafeComponents(name: String, component: String) {
        let encoded = PathEncoding.encode(name)
        #expect(encoded == component)
        #expect(!encoded.contains("/") && !encoded.hasPrefix(".") && encoded != "lock")
        #expect(PathEncoding.decode(encoded) == name)
    }

    @Test func onlyCanonicalComponentsDecode() {
        #expect(PathEncoding.decode("a%2eb") == nil)  // lower-case hex is never written
        #expect(PathEncoding.decode("%41") == nil)  // 'A' is written as itself
        #expect(PathEncoding.decode("a.b") == nil)
        #expect(PathEncoding.decode("%2") == nil)
        #expect(PathEncoding.decode("%FF") == nil)  // not UTF-8
        #expect(PathEncoding.decode(".lock") == nil)
    }

    @Test func everyValidWorkspaceByteMapsSafelyAndDistinctly() throws {
        var seen: [String: String] = [:]
        for byte in UInt8(ascii: "-")...UInt8(ascii: "z") {
            let text = String(decoding: [byte, byte], as: UTF8.self)
            guard let id = try? WorkspaceID(parsing: text) else { continue }
            let component = PathEncoding.encode(id.rawValue)
            #expect(!component.contains("/") && !component.hasPrefix("."))
            #expect(seen[component] == nil, "\(text) collides with \(seen[component] ?? "")")
            seen[component] = text
        }
        #expect(seen.count > 60)
    }

    @Test func hostileWorkspacesStayInsideTheirTenantsDirectory() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let tenantDirectory = store.tenantDirectory(try TenantID(parsing: "acme"))
        for workspace in ["`", "\\", "[", "^", "]", "_", "-", "--", "`\\[^]"] {
            let key = try Fixtures.key("acme", workspace)
            try Fixtures.create(in: store, key)
            let path = store.workspaceDirectory(key)
            #expect(path.hasPrefix(tenantDirectory + "/"))
            #expect(!path.dropFirst(tenantDirectory.count + 1).contains("/"))
            #expect(try store.read(key).tasks.count == 1)
        }
        #expect(try store.workspaces(of: TenantID(parsing: "acme")).count == 9)
    }

    @Test func tenantsNeverCollide() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let tenants = ["a.b", "a-b", "a_b", "ab", "a.b.", "a..b"]
        for (index, tenant) in tenants.enumerated() {
            for _ in 0...index { try Fixtures.create(in: store, Fixtures.key(tenant, "default")) }
        }
        for (index, tenant) in tenants.enumerated() {
            #expect(try store.read(Fixtures.key(tenant, "default")).tasks.count == index + 1)
        }
        #expect(Set(tenants.map { PathEncoding.encode($0) }).count == tenants.count)
        #expect(try store.tenants().map(\.rawValue) == tenants.sorted())
    }
}
