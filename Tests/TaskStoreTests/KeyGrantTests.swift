import Foundation
import TaskCore
import Testing

@testable import TaskStore

/// `KeyRing.grant`, `stillGrants` and `generation`: what a stream opened with a key needs to notice its revocation.
@Suite struct KeyGrantTests {
    private static func key(_ text: String) throws -> APIKey {
        guard let key = APIKey(text) else { throw StoreError.keyNotFound(id: text) }
        return key
    }

    /// Polls (10 ms) until `condition` holds, at most 5 s; the ring re-reads the file at most every 200 ms.
    private static func eventually(_ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    @Test func aGrantHoldsUntilItsKeyIsRevokedAndTheGenerationMoves() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        let acme = try TenantID(parsing: "acme")
        let issued = try KeysFile.issue(tenant: acme, path: path)
        let kept = try KeysFile.issue(tenant: acme, path: path)
        let ring = KeyRing(path: path, openMode: false, logger: Fixtures.logger)
        let grant = try #require(ring.grant(for: try Self.key(issued.key)))
        let keptGrant = try #require(ring.grant(for: try Self.key(kept.key)))
        #expect(grant.tenant == acme && grant != keptGrant)
        #expect(ring.grant(for: try Self.key("tk_unknown")) == nil)
        #expect(!"\(grant)".contains(issued.key) && !"\(grant)".contains(issued.entry.sha256.hex))
        let before = ring.generation()
        #expect(ring.stillGrants(grant))

        _ = try KeysFile.revoke(id: issued.entry.id, path: path)
        #expect(Self.eventually { ring.generation() != before })
        #expect(!ring.stillGrants(grant))
        #expect(ring.stillGrants(keptGrant))
    }

    @Test func aKeysFileReplacedWithoutTheKeyOrUnreadableEndsTheGrant() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        let issued = try KeysFile.issue(tenant: TenantID(parsing: "acme"), path: path)
        let ring = KeyRing(path: path, openMode: false, logger: Fixtures.logger)
        let grant = try #require(ring.grant(for: try Self.key(issued.key)))
        let unchanged = ring.generation()
        usleep(250_000)
        #expect(ring.generation() == unchanged, "the generation moves only when the keys do")

        try Data(#"{"keys":[],"version":1}"#.utf8).write(to: URL(fileURLWithPath: path + ".new"))
        #expect(rename(path + ".new", path) == 0)
        #expect(Self.eventually { !ring.stillGrants(grant) })

        let second = try KeysFile.issue(tenant: TenantID(parsing: "acme"), path: path)
        let secondKey = try Self.key(second.key)
        #expect(Self.eventually { ring.grant(for: secondKey) != nil })
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: path))
        #expect(Self.eventually { ring.grant(for: secondKey) == nil })
    }

    @Test func inOpenModeAGrantEndsWhenTheKeyIsIssuedToATenant() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        let ring = KeyRing(path: path, openMode: true, logger: Fixtures.logger)
        let sandbox = try #require(ring.grant(for: try Self.key("sandbox-1")))
        #expect(sandbox.tenant.rawValue.hasPrefix("open-"))
        #expect(ring.stillGrants(sandbox))

        // The operator hands that very key to a tenant: the open grant no longer describes it.
        let entry = KeyEntry(
            id: "k_000000000000", tenant: try TenantID(parsing: "acme"), sha256: KeyHash(of: "sandbox-1"),
            createdAt: Timestamp(rawValue: 0))
        let document = try WireFormat.encode(KeysDocument(version: KeysDocument.currentVersion, keys: [entry]))
        try Data(document).write(to: URL(fileURLWithPath: path))
        #expect(Self.eventually { !ring.stillGrants(sandbox) })
        #expect(ring.grant(for: try Self.key("sandbox-1"))?.tenant.rawValue == "acme")
    }
}
