import TaskCore
import TaskStore
import TaskdFuzzSupport

/// libFuzzer target: one change-log line, as followers decode it (`ChangeRecord`). A record that decodes must keep
/// `StoredLimits`, read back equal after encoding, and apply to a workspace (as the sidecar does) without a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChangeRecord(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let record = try? WireFormat.decode(ChangeRecord.self, from: FuzzInput.bytes(data, size)) else { return 0 }
    FuzzInput.require((try? StoredLimits.check(record.change)) != nil, "a decoded change is out of range")
    FuzzInput.require(
        (try? StoredLimits.check(sequence: record.sequence, in: StoredLimits.changeSequences)) != nil,
        "a decoded seq is out of range")
    let encoded = try? WireFormat.encode(record)
    let again = encoded.flatMap { try? WireFormat.decode(ChangeRecord.self, from: $0) }
    FuzzInput.require(again == record, "the record does not read back")
    guard let policy = try? SchedulePolicy() else { return 0 }
    var state = WorkspaceState.empty
    state.sequence = record.sequence - 1
    if (try? TaskStateMachine(policy: policy).apply(record.change, to: &state)) != nil {
        FuzzInput.require((try? StoredLimits.check(state)) != nil, "an applied record left a state out of range")
        FuzzInput.exerciseScheduler(on: state)
    }
    return 0
}
