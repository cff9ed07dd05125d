import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TaskStore

/// Tails the store's change log on a thread of its own and hands what it finds to the hub; every `verifyInterval` it
/// also checks the watched workspaces against the store, so a change whose writer died before logging it still
/// reaches subscribers (within two intervals).
///
/// The follower blocks (inotify) while it waits, so it never runs on an event loop or the concurrency pool. It is
/// opened when the feed is created, before the server accepts anyone: a workspace read for a new subscriber after
/// that moment can never miss a record, because every later change is in the part of the log still to be read.
final class ChangeFeed: Service, @unchecked Sendable {
    // @unchecked Sendable: `follower` is used only by the feed's own thread once `run` starts it (never before, never
    // after the thread ends); `stopping` is atomic; the rest is immutable and Sendable.
    private let follower: ChangeLogFollower
    private let store: WorkspaceStore
    private let hub: WorkspaceHub
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    /// How long one wait may last, so that a stop request is seen quickly even without log activity.
    static let waitSlice: Duration = .milliseconds(200)
    /// How often the watched workspaces are checked against the store for changes the log did not announce.
    static let verifyInterval: Duration = .milliseconds(250)

    init(store: WorkspaceStore, hub: WorkspaceHub, logger: Logger) throws(StoreError) {
        self.follower = try ChangeLogFollower(directory: store.directory)
        self.store = store
        self.hub = hub
        self.logger = logger
    }

    func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
                let thread = Thread { [self] in
                    follow()
                    finished.resume()
                }
                thread.name = "taskd-ws change feed"
                thread.start()
            }
        } onCancelOrGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
        }
        logger.debug("Change feed stopped")
    }

    private func follow() {
        var failing = false
        var nextVerify = ContinuousClock.now + Self.verifyInterval
        while !stopping.load(ordering: .relaxed) {
            if ContinuousClock.now >= nextVerify {
                nextVerify = ContinuousClock.now + Self.verifyInterval
                // Blocking on the hub's loop is fine here: this is the feed's own thread.
                if let held = try? hub.heldSequences().wait() {
                    let stale = follower.verify(held: held, store: store)
                    if !stale.isEmpty { hub.receive(stale) }
                }
            }
            do {
                let events = try follower.poll()
                if failing {
                    // Whatever happened while the log could not be read is unknown: read everything again.
                    failing = false
                    hub.receive([.reset])
                }
                if !events.isEmpty {
                    hub.receive(events)
                    continue
                }
            } catch {
                if !failing { logger.error("Cannot read the change log", metadata: ["error": "\(error)"]) }
                failing = true
            }
            follower.waitForActivity(timeout: min(Self.waitSlice, max(.zero, nextVerify - ContinuousClock.now)))
        }
    }
}
