import Glibc

/// A mutex and a condition variable (pthread's, on the monotonic clock) guarding a value: what the commit queue's
/// waiters need and `Synchronization.Mutex` lacks, a wait with a deadline. The store uses it for all its locks:
/// ThreadSanitizer understands pthread's mutexes, while `Synchronization.Mutex` on Linux is invisible to it (every
/// access under it is reported as a race), so `make sanitize` could check nothing behind one. The other modules of the
/// package use it for the same reason (`package` access: it is not part of any module's public interface).
///
/// Both pthread objects live in memory allocated here and never move, as pthread requires; ThreadSanitizer
/// understands them, so every hand-over between a waiter and the thread that wakes it is checked.
package final class Monitor<Value>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only touched with `mutex` held (`withLock`, `withValue`, and `wait` called from
    // inside `withLock`).
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var value: Value

    package init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` with the mutex held. `body` reaches the value through the `Locked` it is given, one access at a
    /// time, so that a `wait` (which lets other threads change the value) never sits inside an access.
    func withLock<Result, Failure: Error>(_ body: (Locked) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(Locked(monitor: self))
    }

    /// Runs `body` on the value with the mutex held, for a critical section that does not wait.
    package func withValue<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure)
        -> Result
    {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }

    /// Wakes every thread waiting in `withLock`.
    func broadcast() {
        pthread_cond_broadcast(condition)
    }

    /// The monitor while its mutex is held.
    struct Locked {
        fileprivate let monitor: Monitor

        var value: Value {
            get { monitor.value }
            nonmutating _modify { yield &monitor.value }
        }

        /// Releases the mutex until woken (or the deadline passes), then takes it again; `false` when the deadline
        /// passed. Wake-ups may be spurious: look at the value again.
        @discardableResult
        func wait(until deadline: Deadline?) -> Bool {
            guard let deadline else {
                pthread_cond_wait(monitor.condition, monitor.mutex)
                return true
            }
            var time = deadline.timespec
            return pthread_cond_timedwait(monitor.condition, monitor.mutex, &time) != ETIMEDOUT
        }
    }
}
