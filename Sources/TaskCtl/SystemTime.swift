import Glibc
import TaskCore

/// The wall clock, read where a command needs "now" (the pure core never reads a clock).
enum SystemTime {
    static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}
