import Foundation
import Glibc
import Synchronization
import TaskCore
import Testing

@testable import TaskStore

/// A refused change (503) is never committed, and a committed one is never refused: failures before, during and after
/// the durable write, forced through the store's fault points or by locks held from the test.
@Suite(.timeLimit(.minutes(1))) struct WriteFaultTests {
    /// Faults the test switches on and off: appends that fail, and cuts (of the failed batch's lines) that fail a
    /// given number of times.
    final class Faults: Sendable {
        let appendFails = Atomic<Bool>(false)
        let cutFailures = Atomic<Int>(0)
        let changeLogFails = Atomic<Bool>(false)

        var hook: @Sendable (FaultPoint) -> FaultAction {
            { [self] point in
                switch point {
                case .afterAppend where appendFails.load(ordering: .relaxed):
                    return .fail(errno: EIO)
                case .rollBack where cutFailures.load(ordering: .relaxed) > 0:
                    cutFailures.subtract(1, ordering: .relaxed)
                    return .fail(errno: EIO)
                case .changeLogLock where changeLogFails.load(ordering: .relaxed):
                    return .fail(errno: EIO)
                default:
                    return .proceed
                }
            }
        }
    }

    /// A `flock` held as another process would hold it, released once: by the test, or by `releaseWhen`.
    final class HeldLock: Sendable {
        private let fd: Int32
        private let released = Atomic<Bool>(false)

        init(_ path: String, _ operation: Int32 = LOCK_EX) throws {
            fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0, flock(fd, operation) == 0 else { throw CocoaError(.fileLocking) }
        }

        deinit { release() }

        func release() {
            if !released.exchange(true, ordering: .relaxed) { close(fd) }
        }

        /// Releases the lock once `done` is set, or after `limit`: a writer that waited without bound then fails
        /// its test (too slow, or not refused) instead of hanging it. Run it on a thread of its own.
        func releaseWhen(_ done: borrowing Atomic<Bool>, orAfter limit: Duration) {
            let deadline = ContinuousClock.now + limit
            while !done.load(ordering: .relaxed) && ContinuousClock.now < deadline { usleep(1_000) }
            release()
        }
    }

    @Test func aFailedCutKeepsTheWorkspaceUnavailableHereUntilItSucceedsAndNoChangeBuildsOnTheCutLines() throws {
        let directory = try TemporaryDirectory()
        let faults = Faults()
        let store = try Fixtures.store(directory, options: StoreOptions(faultHook: faults.hook))
        let key = try Fixtures.key()
        try Fixtures.create(in: store, key)
        let journal = URL(fileURLWithPath: store.journalPath(key))
        let before = try Data(contentsOf: journal)

        // The write fails, and so does the cut that should take its line back out (and one retry of it).
        faults.appendFails.store(true, ordering: .relaxed)
        faults.cutFailures.store(2, ordering: .relaxed)
        let failure = #expect(throws: StoreError.self) { try Fixtures.create(in: store, key) }
        #expect(failure?.isUnavailable == true, "answered 503")
        faults.appendFails.store(false, ordering: .relaxed)
        #expect(try Data(contentsOf: journal).count > before.count, "the cut failed: the line is still there")

        // Here the workspace is unavailable: a read retries the cut (failing once more) and is refused, not shown the
        // line of a change answered 503.
        #expect(throws: StoreError.rollbackPending(path: store.journalPath(key))) { try store.read(key) }
        // Another process's writer cannot build on the line either: this process keeps the workspace's lock.
        let other = try Fixtures.store(directory, options: StoreOptions(lockWait: .milliseconds(200)))
        let refused = #expect(throws: StoreError.self) { try Fixtures.create(in: other, key) }
        #expect(refused?.isBusy == true, "\(String(describing: refused))")
        // (Its readers, which take no lock, do see the line meanwhile: the window docs/state-directory.md describes.)
        #expect(try other.read(key).tasks.count == 2)

        // The disk recovers: the next read cuts the line off, and the change never was, here or elsewhere.
        #expect(try store.read(key).tasks.map(\.id.rawValue) == [1])
        #expect(try Data(contentsOf: journal) == before)
        #expect(try other.read(key).tasks.map(\.id.rawValue) == [1])
        #expect(try Fixtures.create(in: store, key).rawValue == 2)
        #expect(try Fixtures.create(in: other, key).rawValue == 3, "the lock was released")
        #expect(try Fixtures.store(directory).read(key).tasks.map(\.id.rawValue) == [1, 2, 3])
    }

    @Test func aWriteAfterAFailedCutRetriesTheCutFirstAndIsRefusedWhileItFails() throws {
        let directory = try TemporaryDirectory()
        let faults = Faults()
        let store = try Fixtures.store(directory, options: StoreOptions(faultHook: faults.hook))
        let key = try Fixtures.key()
        let elsewhere = try Fixtures.key("acme", "elsewhere")
        try Fixtures.create(in: store, key)
        faults.appendFails.store(true, ordering: .relaxed)
        faults.cutFailures.store(2, ordering: .relaxed)
        #expect(throws: StoreError.io(operation: "after-append", path: store.journalPath(key), errno: EIO)) {
            try Fixtures.create(in: store, key)
        }
        faults.appendFails.store(false, ordering: .relaxed)
        #expect(throws: StoreError.rollbackPending(path: store.journalPath(key))) {
            try Fixtures.create(in: store, key)
        }
        // Other workspaces are not affected.
        #expect(try Fixtures.create(in: store, elsewhere).rawValue == 1)
        // The cut succeeds: the create after it gets the id the failed one never had.
        #expect(try Fixtures.create(in: store, key).rawValue == 2)
        let fresh = try Fixtures.store(directory)
        #expect(try fresh.read(key).tasks.map(\.id.rawValue) == [1, 2])
        #expect(try fresh.read(key).sequence == 2)
        #expect(store.inspect(key).findings.allSatisfy { !$0.isProblem })
    }

    @Test func aBatchCommittedWhileTheChangeLogCannotBeLockedIsAnsweredCommittedAndFollowersStillFindIt() throws {
        let directory = try TemporaryDirectory()
        let faults = Faults()
        let store = try Fixtures.store(directory, options: StoreOptions(faultHook: faults.hook))
        let key = try Fixtures.key()
        try Fixtures.create(in: store, key)
        let follower = try ChangeLogFollower(directory: directory.path)
        faults.changeLogFails.store(true, ordering: .relaxed)
        #expect(try Fixtures.create(in: store, key).rawValue == 2, "committed, so answered as such")
        #expect(try Fixtures.store(directory).read(key).tasks.map(\.id.rawValue) == [1, 2])
        #expect(try follower.poll().isEmpty, "not announced")
        // A follower holding sequence 1 finds the unannounced change by comparing sequences.
        #expect(follower.verify(held: [key: 1], store: store).isEmpty)
        #expect(follower.verify(held: [key: 1], store: store) == [.stale(key)])
    }

    @Test func aChangeLogLockedElsewhereDelaysACommitOnlyForTheChangeLogWait() async throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory, options: StoreOptions(changeLogWait: .milliseconds(200)))
        let key = try Fixtures.key()
        try Fixtures.create(in: store, key)
        let follower = try ChangeLogFollower(directory: directory.path)
        _ = try follower.poll()
        // Another process holds `changes.lock` exclusively (as a rotation does, for microseconds) and does not let go.
        let held = try HeldLock(directory.path + "/" + ChangeLogWriter.lockFileName)
        let done = Atomic<Bool>(false)
        let outcomes = try await Threads.run(count: 2) { index -> (id: Int64, waited: Duration) in
            guard index == 0 else {
                held.releaseWhen(done, orAfter: .seconds(5))
                return (0, .zero)
            }
            let started = ContinuousClock.now
            defer { done.store(true, ordering: .relaxed) }
            let id = try Fixtures.create(in: store, key).rawValue
            return (id, ContinuousClock.now - started)
        }
        #expect(outcomes[0].id == 2)
        #expect(outcomes[0].waited >= .milliseconds(150) && outcomes[0].waited < .seconds(2), "\(outcomes[0].waited)")
        #expect(try store.read(key).tasks.map(\.id.rawValue) == [1, 2])
        #expect(try follower.poll().isEmpty, "not announced while the log was locked")
        held.release()
        try Fixtures.create(in: store, key)
        let announced = try follower.poll().compactMap { event -> UInt64? in
            if case .change(let record) = event { return record.sequence }
            return nil
        }
        #expect(announced == [3])
    }

    @Test func aRotationThatCannotLockTheLogIsPostponedNotWaitedFor() async throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(
            directory, changeLogLimit: 64, options: StoreOptions(changeLogWait: .milliseconds(100)))
        let key = try Fixtures.key()
        // Another process appends (it holds the lock shared) and never lets go: no rotation can have the lock.
        let held = try HeldLock(directory.path + "/" + ChangeLogWriter.lockFileName, LOCK_SH)
        let done = Atomic<Bool>(false)
        let outcomes = try await Threads.run(count: 2) { index -> Duration in
            guard index == 0 else {
                held.releaseWhen(done, orAfter: .seconds(5))
                return .zero
            }
            let started = ContinuousClock.now
            defer { done.store(true, ordering: .relaxed) }
            for _ in 0..<3 { try Fixtures.create(in: store, key) }
            return ContinuousClock.now - started
        }
        // Each create appends (a shared lock is granted beside the other one) and gives up its rotation after 100 ms.
        #expect(outcomes[0] < .seconds(2), "\(outcomes[0])")
        let log = try String(contentsOfFile: directory.path + "/" + ChangeLogWriter.fileName, encoding: .utf8)
        #expect(log.split(separator: "\n").count == 3, "all three records, not rotated")
        held.release()
        try Fixtures.create(in: store, key)
        let rotated = directory.path + "/" + ChangeLogWriter.rotatedFileName
        #expect(try String(contentsOfFile: rotated, encoding: .utf8).split(separator: "\n").count == 4)
    }

    @Test func aTenantLockHeldElsewhereEndsAWorkspaceCreationAtItsDeadline() async throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory, options: StoreOptions(lockWait: .milliseconds(300)))
        try Fixtures.create(in: store, try Fixtures.key("acme", "first"))
        let held = try HeldLock(directory.path + "/workspaces/acme/.lock")
        let done = Atomic<Bool>(false)
        let outcomes = try await Threads.run(count: 2) { index -> String in
            guard index == 0 else {
                held.releaseWhen(done, orAfter: .seconds(5))
                return ""
            }
            let started = ContinuousClock.now
            defer { done.store(true, ordering: .relaxed) }
            do {
                try Fixtures.create(in: store, try Fixtures.key("acme", "second"))
                return "created"
            } catch let error as StoreError where error.isBusy {
                let waited = ContinuousClock.now - started
                return waited >= .milliseconds(250) && waited < .seconds(2) ? "busy" : "busy after \(waited)"
            }
        }
        #expect(outcomes[0] == "busy")
        held.release()
        #expect(try Fixtures.create(in: store, try Fixtures.key("acme", "second")).rawValue == 1)
    }
}
