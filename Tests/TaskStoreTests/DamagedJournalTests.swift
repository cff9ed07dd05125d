import Foundation
import TaskCore
import Testing

@testable import TaskStore

/// A complete journal line that fails its check is damage wherever it is, the last line included: the workspace is
/// refused, its damaged bytes are kept in a side file, and no write cuts them off.
@Suite struct DamagedJournalTests {
    @Test func aCompleteLastLineThatFailsItsCheckIsDamageNotATornTail() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        for _ in 0..<4 { try Fixtures.create(in: store, key) }
        #expect(try store.read(key).tasks.count == 4)
        let path = store.journalPath(key)
        let (offset, damaged) = try JournalFile.damage(line: JournalFile.lineCount(path) - 1, of: path)

        // Cold and cached readers alike refuse it, naming the line and the side file.
        for reader in [store, try Fixtures.store(directory)] {
            let error = #expect(throws: StoreError.self) { try reader.read(key) }
            guard case .corrupt(let errorPath, let detail) = error else {
                Issue.record("expected corrupt, got \(String(describing: error))")
                return
            }
            #expect(errorPath == path && detail.contains("line 5 (byte \(offset))"), "\(detail)")
            #expect(detail.contains("journal.damaged-\(offset)-"), "\(detail)")
        }
        // The damaged bytes are in the side file; a write is refused and cuts nothing off.
        let sideFiles = try JournalFile.sideFiles(of: store, key)
        #expect(sideFiles.count == 1)
        #expect(try JournalFile.read(sideFiles[0]) == Array(damaged[offset...]))
        #expect(throws: StoreError.self) { try Fixtures.create(in: store, key) }
        #expect(try JournalFile.read(path) == damaged)
        let problem = try #require(store.inspect(key).findings.first { $0.isProblem })
        #expect(problem.path == path && problem.message.contains(sideFiles[0]), "\(problem.message)")
    }

    @Test func aLastLineWhoseLineBreakWasChangedIsDamageNotATornTail() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        for _ in 0..<3 { try Fixtures.create(in: store, key) }
        var bytes = try JournalFile.read(store.journalPath(key))
        bytes[bytes.count - 1] = UInt8(ascii: " ")
        try JournalFile.write(bytes, to: store.journalPath(key))
        #expect(throws: StoreError.self) { try Fixtures.store(directory).read(key) }
        #expect(throws: StoreError.self) { try Fixtures.create(in: store, key) }
        #expect(try JournalFile.read(store.journalPath(key)) == bytes)
    }

    @Test func aGarbageLineAfterTheLastGoodOneIsDamageAndIsNotCutByAWrite() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        for _ in 0..<2 { try Fixtures.create(in: store, key) }
        let bytes = try JournalFile.read(store.journalPath(key)) + Array("not a journal line\n".utf8)
        try JournalFile.write(bytes, to: store.journalPath(key))
        #expect(throws: StoreError.self) { try Fixtures.create(in: try Fixtures.store(directory), key) }
        #expect(try JournalFile.read(store.journalPath(key)) == bytes)
    }

    @Test func aLineThatPassesItsCheckButBreaksTheChainIsDamageToo() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        for _ in 0..<3 { try Fixtures.create(in: store, key) }
        // The second change repeated at the end: a good line, but not the continuation of the one before it.
        let bytes = try JournalFile.read(store.journalPath(key))
        let starts = JournalFile.lineStarts(bytes)
        let repeated = bytes + Array(bytes[starts[2]..<starts[3]])
        try JournalFile.write(repeated, to: store.journalPath(key))
        let error = #expect(throws: StoreError.self) { try Fixtures.store(directory).read(key) }
        #expect("\(String(describing: error))".contains("line 5"))
        #expect(try JournalFile.sideFiles(of: store, key).count == 1)
    }

    @Test func aReadOnlyStoreRefusesTheWorkspaceButWritesNoSideFile() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        for _ in 0..<2 { try Fixtures.create(in: store, key) }
        _ = try JournalFile.damage(line: 1, of: store.journalPath(key))
        let readOnly = try WorkspaceStore(
            directory: directory.path, maxWorkspacesPerTenant: 10, logger: Fixtures.logger, readOnly: true)
        #expect(throws: StoreError.self) { try readOnly.read(key) }
        // `check` reads only too.
        #expect(store.inspect(key).findings.contains { $0.isProblem && $0.message.contains("will be kept") })
        #expect(try JournalFile.sideFiles(of: store, key).isEmpty)
    }

    @Test func theSameDamageIsKeptOnceAndOtherDamageNeverOverwritesIt() throws {
        let directory = try TemporaryDirectory()
        let files = WorkspaceFiles(directory: directory.path)
        let first = DamagedJournal(offset: 120, lineNumber: 3, reason: "test", bytes: Array("one\n".utf8))
        let second = DamagedJournal(offset: 120, lineNumber: 3, reason: "test", bytes: Array("two\n".utf8))
        #expect(first.fileName != second.fileName && first.fileName.hasPrefix("journal.damaged-120-"))
        #expect(try first.keep(in: files))
        #expect(try !first.keep(in: files))
        #expect(try second.keep(in: files))
        #expect(try JournalFile.read(first.path(in: files)) == Array("one\n".utf8))
        #expect(try JournalFile.read(second.path(in: files)) == Array("two\n".utf8))
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).count == 2)
    }

    @Test func theChangeBoundCountsEveryCompleteLineAndOneMore() {
        let damage = DamagedJournal(offset: 0, lineNumber: 2, reason: "test", bytes: Array("a\nb\nc\ntorn".utf8))
        #expect(damage.changeBound == 4)
        #expect(damage.checkedChanges.isEmpty)
    }
}

/// Reading and damaging journal files in tests.
enum JournalFile {
    static func read(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// The offset at which each line starts.
    static func lineStarts(_ bytes: [UInt8]) -> [Int] {
        [0] + bytes.indices.filter { bytes[$0] == UInt8(ascii: "\n") && $0 + 1 < bytes.count }.map { $0 + 1 }
    }

    static func lineCount(_ path: String) throws -> Int {
        lineStarts(try read(path)).count
    }

    /// Flips one bit inside the record of line `index` (0 is the header), keeping its line break; returns where the
    /// line starts and the journal's new bytes.
    @discardableResult
    static func damage(line index: Int, of path: String) throws -> (offset: Int, bytes: [UInt8]) {
        var bytes = try read(path)
        let start = lineStarts(bytes)[index]
        bytes[start + 40] ^= 0x04
        try write(bytes, to: path)
        return (start, bytes)
    }

    /// The side files in a workspace's directory, by name.
    static func sideFiles(of store: WorkspaceStore, _ key: WorkspaceKey) throws -> [String] {
        let directory = Syscall.parentDirectory(of: store.journalPath(key))
        return try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            .filter { $0.hasPrefix(DamagedJournal.namePrefix) }.map { directory + "/" + $0 }
    }
}
