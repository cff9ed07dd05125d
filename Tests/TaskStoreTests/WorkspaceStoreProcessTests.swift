import Foundation
import TaskCore
import Testing

@testable import TaskStore

/// Many OS processes writing one state directory, and writers killed mid-update, through `taskd-store-probe`.
@Suite(.serialized) struct WorkspaceStoreProcessTests {
    /// The probe executable, built next to the test bundle by `swift build --build-tests`.
    static func probePath() throws -> String {
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["TASKD_STORE_PROBE"] { candidates.append(explicit) }
        for start in [Bundle.main.executablePath, CommandLine.arguments.first, Bundle.main.bundlePath].compactMap({ $0 }
        ) {
            var directory = URL(fileURLWithPath: start).resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0..<3 {
                candidates.append(directory.appendingPathComponent("taskd-store-probe").path)
                directory = directory.deletingLastPathComponent()
            }
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ProbeError.notFound(candidates)
        }
        return found
    }

    enum ProbeError: Error {
        case notFound([String])
    }

    final class Probe {
        let process = Process()
        let output = Pipe()
        let errors = Pipe()
        /// Output already read by `waitForFirstOutput`.
        private var received = Data()

        init(_ arguments: [String], environment: [String: String] = [:]) throws {
            process.executableURL = URL(fileURLWithPath: try WorkspaceStoreProcessTests.probePath())
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.standardOutput = output
            process.standardError = errors
            try process.run()
        }

        /// Blocks until the probe wrote something (its first acknowledged id) or closed its output.
        func waitForFirstOutput() {
            received += output.fileHandleForReading.availableData
        }

        /// Every complete line the probe wrote, read until it exits.
        func acknowledgedIDs() -> [Int64] {
            let data = received + output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            // A line is acknowledged only once its line break was written.
            let complete = text.hasSuffix("\n") ? text : String(text[..<(text.lastIndex(of: "\n") ?? text.startIndex)])
            return complete.split(separator: "\n").compactMap { Int64($0) }
        }

        func errorText() -> String {
            String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }
    }

    /// What one probe run left behind.
    struct Run: Sendable {
        var ids: [Int64]
        var status: Int32
        var errors: String
    }

    /// Starts one probe per argument list at once and waits for all of them, on a dedicated thread.
    static func runAll(_ argumentLists: [[String]]) async throws -> [Run] {
        try await Threads.run {
            let probes = try argumentLists.map { try Probe($0) }
            return probes.map { probe in
                let ids = probe.acknowledgedIDs()
                return Run(ids: ids, status: probe.process.terminationStatus, errors: probe.errorText())
            }
        }
    }

    // 2,000 creates of one workspace from 8 processes: the flock serialises the processes, each create one journal
    // append and one fdatasync.
    @Test(.timeLimit(.minutes(5)))
    func eightProcessesCreatingInOneWorkspaceLoseAndDoubleNothing() async throws {
        let directory = try TemporaryDirectory()
        let runs = try await Self.runAll((0..<8).map { _ in ["create", directory.path, "acme", "shared", "250"] })
        for run in runs { #expect(run.status == 0, "\(run.errors)") }
        #expect(runs.flatMap(\.ids).sorted() == Array(1...2000))
        let state = try Fixtures.store(directory).read(Fixtures.key("acme", "shared"))
        #expect(state.tasks.map(\.id.rawValue) == Array(1...2000))
        #expect(state.nextID == 2001 && state.sequence == 2000)
    }

    @Test(.timeLimit(.minutes(3)))
    func eightProcessesInEightWorkspacesLoseAndDoubleNothing() async throws {
        let directory = try TemporaryDirectory()
        let runs = try await Self.runAll((0..<8).map { ["create", directory.path, "acme", "w\($0)", "250"] })
        for run in runs {
            #expect(run.status == 0, "\(run.errors)")
            #expect(run.ids == Array(1...250))
        }
        let store = try Fixtures.store(directory)
        for index in 0..<8 {
            let state = try store.read(Fixtures.key("acme", "w\(index)"))
            #expect(state.tasks.map(\.id.rawValue) == Array(1...250))
        }
        // Every change was logged once, in commit order per workspace.
        let log = try String(contentsOfFile: directory.path + "/changes.log", encoding: .utf8)
        let records = try log.split(separator: "\n").map {
            try WireFormat.decode(ChangeRecord.self, from: Array($0.utf8))
        }
        #expect(records.count == 2000)
        for index in 0..<8 {
            let key = try Fixtures.key("acme", "w\(index)")
            #expect(records.filter { $0.key == key }.map(\.sequence) == Array(1...250))
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func writersKilledAtRandomMomentsNeverCorruptOrLoseAcknowledgedCreates() async throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let path = directory.path
        let (failures, acknowledgedTotal, elapsed) = try await Threads.run { () throws -> ([String], Int, Duration) in
            let started = ContinuousClock.now
            var generator = SystemRandomNumberGenerator()
            var acknowledgedTotal = 0
            for round in 0..<200 {
                // A fresh workspace every 40 rounds keeps documents small, so rounds stay fast.
                let key = try Fixtures.key("acme", "kill\(round / 40)")
                let probe = try Probe(["create", path, "acme", key.workspace.rawValue, "100000"])
                // A random moment: in odd rounds anywhere from start-up on, in even rounds after the first
                // create returned, so that most kills land in the middle of the write path.
                if round.isMultiple(of: 2) { probe.waitForFirstOutput() }
                usleep(UInt32.random(in: 0..<30_000, using: &generator))
                kill(probe.process.processIdentifier, SIGKILL)
                let acknowledged = probe.acknowledgedIDs()
                acknowledgedTotal += acknowledged.count
                let state: WorkspaceState
                do {
                    state = try store.read(key)
                } catch {
                    return (["round \(round): the document does not parse: \(error)"], acknowledgedTotal, .zero)
                }
                let stored = Set(state.tasks.map(\.id.rawValue))
                let lost = acknowledged.filter { !stored.contains($0) }
                if !lost.isEmpty {
                    return (["round \(round): acknowledged but missing: \(lost)"], acknowledgedTotal, .zero)
                }
                if state.tasks.map(\.id.rawValue) != Array(1..<state.nextID) {
                    return (["round \(round): ids are not 1..<\(state.nextID)"], acknowledgedTotal, .zero)
                }
            }
            return ([], acknowledgedTotal, ContinuousClock.now - started)
        }
        #expect(failures.isEmpty)
        #expect(acknowledgedTotal > 0)
        #expect(elapsed < .seconds(90))
    }
}
