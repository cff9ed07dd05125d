import Glibc

/// A moment on the monotonic clock (`CLOCK_MONOTONIC`, the clock the commit queue's condition variable waits on).
struct Deadline: Comparable, Sendable {
    let nanoseconds: UInt64

    static var now: Deadline {
        var time = Glibc.timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Deadline(nanoseconds: UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec))
    }

    static func after(_ duration: Duration) -> Deadline {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
        return Deadline(nanoseconds: now.nanoseconds + nanoseconds)
    }

    var hasPassed: Bool { Deadline.now >= self }

    /// Nanoseconds from now until the deadline, 0 once it has passed.
    var remainingNanoseconds: UInt64 {
        let now = Deadline.now.nanoseconds
        return nanoseconds > now ? nanoseconds - now : 0
    }

    var timespec: Glibc.timespec {
        Glibc.timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    }

    static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
}
