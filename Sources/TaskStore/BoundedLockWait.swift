import Glibc

// Design note: a lock wait with a deadline.
//
// `flock` has no timeout. Polling it with `LOCK_NB` is bounded but unfair: a process that releases the lock and wants
// it again takes it back within microseconds, so pollers in other processes can starve past their deadline. So the
// wait blocks in `flock` like any other waiter, and a one-shot POSIX timer aimed at this very thread
// (`SIGEV_THREAD_ID`) sends it `signal` at the deadline. Its handler does nothing and is installed without
// `SA_RESTART`, so the signal only makes the blocked `flock` return `EINTR`; the loop then sees the deadline passed.
// The signal is unblocked in this thread for the duration of the wait only, whatever mask the thread otherwise has.
// A signal that arrives after the lock was granted (the timer fired in between) finds nothing to interrupt.
// If no timer can be made, the wait falls back to polling.

/// Blocking `flock` (exclusive or shared) that gives up at a deadline.
enum BoundedLockWait {
    /// A real-time signal no other part of taskd uses (glibc's `SIGRTMIN` + 6; libfcgi uses SIGUSR1 and SIGTERM).
    static let signal: Int32 = __libc_current_sigrtmin() + 6

    private static let isHandlerInstalled: Bool = {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // no SA_RESTART: the interrupted flock must return
        return sigaction(signal, &action, nil) == 0
    }()

    /// Takes `operation` (`LOCK_EX` or `LOCK_SH`) on `fd`, or throws `lockTimeout` once `deadline` has passed.
    static func lock(_ fd: Int32, _ operation: Int32 = LOCK_EX, path: String, deadline: Deadline) throws(StoreError) {
        let started = Deadline.now
        func timeout() -> StoreError {
            .lockTimeout(
                path: path, waitedMilliseconds: Int((Deadline.now.nanoseconds - started.nanoseconds) / 1_000_000))
        }
        guard isHandlerInstalled, let thread = currentThreadID(), let timer = makeTimer(for: thread) else {
            try poll(fd, operation, path: path, deadline: deadline, timeout: timeout)
            return
        }
        defer { timer_delete(timer) }
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, signal)
        var previous = sigset_t()
        pthread_sigmask(SIG_UNBLOCK, &signals, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        while true {
            let remaining = deadline.remainingNanoseconds
            guard remaining > 0 else { throw timeout() }
            var expiry = itimerspec(
                it_interval: timespec(),
                it_value: timespec(tv_sec: Int(remaining / 1_000_000_000), tv_nsec: Int(remaining % 1_000_000_000)))
            timer_settime(timer, 0, &expiry, nil)
            if flock(fd, operation) == 0 {
                var disarm = itimerspec()
                timer_settime(timer, 0, &disarm, nil)
                return
            }
            let code = errno
            if code != EINTR { throw .io(operation: "flock", path: path, errno: code) }
        }
    }

    /// The fallback: `LOCK_NB` at once, then after pauses growing from 50 µs to 2 ms.
    private static func poll(
        _ fd: Int32, _ operation: Int32, path: String, deadline: Deadline, timeout: () -> StoreError
    ) throws(StoreError) {
        var pause: UInt64 = 50_000
        while try !Syscall.tryLock(fd, operation, path: path) {
            let remaining = deadline.remainingNanoseconds
            guard remaining > 0 else { throw timeout() }
            usleep(useconds_t(min(pause, remaining) / 1000))
            pause = min(pause * 2, 2_000_000)
        }
    }

    private static func makeTimer(for thread: pid_t) -> timer_t? {
        var event = sigevent()
        event.sigev_notify = 4  // SIGEV_THREAD_ID (not exported to Swift)
        event.sigev_signo = signal
        event._sigev_un._tid = thread
        var timer: timer_t?
        guard timer_create(CLOCK_MONOTONIC, &event, &timer) == 0 else { return nil }
        return timer
    }

    /// This thread's kernel id (`gettid`, which Swift does not import), from `/proc/thread-self` ("<pid>/task/<tid>").
    private static func currentThreadID() -> pid_t? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            let count = readlink("/proc/thread-self", buffer.baseAddress!, buffer.count - 1)
            guard count > 0 else { return nil }
            let link = String(
                decoding: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[..<count]), as: UTF8.self)
            return link.split(separator: "/").last.flatMap { pid_t($0) }
        }
    }
}
