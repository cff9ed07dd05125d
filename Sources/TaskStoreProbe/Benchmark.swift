import Foundation
import Glibc
import Synchronization
import TaskCore
import TaskStore

/// Figures for the store's operations, printed as lines `label: n=… p50=… p90=… p99=…`: what `docs/state-directory.md`
/// and the checkpoint threshold's default are based on.
func runBenchmark(directory: String) throws {
    let store = try WorkspaceStore(
        directory: directory, maxWorkspacesPerTenant: 1_000, logger: logger, options: probeOptions())
    let machine = TaskStateMachine(policy: try SchedulePolicy(slots: 6, timeScale: 1))
    let name = try TaskName(parsing: "benchmark task")
    let clock = ContinuousClock()
    let tenant = try TenantID(parsing: "bench")
    func key(_ workspace: String) throws -> WorkspaceKey {
        WorkspaceKey(tenant: tenant, workspace: try WorkspaceID(parsing: workspace))
    }

    // Creates on a small and on a large workspace, one at a time: what the journal costs per change, and whether it
    // grows with the workspace.
    let small = try key("small")
    for _ in 0..<10 { _ = try create(in: store, small, name: name, machine: machine) }
    report(
        "create, 10-task workspace",
        try (0..<300).map { _ in
            try clock.measure { _ = try create(in: store, small, name: name, machine: machine) }
        })
    let large = try key("large")
    for _ in 0..<10_000 { _ = try create(in: store, large, name: name, machine: machine) }
    report(
        "create, 10,000-task workspace",
        try (0..<300).map { _ in
            try clock.measure { _ = try create(in: store, large, name: name, machine: machine) }
        })

    // Reads: through this process's cache (the files unchanged) and cold (a new store, as a new process would).
    report(
        "read, 10,300 tasks, cached and unchanged",
        try (0..<2_000).map { _ in
            try clock.measure { _ = try store.read(large) }
        })
    report(
        "read + view + encode, 10,300 tasks, cached",
        try (0..<200).map { _ in
            try clock.measure {
                _ = WireFormat.tasksEnvelope(machine.view(of: try store.read(large), at: wallClock()).tasks)
            }
        })
    try measureColdReads(directory: directory, key: large, checkpointBytesHint: store.options.checkpointBytes)
    report(
        "checkpoint, 10,300 tasks",
        try (0..<20).map { _ in
            try clock.measure {
                _ = try create(in: store, large, name: name, machine: machine)
                try store.checkpoint(large)
            }
        })

    // Group commit itself, without the per-workspace cap on waiting writers (8 by default) refusing threads.
    var uncapped = store.options
    uncapped.maxWritersPerWorkspace = 64
    let groupStore = try WorkspaceStore(
        directory: directory, maxWorkspacesPerTenant: 1_000, logger: logger, options: uncapped)
    try measureGroupCommit(store: groupStore, machine: machine, name: name, key: key)
    try measureDelivery(store: store, directory: directory, machine: machine, name: name, key: try key("follow"))
}

/// Cold reads of a 10,000-task workspace whose journal holds 0, 1,000 and 4,000 changes after its checkpoint.
func measureColdReads(directory: String, key: WorkspaceKey, checkpointBytesHint: Int64) throws {
    let clock = ContinuousClock()
    let machine = TaskStateMachine(policy: try SchedulePolicy(slots: 6, timeScale: 1))
    let name = try TaskName(parsing: "benchmark task")
    let writer = try WorkspaceStore(
        directory: directory, maxWorkspacesPerTenant: 1_000, logger: logger,
        options: StoreOptions(checkpointBytes: 1 << 30))
    try writer.checkpoint(key)
    var written = 0
    for target in [0, 1_000, 4_000] {
        while written < target {
            _ = try create(in: writer, key, name: name, machine: machine)
            written += 1
        }
        let journalBytes = (try? FileManager.default.attributesOfItem(atPath: writer.journalPath(key))[.size]) ?? 0
        report(
            "cold read, 10,000+ tasks, journal of \(target) changes (\(journalBytes) bytes)",
            try (0..<10).map { _ in
                let fresh = try WorkspaceStore(directory: directory, maxWorkspacesPerTenant: 1_000, logger: logger)
                return try clock.measure { _ = try fresh.read(key) }
            })
    }
    try writer.checkpoint(key)
}

