import Glibc
import Logging
import NIOCore
import NIOPosix
import TaskCore
import TaskStore

/// The watched workspaces: each held once, kept current from the change log and by a timer for its next timed
/// transition, encoded once per change as a complete frame, and sent as one shared buffer to every subscriber.
///
/// A workspace nobody watches is not held, read or timed. All state lives on `eventLoop`: every entry point hops
/// there first, so no locks are needed. Store reads run on `threadPool`, never on an event loop.
final class WorkspaceHub: @unchecked Sendable {
    // @unchecked Sendable: `topics` and every `Topic` are only touched on `eventLoop` (each public entry point hops
    // there, the private ones assert it); the other stored properties are immutable and Sendable.
    let eventLoop: any EventLoop
    private let machine: TaskStateMachine
    private let read: @Sendable (WorkspaceKey) throws -> WorkspaceState
    private let threadPool: NIOThreadPool
    private let clock: @Sendable () -> Timestamp
    private let logger: Logger
    private var topics: [WorkspaceKey: Topic] = [:]

    private final class Topic {
        var feed = WorkspaceFeed(state: .empty)
        /// The frame of the last list sent, for new subscribers; `nil` until the first read completed.
        var frame: ByteBuffer?
        var subscribers = SubscriberGroups()
        var timer: Scheduled<Void>?
        /// The next moment the list changes by itself, as the last refresh computed it.
        var nextChange: Timestamp?
        var isLoading = false
        /// Set when a reason to read again arrives while a read is running (it may have read too early).
        var needsRereadAfterLoad = false
        /// Records that arrived while a read was running, applied on top of what it read.
        var buffered: [ChangeRecord] = []
        /// The wait before the next attempt while reads fail for want of resources; `nil` while they succeed.
        var retryDelay: TimeAmount?
        var retry: Scheduled<Void>?
    }

    /// The first and the longest wait between reads of a workspace that failed for want of resources.
    static let firstRetryDelay: TimeAmount = .milliseconds(50)
    static let longestRetryDelay: TimeAmount = .seconds(2)
    /// The most records held for a workspace while it is being read.
    static let bufferedRecordLimit = 4_096

    init(
        eventLoop: any EventLoop, machine: TaskStateMachine, threadPool: NIOThreadPool,
        clock: @escaping @Sendable () -> Timestamp, logger: Logger,
        read: @escaping @Sendable (WorkspaceKey) throws -> WorkspaceState
    ) {
        self.eventLoop = eventLoop
        self.machine = machine
        self.threadPool = threadPool
        self.clock = clock
        self.logger = logger
        self.read = read
    }

    // MARK: Entry points (any thread)

    /// Starts sending `key`'s list to `subscriber`: the current list at once, then every new one.
    func subscribe(_ subscriber: any WorkspaceSubscriber, to key: WorkspaceKey) {
        eventLoop.execute { self.attach(subscriber, to: key) }
    }

    func unsubscribe(_ subscriber: any WorkspaceSubscriber, from key: WorkspaceKey) {
        eventLoop.execute { self.detach(subscriber, from: key) }
    }

    /// Takes what the change-log follower found, in log order.
    func receive(_ events: [FollowerEvent]) {
        eventLoop.execute { self.process(events) }
    }

    /// How many workspaces are held and how many subscribers they have (for tests and logs).
    func statistics() -> EventLoopFuture<(workspaces: Int, subscribers: Int)> {
        eventLoop.submit { (self.topics.count, self.topics.values.reduce(0) { $0 + $1.subscribers.count }) }
    }

    /// The sequence held of each watched workspace that is not being read (for `ChangeLogFollower.verify`).
    func heldSequences() -> EventLoopFuture<[WorkspaceKey: UInt64]> {
        eventLoop.submit { self.topics.filter { !$0.value.isLoading }.mapValues { $0.feed.state.sequence } }
    }

    // MARK: On the event loop

    private func attach(_ subscriber: any WorkspaceSubscriber, to key: WorkspaceKey) {
        eventLoop.assertInEventLoop()
        let topic: Topic
        if let existing = topics[key] {
            topic = existing
            // Bring the others up to date first, so the newcomer's first list is the newest: needed only when a timed
            // transition is due and its timer has not run yet (logged changes are applied as they come). Refreshing
            // on every newcomer would encode the whole list once per connection when thousands reconnect at once.
            if !topic.isLoading, let next = topic.nextChange, clock() >= next { refresh(key, topic) }
        } else {
            topic = Topic()
            topics[key] = topic
            logger.debug("Watching workspace", metadata: ["workspace": "\(key)"])
            load(key, topic)
        }
        topic.subscribers.insert(subscriber)
        if let frame = topic.frame {
            if subscriber.eventLoop.inEventLoop {
                subscriber.receive(frame)
            } else {
                subscriber.eventLoop.execute { subscriber.receive(frame) }
            }
        }
    }

    private func detach(_ subscriber: any WorkspaceSubscriber, from key: WorkspaceKey) {
        eventLoop.assertInEventLoop()
        guard let topic = topics[key] else { return }
        topic.subscribers.remove(subscriber)
        if topic.subscribers.isEmpty {
            topic.timer?.cancel()
            topic.retry?.cancel()
            topics[key] = nil
            logger.debug("Released workspace", metadata: ["workspace": "\(key)"])
        }
    }

