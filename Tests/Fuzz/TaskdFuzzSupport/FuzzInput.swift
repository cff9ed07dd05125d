import Foundation
import TaskCore

/// What every libFuzzer target of taskd shares: the input as bytes, a scratch directory, and the scheduler run over
/// whatever a decoder returned (a decoder that returns a value the scheduler traps on is as wrong as one that traps).
///
/// A target fails by trapping: a decoder that traps, or an oracle (`require`) that does not hold. libFuzzer then
/// writes the input that did it; scripts/fuzz.sh prints how to replay it.
public enum FuzzInput {
    /// The bytes libFuzzer passes.
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// An oracle of the target: traps (so libFuzzer keeps the input) with `message` when `condition` is false.
    public static func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { preconditionFailure("fuzz oracle failed: \(message())") }
    }

    /// A directory of this process's own, created on first use (in /dev/shm when it exists, so that the file
    /// targets' writes and fsyncs cost little), removed by the operating system's cleaning of temporary files.
    public static let scratchDirectory: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let path = base + "/taskd-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// Writes `bytes` to `name` in the scratch directory, replacing it; returns its path.
    @discardableResult
    public static func write(_ bytes: [UInt8], to name: String) -> String {
        let path = scratchDirectory + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    /// A journal line around `record` (without its line break), its `len` and `crc` right: so that a target can feed
    /// the record decoder changed records, which would otherwise almost never pass the line's check.
    public static func sealedLine(record: [UInt8]) -> [UInt8] {
        Array(#"{"crc":""#.utf8) + hex(CRC32C.checksum(record)) + Array(#"","len":\#(record.count),"rec":"#.utf8)
            + record + [UInt8(ascii: "}")]
    }

    /// Eight lower-case hex digits, as check values are written.
    public static func hex(_ value: UInt32) -> [UInt8] {
        let digits = String(value, radix: 16)
        return Array((String(repeating: "0", count: 8 - digits.count) + digits).utf8)
    }

    /// Runs the scheduler over `state` the ways the servers do: the list at several moments, a writer's settling,
    /// and each kind of change, with the largest time scale there is. What it returns does not matter here.
    public static func exerciseScheduler(on state: WorkspaceState) {
        guard let policy = try? SchedulePolicy(slots: 3, timeScale: SchedulePolicy.maximumTimeScale) else { return }
        let machine = TaskStateMachine(policy: policy)
        let upper = StoredLimits.timestamps.upperBound
        for moment in [0, state.asOf.rawValue, state.asOf.rawValue &+ 1_000_000, upper] {
            _ = machine.view(of: state, at: Timestamp(rawValue: moment))
            _ = machine.settled(state, at: Timestamp(rawValue: moment))
        }
        guard let name = try? TaskName(parsing: "fuzz") else { return }
        let at = Timestamp(rawValue: upper)
        var changes: [TaskChange] = [
            .create(name: name, type: .heavy, durationMilliseconds: StoredLimits.maximumDurationMilliseconds, at: at),
            .flush(at: at),
        ]
        if let first = state.tasks.first { changes.append(.delete(first.id, at: at)) }
        for change in changes {
            var copy = state
            if (try? machine.apply(change, to: &copy)) != nil {
                // Whatever a change produces must still be storable.
                require((try? StoredLimits.check(copy)) != nil, "a change produced a state out of range")
            }
        }
    }
}
