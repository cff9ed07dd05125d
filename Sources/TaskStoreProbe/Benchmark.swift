import Foundation
import Glibc
import Synchronization
import TaskCore
import TaskStore

/// Latency figures for the store's operations, printed as a small table.
func runBenchmark(directory: String) throws {
    let store = try WorkspaceStore(directory: directory, maxWorkspacesPerTenant: 1_000, logger: logger)
    let machine = TaskStateMachine(policy: try SchedulePolicy(slots: 6, timeScale: 1))
    let name = try TaskName(parsing: "benchmark task")
    let clock = ContinuousClock()

    // Creates into one workspace: lock, read, apply, write + fsync + rename + fsync dir, log append.
    let key = WorkspaceKey(tenant: try TenantID(parsing: "bench"), workspace: try WorkspaceID(parsing: "default"))
    var creates: [Duration] = []
    for _ in 0..<500 {
        creates.append(try clock.measure { _ = try create(in: store, key, name: name, machine: machine) })
    }
    report("update (create), 0→500 tasks", creates)

    var reads: [Duration] = []
    for _ in 0..<2_000 {
        reads.append(try clock.measure { _ = try store.read(key) })
    }
    report("read, 500 tasks", reads)
    var views: [Duration] = []
    for _ in 0..<2_000 {
        views.append(
            try clock.measure {
                _ = WireFormat.tasksEnvelope(machine.view(of: try store.read(key), at: wallClock()).tasks)
            })
    }
    report("read + view + encode, 500 tasks", views)

    // Key lookups against 20 issued keys.
    let keysPath = directory + "/keys.json"
    var issued: [String] = []
    for index in 0..<20 {
        issued.append(try KeysFile.issue(tenant: try TenantID(parsing: "t\(index)"), path: keysPath).key)
    }
    let ring = KeyRing(path: keysPath, openMode: false, logger: logger)
    let lookups = issued.compactMap(APIKey.init)
    var lookupTimes: [Duration] = []
    for index in 0..<20_000 {
        let apiKey = lookups[index % lookups.count]
        lookupTimes.append(clock.measure { _ = ring.tenant(for: apiKey) })
    }
    report("key lookup, 20 keys", lookupTimes)

    // Change-log delivery: from the moment an update returns to the moment a follower thread has the record.
    let followerKey = WorkspaceKey(tenant: key.tenant, workspace: try WorkspaceID(parsing: "follow"))
    let total = 300
    let shared = FollowerRun(follower: try ChangeLogFollower(directory: directory), total: total)
    let thread = Thread { shared.follow() }
    thread.start()
    var returned: [UInt64: ContinuousClock.Instant] = [:]
    for sequence in 1...UInt64(total) {
        _ = try create(in: store, followerKey, name: name, machine: machine)
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
