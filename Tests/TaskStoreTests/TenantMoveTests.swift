import Foundation
import Synchronization
import TaskCore
import Testing

@testable import TaskStore

/// A tenant's freeze, export and import: the store's part of moving a tenant between shards.
@Suite struct TenantMoveTests {
    @Test func aFrozenTenantRefusesWritesAndKeepsItsReads() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key("acme", "w")
        let other = try Fixtures.key("other", "w")
        try Fixtures.create(in: store, key)
        try store.freeze(key.tenant)
        #expect(try store.isFrozen(key.tenant) && !(try store.isFrozen(other.tenant)))
        #expect(throws: StoreError.tenantFrozen(tenant: key.tenant)) { try Fixtures.create(in: store, key) }
        // A workspace it never had is refused too, and is not left behind half-made.
        #expect(throws: StoreError.tenantFrozen(tenant: key.tenant)) {
            try Fixtures.create(in: store, try Fixtures.key("acme", "new"))
        }
        #expect(try store.read(key).tasks.count == 1)
        try Fixtures.create(in: store, other)
        #expect(try store.unfreeze(key.tenant))
        #expect(!(try store.unfreeze(key.tenant)))
        try Fixtures.create(in: store, key)
        #expect(try store.read(key).tasks.count == 2)
    }

    /// Writers hammer a workspace from several threads while the tenant is frozen and exported: every write that was
    /// acknowledged is in the export, and nothing is committed after it (the workspace still equals the export).
    @Test(arguments: 0..<3)
    func noAcknowledgedWriteMissesTheExportAndNoneCommitsAfterIt(round: Int) async throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let keys = try (0..<2).map { try Fixtures.key("acme", "w\($0)") }
        for key in keys { try Fixtures.create(in: store, key) }
        let acknowledged = Monitor<[WorkspaceKey: [TaskID]]>([:])
        let exported = Monitor<[WorkspaceKey: WorkspaceState]>([:])
        let exportDone = Atomic<Bool>(false)
        let results = try await Threads.run(count: 5) { thread -> Int in
            if thread == 0 {
                // Freeze in the thick of it: once the writers have a few creates behind them.
                while acknowledged.withValue({ $0.values.map(\.count).reduce(0, +) }) < 10 + round * 10 { usleep(200) }
                try store.freeze(keys[0].tenant)
                for key in keys {
                    let state = try store.exportWorkspace(key).state
                    exported.withValue { $0[key] = state }
                }
                exportDone.store(true, ordering: .releasing)
                return 0
            }
            // Write until the export is done, then a few more times: every write from then on must be refused.
            var refusals = 0
            var afterExport = 0
            while afterExport < 3 {
                if exportDone.load(ordering: .acquiring) { afterExport += 1 }
                let key = keys[thread % 2]
                do {
                    let id = try Fixtures.create(in: store, key, name: "t\(thread)")
                    acknowledged.withValue { $0[key, default: []].append(id) }
                } catch StoreError.tenantFrozen {
                    refusals += 1
                }
            }
            return refusals
        }
        #expect(results.dropFirst().allSatisfy { $0 >= 3 }, "writers after the export were not all refused: \(results)")
        for key in keys {
            let export = try #require(exported.withValue { $0[key] })
            let ids = Set(export.tasks.map(\.id))
            for id in acknowledged.withValue({ $0[key] ?? [] }) {
                #expect(ids.contains(id), "acknowledged task \(id) of \(key) is not in the export")
            }
            #expect(try store.read(key) == export, "\(key) changed after its export")
        }
    }

    @Test func anImportedWorkspaceKeepsItsTasksIdsAndSequence() throws {
        let source = try Fixtures.store(try TemporaryDirectory())
        let targetDirectory = try TemporaryDirectory()
        let target = try Fixtures.store(targetDirectory)
        let key = try Fixtures.key("acme", "w")
        for _ in 0..<5 { try Fixtures.create(in: source, key) }
        try source.freeze(key.tenant)
        let (state, chain) = try source.exportWorkspace(key)
        try target.importWorkspace(key, state: state, chain: chain, replacing: false)
        #expect(try target.read(key) == state)
        // A second import of the same state is refused unless told to replace, which leaves it as it was.
        #expect(throws: TenantMoveError.workspaceNotEmpty(key)) {
            try target.importWorkspace(key, state: state, chain: chain, replacing: false)
        }
        try target.importWorkspace(key, state: state, chain: chain, replacing: true)
        #expect(try target.read(key) == state)
        // Writes carry on from the imported sequence and next id, and survive a fresh store on the same directory.
        let id = try Fixtures.create(in: target, key)
        #expect(id.rawValue == state.nextID)
        let reopened = try Fixtures.store(targetDirectory)
        #expect(try reopened.read(key).sequence == state.sequence + 1)
        #expect(try reopened.read(key).tasks.map(\.id) == state.tasks.map(\.id) + [id])
    }

    @Test func anExportCarriesEveryWorkspaceAndKeyAndRestoresThemElsewhere() throws {
        let sourceDirectory = try TemporaryDirectory()
        let source = try Fixtures.store(sourceDirectory)
        let acme = try TenantID(parsing: "acme")
        let names = ["plain", "quote \" and \\ slash", "ünïcødé ✓", "tab\tnew\nline"]
        for (index, workspace) in ["a", "b-2", "c_3"].enumerated() {
            for name in names.prefix(index + 2) {
                try Fixtures.create(in: source, try Fixtures.key("acme", workspace), name: name)
            }
        }
        try Fixtures.create(in: source, try Fixtures.key("other", "a"))
        let sourceKeys = sourceDirectory.path + "/keys.json"
        let first = try KeysFile.issue(tenant: acme, shard: 1, path: sourceKeys)
        let second = try KeysFile.issue(tenant: acme, shard: 2, path: sourceKeys)
        _ = try KeysFile.issue(tenant: TenantID(parsing: "other"), path: sourceKeys)

        func export(live: Bool = false) throws -> [UInt8] {
            var bytes: [UInt8] = []
            _ = try TenantExport.write(
                tenant: acme, store: source, keysFile: sourceKeys, live: live, exportedAt: Timestamp(milliseconds: 42)
            ) { bytes += $0 }
            return bytes
        }
        #expect(throws: TenantMoveError.notFrozen(acme)) { try export() }
        #expect(try TenantExport.read(try export(live: true), path: "x").document.frozen == false)
        try source.freeze(acme)
        let bytes = try export()
        let read = try TenantExport.read(bytes, path: "acme.json")
        #expect(read.tenant == acme && read.document.frozen && read.document.exportedAt.rawValue == 42)
        #expect(read.keys == [first.entry, second.entry])
        #expect(read.document.workspaces.map(\.id.rawValue) == ["a", "b-2", "c_3"])
        for workspace in read.document.workspaces {
            #expect(workspace.state == (try source.read(WorkspaceKey(tenant: acme, workspace: workspace.id))))
        }

        let targetDirectory = try TemporaryDirectory()
        let target = try Fixtures.store(targetDirectory)
        let targetKeys = targetDirectory.path + "/keys.json"
        let summary = try read.restore(into: target, keysFile: targetKeys, replacing: false)
        #expect(summary == TenantExport.Summary(tenant: "acme", workspaces: 3, tasks: 2 + 3 + 4, keys: 2))
        #expect(try target.isFrozen(acme))
        #expect(try KeysFile.list(path: targetKeys) == [first.entry, second.entry])
        for workspace in read.document.workspaces {
            #expect(try target.read(WorkspaceKey(tenant: acme, workspace: workspace.id)) == workspace.state)
        }
        #expect(throws: TenantMoveError.workspaceNotEmpty(try Fixtures.key("acme", "a"))) {
            try read.restore(into: target, keysFile: targetKeys, replacing: false)
        }
        #expect(try read.restore(into: target, keysFile: targetKeys, replacing: true).workspaces == 3)
        #expect(try KeysFile.list(path: targetKeys).count == 2)

        // Nothing to export, and an export that is not one.
        #expect(throws: TenantMoveError.notFound(try TenantID(parsing: "nobody"))) {
            try source.freeze(try TenantID(parsing: "nobody"))
            _ = try TenantExport.write(
                tenant: TenantID(parsing: "nobody"), store: source, keysFile: sourceKeys, live: false,
                exportedAt: Timestamp(milliseconds: 0)
            ) { _ in }
        }
        for broken in [Array(bytes.dropLast(8)), Array("{}".utf8), Array(bytes.prefix(40))] {
            #expect(throws: StoreError.self) { try TenantExport.read(broken, path: "broken.json") }
        }
    }

    @Test func aKeyThatClashesStopsTheImportBeforeAnythingIsWritten() throws {
        let source = try Fixtures.store(try TemporaryDirectory())
        let sourceKeysDirectory = try TemporaryDirectory()
        let acme = try TenantID(parsing: "acme")
        try Fixtures.create(in: source, try Fixtures.key("acme", "a"))
        let issued = try KeysFile.issue(tenant: acme, path: sourceKeysDirectory.path + "/keys.json")
        try source.freeze(acme)
        var bytes: [UInt8] = []
        _ = try TenantExport.write(
            tenant: acme, store: source, keysFile: sourceKeysDirectory.path + "/keys.json", live: false,
            exportedAt: Timestamp(milliseconds: 0)
        ) { bytes += $0 }
        let export = try TenantExport.read(bytes, path: "acme.json")

        let targetDirectory = try TemporaryDirectory()
        let target = try Fixtures.store(targetDirectory)
        let targetKeys = targetDirectory.path + "/keys.json"
        // Another key with the same id is already there.
        let clash = KeyEntry(
            id: issued.entry.id, tenant: try TenantID(parsing: "else"), sha256: try KeyHash(parsing: String(repeating: "0", count: 64)),
            createdAt: Timestamp(milliseconds: 0), shard: 1)
        #expect(try KeysFile.add([clash], path: targetKeys).added == [clash])
        #expect(throws: TenantMoveError.keyConflict(id: issued.entry.id)) {
            try export.restore(into: target, keysFile: targetKeys, replacing: false)
        }
        #expect(try target.workspaces(of: acme).isEmpty && !(try target.isFrozen(acme)))
        #expect(try KeysFile.list(path: targetKeys) == [clash])
    }
}
