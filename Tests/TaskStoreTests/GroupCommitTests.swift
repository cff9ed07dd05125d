import Foundation
import Glibc
import Synchronization
import TaskCore
import Testing

@testable import TaskStore

/// Changes of one process to one workspace share fdatasyncs, and no change waits without bound.
@Suite struct GroupCommitTests {
    @Test func concurrentChangesShareFdatasyncsAndEachIsAcknowledgedOnceDurable() async throws {
        let directory = try TemporaryDirectory()
        let syncs = Atomic<Int>(0)
        // Each sync is made slow, as on a loaded disk, so that changes pile up behind it.
        let store = try Fixtures.store(
            directory,
            options: StoreOptions(
                maxWritersPerWorkspace: 64,
                faultHook: { point in
                    if point == .afterAppend { usleep(2_000) }
                    if point == .afterSync { syncs.add(1, ordering: .relaxed) }
                    return .proceed
                }))
        let key = try Fixtures.key()
        let ids = try await Threads.run(count: 16) { _ in
            try (0..<25).map { _ in try Fixtures.create(in: store, key).rawValue }
        }.flatMap { $0 }
        #expect(ids.sorted() == Array(1...400))
        // 400 changes took far fewer fdatasyncs: batches formed while each one synced.
        #expect(syncs.load(ordering: .relaxed) < 200)
        let fresh = try Fixtures.store(directory)
        #expect(try fresh.read(key).tasks.map(\.id.rawValue) == Array(1...400))
        #expect(try fresh.read(key).sequence == 400)
    }

    @Test func aChangeWaitingForALockHeldElsewhereGivesUpAtItsDeadline() async throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory, options: StoreOptions(lockWait: .milliseconds(300)))
        let key = try Fixtures.key()
        try Fixtures.create(in: store, key)
        // Another process's writer holds the lock (a separate open file description behaves the same).
        let held = try FileLock(path: store.workspaceDirectory(key) + "/lock")
        let started = ContinuousClock.now
        let outcomes = try await Threads.run(count: 4) { _ -> String in
            do {
                try Fixtures.create(in: store, key)
                return "created"
            } catch let error as StoreError {
                return error.isBusy ? "busy" : "\(error)"
            }
        }
        let waited = ContinuousClock.now - started
        #expect(outcomes == ["busy", "busy", "busy", "busy"])
        #expect(waited >= .milliseconds(250) && waited < .seconds(3))
        held.unlock()
        #expect(try Fixtures.create(in: store, key).rawValue == 2)
        #expect(try store.read(key).tasks.count == 2)
    }

    @Test func beyondTheWriterCapAChangeIsRefusedAtOnce() async throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(
            directory, options: StoreOptions(lockWait: .seconds(10), maxWritersPerWorkspace: 3))
        let key = try Fixtures.key()
        try Fixtures.create(in: store, key)
        let held = try FileLock(path: store.workspaceDirectory(key) + "/lock")
        let outcomes = Mutex<[String]>([])
        // Three changes wait for the lock; the fourth and fifth are refused without waiting.
        let waiting = Task.detached {
            try await Threads.run(count: 3) { _ in
                try Fixtures.create(in: store, key)
                outcomes.withLock { $0.append("created") }
            }
        }
        try await Self.poll { store.queueWriters(key) == 3 }
        let started = ContinuousClock.now
        for _ in 0..<2 {
            #expect(throws: StoreError.tooManyWriters(limit: 3)) { try Fixtures.create(in: store, key) }
        }
        #expect(ContinuousClock.now - started < .seconds(1))
        held.unlock()
        _ = try await waiting.value
        #expect(outcomes.withLock { $0 } == ["created", "created", "created"])
        #expect(try store.read(key).tasks.count == 4)
    }

    @Test func aBodyErrorFailsOnlyItsOwnChangeInABatch() async throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(
            directory,
            options: StoreOptions(faultHook: { point in
                if point == .afterAppend { usleep(3_000) }
                return .proceed
            }))
        let key = try Fixtures.key()
        try Fixtures.create(in: store, key)
        let missing = try #require(TaskID(rawValue: 999))
        let machine = try Fixtures.machine()
        let outcomes = try await Threads.run(count: 12) { index -> Bool in
            if index.isMultiple(of: 3) {
                do {
                    try store.update(key) { state in
                        let change = TaskChange.delete(missing, at: Fixtures.now())
                        _ = try machine.apply(change, to: &state)
                        return StoreUpdate(change: change, result: ())
                    }
                    return true
                } catch TaskError.notFound {
                    return false
                }
            }
            try Fixtures.create(in: store, key)
            return true
        }
        #expect(outcomes.count { !$0 } == 4)
        #expect(try Fixtures.store(directory).read(key).tasks.map(\.id.rawValue) == Array(1...9))
    }

    static func poll(_ condition: @escaping @Sendable () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("condition not met within 10 s")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

extension WorkspaceStore {
    /// How many changes of this process are inside the workspace's commit queue (for tests).
    func queueWriters(_ key: WorkspaceKey) -> Int {
        queues.writers(key)
    }
}
