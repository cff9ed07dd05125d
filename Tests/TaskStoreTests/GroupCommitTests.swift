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
        // Timed on the threads themselves: the test's own task may wait for a busy concurrency pool.
        let outcomes = try await Threads.run(count: 4) { _ -> (String, Duration) in
            let started = ContinuousClock.now
            do {
                try Fixtures.create(in: store, key)
                return ("created", ContinuousClock.now - started)
            } catch let error as StoreError {
                return (error.isBusy ? "busy" : "\(error)", ContinuousClock.now - started)
            }
        }
        #expect(outcomes.map(\.0) == ["busy", "busy", "busy", "busy"])
        for (_, waited) in outcomes { #expect(waited >= .milliseconds(250) && waited < .seconds(3), "\(waited)") }
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
        // Another process's writer holds the lock (a descriptor of our own behaves the same).
        let held = open(store.workspaceDirectory(key) + "/lock", O_RDWR | O_CLOEXEC)
        #expect(held >= 0 && flock(held, LOCK_EX) == 0)
        defer { close(held) }
        // Three changes wait for the lock; then two more are refused without waiting. All on threads of their own,
        // so that a busy concurrency pool cannot stretch the timing.
        let outcomes = try await Threads.run(count: 4) { index -> String in
            guard index == 3 else {
                try Fixtures.create(in: store, key)
                return "created"
            }
            let deadline = ContinuousClock.now + .seconds(5)
            while store.queueWriters(key) < 3 && ContinuousClock.now < deadline { usleep(1_000) }
            var refusals: [String] = []
            for _ in 0..<2 {
                let started = ContinuousClock.now
                do {
                    try Fixtures.create(in: store, key)
                    refusals.append("created")
                } catch {
                    let fast = ContinuousClock.now - started < .milliseconds(500)
                    refusals.append(error as? StoreError == .tooManyWriters(limit: 3) && fast ? "refused" : "\(error)")
                }
            }
            flock(held, LOCK_UN)
            return refusals.joined(separator: ",")
        }
        #expect(outcomes == ["created", "created", "created", "refused,refused"])
        #expect(try store.read(key).tasks.count == 4)
    }

    @Test func beyondTheProcessWideWriterCapAChangeToAnyWorkspaceIsRefusedAtOnceWhileReadsGoOn() async throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(
            directory, options: StoreOptions(lockWait: .seconds(10), maxWritersInProcess: 2))
        let busy = try [Fixtures.key("acme", "a"), Fixtures.key("beta", "b")]
        let idle = try Fixtures.key("gamma", "c")
        for key in busy + [idle] { try Fixtures.create(in: store, key) }
        // Other processes hold the two busy workspaces' locks: one change waits for each, two in all.
        let held = try busy.map { key -> Int32 in
            let fd = open(store.workspaceDirectory(key) + "/lock", O_RDWR | O_CLOEXEC)
            #expect(fd >= 0 && flock(fd, LOCK_EX) == 0)
            return fd
        }
        defer { for fd in held { close(fd) } }
        let outcomes = try await Threads.run(count: 3) { index -> String in
            guard index == 2 else {
                return "created \(try Fixtures.create(in: store, busy[index]).rawValue)"
            }
            let deadline = ContinuousClock.now + .seconds(5)
            while store.queues.writersUnderWay < 2 && ContinuousClock.now < deadline { usleep(1_000) }
            var results: [String] = []
            // A third change, to a workspace nobody holds, is refused without waiting; a read is answered.
            let started = ContinuousClock.now
            do {
                try Fixtures.create(in: store, idle)
                results.append("created")
            } catch {
                let fast = ContinuousClock.now - started < .milliseconds(500)
                results.append(error as? StoreError == .processBusy(limit: 2) && fast ? "refused" : "\(error)")
            }
            results.append("read \(try store.read(idle).tasks.count)")
            for fd in held { flock(fd, LOCK_UN) }
            return results.joined(separator: ", ")
        }
        #expect(outcomes == ["created 2", "created 2", "refused, read 1"])
        #expect(store.queues.writersUnderWay == 0)
        #expect(try Fixtures.create(in: store, idle).rawValue == 2)
    }

    @Test func aBodyErrorFailsOnlyItsOwnChangeInABatch() async throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(
            directory,
            options: StoreOptions(
                maxWritersPerWorkspace: 64,
                faultHook: { point in
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
}

extension WorkspaceStore {
    /// How many changes of this process are inside the workspace's commit queue (for tests).
    func queueWriters(_ key: WorkspaceKey) -> Int {
        queues.writers(key)
    }
}
