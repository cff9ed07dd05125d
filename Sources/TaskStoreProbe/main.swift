// A helper for TaskStoreTests' multi-process tests; never installed.
//
//   taskd-store-probe create <state-dir> <tenant> <workspace> <count>
//
// Runs `count` creates against the store, one `update` each, and writes every acknowledged task id to stdout as its
// own line, flushed at once, so a test that kills this process knows exactly which creates returned.
import Glibc
import Logging
import TaskCore
import TaskStore

func fail(_ message: String) -> Never {
    writeLine(message, to: 2)
    exit(2)
}

/// Writes a line straight to a descriptor (no buffering), so a kill right after it cannot lose it.
func writeLine(_ text: String, to fd: Int32) {
    let bytes = Array((text + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBytes { raw in
            raw.baseAddress.map { Glibc.write(fd, $0 + offset, raw.count - offset) } ?? -1
        }
        if written < 0 && errno == EINTR { continue }
        if written <= 0 { exit(3) }
        offset += written
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 6, arguments[1] == "create", let count = Int(arguments[5]), count >= 0 else {
    fail("usage: taskd-store-probe create <state-dir> <tenant> <workspace> <count>")
}
let key: WorkspaceKey
do {
    key = WorkspaceKey(tenant: try TenantID(parsing: arguments[3]), workspace: try WorkspaceID(parsing: arguments[4]))
} catch {
    fail("invalid tenant or workspace: \(error)")
}
let logger = Logger(label: "taskd.store-probe") { _ in SwiftLogNoOpLogHandler() }
do {
    let store = try WorkspaceStore(directory: arguments[2], maxWorkspacesPerTenant: 1_000, logger: logger)
    let machine = TaskStateMachine(policy: try SchedulePolicy(slots: 6, timeScale: 1))
    let name = try TaskName(parsing: "probe-\(getpid())")
    for _ in 0..<count {
        let id: TaskID = try store.update(key) { state in
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            let change = TaskChange.create(
                name: name, type: .heavy, durationMilliseconds: 300_000,
                at: Timestamp(milliseconds: Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000))
            guard case .created(let record) = try machine.apply(change, to: &state) else {
                throw StoreError.encodingFailed(detail: "a create did not create")
            }
            return StoreUpdate(change: change, result: record.id)
        }
        writeLine("\(id)", to: 1)
    }
} catch {
    fail("probe failed: \(error)")
}
