import Foundation
import TaskCore
import Testing

@testable import TaskStore

/// The journal and checkpoint reader against a simple model: a list of states, each the previous one edited at
/// random. Journals are written from the model, damaged at random (cut, a changed byte, garbage appended), and read
/// both cold and by a reader that had cached an earlier prefix; the model says what each read must give.
@Suite struct JournalReaderModelTests {
    enum Expected: Equatable {
        case state(WorkspaceState)
        case corrupt
    }

    struct Journal {
        var checkpoint: (state: WorkspaceState, chain: UInt32)?
        var lines: [[UInt8]]
        /// `states[i]`: the state once lines 0...i are read (line 0 is the header).
        var states: [WorkspaceState]

        var bytes: [UInt8] { lines.flatMap { $0 } }
    }

    /// A history of `count` random changes; the journal starts at change `base` (its checkpoint) unless it is 0.
    static func journal(changes count: Int, base: Int, _ generator: inout SeededGenerator) -> Journal {
        var state = WorkspaceState.empty
        var chain: UInt32 = 0
        var history: [(WorkspaceState, UInt32)] = [(state, chain)]
        var lines: [[UInt8]] = []
        for _ in 0..<count {
            let next = Self.edit(state, &generator)
            let (line, check) = WireFormat.journalLine(.change(StateDelta(from: state, to: next), previous: chain))
            lines.append(line)
            (state, chain) = (next, check)
            history.append((state, chain))
        }
        let (baseState, baseChain) = history[base]
        let header = WireFormat.journalLine(.header(base: UInt64(base), chain: baseChain)).bytes
        return Journal(
            checkpoint: base == 0 && Bool.random(using: &generator) ? nil : (baseState, baseChain),
            lines: [header] + lines[base...], states: history[base...].map(\.0))
    }

    static func edit(_ state: WorkspaceState, _ generator: inout SeededGenerator) -> WorkspaceState {
        var next = state
        next.tasks.removeAll { _ in Int.random(in: 0..<10, using: &generator) == 0 }
        for index in next.tasks.indices where next.tasks[index].startedAt == nil && Bool.random(using: &generator) {
            next.tasks[index].startedAt = Timestamp(rawValue: Int64(index))
        }
        for _ in 0..<Int.random(in: 0...2, using: &generator) {
            next.tasks.append(
                StoredTask(
                    id: TaskID(rawValue: next.nextID)!, name: try! TaskName(parsing: "t\(next.nextID) \u{e9}\""),
                    type: .small, createdAt: .init(rawValue: 5), durationMilliseconds: 1_000))
            next.nextID += 1
        }
        next.sequence += 1
        next.asOf = Timestamp(rawValue: state.asOf.rawValue + 1)
        return next
    }

    enum Damage: CaseIterable {
        case none, cut, changedByte, garbage, garbageLine
    }

    /// Damages the journal's bytes and says what a reader must make of them, and where the first changed byte is.
    static func damage(_ journal: Journal, _ kind: Damage, _ generator: inout SeededGenerator) -> (
        bytes: [UInt8], expected: Expected, firstChanged: Int
    ) {
        var bytes = journal.bytes
        let ends = journal.lines.reduce(into: [Int]()) { $0.append(($0.last ?? 0) + $1.count) }
        let last = Expected.state(journal.states.last!)
        switch kind {
        case .none:
            return (bytes, last, bytes.count)
        case .cut:
            let cut = Int.random(in: 0..<bytes.count, using: &generator)
            guard let complete = ends.lastIndex(where: { $0 <= cut }) else {
                return (Array(bytes[..<cut]), .corrupt, cut)
            }
            return (Array(bytes[..<cut]), .state(journal.states[complete]), cut)
        case .changedByte:
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            bytes[index] ^= UInt8.random(in: 1...255, using: &generator)
            let line = ends.firstIndex { $0 > index }!
            // Any change leaves a complete line that fails its check (a changed line break joins two lines into
            // one), and that is damage, the last line included; so is a last line whose line break was changed into
            // another byte, since no write cut short leaves a whole line and one byte more. Only a line break turned
            // into a zero byte reads as a torn tail, like a line written but for its line break.
            if line > 0, index == bytes.count - 1, bytes[index] == 0 {
                return (bytes, .state(journal.states[line - 1]), index)
            }
            return (bytes, .corrupt, index)
        case .garbage:
            return (bytes + Array("{\"crc\":\"0".utf8), last, bytes.count)
        case .garbageLine:
            // A complete line, even of garbage, may be what is left of an acknowledged change: damage.
            return (bytes + Array("not a journal line\n".utf8) + Array("{}".utf8), .corrupt, bytes.count)
        }
    }

    func write(
        _ journal: Journal, bytes: [UInt8], to store: WorkspaceStore, _ key: WorkspaceKey, checkpoint: Bool = true
    ) throws {
        try FileManager.default.createDirectory(
            atPath: Syscall.parentDirectory(of: store.journalPath(key)), withIntermediateDirectories: true)
        if checkpoint, let (state, chain) = journal.checkpoint {
            try Data(WireFormat.checkpointDocument(state, chain: chain)).write(
                to: URL(fileURLWithPath: store.checkpointPath(key)))
        }
        try Data(bytes).write(to: URL(fileURLWithPath: store.journalPath(key)))
    }

    func read(_ store: WorkspaceStore, _ key: WorkspaceKey) -> Expected {
        do {
            return .state(try store.read(key))
        } catch StoreError.corrupt {
            return .corrupt
        } catch {
            Issue.record("unexpected error \(error)")
            return .corrupt
        }
    }

    @Test(arguments: 0..<60)
    func coldAndIncrementalReadsAgreeWithTheModel(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let directory = try TemporaryDirectory()
        let key = try Fixtures.key("model", "w\(seed)")
        let count = Int.random(in: 1...25, using: &generator)
        let journal = Self.journal(changes: count, base: Int.random(in: 0...count / 2, using: &generator), &generator)
        let kind = Damage.allCases.randomElement(using: &generator)!
        let (bytes, expected, firstChanged) = Self.damage(journal, kind, &generator)

        // A reader that cached a clean prefix of the journal; then the whole (damaged) journal is written in place.
        let incremental = try Fixtures.store(directory)
        let prefixLines = Int.random(in: 1...journal.lines.count, using: &generator)
        let prefix = journal.lines[..<prefixLines].flatMap { $0 }
        try write(journal, bytes: prefix, to: incremental, key)
        #expect(read(incremental, key) == .state(journal.states[prefixLines - 1]), "seed \(seed)")
        try write(journal, bytes: bytes, to: incremental, key, checkpoint: false)

        #expect(read(try Fixtures.store(directory), key) == expected, "seed \(seed), damage \(kind)")
        // The incremental reader re-reads from the start of the last line it holds: damage from there on it sees
        // exactly as a cold reader does; damage in earlier lines (already checked when it read them) it does not see.
        let lastHeldLineStart = journal.lines[..<(prefixLines - 1)].reduce(0) { $0 + $1.count }
        let warm = read(incremental, key)
        // (A journal that did not grow since, which appends never do, makes it read everything again.)
        if bytes.count <= prefix.count || firstChanged >= lastHeldLineStart {
            #expect(warm == expected, "seed \(seed), damage \(kind)")
        } else {
            #expect(warm == .state(journal.states.last!), "seed \(seed), damage \(kind)")
        }
    }
}
