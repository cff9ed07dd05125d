// A helper for TaskStoreTests' multi-process tests and for measuring the store; never installed.
//
//   taskd-store-probe create <state-dir> <tenant> <workspace> <count>
//       Runs `count` creates, one `update` each, and writes every acknowledged task id to stdout as its own line,
//       unbuffered, so a test that kills this process knows exactly which creates returned.
//   taskd-store-probe bench <state-dir>
//       Measures update, read, key lookup and change-log delivery latencies in a fresh state directory.
import Glibc
import Logging
import TaskCore
import TaskStore

let arguments = CommandLine.arguments
let logger = Logger(label: "taskd.store-probe") { _ in SwiftLogNoOpLogHandler() }
do {
    switch arguments.dropFirst().first {
    case "create":
        guard arguments.count == 6, let count = Int(arguments[5]), count >= 0 else { usage() }
        let key = WorkspaceKey(
            tenant: try TenantID(parsing: arguments[3]), workspace: try WorkspaceID(parsing: arguments[4]))
        // Many probes run while other test suites measure latencies: yield the CPU to them.
        _ = nice(10)
        try runCreates(directory: arguments[2], key: key, count: count)
    case "bench":
        guard arguments.count == 3 else { usage() }
        try runBenchmark(directory: arguments[2])
    default:
        usage()
    }
} catch {
    fail("probe failed: \(error)")
}

func usage() -> Never {
    fail("usage: taskd-store-probe create <state-dir> <tenant> <workspace> <count> | bench <state-dir>")
}

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

func wallClock() -> Timestamp {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Timestamp(milliseconds: Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000)
}

/// Commits one create of a long task and returns its id.
func create(in store: WorkspaceStore, _ key: WorkspaceKey, name: TaskName, machine: TaskStateMachine) throws -> TaskID {
    try store.update(key) { state in
        let change = TaskChange.create(name: name, type: .heavy, durationMilliseconds: 300_000, at: wallClock())
        guard case .created(let record) = try machine.apply(change, to: &state) else {
            throw StoreError.encodingFailed(detail: "a create did not create")
        }
        return StoreUpdate(change: change, result: record.id)
    }
}

func runCreates(directory: String, key: WorkspaceKey, count: Int) throws {
    let store = try WorkspaceStore(directory: directory, maxWorkspacesPerTenant: 1_000, logger: logger)
    let machine = TaskStateMachine(policy: try SchedulePolicy(slots: 6, timeScale: 1))
    let name = try TaskName(parsing: "probe-\(getpid())")
    for _ in 0..<count {
        let id = try create(in: store, key, name: name, machine: machine)
        writeLine("\(id)", to: 1)
    }
}
