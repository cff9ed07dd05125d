import Foundation
import TaskCore
import TaskStore
import Testing

/// A stream remembers the key that opened it: when the key ring drops that key, the stream gets close 1008 with a
/// reason within a second, and nothing more. Through real nginx, against the real taskd-ws.
@Suite(.timeLimit(.minutes(1)))
struct WebSocketRevocationTests {
    static let reason = "The API key was revoked."

    /// Opens streams with the key to revoke and with another key of the same tenant, on the same workspace.
    private static func openStreams(_ harness: TaskdHarness) async throws -> (
        issued: IssuedKey, other: String, doomed: [WebSocketClient], kept: WebSocketClient
    ) {
        let issued = try KeysFile.issue(tenant: try TenantID(parsing: "acme"), path: harness.keysFile.path)
        let other = try harness.issueKey()
        let doomed = [
            try await harness.openWebSocket(key: issued.key), try await harness.openWebSocket(key: issued.key),
            try await harness.openWebSocket(key: issued.key, workspace: "second"),
        ]
        let kept = try await harness.openWebSocket(key: other)
        for client in doomed + [kept] { try await client.waitForFrames("the first frame") { !$0.isEmpty } }
        return (issued, other, doomed, kept)
    }

    /// Each doomed stream got 1008 with the reason less than a second after `revokedAt`, and no list after it; the
    /// other key's stream still follows the workspace.
    private static func expectClosed(
        _ doomed: [WebSocketClient], after revokedAt: ContinuousClock.Instant, kept: WebSocketClient,
        keptKey: String, harness: TaskdHarness
    ) async throws {
        for client in doomed {
            try await client.waitForClose(timeout: .seconds(5))
            #expect(client.closeCode == 1008)
            #expect(client.closeReason == reason)
            let closedAfter = try #require(client.closeReceivedAt) - revokedAt
            #expect(closedAfter < .seconds(1), "the close frame came \(closedAfter) after the revocation")
        }
        _ = try await harness.createTask(key: keptKey, name: "after the revocation", type: "gx.heavy")
        try await harness.waitUntilLastFrameMatchesGET(kept, key: keptKey)
        #expect(!kept.isClosed)
        for client in doomed { #expect(client.framesAfterClose == 0) }
        await kept.close()
    }

    @Test func revokingAKeyClosesItsOpenStreamsWithin1sAndLeavesOtherKeysStreaming() async throws {
        try await TaskdHarness.with(WebSocketTests.options()) { harness in
            let (issued, other, doomed, kept) = try await Self.openStreams(harness)
            let revokedAt = ContinuousClock.now
            _ = try KeysFile.revoke(id: issued.entry.id, path: harness.keysFile.path)
            try await Self.expectClosed(doomed, after: revokedAt, kept: kept, keptKey: other, harness: harness)
            // And the key cannot open a new stream.
            await #expect(throws: WebSocketClient.Rejected.self) { try await harness.openWebSocket(key: issued.key) }
        }
    }

    @Test func aKeysFileReplacedWithoutTheKeyClosesItsStreams() async throws {
        try await TaskdHarness.with(WebSocketTests.options()) { harness in
            let (issued, other, doomed, kept) = try await Self.openStreams(harness)
            // An operator restores a keys file that never had this key (written aside, then renamed over).
            let path = harness.keysFile.path
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let keys = try #require(object["keys"] as? [[String: Any]])
            let remaining = keys.filter { $0["id"] as? String != issued.entry.id }
            #expect(remaining.count == keys.count - 1)
            let replacement = try JSONSerialization.data(withJSONObject: ["version": 1, "keys": remaining])
            try replacement.write(to: URL(fileURLWithPath: path + ".restored"))
            #expect(chmod(path + ".restored", 0o600) == 0)
            let revokedAt = ContinuousClock.now
            #expect(rename(path + ".restored", path) == 0)
            try await Self.expectClosed(doomed, after: revokedAt, kept: kept, keptKey: other, harness: harness)
        }
    }
}