    private func process(_ events: [FollowerEvent]) {
        eventLoop.assertInEventLoop()
        var touched: Set<WorkspaceKey> = []
        for event in events {
            switch event {
            case .reset:
                logger.info("Change log reset; reading every watched workspace again")
                for (key, topic) in topics { reread(key, topic) }
            case .stale(let key):
                guard let topic = topics[key] else { continue }
                logger.info("Unannounced change; reading the workspace again", metadata: ["workspace": "\(key)"])
                reread(key, topic)
            case .change(let record):
                guard let topic = topics[record.key] else { continue }
                if topic.isLoading {
                    // A long wait for a read (reads failing for want of descriptors) must not buffer without bound:
                    // past a point, the read that follows reflects the records anyway.
                    if topic.buffered.count < Self.bufferedRecordLimit {
                        topic.buffered.append(record)
                    } else {
                        topic.buffered = []
                        topic.needsRereadAfterLoad = true
                    }
                    continue
                }
                switch topic.feed.apply(record, machine: machine) {
                case .applied: touched.insert(record.key)
                case .ignored: break
                case .needsReread:
                    logger.info(
                        "Change log gap; reading the workspace again",
                        metadata: ["workspace": "\(record.key)", "seq": "\(record.sequence)"])
                    reread(record.key, topic)
                }
            }
        }
        for key in touched {
            if let topic = topics[key], !topic.isLoading { refresh(key, topic) }
        }
    }

    private func reread(_ key: WorkspaceKey, _ topic: Topic) {
        if topic.isLoading {
            topic.needsRereadAfterLoad = true
        } else {
            load(key, topic)
        }
    }

    private func load(_ key: WorkspaceKey, _ topic: Topic) {
        topic.isLoading = true
        topic.needsRereadAfterLoad = false
        let read = self.read
        threadPool.runIfActive(eventLoop: eventLoop) { try read(key) }
            .assumeIsolated()
            .whenComplete { result in self.loaded(key, topic, result) }
    }

    private func loaded(_ key: WorkspaceKey, _ topic: Topic, _ result: Result<WorkspaceState, any Error>) {
        eventLoop.assertInEventLoop()
        guard topics[key] === topic else { return }  // released while reading
        switch result {
        case .success(let state):
            if topic.retryDelay != nil {
                logger.info("Reading the workspace works again", metadata: ["workspace": "\(key)"])
                topic.retryDelay = nil
            }
            topic.isLoading = false
            topic.feed.replace(with: state)
            let buffered = topic.buffered
            topic.buffered = []
            if topic.needsRereadAfterLoad {
                load(key, topic)
                return
            }
            // Records logged after the read started; a record the read already reflects is ignored. A gap here
            // means the read document is older than a record: read again (the next read reflects it).
            for record in buffered {
                if topic.feed.apply(record, machine: machine) == .needsReread {
                    load(key, topic)
                    return
                }
            }
            refresh(key, topic)
        case .failure(let error) where Self.isShortOfResources(error):
            // Out of descriptors or memory for a moment: the subscribers keep their connections and their last
            // list, and the read is tried again, less and less often, until it succeeds.
            let delay = topic.retryDelay.map { min($0 * 2, Self.longestRetryDelay) } ?? Self.firstRetryDelay
            if topic.retryDelay == nil {
                logger.warning(
                    "Cannot read a watched workspace for now; retrying",
                    metadata: ["workspace": "\(key)", "error": "\(error)"])
            }
            topic.retryDelay = delay
            topic.retry = eventLoop.assumeIsolated().scheduleTask(in: delay) {
                guard self.topics[key] === topic else { return }
                self.load(key, topic)
            }
        case .failure(let error):
            logger.error(
                "Cannot read a watched workspace; closing its connections",
                metadata: ["workspace": "\(key)", "error": "\(error)"])
            topic.timer?.cancel()
            topics[key] = nil
            topic.subscribers.forEachLoop { members in
                for member in members { member.workspaceUnavailable() }
            }
        }
    }

    /// Whether a read failed for want of descriptors, memory or buffers, which passes, rather than because of the
    /// document itself.
    static func isShortOfResources(_ error: any Error) -> Bool {
        guard case .io(_, _, let code) = error as? StoreError else { return false }
        return [EMFILE, ENFILE, ENOMEM, ENOBUFS, EAGAIN].contains(code)
    }

    /// Computes the list as of now, sends it when it differs from the last one, and sets the timer for the next
    /// timed transition.
    private func refresh(_ key: WorkspaceKey, _ topic: Topic) {
        let now = clock()
        let (changed, nextChange) = topic.feed.refresh(at: now, machine: machine)
        if let changed {
            let frame = ServerFrame.text(changed)
            topic.frame = frame
            topic.subscribers.forEachLoop { members in
                for member in members { member.receive(frame) }
            }
        }
        topic.timer?.cancel()
        topic.timer = nil
        topic.nextChange = nextChange
        if let nextChange {
            // Held to a day: `TimeAmount` counts nanoseconds in an Int64, so a moment centuries ahead (a stored time
            // far in the future) would overflow it; the refresh a day on schedules the rest of the wait.
            let delay = min(max(0, nextChange.rawValue - now.rawValue), 86_400_000)
            topic.timer = eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(delay)) {
                guard self.topics[key] === topic, !topic.isLoading else { return }
                self.refresh(key, topic)
            }
        }
    }
}