/// 16 threads creating for 3 s, in one workspace and spread over 16: creates per second, against the ceiling.
func measureGroupCommit(
    store: WorkspaceStore, machine: TaskStateMachine, name: TaskName, key: (String) throws -> WorkspaceKey
) throws {
    for spread in [false, true] {
        let keys = try (0..<16).map { try key(spread ? "spread-\($0)" : "shared") }
        let count = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
        let deadline = ContinuousClock.now + .seconds(3)
        try runOnThreads(16) { index in
            while ContinuousClock.now < deadline {
                do {
                    _ = try create(in: store, keys[index], name: name, machine: machine)
                    count.add(1, ordering: .relaxed)
                } catch {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }
        let label = spread ? "16 threads, 16 workspaces" : "16 threads, one workspace"
        writeLine(
            "creates/s, \(label): \(count.load(ordering: .relaxed) / 3) (refused: \(failures.load(ordering: .relaxed)))",
            to: 1)
    }
}

/// From the moment an update returns to the moment a follower thread has its change-log record.
func measureDelivery(
    store: WorkspaceStore, directory: String, machine: TaskStateMachine, name: TaskName, key: WorkspaceKey
) throws {
    let clock = ContinuousClock()
    let total = 300
    let shared = FollowerRun(follower: try ChangeLogFollower(directory: directory), total: total)
    let thread = Thread { shared.follow() }
    thread.start()
    var returned: [UInt64: ContinuousClock.Instant] = [:]
    for sequence in 1...UInt64(total) {
        _ = try create(in: store, key, name: name, machine: machine)
        returned[sequence] = clock.now
        // Spread the writes out a little, as requests would be, so each delivery is measured on its own.
        usleep(2_000)
    }
    let delivered = shared.waitForArrivals(deadline: clock.now + .seconds(10))
    let delays = (1...UInt64(total)).compactMap { sequence -> Duration? in
        guard let arrived = delivered[sequence], let done = returned[sequence] else { return nil }
        return arrived < done ? .zero : arrived - done
    }
    report("update returned → follower has the record", delays)
    if delays.count != total { writeLine("  missing deliveries: \(total - delays.count)", to: 1) }
}

/// The append+fdatasync ceiling: what one thread gets from this disk for 100-byte appends, each made durable.
func measureAppendCeiling(directory: String, seconds: Double) throws {
    let path = directory + "/append-ceiling.\(getpid())"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
    guard fd >= 0 else { fail("cannot create \(path): errno \(errno)") }
    defer {
        close(fd)
        unlink(path)
    }
    let line = [UInt8](repeating: UInt8(ascii: "x"), count: 99) + [UInt8(ascii: "\n")]
    let clock = ContinuousClock()
    let end = clock.now + .milliseconds(Int64(seconds * 1000))
    let start = clock.now
    var count = 0
    while clock.now < end {
        guard line.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == line.count, fdatasync(fd) == 0 else {
            fail("append or fdatasync failed: errno \(errno)")
        }
        count += 1
    }
    let elapsed = clock.now - start
    let (wholeSeconds, attoseconds) = elapsed.components
    writeLine(String(Int(Double(count) / (Double(wholeSeconds) + Double(attoseconds) / 1e18))), to: 1)
}

/// A follower on its own thread, noting when each record arrives.
final class FollowerRun: Sendable {
    private let handOver: Mutex<ChangeLogFollower?>
    private let arrivals = Mutex<[UInt64: ContinuousClock.Instant]>([:])
    private let total: Int

    init(follower: sending ChangeLogFollower, total: Int) {
        self.handOver = Mutex(follower)
        self.total = total
    }

    func follow() {
        guard let follower = handOver.withLock({ $0.take() }) else { return }
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, arrivals.withLock({ $0.count }) < total {
            follower.waitForActivity(timeout: .milliseconds(100))
            guard let events = try? follower.poll() else { return }
            let now = ContinuousClock.now
            for case .change(let record) in events {
                arrivals.withLock { $0[record.sequence] = now }
            }
        }
    }

    func waitForArrivals(deadline: ContinuousClock.Instant) -> [UInt64: ContinuousClock.Instant] {
        while ContinuousClock.now < deadline, arrivals.withLock({ $0.count }) < total { usleep(1_000) }
        return arrivals.withLock { $0 }
    }
}

/// Runs `body(index)` on `count` threads and waits for all; the first error is rethrown.
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
    let failure = Mutex<(any Error)?>(nil)
    let done = DispatchSemaphore(value: 0)
    for index in 0..<count {
        Thread {
            do {
                try body(index)
            } catch {
                failure.withLock { $0 = $0 ?? error }
            }
            done.signal()
        }.start()
    }
    for _ in 0..<count { done.wait() }
    if let error = failure.withLock({ $0 }) { throw error }
}

func report(_ label: String, _ samples: [Duration]) {
    let sorted = samples.sorted()
    guard !sorted.isEmpty else { return }
    func percentile(_ fraction: Double) -> String {
        let value = sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
        let microseconds = Double(value.components.seconds) * 1e6 + Double(value.components.attoseconds) / 1e12
        return microseconds >= 1000 ? "\((microseconds / 100).rounded() / 10) ms" : "\(Int(microseconds.rounded())) µs"
    }
    let text = "\(label): n=\(sorted.count) p50=\(percentile(0.5)) p90=\(percentile(0.9)) p99=\(percentile(0.99))"
    writeLine(text, to: 1)
}
