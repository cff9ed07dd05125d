import Foundation
import Glibc
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
///
/// taskd-ws sees the state directory read-only, so it cannot create a log that does not exist yet (a fresh
/// installation before the responder's first start): the feed then opens it as soon as it appears, and has every
/// watched workspace read again.
final class ChangeFeed: Service, @unchecked Sendable {
    // @unchecked Sendable: `follower` is set in `init`, then used and set only by the feed's own thread once `run`
    // starts it (never after the thread ends); `stopping` is atomic; the rest is immutable and Sendable.
    private var follower: ChangeLogFollower?
    private let stateDirectory: String
    private let store: WorkspaceStore
    private let hub: WorkspaceHub
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    /// How long one wait may last, so that a stop request is seen quickly even without log activity.
    static let waitSlice: Duration = .milliseconds(200)
    /// How often the watched workspaces are checked against the store for changes the log did not announce.
    static let verifyInterval: Duration = .milliseconds(250)

    init(store: WorkspaceStore, hub: WorkspaceHub, logger: Logger) {
        self.stateDirectory = store.directory
        self.store = store
        self.hub = hub
        self.logger = logger
        do {
            follower = try ChangeLogFollower(directory: stateDirectory)
        } catch {
            logger.warning("The change log cannot be opened yet; waiting for it", metadata: ["error": "\(error)"])
        }
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
            guard let follower = follower ?? openFollower() else {
                usleep(useconds_t(Self.waitSlice / .microseconds(1)))
                continue
            }
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

    /// Opens the log that could not be opened before; what changed meanwhile is unknown, so everything is read again.
    private func openFollower() -> ChangeLogFollower? {
        guard let opened = try? ChangeLogFollower(directory: stateDirectory) else { return nil }
        logger.info("Change log opened")
        follower = opened
        hub.receive([.reset])
        return opened
    }
}
