import Foundation
import TaskCore
import Testing

@testable import TaskStore

/// The version 2 format on disk: conversion from version 1, checkpoints, the read cache, torn tails.
@Suite struct JournalStoreTests {
    @Test func aVersionOneDirectoryIsReadAsItIsAndConvertedOnItsFirstWrite() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        // A version 1 document, as the previous release wrote it.
        var legacy = WorkspaceState.empty
        let machine = try Fixtures.machine()
        for index in 0..<3 {
            _ = try machine.apply(
                .create(
                    name: try TaskName(stored: "old \(index)"), type: .tiny, durationMilliseconds: 9,
                    at: .init(rawValue: 1)),
                to: &legacy)
        }
        try FileManager.default.createDirectory(
            atPath: Syscall.parentDirectory(of: store.legacyDocumentPath(key)), withIntermediateDirectories: true)
        try Data(WireFormat.workspaceDocument(legacy)).write(to: URL(fileURLWithPath: store.legacyDocumentPath(key)))
        #expect(try store.read(key) == legacy)
        #expect(store.inspect(key).format == .version1)
        #expect(!FileManager.default.fileExists(atPath: store.journalPath(key)))

        #expect(try Fixtures.create(in: store, key).rawValue == 4)
        #expect(!FileManager.default.fileExists(atPath: store.legacyDocumentPath(key)))
        let converted = try Fixtures.store(directory).read(key)
        #expect(converted.tasks.map(\.id.rawValue) == [1, 2, 3, 4])
        #expect(converted.sequence == legacy.sequence + 1)
        // The old tasks, as they were (the create also recorded their starts, which had passed).
        #expect(converted.tasks.prefix(3).map(\.name) == legacy.tasks.map(\.name))
        let inspection = store.inspect(key)
        #expect(inspection.format == .version2 && inspection.findings.isEmpty && inspection.journalRecords == 1)
    }

    @Test func aJournalPastTheThresholdIsFoldedIntoACheckpoint() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory, options: StoreOptions(checkpointBytes: 4_096))
        let key = try Fixtures.key()
        var sizes: [Int] = []
        for _ in 0..<60 {
            try Fixtures.create(in: store, key)
            sizes.append(try Data(contentsOf: URL(fileURLWithPath: store.journalPath(key))).count)
        }
        // The journal never stayed past 4 KiB: the write that crossed it started a new one (more than once here);
        // a reader sees every task either way.
        #expect(sizes.max()! <= 4_096)
        #expect(zip(sizes, sizes.dropFirst()).contains { $0 > $1 })
        #expect(FileManager.default.fileExists(atPath: store.checkpointPath(key)))
        #expect(try Fixtures.store(directory).read(key).tasks.map(\.id.rawValue) == Array(1...60))
        #expect(store.inspect(key).findings.isEmpty)
    }

    @Test func theCacheSeesChangesOfOtherProcessesAndReadsOnlyWhatIsNew() throws {
        let directory = try TemporaryDirectory()
        let reader = try Fixtures.store(directory)
        let writer = try Fixtures.store(directory, options: StoreOptions(checkpointBytes: 4_096))
        let key = try Fixtures.key()
        for round in 1...80 {
            try Fixtures.create(in: writer, key)
            // Every read after a foreign write sees it, across the writer's checkpoints and new journals.
            let state = try reader.read(key)
            #expect(state.tasks.count == round)
            #expect(try reader.read(key) == state)
        }
        #expect(reader.cacheStatistics.workspaces == 1 && reader.cacheStatistics.tasks == 80)
        // A cached workspace rewritten behind the store's back by a new journal from elsewhere is read again.
        try FileManager.default.removeItem(atPath: writer.journalPath(key))
        try FileManager.default.removeItem(atPath: writer.checkpointPath(key))
        try Fixtures.create(in: try Fixtures.store(directory), key)
        #expect(try reader.read(key).tasks.map(\.id.rawValue) == [1])
    }

    @Test func aTornTailAtEveryOffsetReadsAsTheStateBeforeItAndTheNextWriteRepairsIt() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        for _ in 0..<3 { try Fixtures.create(in: store, key) }
        let before = try store.read(key)
        try Fixtures.create(in: store, key, name: "the last one")
        let full = try Data(contentsOf: URL(fileURLWithPath: store.journalPath(key)))
        let lastLineStart = full.dropLast().lastIndex(of: UInt8(ascii: "\n"))! + 1
        for cut in lastLineStart..<full.count {
            try full.prefix(cut).write(to: URL(fileURLWithPath: store.journalPath(key)))
            // A process that never saw it, and this one (cached beyond the cut), both read the earlier state.
            #expect(try Fixtures.store(directory).read(key) == before, "cut at \(cut)")
            #expect(try store.read(key) == before, "cut at \(cut)")
            if cut == lastLineStart + 7 || cut == full.count - 1 {
                #expect(store.inspect(key).findings.map(\.isProblem) == (cut == lastLineStart ? [] : [false]))
            }
        }
        // The next write cuts the torn line off and appends after the last good one.
        try full.prefix(full.count - 5).write(to: URL(fileURLWithPath: store.journalPath(key)))
        #expect(try Fixtures.create(in: try Fixtures.store(directory), key).rawValue == 4)
        let repaired = try Fixtures.store(directory)
        #expect(try repaired.read(key).tasks.map(\.id.rawValue) == [1, 2, 3, 4])
        #expect(try repaired.read(key).tasks.last?.name.rawValue == "job")
        #expect(repaired.inspect(key).findings.isEmpty)
    }

    @Test func aDamagedLineFollowedByGoodOnesIsCorruptionNotATornTail() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        for _ in 0..<4 { try Fixtures.create(in: store, key) }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: store.journalPath(key))))
        let secondLine = bytes.firstIndex(of: UInt8(ascii: "\n"))! + 1
        bytes[secondLine + 30] ^= 0x20
        try Data(bytes).write(to: URL(fileURLWithPath: store.journalPath(key)))
        let error = #expect(throws: StoreError.self) { try Fixtures.store(directory).read(key) }
        guard case .corrupt(let path, let detail) = error else {
            Issue.record("expected corrupt, got \(String(describing: error))")
            return
        }
        #expect(path == store.journalPath(key) && detail.contains("line 2"))
        let finding = try #require(store.inspect(key).findings.first)
        #expect(finding.isProblem && finding.message.contains("byte \(secondLine)"))
        #expect(finding.message.contains("taskctl workspace repair acme default"))
    }

    /// A checkpoint ahead of every line of its journal was read, and a create was appended to that journal after
    /// lines it does not continue: the acknowledged create made the workspace unreadable to every other process. The
    /// workspace fuzzer finds it in minutes on the code before the fix (its input is in the seed corpus, as
    /// Tests/FuzzCorpus/workspace/found-checkpoint-ahead-of-journal).
    @Test func aCheckpointNewerThanTheWholeJournalIsContinuedByANewJournal() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        for _ in 0..<3 { try Fixtures.create(in: store, key) }
        var ahead = try store.read(key)
        ahead.sequence = 5
        try Data(WireFormat.checkpointDocument(ahead, chain: 99)).write(
            to: URL(fileURLWithPath: store.checkpointPath(key)))
        #expect(try Fixtures.store(directory).read(key) == ahead)
        #expect(try Fixtures.create(in: try Fixtures.store(directory), key).rawValue == 4)
        let state = try Fixtures.store(directory).read(key)
        #expect(state.sequence == 6 && state.tasks.map(\.id.rawValue) == [1, 2, 3, 4])
        #expect(store.inspect(key).findings.isEmpty)
    }

    @Test func aCheckpointThatDisagreesWithItsJournalIsCorrupt() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        for _ in 0..<3 { try Fixtures.create(in: store, key) }
        try store.checkpoint(key)
        try Fixtures.create(in: store, key)
        // A checkpoint from another history (same sequence, other chain value).
        var state = try store.read(key)
        state.sequence = 3
        state.tasks.removeLast()
        try Data(WireFormat.checkpointDocument(state, chain: 12_345)).write(
            to: URL(fileURLWithPath: store.checkpointPath(key)))
        let error = #expect(throws: StoreError.self) { try store.read(key) }
        #expect(
            error
                == .corrupt(
                    path: store.checkpointPath(key),
                    detail: "its chain value differs from the journal's at seq 3: they describe different histories"))
        #expect(store.inspect(key).findings.contains { $0.isProblem && $0.path == store.checkpointPath(key) })
    }
}
