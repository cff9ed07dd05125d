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
            id: issued.entry.id, tenant: try TenantID(parsing: "else"),
            sha256: try KeyHash(parsing: String(repeating: "0", count: 64)),
            createdAt: Timestamp(milliseconds: 0), shard: 1)
        #expect(try KeysFile.add([clash], path: targetKeys).added == [clash])
        #expect(throws: TenantMoveError.keyConflict(id: issued.entry.id)) {
            try export.restore(into: target, keysFile: targetKeys, replacing: false)
        }
        #expect(try target.workspaces(of: acme).isEmpty && !(try target.isFrozen(acme)))
        #expect(try KeysFile.list(path: targetKeys) == [clash])
    }
}

/// Imports that would let one tenant reach another's data, or undo acknowledged writes, are refused before anything
/// is written; an export is read with every field checked.
@Suite struct TenantImportSafetyTests {
    /// A frozen export of `acme` (workspaces `a` and `b`, one key) and the source's directory.
    struct Source {
        let directory: TemporaryDirectory
        let store: WorkspaceStore
        let key: IssuedKey
        let bytes: [UInt8]

        init() throws {
            directory = try TemporaryDirectory()
            store = try Fixtures.store(directory)
            let acme = try TenantID(parsing: "acme")
            try Fixtures.create(in: store, try Fixtures.key("acme", "a"))
            try Fixtures.create(in: store, try Fixtures.key("acme", "b"))
            key = try KeysFile.issue(tenant: acme, path: directory.path + "/keys.json")
            try store.freeze(acme)
            var bytes: [UInt8] = []
            _ = try TenantExport.write(
                tenant: acme, store: store, keysFile: directory.path + "/keys.json", live: false,
                exportedAt: Timestamp(milliseconds: 1_764_403_200_000)
            ) { bytes += $0 }
            self.bytes = bytes
        }

        var export: TenantExport {
            get throws { try TenantExport.read(bytes, path: "acme.json") }
        }

        /// The export as a JSON object, changed by `change`, written back.
        func edited(_ change: (inout [String: Any]) throws -> Void) throws -> [UInt8] {
            var object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
            try change(&object)
            return Array(try JSONSerialization.data(withJSONObject: object))
        }
    }

    /// A target shard: a store and a keys file.
    struct Target {
        let directory: TemporaryDirectory
        let store: WorkspaceStore
        var keysFile: String { directory.path + "/keys.json" }

        init() throws {
            directory = try TemporaryDirectory()
            store = try Fixtures.store(directory)
        }

        /// Everything an import could change: the keys file's bytes and every workspace of `tenants`.
        func snapshot(_ tenants: [String] = ["acme", "acme-2", "mallory"]) throws -> String {
            let keys = (try? String(contentsOfFile: keysFile, encoding: .utf8)) ?? "-"
            var text = keys
            for name in tenants {
                let tenant = try TenantID(parsing: name)
                text += "\n\(name) frozen=\(try store.isFrozen(tenant))"
                for workspace in try store.workspaces(of: tenant) {
                    text += " \(workspace)=\(try store.read(WorkspaceKey(tenant: tenant, workspace: workspace)))"
                }
            }
            return text
        }
    }

    static func keys(_ object: [String: Any]) throws -> [[String: Any]] {
        try #require(object["keys"] as? [[String: Any]])
    }

    static func workspaces(_ object: [String: Any]) throws -> [[String: Any]] {
        try #require(object["workspaces"] as? [[String: Any]])
    }

    static func state(_ workspace: [String: Any]) throws -> [String: Any] {
        try #require(workspace["state"] as? [String: Any])
    }

    /// Each a change to a sound export that breaks one field, and the field the error must name.
    static let brokenFields: [(name: String, field: String)] = [
        ("upper-case hash", "keys[0].sha256"), ("key of another tenant", "keys[0].tenant"),
        ("key twice", "keys[1].id"), ("hash twice", "keys[1].sha256"), ("key of an open-mode name", "keys[0].tenant"),
        ("negative exported_at", "exported_at"), ("tenant not a name", "tenant"), ("version 2", "version"),
        ("workspace id with a slash", "workspaces[0].id"), ("state in format 1", "workspaces[0].state"),
        ("next_id 0", "workspaces[0].state"), ("workspace twice", "workspaces[2].id"), ("frozen not a bool", "frozen"),
    ]

