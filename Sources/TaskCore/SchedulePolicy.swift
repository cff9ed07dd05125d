/// A deployment's scheduling settings, shared by every process that serves one state directory.
public struct SchedulePolicy: Hashable, Sendable {
    public static let defaultSlots = 6
    /// The shortest duration a task can have, so that every task is seen `running` for at least one millisecond.
    public static let minimumDurationMilliseconds: Int64 = 2
    /// The largest time scale a deployment may set; it bounds the durations a stored task may have.
    public static let maximumTimeScale: Double = 1_000

    /// How many tasks of one workspace run at once.
    public let slots: Int
    /// Multiplies every duration; 1 is real time, tests use a small value.
    public let timeScale: Double

    public init(slots: Int = SchedulePolicy.defaultSlots, timeScale: Double = 1) throws(ValidationError) {
        guard slots >= 1, slots <= 10_000 else {
            throw ValidationError(parameter: "slots", message: "Slots must be between 1 and 10000, got \(slots).")
        }
        guard timeScale.isFinite, timeScale > 0, timeScale <= Self.maximumTimeScale else {
            throw ValidationError(
                parameter: "time_scale",
                message:
                    "The time scale must be a number above 0 and at most \(Int(Self.maximumTimeScale)), got \(timeScale)."
            )
        }
        self.slots = slots
        self.timeScale = timeScale
    }

    /// Draws a duration for a new task: base × a factor uniform in [0.5, 1.5) × the time scale, in milliseconds.
    public func drawDuration(for type: TaskType, using generator: inout some RandomNumberGenerator) -> Int64 {
        duration(for: type, factor: Double.random(in: 0.5..<1.5, using: &generator))
    }

    /// The same, with the system's generator. (Passing `SystemRandomNumberGenerator`, a type without storage, by
    /// `inout` from code built with ThreadSanitizer makes its runtime read a meaningless address and crash; the
    /// standard library's own `random(in:)` keeps that inside itself.)
    public func drawDuration(for type: TaskType) -> Int64 {
        duration(for: type, factor: Double.random(in: 0.5..<1.5))
    }

    private func duration(for type: TaskType, factor: Double) -> Int64 {
        let scaled = (Double(type.baseDurationMilliseconds) * factor * timeScale).rounded(.down)
        return max(Self.minimumDurationMilliseconds, Int64(scaled))
    }
}
