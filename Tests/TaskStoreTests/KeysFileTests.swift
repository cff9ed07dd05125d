import Crypto
import Foundation
import TaskCore
import Testing

@testable import TaskStore

@Suite struct KeysFileTests {
    @Test func issueListRevoke() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/etc/keys.json"
        let acme = try TenantID(parsing: "acme")
        let issued = try KeysFile.issue(tenant: acme, path: path)
        let other = try KeysFile.issue(tenant: TenantID(parsing: "other"), path: path)
        #expect(issued.key.hasPrefix("tk_s1_") && issued.key.count == 62)
        #expect(issued.key != other.key && issued.entry.id != other.entry.id)
        #expect(issued.entry.tenant == acme)
        #expect(
            issued.entry.sha256.hex
                == SHA256.hash(data: Array(issued.key.utf8)).map { String(format: "%02x", $0) }.joined()
        )
        #expect(try KeysFile.list(path: path) == [issued.entry, other.entry])

        let revoked = try KeysFile.revoke(id: issued.entry.id, path: path)
        #expect(revoked == issued.entry)
        #expect(try KeysFile.list(path: path) == [other.entry])
        #expect(throws: StoreError.keyNotFound(id: issued.entry.id)) {
            try KeysFile.revoke(id: issued.entry.id, path: path)
        }
    }

    @Test func concurrentIssuesAreAllKept() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        let tenant = try TenantID(parsing: "acme")
        let issued = try await Threads.run(count: 6) { _ in
            try (0..<5).map { _ in try KeysFile.issue(tenant: tenant, path: path).entry.id }
        }.flatMap { $0 }
        #expect(Set(issued).count == 30)
        #expect(Set(try KeysFile.list(path: path).map(\.id)) == Set(issued))
    }

    @Test func theFileHoldsOnlyHashesAndIsPrivate() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        let previous = umask(0o022)
        defer { umask(previous) }
        let issued = try KeysFile.issue(tenant: TenantID(parsing: "acme"), path: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains(issued.key))
        #expect(!text.contains(String(issued.key.dropFirst(3))) && !text.contains(String(issued.key.suffix(43))))
        #expect(text.contains(issued.entry.sha256.hex))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func listingAMissingFileIsEmptyAndACorruptOneIsAnError() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        #expect(try KeysFile.list(path: path).isEmpty)
        try Data("{\"keys\":[".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: StoreError.self) { try KeysFile.list(path: path) }
        #expect(throws: StoreError.self) { try KeysFile.issue(tenant: TenantID(parsing: "acme"), path: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{\"keys\":[")
    }

    @Test func base64URLMatchesFoundation() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let expected = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(KeyDigest.base64URL(bytes) == expected)
        }
    }
}

/// An `APIKey` from a non-empty test string.
private func apiKey(_ text: String) throws -> APIKey {
    guard let key = APIKey(text) else { throw StoreError.keyNotFound(id: text) }
    return key
}

@Suite struct KeyRingTests {
    struct Lookups: Sendable {
        let lateAcceptances: [Duration]
        let refused: Bool
    }

    /// How long `condition` took to hold, polled every 10 ms on a thread of its own (so that a busy concurrency pool
    /// cannot stretch the measurement); `nil` when it did not hold within `limit`.
    private static func timeUntil(
        within limit: Duration = .seconds(5), _ condition: @escaping @Sendable () -> Bool
    ) async throws -> Duration? {
        try await Threads.run {
            let start = ContinuousClock.now
            while ContinuousClock.now - start < limit {
                if condition() { return ContinuousClock.now - start }
                usleep(10_000)
            }
            return nil
        }
    }

    @Test func issuedKeysResolveToTheirTenantAndRevokedOnesStopWithinASecond() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        let acme = try TenantID(parsing: "acme")
        let issued = try KeysFile.issue(tenant: acme, path: path)
        let kept = try KeysFile.issue(tenant: TenantID(parsing: "other"), path: path)
        let ring = KeyRing(path: path, openMode: false, logger: Fixtures.logger)
        let revokedKey = try apiKey(issued.key)
        #expect(ring.tenant(for: revokedKey) == acme)
        #expect(ring.tenant(for: try apiKey("tk_unknown")) == nil)

        _ = try KeysFile.revoke(id: issued.entry.id, path: path)
        let revokedAt = ContinuousClock.now
        // Judged by when each lookup started, not by when the poller got to run, so a busy machine cannot fail it:
        // no lookup that starts a second or more after the revoke may accept the key, and the key must be refused.
        let outcomes = try await Threads.run { _ -> Lookups in
            var lateAcceptances: [Duration] = []
            var refusals = 0
            while refusals < 3, ContinuousClock.now - revokedAt < .seconds(10) {
                let startedAfter = ContinuousClock.now - revokedAt
                if ring.tenant(for: revokedKey) == nil {
                    refusals += 1
                } else if refusals > 0 || startedAfter >= .seconds(1) {
                    lateAcceptances.append(startedAfter)
                }
                usleep(10_000)
            }
            return Lookups(lateAcceptances: lateAcceptances, refused: refusals == 3)
        }
        let lateAcceptances = outcomes.first?.lateAcceptances ?? []
        #expect(outcomes.first?.refused == true)
        #expect(
            lateAcceptances.isEmpty,
            "\(lateAcceptances.count) lookups accepted the key, the first \(String(describing: lateAcceptances.first)) after the revoke"
        )
        #expect(ring.tenant(for: try apiKey(kept.key))?.rawValue == "other")
    }

    @Test func newKeysWorkWithoutARestart() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        let ring = KeyRing(path: path, openMode: false, logger: Fixtures.logger)
        #expect(ring.tenant(for: try apiKey("tk_x")) == nil)
        let issued = try KeysFile.issue(tenant: TenantID(parsing: "late"), path: path)
        let key = try apiKey(issued.key)
        #expect(try await Self.timeUntil { ring.tenant(for: key)?.rawValue == "late" } != nil)
    }

    @Test func openModeMakesEveryUnknownKeyItsOwnTenant() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        let issued = try KeysFile.issue(tenant: TenantID(parsing: "acme"), path: path)
        let ring = KeyRing(path: path, openMode: true, logger: Fixtures.logger)
        let first = try #require(ring.tenant(for: try apiKey("sandbox-1")))
        let hex = SHA256.hash(data: Array("sandbox-1".utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(first.rawValue == "open-" + hex.prefix(20))
        #expect(ring.tenant(for: try apiKey("sandbox-1")) == first)
        #expect(ring.tenant(for: try apiKey("sandbox-2")) != first)
        // Issued keys keep their tenant in open mode.
        #expect(ring.tenant(for: try apiKey(issued.key))?.rawValue == "acme")
        // Without the file, open mode still works.
        let bare = KeyRing(path: directory.path + "/missing.json", openMode: true, logger: Fixtures.logger)
        #expect(bare.tenant(for: try apiKey("sandbox-1")) == first)
    }

    @Test func aCorruptKeysFileAcceptsNoKey() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        let issued = try KeysFile.issue(tenant: TenantID(parsing: "acme"), path: path)
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: path))
        let ring = KeyRing(path: path, openMode: false, logger: Fixtures.logger)
        #expect(ring.tenant(for: try apiKey(issued.key)) == nil)
    }
}
