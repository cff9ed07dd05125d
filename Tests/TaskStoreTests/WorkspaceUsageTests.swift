import Foundation
import Glibc
import Synchronization
import TaskCore
import Testing

@testable import TaskStore

/// Open mode's bounds on the whole state directory: tenants and workspaces in all, shared by every process.
@Suite(.timeLimit(.minutes(1))) struct WorkspaceUsageTests {
    static func openStore(
        _ directory: TemporaryDirectory, tenants: Int, workspaces: Int, lockWait: Duration = .seconds(5)
    ) throws -> WorkspaceStore {
        try Fixtures.store(
            directory,
            options: StoreOptions(lockWait: lockWait, maxTenants: tenants, maxWorkspacesInAll: workspaces))
    }

    @Test func newTenantsAndWorkspacesStopAtTheBoundsWhileExistingOnesGoOnInEveryProcess() throws {
        let directory = try TemporaryDirectory()
        let store = try Self.openStore(directory, tenants: 2, workspaces: 3)
        try Fixtures.create(in: store, try Fixtures.key("open-a", "default"))
        try Fixtures.create(in: store, try Fixtures.key("open-b", "default"))
        #expect(throws: StoreError.tenantCountReached(limit: 2)) {
            try Fixtures.create(in: store, try Fixtures.key("open-c", "default"))
        }
        try Fixtures.create(in: store, try Fixtures.key("open-a", "second"))
        #expect(throws: StoreError.workspaceCountReached(limit: 3)) {
            try Fixtures.create(in: store, try Fixtures.key("open-b", "second"))
        }
        // A refusal creates nothing: no directory for the refused tenant or workspace.
        #expect(try store.tenants().map(\.rawValue) == ["open-a", "open-b"])
        #expect(try store.workspaces(of: try TenantID(parsing: "open-b")).map(\.rawValue) == ["default"])
        // Existing workspaces are written and read as before.
        #expect(try Fixtures.create(in: store, try Fixtures.key("open-b", "default")).rawValue == 2)
        // Another process shares the counts.
        let other = try Self.openStore(directory, tenants: 2, workspaces: 3)
        #expect(throws: StoreError.tenantCountReached(limit: 2)) {
            try Fixtures.create(in: other, try Fixtures.key("open-d", "default"))
        }
        let usage = try String(contentsOfFile: directory.path + "/workspaces/.usage", encoding: .utf8)
        #expect(usage == "tenants 2\nworkspaces 3\n")
    }

    @Test func concurrentCreatorsInTwoProcessesNeverOvershootTheTenantBound() async throws {
        let directory = try TemporaryDirectory()
        let stores = try (0..<2).map { _ in try Self.openStore(directory, tenants: 5, workspaces: 1_000) }
        let outcomes = try await Threads.run(count: 16) { index -> String in
            do {
                try Fixtures.create(in: stores[index % 2], try Fixtures.key("open-\(index)", "default"))
                return "created"
            } catch StoreError.tenantCountReached {
                return "refused"
            }
        }
        #expect(outcomes.count { $0 == "created" } == 5)
        #expect(outcomes.count { $0 == "refused" } == 11)
        #expect(try stores[0].tenants().count == 5)
    }

    @Test func eachProcessCountsTheDirectoriesAgainAtItsFirstCreation() throws {
        let directory = try TemporaryDirectory()
        let store = try Self.openStore(directory, tenants: 2, workspaces: 100)
        try Fixtures.create(in: store, try Fixtures.key("open-a", "default"))
        try Fixtures.create(in: store, try Fixtures.key("open-b", "default"))
        // An operator removes a sandbox tenant by hand; the file still counts it.
        try FileManager.default.removeItem(atPath: directory.path + "/workspaces/open-a")
        #expect(throws: StoreError.tenantCountReached(limit: 2)) {
            try Fixtures.create(in: store, try Fixtures.key("open-c", "default"))
        }
        // A restarted process counts again before its first creation.
        let restarted = try Self.openStore(directory, tenants: 2, workspaces: 100)
        try Fixtures.create(in: restarted, try Fixtures.key("open-c", "default"))
        let usage = try String(contentsOfFile: directory.path + "/workspaces/.usage", encoding: .utf8)
        #expect(usage == "tenants 2\nworkspaces 2\n")
    }

    @Test func aDamagedCountIsCountedAgain() throws {
        let directory = try TemporaryDirectory()
        let store = try Self.openStore(directory, tenants: 10, workspaces: 10)
        try Fixtures.create(in: store, try Fixtures.key("open-a", "default"))
        try "tenants 9\nworkspaces x\n".write(
            toFile: directory.path + "/workspaces/.usage", atomically: false, encoding: .utf8)
        try Fixtures.create(in: store, try Fixtures.key("open-b", "default"))
        let usage = try String(contentsOfFile: directory.path + "/workspaces/.usage", encoding: .utf8)
        #expect(usage == "tenants 2\nworkspaces 2\n")
    }

    @Test(arguments: [
        "", "tenants 1\n", "tenants 1\nworkspaces 2", "tenants -1\nworkspaces 2\n", "tenants 1\nworkspaces 2\n\n",
    ])
    func onlyTwoWellFormedLinesAreACount(_ text: String) {
        #expect(WorkspaceUsage.parse(Array(text.utf8)) == nil)
        #expect(
            WorkspaceUsage.parse(Array("tenants 1\nworkspaces 2\n".utf8))
                == WorkspaceUsage.Counts(tenants: 1, workspaces: 2))
    }

    @Test func aCountLockHeldElsewhereEndsACreationAtItsDeadline() async throws {
        let directory = try TemporaryDirectory()
        let store = try Self.openStore(directory, tenants: 10, workspaces: 10, lockWait: .milliseconds(300))
        try Fixtures.create(in: store, try Fixtures.key("open-a", "default"))
        let held = try WriteFaultTests.HeldLock(directory.path + "/workspaces/.usage")
        defer { held.release() }
        let outcome = try await Threads.run { () -> String in
            let started = ContinuousClock.now
            do {
                try Fixtures.create(in: store, try Fixtures.key("open-b", "default"))
                return "created"
            } catch let error as StoreError where error.isBusy {
                let waited = ContinuousClock.now - started
                return waited >= .milliseconds(250) && waited < .seconds(3) ? "busy" : "busy after \(waited)"
            }
        }
        #expect(outcome == "busy")
        // Existing workspaces never look at the count.
        #expect(try Fixtures.create(in: store, try Fixtures.key("open-a", "default")).rawValue == 2)
    }

    @Test func withoutOpenModeNothingIsCounted() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        for index in 0..<3 { try Fixtures.create(in: store, try Fixtures.key("t\(index)", "default")) }
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/workspaces/.usage"))
    }
}
