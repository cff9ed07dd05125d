/// The ranges every number read back from a stored file must fall in, defined once for every decoder (journal
/// lines, checkpoints, version 1 documents, change-log records, tenant exports).
///
/// Stored files are untrusted input: a hand edit, a bad copy or a flipped bit must give an error naming the file and
/// the field, never a value that makes later arithmetic trap. The ranges are chosen so that no computation on values
/// inside them can overflow: the largest moment the scheduler computes is `as_of` plus the durations of every queued
/// task, at most about 2.5 × 10^14 + 10^7 × 4.5 × 10^8 ms, far below `Int64.max` (about 9.2 × 10^18).
///
/// - Ids, `next_id` and sequences are JSON-safe integers (at most 2^53 − 1): browsers read ids as JavaScript
///   numbers, which hold no larger integer exactly. A task id is below its workspace's `next_id`, so at most
///   2^53 − 2; a create at `next_id` 2^53 − 1 is refused (`TaskError.idsExhausted`), as is any change at
///   sequence 2^53 − 1 (`TaskError.sequenceExhausted`).
/// - Timestamps are milliseconds since the Unix epoch, from the epoch itself to the last millisecond of the year
///   9999 (the last one a four-digit ISO 8601 year can write).
/// - Durations are at least 1 ms (versions before the minimum of 2 ms still read) and at most the longest base
///   (`gx.heavy`, 300 s) × 1.5 (the largest factor) × the largest time scale a deployment may set (1000).
public enum StoredLimits {
    /// 2^53 − 1, `Number.MAX_SAFE_INTEGER` in JavaScript.
    public static let maximumSafeInteger: Int64 = 9_007_199_254_740_991

    public static let taskIDs: ClosedRange<Int64> = 1...(maximumSafeInteger - 1)
    public static let nextIDs: ClosedRange<Int64> = 1...maximumSafeInteger
    public static let sequences: ClosedRange<Int64> = 0...maximumSafeInteger
    /// The sequence after a change (a journal line's or a change-log record's `seq`): 0 is the state before any.
    public static let changeSequences: ClosedRange<Int64> = 1...maximumSafeInteger
    /// 1970-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z.
    public static let timestamps: ClosedRange<Int64> = 0...253_402_300_799_999
    public static let maximumDurationMilliseconds: Int64 =
        (TaskType.allCases.map(\.baseDurationMilliseconds).max() ?? 0) * 3 / 2 * Int64(SchedulePolicy.maximumTimeScale)
    public static let durations: ClosedRange<Int64> = 1...maximumDurationMilliseconds

    /// Throws unless `value` is in `range`; the message names `field` and the range.
    public static func check(_ value: Int64, _ field: String, in range: ClosedRange<Int64>) throws(WireFormatError) {
        guard range.contains(value) else { throw outOfRange(field, "\(value)", range) }
    }

    /// Throws unless the sequence is in `range` (`sequences` or `changeSequences`).
    public static func check(
        sequence: UInt64, _ field: String = "seq", in range: ClosedRange<Int64> = sequences
    ) throws(WireFormatError) {
        guard sequence >= UInt64(range.lowerBound), sequence <= UInt64(range.upperBound) else {
            throw outOfRange(field, "\(sequence)", range)
        }
    }

    /// The rules every stored task keeps: id, times and duration in range (the name's rules are `TaskName`'s).
    public static func check(_ task: StoredTask) throws(WireFormatError) {
        try check(task.id.rawValue, "id", in: taskIDs)
        try check(task.createdAt.rawValue, "task \(task.id): created_at", in: timestamps)
        try check(task.durationMilliseconds, "task \(task.id): duration_ms", in: durations)
        if let startedAt = task.startedAt {
            try check(startedAt.rawValue, "task \(task.id): started_at", in: timestamps)
        }
    }

    /// The rules every stored workspace keeps, as its decoders check them: every number in range, tasks by
    /// strictly ascending id, each below `next_id` (so that no id can be handed out again).
    ///
    /// For a state that did not come through a decoder (one built from another document, such as an import), so
    /// that it is held to the same rules before it is written.
    public static func check(_ state: WorkspaceState) throws(WireFormatError) {
        try check(state.nextID, "next_id", in: nextIDs)
        try check(sequence: state.sequence)
        try check(state.asOf.rawValue, "as_of", in: timestamps)
        var previous: Int64 = 0
        for task in state.tasks {
            try check(task)
            guard task.id.rawValue > previous, task.id.rawValue < state.nextID else {
                throw WireFormatError(
                    message: "task ids are not ascending below next_id \(state.nextID) (task \(task.id))")
            }
            previous = task.id.rawValue
        }
    }

    /// The rules a logged change keeps: its moment, duration and id in range.
    public static func check(_ change: TaskChange) throws(WireFormatError) {
        try check(change.at.rawValue, "at", in: timestamps)
        switch change {
        case .create(_, _, let duration, _): try check(duration, "durationMilliseconds", in: durations)
        case .delete(let id, _): try check(id.rawValue, "id", in: taskIDs)
        case .flush: break
        }
    }

    static func outOfRange(_ field: String, _ value: String, _ range: ClosedRange<Int64>) -> WireFormatError {
        WireFormatError(message: "\(field) \(value) is out of range (\(range.lowerBound) to \(range.upperBound))")
    }
}
