import Foundation
import Logging
import TaskCore
import TaskStore
import TaskdFuzzSupport

/// libFuzzer target: a workspace's files as the store reads them: the input is `checkpoint.json`, a zero byte, then
/// `journal.log` (no zero byte: only a journal). Each input gets a fresh store, as a new process would, and is
/// read, inspected as `taskctl check` does, and written to. Oracles: a workspace that reads is storable and takes a
/// change or refuses it with an error; one that does not read is reported by `inspect`; once `repair` has moved a
/// workspace past its damage, it reads.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWorkspace(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzInput.bytes(data, size)
    let root = FuzzInput.scratchDirectory + "/state"
    try? FileManager.default.removeItem(atPath: root)
    let logger = Logger(label: "taskd.fuzz") { _ in SwiftLogNoOpLogHandler() }
    guard let key = try? WorkspaceKey(tenant: TenantID(parsing: "fuzz"), workspace: WorkspaceID(parsing: "w")),
        let store = try? WorkspaceStore(
            directory: root, maxWorkspacesPerTenant: 2, logger: logger,
            options: StoreOptions(lockWait: .milliseconds(200)))
    else { return 0 }
    let directory = URL(fileURLWithPath: store.journalPath(key)).deletingLastPathComponent().path
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    if let separator = input.firstIndex(of: 0) {
        _ = FileManager.default.createFile(atPath: store.checkpointPath(key), contents: Data(input[..<separator]))
        _ = FileManager.default.createFile(atPath: store.journalPath(key), contents: Data(input[(separator + 1)...]))
    } else {
        _ = FileManager.default.createFile(atPath: store.journalPath(key), contents: Data(input))
    }

    guard let state = try? store.read(key) else {
        FuzzInput.require(store.inspect(key).findings.contains { $0.isProblem }, "check misses an unreadable workspace")
        if (try? store.repair(key)) != nil {
            FuzzInput.require((try? store.read(key)) != nil, "a repaired workspace does not read")
        }
        return 0
    }
    FuzzInput.require((try? StoredLimits.check(state)) != nil, "a workspace read out of range")
    FuzzInput.exerciseScheduler(on: state)
    guard let policy = try? SchedulePolicy(), let name = try? TaskName(parsing: "fuzz") else { return 0 }
    let machine = TaskStateMachine(policy: policy)
    let change = TaskChange.create(name: name, type: .tiny, durationMilliseconds: 3_000, at: state.asOf)
    let created = try? store.update(key) { state in
        StoreUpdate(change: change, result: try machine.apply(change, to: &state))
    }
    if created != nil {
        FuzzInput.require((try? store.read(key))?.sequence == state.sequence + 1, "a committed create is not read")
    }
    return 0
}