    @Test(arguments: brokenFields.map(\.name))
    func anExportIsReadWithEveryFieldCheckedAndTheErrorNamesIt(name: String) throws {
        let source = try Source()
        let field = try #require(Self.brokenFields.first { $0.name == name }?.field)
        let bytes = try source.edited { object in
            var keys = try Self.keys(object)
            var workspaces = try Self.workspaces(object)
            var state = try Self.state(workspaces[0])
            switch name {
            case "upper-case hash": keys[0]["sha256"] = (keys[0]["sha256"] as? String)?.uppercased()
            case "key of another tenant": keys[0]["tenant"] = "mallory"
            case "key twice": keys.append(keys[0])
            case "hash twice":
                var copy = keys[0]
                copy["id"] = "k_00000000000e"
                keys.append(copy)
            case "key of an open-mode name":
                object["tenant"] = "open-0123456789abcdef0123"
                keys[0]["tenant"] = "open-0123456789abcdef0123"
            case "negative exported_at": object["exported_at"] = -1
            case "tenant not a name": object["tenant"] = "Acme Corp"
            case "version 2": object["version"] = 2
            case "workspace id with a slash": workspaces[0]["id"] = "../b"
            case "state in format 1": state["format"] = nil
            case "next_id 0": state["next_id"] = 0
            case "workspace twice": workspaces.append(workspaces[0])
            case "frozen not a bool": object["frozen"] = 1
            default: Issue.record("no change for \(name)")
            }
            workspaces[0]["state"] = state
            object["keys"] = keys
            object["workspaces"] = workspaces
        }
        #expect {
            try TenantExport.read(bytes, path: "acme.json")
        } throws: { error in
            guard case StoreError.corrupt(let path, let detail) = error else { return false }
            return path == "acme.json" && detail.hasPrefix(field)
        }
    }

    @Test func aCraftedExportCannotTakeAnotherTenantsKey() throws {
        let source = try Source()
        let target = try Target()
        let victim = try KeysFile.issue(tenant: TenantID(parsing: "victim"), path: target.keysFile)
        let before = try target.snapshot()
        for spelling in [victim.entry.sha256.hex.uppercased(), victim.entry.sha256.hex] {
            let bytes = try source.edited { object in
                object["tenant"] = "mallory"
                var keys = try Self.keys(object)
                keys[0]["tenant"] = "mallory"
                keys[0]["sha256"] = spelling
                object["keys"] = keys
            }
            // Upper case: not a hash at all. Lower case: the victim's hash, already here for another key.
            #expect(throws: (any Error).self) {
                try TenantExport.read(bytes, path: "mallory.json").restore(
                    into: target.store, keysFile: target.keysFile, replacing: false)
            }
        }
        #expect(try target.snapshot() == before)
        let ring = KeyRing(path: target.keysFile, openMode: false, logger: Fixtures.logger)
        #expect(ring.tenant(for: try #require(APIKey(victim.key)))?.rawValue == "victim")
    }

    @Test func anImportRefusesATenantThatExistsHereWithOtherKeysOrWorkspacesAndImportsUnderAnotherName() throws {
        let source = try Source()
        let export = try source.export
        let acme = try TenantID(parsing: "acme")

        // Another customer called acme, with a key here.
        let withKey = try Target()
        let local = try KeysFile.issue(tenant: acme, path: withKey.keysFile)
        var before = try withKey.snapshot()
        #expect(throws: TenantMoveError.tenantExists(acme, keyIDs: [local.entry.id], workspaces: [])) {
            try export.restore(into: withKey.store, keysFile: withKey.keysFile, replacing: true)
        }
        #expect(try withKey.snapshot() == before)

        // Or with a workspace the export does not have.
        let withWorkspace = try Target()
        try Fixtures.create(in: withWorkspace.store, try Fixtures.key("acme", "mine"))
        before = try withWorkspace.snapshot()
        #expect(
            throws: TenantMoveError.tenantExists(acme, keyIDs: [], workspaces: [try WorkspaceID(parsing: "mine")])
        ) {
            try export.restore(into: withWorkspace.store, keysFile: withWorkspace.keysFile, replacing: false)
        }
        #expect(try withWorkspace.snapshot() == before)

        // Under another name: everything arrives there, the local acme is untouched, and the keys open acme-2.
        let renamed = try TenantID(parsing: "acme-2")
        let summary = try export.restore(
            into: withWorkspace.store, keysFile: withWorkspace.keysFile, replacing: false, as: renamed)
        #expect(summary == TenantExport.Summary(tenant: "acme-2", workspaces: 2, tasks: 2, keys: 1))
        #expect(try withWorkspace.store.workspaces(of: renamed).map(\.rawValue) == ["a", "b"])
        #expect(try withWorkspace.store.workspaces(of: acme).map(\.rawValue) == ["mine"])
        #expect(try withWorkspace.store.isFrozen(renamed) && !(try withWorkspace.store.isFrozen(acme)))
        let ring = KeyRing(path: withWorkspace.keysFile, openMode: false, logger: Fixtures.logger)
        #expect(ring.tenant(for: try #require(APIKey(source.key.key))) == renamed)
        #expect(throws: TenantMoveError.reservedName(try TenantID(parsing: "open-0123456789abcdef0123"))) {
            try export.restore(
                into: withWorkspace.store, keysFile: withWorkspace.keysFile, replacing: false,
                as: try TenantID(parsing: "open-0123456789abcdef0123"))
        }
    }

    @Test func replaceAcceptsTheExportedStateButNeverRollsBackAWorkspaceThatTookWrites() throws {
        let source = try Source()
        let export = try source.export
        let target = try Target()
        let a = try Fixtures.key("acme", "a")
        #expect(try export.restore(into: target.store, keysFile: target.keysFile, replacing: false).unchanged == 0)
        // A second attempt at the same import: accepted with --replace, nothing rewritten.
        #expect(try export.restore(into: target.store, keysFile: target.keysFile, replacing: true).unchanged == 2)

        // The tenant opens here and takes a write: the export is now behind, and --replace must not undo it.
        try target.store.unfreeze(a.tenant)
        try Fixtures.create(in: target.store, a)
        let before = try target.snapshot()
        let written = try target.store.read(a)
        #expect(throws: TenantMoveError.workspaceMoved(a, sequence: written.sequence, exportedSequence: 1)) {
            try export.restore(into: target.store, keysFile: target.keysFile, replacing: true)
        }
        #expect(throws: TenantMoveError.workspaceMoved(a, sequence: written.sequence, exportedSequence: 1)) {
            try export.restore(into: target.store, keysFile: target.keysFile, replacing: false)
        }
        #expect(try target.snapshot() == before)
        // The store's own check, under the workspace's lock, says the same.
        let exported = try #require(export.document.workspaces.first { $0.id == a.workspace })
        #expect(throws: TenantMoveError.workspaceMoved(a, sequence: written.sequence, exportedSequence: 1)) {
            try target.store.importWorkspace(a, state: exported.state, chain: exported.chain, replacing: true)
        }

        // The same on the source: a workspace written after its export is not rolled back by re-importing it.
        try source.store.unfreeze(a.tenant)
        try Fixtures.create(in: source.store, a)
        #expect(throws: TenantMoveError.self) {
            try export.restore(into: source.store, keysFile: source.directory.path + "/keys.json", replacing: true)
        }
        #expect(try source.store.read(a).sequence == 2)
    }

    @Test func anExportRefusesAKeyWhoseHashAnotherEntryHoldsToo() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let keysFile = directory.path + "/keys.json"
        let acme = try TenantID(parsing: "acme")
        let issued = try KeysFile.issue(tenant: acme, path: keysFile)
        let copy = KeyEntry(
            id: "k_00000000000e", tenant: try TenantID(parsing: "mallory"), sha256: issued.entry.sha256,
            createdAt: issued.entry.createdAt, shard: 1)
        try KeysFile.write(KeysDocument(version: 1, keys: [issued.entry, copy]), path: keysFile)
        #expect(throws: TenantMoveError.refusedKey(id: issued.entry.id)) {
            _ = try TenantExport.write(
                tenant: acme, store: store, keysFile: keysFile, live: true, exportedAt: Timestamp(rawValue: 0)
            ) { _ in }
        }
    }
}
