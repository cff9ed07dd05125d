import Glibc
import TaskCore

/// The real clock every process uses, so that all of them agree on a task's status at a given moment.
public enum WallClock {
    /// `CLOCK_REALTIME` in whole milliseconds since the Unix epoch.
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(milliseconds: Int64(spec.tv_sec) &* 1_000 &+ Int64(spec.tv_nsec) / 1_000_000)
    }
}
