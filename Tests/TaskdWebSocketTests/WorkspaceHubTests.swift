import Foundation
import Glibc
import Logging
import NIOCore
import NIOPosix
import Synchronization
import TaskCore
import TaskStore
import Testing

@testable import TaskdWebSocket

/// The hub with a real store and change-log follower in a temporary directory, and subscribers that record lists.
@Suite(.timeLimit(.minutes(1)))
struct WorkspaceHubTests {
    /// Records every list it receives, on its event loop.
    final class RecordingSubscriber: WorkspaceSubscriber {
        let eventLoop: any EventLoop
        private let lists = Mutex<[String]>([])
        private let failed = Mutex(false)

        init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

        func receive(_ frame: ByteBuffer) {
            eventLoop.assertInEventLoop()
            let list = ServerFrameTests.decodedText(frame) ?? "not a text frame: \(Array(frame.readableBytesView))"
            lists.withLock { $0.append(list) }
        }

        func workspaceUnavailable() { failed.withLock { $0 = true } }

        var received: [String] { lists.withLock { $0 } }
        var wasClosed: Bool { failed.withLock { $0 } }

        /// Waits (polling, with a deadline) until the received lists satisfy `condition`.
        @discardableResult
        func waitFor(
            _ what: String, timeout: Duration = .seconds(5), _ condition: ([String]) -> Bool
        ) async throws -> [String] {
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: timeout)
            while true {
                let lists = received
                if condition(lists) { return lists }
                if clock.now >= deadline {
                    Issue.record("timed out waiting for \(what); received \(lists)")
                    return lists
                }
                try await Task.sleep(for: .milliseconds(2))
            }
        }
    }

    /// A running hub and feed over a fresh state directory.
    final class Fixture: Sendable {
        let directory: String
        let store: WorkspaceStore
        let machine: TaskStateMachine
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        let hub: WorkspaceHub
        let feed: ChangeFeed
        let key: WorkspaceKey

        /// `read` stands between the hub and the store, so that a test can make reads fail.
        init(
            slots: Int = 1,
            read: @escaping @Sendable (WorkspaceStore, WorkspaceKey) throws -> WorkspaceState = { try $0.read($1) }
        ) throws {
            directory =
                FileManager.default.temporaryDirectory
                .appendingPathComponent("taskd-ws-hub-\(UUID().uuidString)").path
            let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
            store = try WorkspaceStore(directory: directory, maxWorkspacesPerTenant: 10, logger: logger)
            machine = TaskStateMachine(policy: try SchedulePolicy(slots: slots, timeScale: 1))
            threadPool.start()
            let store = self.store
            hub = WorkspaceHub(
                eventLoop: group.next(), machine: machine, threadPool: threadPool, clock: Fixture.now,
                logger: logger, read: { key in try read(store, key) })
            feed = ChangeFeed(store: store, hub: hub, logger: logger)
            key = WorkspaceKey(tenant: try TenantID(parsing: "acme"), workspace: .default)
        }

        static func now() -> Timestamp {
            Timestamp(rawValue: Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down)))
        }

        func subscriber() -> RecordingSubscriber { RecordingSubscriber(eventLoop: group.next()) }

        /// What a responder does for POST /tasks.
        func create(_ name: String, durationMilliseconds: Int64 = 600_000) throws {
            let machine = self.machine
            _ = try store.update(key) { state in
                let change = TaskChange.create(
                    name: try TaskName(parsing: name), type: .tiny, durationMilliseconds: durationMilliseconds,
                    at: Fixture.now())
                return StoreUpdate(change: change, result: try machine.apply(change, to: &state))
            }
        }

        func delete(_ id: Int64) throws {
            let machine = self.machine
            _ = try store.update(key) { state in
                let change = TaskChange.delete(try TaskID(parsing: String(id)), at: Fixture.now())
                return StoreUpdate(change: change, result: try machine.apply(change, to: &state))
            }
        }

        /// What GET /tasks answers now.
        func currentList() throws -> String {
            String(
                decoding: WireFormat.taskList(machine.view(of: try store.read(key), at: Fixture.now()).tasks),
                as: UTF8.self)
        }

        func run(_ body: @Sendable (Fixture) async throws -> Void) async throws {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await self.feed.run() }
                defer { tasks.cancelAll() }
                try await body(self)
            }
            try await threadPool.shutdownGracefully()
            try await group.shutdownGracefully()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    @Test func aSubscriberGetsTheCurrentListAtOnceThenEveryChange() async throws {
        try await Fixture().run { fixture in
            try fixture.create("first")
            let subscriber = fixture.subscriber()
            fixture.hub.subscribe(subscriber, to: fixture.key)
            try await subscriber.waitFor("the first list") { $0.count == 1 }
            #expect(subscriber.received.first?.contains(#""name":"first""#) == true)

            try fixture.create("second")
            try await subscriber.waitFor("the create") { $0.last?.contains(#""name":"second""#) == true }
            try fixture.delete(2)
            try await subscriber.waitFor("the delete") { $0.last?.contains("second") == false }
            #expect(subscriber.received.last == (try fixture.currentList()))
        }
    }

    @Test func timedTransitionsAreSentWithoutAnyWrite() async throws {
        try await Fixture().run { fixture in
            let subscriber = fixture.subscriber()
            fixture.hub.subscribe(subscriber, to: fixture.key)
            try await subscriber.waitFor("the first list") { $0 == ["[]"] }
            try fixture.create("short", durationMilliseconds: 300)
            let lists = try await subscriber.waitFor("completion") { $0.last?.contains("completed") == true }
            let statuses = lists.dropFirst().compactMap { list in
                ["queued", "running", "completed"].first { list.contains(#""status":"\#($0)""#) }
            }
            // The create's list may already show the task running (it starts 1 ms after its create); after that every
            // transition is its own list, in order.
            #expect(
                statuses == ["queued", "running", "completed"] || statuses == ["running", "completed"],
                "statuses: \(statuses), lists: \(lists)")
            #expect(lists.last == (try fixture.currentList()))
        }
    }

    @Test func everySubscriberOfAWorkspaceGetsTheSameListsAndTheWorkspaceIsReleasedWithTheLast() async throws {
        try await Fixture().run { fixture in
            let subscribers = (0..<20).map { _ in fixture.subscriber() }
            for subscriber in subscribers { fixture.hub.subscribe(subscriber, to: fixture.key) }
            for subscriber in subscribers { try await subscriber.waitFor("the first list") { $0.count == 1 } }
            for index in 1...5 { try fixture.create("task \(index)") }
            let expected = try fixture.currentList()
            for subscriber in subscribers { try await subscriber.waitFor("the last create") { $0.last == expected } }
            #expect(try await fixture.hub.statistics().get() == (1, 20))
            for subscriber in subscribers { fixture.hub.unsubscribe(subscriber, from: fixture.key) }
            #expect(try await fixture.hub.statistics().get() == (0, 0))
        }
    }

    @Test func aRotatedLogIsFollowedWithoutMissingAChange() async throws {
        try await Fixture().run { fixture in
            let subscriber = fixture.subscriber()
            fixture.hub.subscribe(subscriber, to: fixture.key)
            try await subscriber.waitFor("the first list") { $0.count == 1 }
            for round in 1...5 {
                try fixture.create("before \(round)")
                try fixture.store.compactLog()
                try fixture.create("after \(round)")
            }
            let expected = try fixture.currentList()
            try await subscriber.waitFor("every change") { $0.last == expected }
        }
    }

    @Test func aWorkspaceChangedWhileUnwatchedIsReadAfreshByItsNextSubscriber() async throws {
        try await Fixture().run { fixture in
            let first = fixture.subscriber()
            fixture.hub.subscribe(first, to: fixture.key)
            try await first.waitFor("the first list") { $0.count == 1 }
            fixture.hub.unsubscribe(first, from: fixture.key)
            try fixture.create("while nobody watched")
            let second = fixture.subscriber()
            fixture.hub.subscribe(second, to: fixture.key)
            let expected = try fixture.currentList()
            try await second.waitFor("the fresh list") { $0 == [expected] }
        }
    }

    @Test func readsShortOfDescriptorsAreRetriedWithoutClosingAnyone() async throws {
        let failuresLeft = Mutex(3)
        let fixture = try Fixture { store, key in
            let fail = failuresLeft.withLock { left in
                defer { left = max(0, left - 1) }
                return left > 0
            }
            if fail { throw StoreError.io(operation: "open", path: "state.json", errno: EMFILE) }
            return try store.read(key)
        }
        try await fixture.run { fixture in
            try fixture.create("kept")
            let subscriber = fixture.subscriber()
            fixture.hub.subscribe(subscriber, to: fixture.key)
            try await subscriber.waitFor("the list, once reads work again") { $0.count == 1 }
            #expect(!subscriber.wasClosed)
            #expect(failuresLeft.withLock { $0 } == 0)
            #expect(subscriber.received == [try fixture.currentList()])
        }
    }

    @Test func aWorkspaceThatCannotBeReadForAnyOtherReasonClosesItsSubscribers() async throws {
        let fixture = try Fixture { _, _ in throw StoreError.corrupt(path: "state.json", detail: "test") }
        try await fixture.run { fixture in
            let subscriber = fixture.subscriber()
            fixture.hub.subscribe(subscriber, to: fixture.key)
            let deadline = ContinuousClock.now + .seconds(5)
            while !subscriber.wasClosed, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(subscriber.wasClosed)
            #expect(subscriber.received.isEmpty)
        }
    }
}
