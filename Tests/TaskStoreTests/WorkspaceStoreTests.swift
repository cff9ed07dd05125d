import Foundation
import Synchronization
import TaskCore
import Testing

@testable import TaskStore

@Suite struct WorkspaceStoreTests {
    @Test func readingAnUnusedWorkspaceGivesEmptyAndCreatesNothing() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        #expect(try store.read(key) == .empty)
        #expect(try store.tenants().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: store.workspaceDirectory(key)))
    }

    @Test func createsAreStoredAndNumberedFromOne() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        let first = try Fixtures.create(in: store, key)
        let second = try Fixtures.create(in: store, key)
        #expect(first.rawValue == 1 && second.rawValue == 2)
        let state = try store.read(key)
        #expect(state.tasks.map(\.id.rawValue) == [1, 2])
        #expect(state.nextID == 3 && state.sequence == 2)
        // A second store on the same directory (another process) sees the same document.
        #expect(try Fixtures.store(directory).read(key) == state)
    }

    @Test func journalAndCheckpointAreJSONReadableByJq() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        try Fixtures.create(in: store, key, name: "a/b \"quoted\"")
        let journal = try String(contentsOfFile: store.journalPath(key), encoding: .utf8)
        let lines = journal.split(separator: "\n")
        #expect(lines.count == 2)
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(Set(object.keys) == ["crc", "len", "rec"])
        }
        #expect(lines[0].contains(#""journal":2"#))
        #expect(lines[1].contains(#""name":"a/b \"quoted\"""#) && lines[1].contains(#""seq":1"#))
        try store.checkpoint(key)
        let checkpoint = try String(contentsOfFile: store.checkpointPath(key), encoding: .utf8)
        #expect(checkpoint.hasPrefix(#"{"as_of":"#) && checkpoint.contains(#""format":2"#))
        #expect(checkpoint.hasSuffix("}\n"))
        for path in [store.journalPath(key), store.checkpointPath(key)] {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
        }
    }

    @Test func anErrorFromTheBodyWritesNothing() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        let missing = try #require(TaskID(rawValue: 7))
        #expect(throws: TaskError.notFound(missing)) {
            try store.update(key) { state -> StoreUpdate<Void> in throw TaskError.notFound(missing) }
        }
        #expect(!FileManager.default.fileExists(atPath: store.workspaceDirectory(key)))
        try Fixtures.create(in: store, key)
        let before = try Data(contentsOf: URL(fileURLWithPath: store.journalPath(key)))
        #expect(throws: TaskError.notFound(missing)) {
            try store.update(key) { state -> StoreUpdate<Void> in
                state.tasks.removeAll()
                throw TaskError.notFound(missing)
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.journalPath(key))) == before)
    }

    @Test func aBodyWithoutChangeWritesNothing() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        let answer = try store.update(key) { state in StoreUpdate(change: nil, result: 42) }
        #expect(answer == 42)
        #expect(!FileManager.default.fileExists(atPath: store.workspaceDirectory(key)))
        try Fixtures.create(in: store, key)
        let state = try store.read(key)
        _ = try store.update(key) { state in
            state.nextID = 99
            return StoreUpdate(change: nil, result: ())
        }
        #expect(try store.read(key) == state)
    }

    @Test func threadsOfOneProcessExcludeEachOther() async throws {
        let directory = try TemporaryDirectory()
        let key = try Fixtures.key()
        // Separate store objects too: each opens its own lock descriptions, like separate processes would.
        let stores = try (0..<2).map { _ in try Fixtures.store(directory) }
        let ids = try await Threads.run(count: 8) { worker in
            try (0..<40).map { _ in try Fixtures.create(in: stores[worker % stores.count], key).rawValue }
        }.flatMap { $0 }
        #expect(ids.sorted() == Array(1...320))
        #expect(try stores[0].read(key).tasks.map(\.id.rawValue) == Array(1...320))
    }

    @Test func theWorkspaceLimitStopsOnlyNewWorkspaces() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory, maxWorkspaces: 2)
        try Fixtures.create(in: store, Fixtures.key("acme", "one"))
        try Fixtures.create(in: store, Fixtures.key("acme", "two"))
        #expect(throws: StoreError.workspaceLimitReached(limit: 2)) {
            try Fixtures.create(in: store, Fixtures.key("acme", "three"))
        }
        // Existing workspaces stay writable, reading a new one is fine, and other tenants have their own count.
        try Fixtures.create(in: store, Fixtures.key("acme", "one"))
        #expect(try store.read(Fixtures.key("acme", "three")) == .empty)
        try Fixtures.create(in: store, Fixtures.key("other", "three"))
        // A change that fails on a new workspace reports its own error, not the limit.
        let missing = try #require(TaskID(rawValue: 1))
        let machine = try Fixtures.machine()
        #expect(throws: TaskError.notFound(missing)) {
            try store.update(Fixtures.key("acme", "three")) { state in
                let change = TaskChange.delete(missing, at: Fixtures.now())
                _ = try machine.apply(change, to: &state)
                return StoreUpdate(change: change, result: ())
            }
        }
        #expect(try store.workspaces(of: TenantID(parsing: "acme")).map(\.rawValue) == ["one", "two"])
    }

    @Test func theWorkspaceLimitHoldsUnderConcurrentCreators() async throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory, maxWorkspaces: 5)
        let successes = try await Threads.run(count: 20) { index in
            do {
                try Fixtures.create(in: store, Fixtures.key("acme", "w\(index)"))
                return true
            } catch StoreError.workspaceLimitReached {
                return false
            }
        }.count { $0 }
        #expect(successes == 5)
        #expect(try store.workspaces(of: TenantID(parsing: "acme")).count == 5)
    }

    @Test(arguments: [
        ("journal", ""), ("journal", "not json at all\n"), ("journal", "{\"crc\":\"00000000\",\"len\":2,\"rec\":{}}\n"),
        ("checkpoint", ""), ("checkpoint", "{\"next_id\":3,\"seq\":2,\"as_of\":1,\"tas"),
        ("checkpoint", "{\"next_id\":\"x\"}"),
    ])
    func aCorruptFileIsATypedErrorNamingItAndStaysUntouched(file: String, contents: String) throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        let other = try Fixtures.key("acme", "other")
        try Fixtures.create(in: store, key)
        try Fixtures.create(in: store, other)
        try store.checkpoint(key)
        try Fixtures.create(in: store, key)
        let path = file == "journal" ? store.journalPath(key) : store.checkpointPath(key)
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        // A fresh store (another process) and this one (whose cache held the workspace) both refuse it.
        for reader in [store, try Fixtures.store(directory)] {
            for attempt in 0..<2 {
                let error = #expect(throws: StoreError.self) {
                    if attempt == 0 { _ = try reader.read(key) } else { try Fixtures.create(in: reader, key) }
                }
                guard case .corrupt(let reportedPath, _) = error else {
                    Issue.record("expected a corrupt error, got \(String(describing: error))")
                    continue
                }
                #expect(reportedPath == path)
            }
            // Other workspaces are unaffected.
            #expect(try reader.read(other).tasks.count == 1)
        }
        try Fixtures.create(in: store, other)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(contents.utf8))
        #expect(store.inspect(key).findings.contains { $0.isProblem && $0.path == path })
    }

    @Test func tenantsAndWorkspacesAreListedByTheirNames() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        for (tenant, workspace) in [("acme", "default"), ("acme", "a`b"), ("b.c", "x\\y"), ("b-c", "[^]")] {
            try Fixtures.create(in: store, Fixtures.key(tenant, workspace))
        }
        #expect(try store.tenants().map(\.rawValue) == ["acme", "b-c", "b.c"])
        #expect(try store.workspaces(of: TenantID(parsing: "acme")).map(\.rawValue) == ["a`b", "default"])
        #expect(try store.workspaces(of: TenantID(parsing: "b.c")).map(\.rawValue) == ["x\\y"])
        #expect(try store.workspaces(of: TenantID(parsing: "nobody")).isEmpty)
    }

    @Test func everyCommittedChangeAdvancesTheSequenceOnce() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        let follower = try ChangeLogFollower(directory: directory.path)
        try Fixtures.create(in: store, key)
        // A body that changes the state without advancing `seq` still gets the next number.
        try store.update(key) { state in
            state.asOf = Fixtures.now()
            return StoreUpdate(change: .flush(at: state.asOf), result: ())
        }
        #expect(try store.read(key).sequence == 2)
        let records = try follower.poll().compactMap { event -> ChangeRecord? in
            if case .change(let record) = event { return record }
            return nil
        }
        #expect(records.map(\.sequence) == [1, 2])
        #expect(records.allSatisfy { $0.key == key })
    }

    @Test(arguments: [FaultPoint.afterAppend, .afterSync], [EIO, ENOSPC])
    func aFailedAppendOrSyncAcknowledgesNothingAndTheNextWriteSucceeds(point: FaultPoint, code: Int32) throws {
        let directory = try TemporaryDirectory()
        let failing = Atomic<Bool>(false)
        let store = try Fixtures.store(
            directory,
            options: StoreOptions(faultHook: { reached in
                reached == point && failing.load(ordering: .relaxed) ? .fail(errno: code) : .proceed
            }))
        let key = try Fixtures.key()
        try Fixtures.create(in: store, key)
        let follower = try ChangeLogFollower(directory: directory.path)
        let before = try Data(contentsOf: URL(fileURLWithPath: store.journalPath(key)))
        failing.store(true, ordering: .relaxed)
        let error = #expect(throws: StoreError.self) { try Fixtures.create(in: store, key) }
        #expect(error?.isUnavailable == true)
        // Nothing acknowledged is visible, to this process or another, and nothing was announced.
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.journalPath(key))) == before)
        #expect(try store.read(key).tasks.map(\.id.rawValue) == [1])
        #expect(try Fixtures.store(directory).read(key).tasks.map(\.id.rawValue) == [1])
        #expect(try follower.poll().isEmpty)
        failing.store(false, ordering: .relaxed)
        #expect(try Fixtures.create(in: store, key).rawValue == 2)
        #expect(try Fixtures.store(directory).read(key).tasks.map(\.id.rawValue) == [1, 2])
    }

    @Test func aChangeLogThatCannotBeWrittenDoesNotFailACommittedChange() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        let log = directory.path + "/changes.log"
        try FileManager.default.removeItem(atPath: log)
        try FileManager.default.createDirectory(atPath: log, withIntermediateDirectories: false)
        try Fixtures.create(in: store, key)
        #expect(try store.read(key).tasks.count == 1)
    }

    @Test func unavailableErrorsAreRecognised() {
        #expect(StoreError.io(operation: "write", path: "/x", errno: ENOSPC).isUnavailable)
        #expect(StoreError.io(operation: "open", path: "/x", errno: EROFS).isUnavailable)
        #expect(StoreError.io(operation: "write", path: "/x", errno: EDQUOT).isUnavailable)
        #expect(StoreError.io(operation: "fdatasync", path: "/x", errno: EIO).isUnavailable)
        #expect(StoreError.lockTimeout(path: "/x", waitedMilliseconds: 5).isBusy)
        #expect(!StoreError.io(operation: "open", path: "/x", errno: EACCES).isUnavailable)
        #expect(!StoreError.corrupt(path: "/x", detail: "bad").isUnavailable)
        #expect(StoreError.io(operation: "open", path: "/x", errno: ENOSPC).description.contains("/x"))
    }
}
