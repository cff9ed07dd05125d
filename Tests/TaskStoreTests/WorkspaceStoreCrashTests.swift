import Foundation
import Glibc
import TaskCore
import Testing

@testable import TaskStore

/// Writers killed at every step of a write (`FaultPoint`), through `taskd-store-probe` armed by
/// `TASKD_STORE_FAULT`: after each kill, every acknowledged change is there exactly once, ids are never reused, and
/// nothing is half-applied.
@Suite(.serialized) struct WorkspaceStoreCrashTests {
    typealias Probe = WorkspaceStoreProcessTests.Probe

    @Test(.timeLimit(.minutes(4)), arguments: FaultPoint.allCases.filter(\.isOnEveryWrite))
    func aWriterKilledAtThisStepLosesNothingAcknowledged(point: FaultPoint) async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path
        let failures = try await Threads.run { () throws -> [String] in
            var generator = SystemRandomNumberGenerator()
            var failures: [String] = []
            for round in 0..<6 {
                let key = try Fixtures.key("acme", "crash\(round % 3)")
                // 4 threads, so kills also land while batches of several changes are in flight; small checkpoints,
                // so the checkpoint steps come round often.
                let nth = Int.random(in: 1...12, using: &generator)
                let probe = try Probe(
                    ["create", path, "acme", key.workspace.rawValue, "100000", "4"],
                    environment: ["TASKD_STORE_FAULT": "\(point.rawValue):\(nth)", "TASKD_CHECKPOINT_BYTES": "4096"])
                let acknowledged = probe.acknowledgedIDs()
                guard probe.process.terminationReason == .uncaughtSignal, probe.process.terminationStatus == SIGKILL
                else {
                    failures.append("round \(round): the probe was not killed at \(point): \(probe.errorText())")
                    continue
                }
                failures += Self.verify(directory: directory, key: key, acknowledged: acknowledged, round: round)
            }
            return failures
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    /// What must hold after any crash, checked by a fresh process's view (a new store) and by a write after it.
    static func verify(directory: TemporaryDirectory, key: WorkspaceKey, acknowledged: [Int64], round: Int) -> [String]
    {
        do {
            let store = try Fixtures.store(directory)
            let state = try store.read(key)
            let ids = state.tasks.map(\.id.rawValue)
            var failures: [String] = []
            let missing = Set(acknowledged).subtracting(ids)
            if !missing.isEmpty { failures.append("round \(round): acknowledged but missing: \(missing.sorted())") }
            if Set(acknowledged).count != acknowledged.count {
                failures.append("round \(round): an id was acknowledged twice")
            }
            // Only creates ran: every committed one is there, whole, with ids 1..<next_id and one seq each.
            if ids != Array(1..<state.nextID) || state.sequence != UInt64(state.nextID - 1) {
                failures.append("round \(round): ids \(ids.count) up to next_id \(state.nextID), seq \(state.sequence)")
            }
            if let problem = store.inspect(key).findings.first(where: \.isProblem) {
                failures.append("round \(round): \(problem.message)")
            }
            let next = try Fixtures.create(in: store, key).rawValue
            if next != state.nextID || acknowledged.contains(where: { $0 >= next }) {
                failures.append("round \(round): the next create got id \(next) (next_id \(state.nextID))")
            }
            return failures
        } catch {
            return ["round \(round): \(error)"]
        }
    }
}
