// A helper for TaskStoreTests' multi-process and crash tests and for measuring the store; never installed.
//
//   taskd-store-probe create <state-dir> <tenant> <workspace> <count> [threads]
//       Runs `count` creates per thread, one `update` each, and writes every acknowledged task id to stdout as its
//       own line, unbuffered, so a test that kills this process knows exactly which creates returned. A create
//       refused because its workspace stayed busy past the lock wait is tried again.
//   taskd-store-probe ceiling <dir> <seconds>
//       The disk's append+fdatasync ceiling: one thread appending 100-byte lines to a file, fdatasync after each;
//       prints appends per second.
//   taskd-store-probe bench <state-dir>
//       Measures the store's operations (see Benchmark.swift).
//
// Environment (read here only, never by the servers):
//   TASKD_STORE_FAULT=<point>[:<n>]   SIGKILL this process the n-th time (default 1st) a write reaches <point>,
//                                     one of FaultPoint's raw values (after-append, after-sync, ...).
//   TASKD_CHECKPOINT_BYTES, TASKD_LOCK_WAIT_MS   the store's options, as the servers read them.
import Foundation
import Glibc
import Logging
import Synchronization
import TaskCore
import TaskStore

let arguments = CommandLine.arguments
let logger = Logger(label: "taskd.store-probe") { _ in SwiftLogNoOpLogHandler() }
do {
    switch arguments.dropFirst().first {
    case "create":
        guard arguments.count == 6 || arguments.count == 7, let count = Int(arguments[5]), count >= 0,
            let threads = arguments.count == 7 ? Int(arguments[6]) : 1, threads >= 1
        else { usage() }
        let key = WorkspaceKey(
            tenant: try TenantID(parsing: arguments[3]), workspace: try WorkspaceID(parsing: arguments[4]))
        // Many probes run while other test suites measure latencies: yield the CPU to them.
        _ = nice(10)
        try runCreates(directory: arguments[2], key: key, count: count, threads: threads)
    case "ceiling":
        guard arguments.count == 4, let seconds = Double(arguments[3]), seconds > 0 else { usage() }
        try measureAppendCeiling(directory: arguments[2], seconds: seconds)
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
    fail(
        "usage: taskd-store-probe create <state-dir> <tenant> <workspace> <count> [threads]"
            + " | ceiling <dir> <seconds> | bench <state-dir>")
}

func fail(_ message: String) -> Never {
    writeLine(message, to: 2)
    exit(2)
}

/// Writes a line straight to a descriptor (no buffering), so a kill right after it cannot lose it. One `write` of a
/// short line, so lines of several threads never interleave.
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

/// The store's options from the environment, with the fault hook armed when `TASKD_STORE_FAULT` asks for one.
func probeOptions() -> StoreOptions {
    let environment = ProcessEnvironment()
    var options = StoreOptions()
    if let bytes = environment["TASKD_CHECKPOINT_BYTES"].flatMap(Int64.init) { options.checkpointBytes = bytes }
    if let wait = environment["TASKD_LOCK_WAIT_MS"].flatMap(Int.init) { options.lockWait = .milliseconds(wait) }
    if let text = environment["TASKD_STORE_FAULT"] {
        let parts = text.split(separator: ":")
        guard let point = parts.first.flatMap({ FaultPoint(rawValue: String($0)) }) else {
            fail("TASKD_STORE_FAULT: unknown fault point '\(text)'")
        }
        let target = parts.count > 1 ? Int(parts[1]) ?? 1 : 1
        let hits = Atomic<Int>(0)
        options.faultHook = { reached in
            if reached == point, hits.add(1, ordering: .relaxed).newValue == target { kill(getpid(), SIGKILL) }
            return .proceed
        }
    }
    return options
}

/// The variables of this process (`getenv` on demand, no Foundation).
struct ProcessEnvironment {
    subscript(name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
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

func runCreates(directory: String, key: WorkspaceKey, count: Int, threads: Int) throws {
    let store = try WorkspaceStore(
        directory: directory, maxWorkspacesPerTenant: 1_000, logger: logger, options: probeOptions())
    let machine = TaskStateMachine(policy: try SchedulePolicy(slots: 6, timeScale: 1))
    let name = try TaskName(parsing: "probe-\(getpid())")
    try runOnThreads(threads) { _ in
        for _ in 0..<count {
            // A busy workspace (its lock wait ran out while other processes kept it) is retried, as a client told
            // "503, Retry-After" would; nothing was written by the refused attempt.
            var attempt = 0
            while true {
                do {
                    let id = try create(in: store, key, name: name, machine: machine)
                    writeLine("\(id)", to: 1)
                    break
                } catch let error as StoreError where error.isBusy && attempt < 100 {
                    attempt += 1
                    usleep(10_000)
                }
            }
        }
    }
}
