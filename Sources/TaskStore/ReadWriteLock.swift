import Glibc

/// A value behind pthread's reader-writer lock: any number of threads read it at once, one at a time writes it.
///
/// For state every request reads and a timer rarely rewrites, such as the key ring: behind a mutex, the responder's
/// threads queued for it on every request (on two cores a holder is often preempted, and the waiters spin, then
/// sleep), which cost a third of a `GET /tasks` in a profile. pthread's lock, not `Synchronization.Mutex`, so that
/// ThreadSanitizer sees every hand-over.
final class ReadWriteLock<Value>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only read with the lock held for reading (`read`) and only written with it held
    // for writing (`write`).
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    private var value: Value

    init(_ value: Value) {
        self.value = value
        // pthread requires a lock that never moves: it lives in memory allocated here.
        lock = .allocate(capacity: 1)
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` on the value while other readers may run too.
    func read<Result>(_ body: (Value) throws -> Result) rethrows -> Result {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value)
    }

    /// Runs `body` on the value alone.
    func write<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value)
    }
}
