import Glibc
import TaskStore

/// One worker's connection as the supervisor sees it: which descriptor, and until when its current step may take.
///
/// The deadline covers the two steps a peer controls: sending the request (records, parameters, body) and taking the
/// answer (the write, and libfcgi's lingering close). It is paused while the handler runs, so that a slow disk or a
/// lock wait never cuts an answer that is about to be written. Past the deadline the supervisor calls
/// `shutdown(2)` on the worker's own descriptor, which makes every blocked read or write on the connection return;
/// it never closes anything.
///
/// The descriptor number can never be reused under the supervisor: libfcgi works on a duplicate (which it may close
/// whenever it likes), while the worker's own descriptor is closed only by `end()`, inside the same lock that
/// `cutIfOverdue` holds while it calls `shutdown(2)`.
///
/// The lock is the store's `Monitor` (pthread's), which ThreadSanitizer can see, unlike `Synchronization.Mutex`.
final class ConnectionSlot: Sendable {
    private struct State {
        /// The worker's own descriptor of the connection; -1 between connections.
        var descriptor: Int32 = -1
        /// When the current step must be over; nil while the handler runs.
        var deadline: ContinuousClock.Instant?
        /// Whether the supervisor has shut the connection down.
        var isCut = false
    }

    private let state = Monitor(State())

    /// Starts watching a freshly accepted connection, owned by the worker until `end()`.
    func begin(_ descriptor: Int32, deadline: ContinuousClock.Instant) {
        state.withValue { $0 = State(descriptor: descriptor, deadline: deadline) }
    }

    /// The handler runs: no deadline until `resumeDeadline`.
    func pauseDeadline() {
        state.withValue { $0.deadline = nil }
    }

    /// The answer is about to be written.
    func resumeDeadline(_ deadline: ContinuousClock.Instant) {
        state.withValue { $0.deadline = deadline }
    }

    /// Forgets the connection and closes the worker's descriptor; returns whether the supervisor had cut it.
    @discardableResult
    func end() -> Bool {
        state.withValue { state in
            let wasCut = state.isCut
            if state.descriptor >= 0 { _ = close(state.descriptor) }
            state = State()
            return wasCut
        }
    }

    /// Shuts the connection down when its current step is past its deadline; returns whether it did so now.
    func cutIfOverdue(now: ContinuousClock.Instant) -> Bool {
        state.withValue { state in
            guard state.descriptor >= 0, !state.isCut, let deadline = state.deadline, now >= deadline else {
                return false
            }
            _ = shutdown(state.descriptor, Int32(SHUT_RDWR))
            state.isCut = true
            return true
        }
    }

    /// Whether a connection is open on this slot (for the log line of a drain that ran out of time).
    var isBusy: Bool {
        state.withValue { $0.descriptor >= 0 }
    }
}
