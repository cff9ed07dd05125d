import CFastCGI
import Logging
import Synchronization

import Glibc

/// Serves FastCGI requests on a listening socket with a fixed set of worker threads (`FastCGIWorker`) until shutdown
/// is requested, while the calling (main) thread supervises: it cuts connections past their deadline and, once
/// SIGTERM or SIGINT has arrived, waits for the requests in flight, at most `drainLimit`.
final class FastCGIServer: Sendable {
    /// How `run` ended.
    enum Stop: Equatable {
        /// Shutdown was requested and every worker finished what it had accepted.
        case drained
        /// A worker's accept() failed in a way that cannot recover (errno); the others drained.
        case acceptFailed(Int32)
        /// Workers were still busy `drainLimit` after shutdown was requested; the process must exit without them.
        case drainTimedOut(busyWorkers: Int)
    }

    private let listenDescriptor: Int32
    private let connectionsInheritTimeout: Bool
    private let threads: Int
    private let bodyLimit: Int
    private let connectionDeadline: Duration
    private let responder: FastCGIWorker.Responder
    private let logger: Logger
    private let runningWorkers = Atomic<Int>(0)
    private let acceptFailure = Atomic<Int32>(0)

    init(
        listenDescriptor: Int32, connectionsInheritTimeout: Bool, threads: Int, bodyLimit: Int,
        connectionDeadline: Duration, logger: Logger, responder: @escaping FastCGIWorker.Responder
    ) {
        self.listenDescriptor = listenDescriptor
        self.connectionsInheritTimeout = connectionsInheritTimeout
        self.threads = threads
        self.bodyLimit = bodyLimit
        self.connectionDeadline = connectionDeadline
        self.logger = logger
        self.responder = responder
    }

    /// The longest a stop waits: a connection may take one deadline to send its request and another to take its
    /// answer, plus a second for the handler in between.
    var drainLimit: Duration { connectionDeadline * 2 + .seconds(1) }

    /// Starts the workers, supervises them, and returns once all of them have stopped (or, for `.drainTimedOut`,
    /// while some are still running). Call from the main thread after `ShutdownSignal.prepare()` and
    /// `blockInCurrentThread()`.
    func run() throws(StartupError) -> Stop {
        guard FCGX_Init() == 0 else { throw .system("FCGX_Init", errno) }
        try ShutdownSignal.takeOverFromLibfcgi()
        let slots = (0..<threads).map { _ in ConnectionSlot() }
        var workers: [WorkerThread] = []
        do {
            for index in 0..<threads {
                let worker = FastCGIWorker(
                    index: index, listenDescriptor: listenDescriptor,
                    connectionsInheritTimeout: connectionsInheritTimeout, slot: slots[index],
                    deadline: connectionDeadline, bodyLimit: bodyLimit, responder: responder, logger: logger)
                runningWorkers.add(1, ordering: .acquiringAndReleasing)
                workers.append(
                    try WorkerThread { [self] in
                        if let code = worker.run() {
                            acceptFailure.store(code, ordering: .releasing)
                            ShutdownSignal.request()
                        }
                        runningWorkers.subtract(1, ordering: .acquiringAndReleasing)
                    })
            }
        } catch {
            runningWorkers.subtract(threads - workers.count, ordering: .acquiringAndReleasing)
            ShutdownSignal.request()
            workers.forEach { $0.join() }
            throw error
        }
        ShutdownSignal.unblockInCurrentThread()
        let stop = supervise(slots)
        if case .drainTimedOut = stop { return stop }
        workers.forEach { $0.join() }
        return stop
    }

    /// Cuts overdue connections every `tick` (or at once when a signal writes to the wake pipe) until every worker
    /// has returned, or `drainLimit` has passed since shutdown was requested.
    private func supervise(_ slots: [ConnectionSlot]) -> Stop {
        let clock = ContinuousClock()
        let tick = min(max(connectionDeadline / 10, .milliseconds(10)), .milliseconds(100))
        let tickMilliseconds = Int32(
            tick.components.seconds * 1_000 + tick.components.attoseconds / 1_000_000_000_000_000)
        var drainDeadline: ContinuousClock.Instant?
        while runningWorkers.load(ordering: .acquiring) > 0 {
            let now = clock.now
            if drainDeadline == nil, ShutdownSignal.isRequested {
                drainDeadline = now.advanced(by: drainLimit)
                logger.info(
                    "Stopping: no new connections; answering the requests in flight",
                    metadata: ["busy.workers": "\(slots.filter(\.isBusy).count)"])
            }
            if let drainDeadline, now >= drainDeadline {
                return .drainTimedOut(busyWorkers: slots.filter(\.isBusy).count)
            }
            for slot in slots where slot.cutIfOverdue(now: now) {
                logger.debug("Cutting a connection past its deadline")
            }
            // Before shutdown the wake pipe ends the wait at once when a signal arrives; after it, the pipe stays
            // readable, so the wait is a plain tick.
            var wake = pollfd(
                fd: drainDeadline == nil ? ShutdownSignal.wakeDescriptor : -1, events: Int16(POLLIN), revents: 0)
            _ = poll(&wake, 1, tickMilliseconds)
        }
        let code = acceptFailure.load(ordering: .acquiring)
        return code == 0 ? .drained : .acceptFailed(code)
    }
}
