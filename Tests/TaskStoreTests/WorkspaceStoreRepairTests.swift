import Foundation
import Glibc
import TaskCore
import Testing

@testable import TaskStore

/// `repair` moves a workspace past a damaged journal: it keeps the good prefix and the side file, and never lets an
/// id that may have been handed out be handed out again.
@Suite struct WorkspaceStoreRepairTests {
    @Test func repairKeepsTheGoodPrefixAndTheDamagedIDIsNeverHandedOutAgain() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        for _ in 0..<4 { try Fixtures.create(in: store, key) }
        let path = store.journalPath(key)
        let (offset, damaged) = try JournalFile.damage(line: 4, of: path)
        #expect(throws: StoreError.self) { try store.read(key) }

        let outcome = try #require(try store.repair(key))
        #expect(outcome.damagedLine == 5 && outcome.damagedOffset == Int64(offset))
        #expect(outcome.keptSequence == 3 && outcome.tasks == 3 && outcome.previousNextID == 4)
        // The lost line was a create (the change log says so): id 4 may have been handed out.
        #expect(outcome.nextID > 4 && outcome.sequence > outcome.lastPossibleSequence)
        #expect(try JournalFile.read(outcome.sideFile) == Array(damaged[offset...]))

        for reader in [store, try Fixtures.store(directory)] {
            let state = try reader.read(key)
            #expect(state.tasks.map(\.id.rawValue) == [1, 2, 3] && state.nextID == outcome.nextID)
        }
        #expect(try Fixtures.create(in: try Fixtures.store(directory), key).rawValue == outcome.nextID)
        // The side file stays; check reports it as a warning only.
        let findings = store.inspect(key).findings
        #expect(findings.count == 1 && !findings[0].isProblem && findings[0].path == outcome.sideFile, "\(findings)")
        // A second repair finds nothing to do.
        #expect(try store.repair(key) == nil)
    }

    @Test func withoutAChangeLogTheCheckedLinesAfterTheDamageBoundTheIDs() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        for _ in 0..<6 { try Fixtures.create(in: store, key) }
        try JournalFile.damage(line: 2, of: store.journalPath(key))
        for name in ["changes.log", "changes.log.1"] { unlink(directory.path + "/" + name) }
        let outcome = try #require(try store.repair(key))
        // Lines 4 to 7 still pass their check: the last says next_id 7 at seq 6.
        #expect(outcome.keptSequence == 1 && outcome.nextID >= 7 && outcome.sequence >= 7, "\(outcome)")
        #expect(try Fixtures.create(in: store, key).rawValue >= 7)
    }

    @Test func repairWaitsForTheLockAndRefusesWhenAWriterKeepsIt() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory, options: StoreOptions(lockWait: .milliseconds(150)))
        let key = try Fixtures.key()
        for _ in 0..<2 { try Fixtures.create(in: store, key) }
        let (_, damaged) = try JournalFile.damage(line: 1, of: store.journalPath(key))
        let lock = open(Syscall.parentDirectory(of: store.journalPath(key)) + "/lock", O_RDWR)
        #expect(lock >= 0 && flock(lock, LOCK_EX) == 0)
        let error = #expect(throws: StoreError.self) { try store.repair(key) }
        #expect(error?.isBusy == true, "\(String(describing: error))")
        #expect(try JournalFile.read(store.journalPath(key)) == damaged)
        close(lock)
        #expect(try store.repair(key) != nil)
    }

    @Test func repairRefusesAFrozenTenant() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        for _ in 0..<2 { try Fixtures.create(in: store, key) }
        try JournalFile.damage(line: 2, of: store.journalPath(key))
        try store.freeze(key.tenant)
        #expect(throws: StoreError.tenantFrozen(tenant: key.tenant)) { try store.repair(key) }
        try store.unfreeze(key.tenant)
        #expect(try store.repair(key) != nil)
    }

    @Test func aSoundWorkspaceIsLeftAlone() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        for _ in 0..<3 { try Fixtures.create(in: store, key) }
        let before = try JournalFile.read(store.journalPath(key))
        #expect(try store.repair(key) == nil)
        #expect(try store.repair(try Fixtures.key("acme", "never-written")) == nil)
        #expect(try JournalFile.read(store.journalPath(key)) == before)
    }

    /// Random histories (creates, deletes, flushes, checkpoints, change-log rotations), a random complete line
    /// damaged, a repair: no id ever acknowledged is handed out again, and the sequence moves past every one used.
    @Test(arguments: 0..<12)
    func afterARepairNoAcknowledgedIDIsHandedOutAgain(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let directory = try TemporaryDirectory()
        var options = StoreOptions(checkpointBytes: Int64.random(in: 600...4_000, using: &generator))
        options.changeLogLimit = Int64.random(in: 300...3_000, using: &generator)
        let store = try Fixtures.store(directory, options: options)
        let key = try Fixtures.key("acme", "w\(seed)")
        let machine = try Fixtures.machine()
        var issued: Set<Int64> = []
        var highestSequence: UInt64 = 0
        for _ in 0..<Int.random(in: 3...40, using: &generator) {
            let roll = Int.random(in: 0..<10, using: &generator)
            let queued = try store.read(key).tasks.filter { $0.startedAt == nil }.map(\.id)
            if roll < 6 || queued.isEmpty {
                issued.insert(try Fixtures.create(in: store, key).rawValue)
            } else {
                let change: TaskChange =
                    roll < 8
                    ? .delete(queued.randomElement(using: &generator)!, at: Fixtures.now())
                    : .flush(at: Fixtures.now())
                try store.update(key) { state in
                    // A task may have started since it was listed: then nothing changes.
                    let outcome = try? machine.apply(change, to: &state)
                    return StoreUpdate(change: outcome?.changedWorkspace == true ? change : nil, result: ())
                }
            }
            highestSequence = try store.read(key).sequence
        }
        if Bool.random(using: &generator) {
            for name in ["changes.log", "changes.log.1"] { unlink(directory.path + "/" + name) }
        }
        let path = store.journalPath(key)
        let lines = try JournalFile.lineCount(path)
        guard lines > 1 else { return }  // only a header since the last checkpoint: nothing to damage
        try JournalFile.damage(line: Int.random(in: 1..<lines, using: &generator), of: path)

        let outcome = try #require(try store.repair(key))
        #expect(outcome.sequence > highestSequence, "seed \(seed): \(outcome)")
        let next = try Fixtures.create(in: try Fixtures.store(directory), key).rawValue
        #expect(!issued.contains(next) && next > issued.max() ?? 0, "seed \(seed): \(outcome), issued \(issued)")
    }
}
