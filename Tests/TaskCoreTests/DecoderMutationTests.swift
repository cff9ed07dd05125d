import Testing

@testable import TaskCore

/// Valid encodings changed at random (bits flipped, bytes replaced, inserted, deleted, numbers swapped for extreme
/// ones): every decoder either throws or returns a value that re-encodes to bytes it reads back identically, and
/// the scheduler never traps on what it returned. The libFuzzer targets (`make fuzz`) explore further; these keep a
/// seeded sample in every test run.
struct DecoderMutationTests {
    @Test(arguments: 0..<8)
    func mutatedCheckpointsAndVersionOneDocumentsFailOrReadBackIdentically(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        var decoded = 0
        for round in 0..<400 {
            let state = RandomStates.state(count: Int.random(in: 0...8, using: &generator), &generator)
            let chain = UInt32.random(in: 0...UInt32.max, using: &generator)
            let original =
                round.isMultiple(of: 2)
                ? WireFormat.checkpointDocument(state, chain: chain) : WireFormat.workspaceDocument(state)
            let mutated = Mutator.mutate(original, &generator)
            let document: (state: WorkspaceState, format: Int, chain: UInt32)
            do {
                document = try WireFormat.decodeCheckpoint(mutated)
            } catch {
                continue
            }
            decoded += 1
            try StoredLimits.check(document.state)
            let again = WireFormat.checkpointDocument(document.state, chain: document.chain)
            let reread = try WireFormat.decodeCheckpoint(again)
            #expect(reread.state == document.state && reread.chain == document.chain, "seed \(seed) round \(round)")
            #expect(WireFormat.checkpointDocument(reread.state, chain: reread.chain) == again)
            try Exercise.scheduler(on: document.state, &generator)
        }
        // Some mutations keep the document valid (a changed digit, white space): the success path is exercised too.
        #expect(decoded > 0)
    }

    @Test(arguments: 0..<8)
    func mutatedJournalRecordsFailOrReadBackIdentically(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        var decoded = 0
        for _ in 0..<400 {
            let state = RandomStates.state(count: Int.random(in: 0...8, using: &generator), &generator)
            let entry: JournalEntry =
                Bool.random(using: &generator)
                ? .change(StateDelta(from: state, to: RandomStates.edit(state, &generator)), previous: 7)
                : .header(base: state.sequence, chain: UInt32.random(in: 0...UInt32.max, using: &generator))
            let record = Self.record(of: WireFormat.journalLine(entry).bytes)
            // The envelope is rebuilt around the changed record, so that the record itself is what is judged.
            let line = StoredLimitsTests.line(String(decoding: Mutator.mutate(record, &generator), as: UTF8.self))
            let read: JournalLine
            do {
                read = try StoredLimitsTests.decodeLine(line)
            } catch {
                continue
            }
            decoded += 1
            let (bytes, check) = WireFormat.journalLine(read.entry)
            let reread = try StoredLimitsTests.decodeLine(Array(bytes.dropLast()))
            #expect(reread == JournalLine(entry: read.entry, check: check), "seed \(seed)")
            if case .change(let delta, _) = read.entry {
                var target = state
                try? delta.apply(to: &target)
                try StoredLimits.check(target)
                try Exercise.scheduler(on: target, &generator)
            }
        }
        #expect(decoded > 0)
    }

    @Test(arguments: 0..<4)
    func mutatedWholeLinesNeverTrapTheLineDecoder(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        for _ in 0..<500 {
            let state = RandomStates.state(count: Int.random(in: 0...4, using: &generator), &generator)
            let entry = JournalEntry.change(StateDelta(from: .empty, to: state), previous: 0)
            let mutated = Mutator.mutate(Array(WireFormat.journalLine(entry).bytes.dropLast()), &generator)
            _ = try? StoredLimitsTests.decodeLine(mutated)
            _ = mutated.withUnsafeBufferPointer { WireFormat.isJournalLinePrefix($0) }
        }
    }

    /// A torn write leaves an exact prefix of a line, perhaps followed by zero bytes; a whole line and any other
    /// byte after it (its line break changed) is no write's leftover.
    @Test(arguments: 0..<6)
    func everyPrefixOfALineIsATornTailAndALineWithAChangedLineBreakIsNot(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        let state = RandomStates.state(count: Int.random(in: 0...3, using: &generator), &generator)
        let line = Array(WireFormat.journalLine(.change(StateDelta(from: .empty, to: state), previous: 1)).bytes)
        let withoutBreak = Array(line.dropLast())
        for length in 0...withoutBreak.count {
            let prefix = Array(withoutBreak[..<length])
            #expect(prefix.withUnsafeBufferPointer { WireFormat.isJournalLinePrefix($0) }, "length \(length)")
            let zeroed = prefix + [UInt8](repeating: 0, count: Int.random(in: 1...9, using: &generator))
            #expect(zeroed.withUnsafeBufferPointer { WireFormat.isJournalLinePrefix($0) }, "length \(length)")
        }
        for byte in UInt8(1)...UInt8(255) where byte != UInt8(ascii: "\n") {
            #expect(!(withoutBreak + [byte]).withUnsafeBufferPointer { WireFormat.isJournalLinePrefix($0) })
        }
        // A complete record whose bytes changed cannot be a torn write of it either.
        var changed = withoutBreak
        changed[changed.count - 3] ^= 0x01
        #expect(!changed.withUnsafeBufferPointer { WireFormat.isJournalLinePrefix($0) })
        for garbage in ["garbage", "{\"crc\":\"XYZ", "{\"crc\":\"00000000\",\"len\":,", "\u{0}x"] {
            #expect(!Array(garbage.utf8).withUnsafeBufferPointer { WireFormat.isJournalLinePrefix($0) }, "\(garbage)")
        }
    }

    /// The record inside a journal line: the bytes between `"rec":` and the closing brace.
    static func record(of line: [UInt8]) -> [UInt8] {
        let marker = Array(#","rec":"#.utf8)
        var start = 0
        while start + marker.count <= line.count, Array(line[start..<start + marker.count]) != marker { start += 1 }
        return Array(line[(start + marker.count)..<(line.count - 2)])
    }
}

/// Random edits of encoded bytes, biased towards the ones that break number ranges and structure.
enum Mutator {
    static let tokens: [String] = [
        "9223372036854775807", "-9223372036854775808", "9007199254740991", "9007199254740992", "99999999999999999999",
        "253402300800000", "450000001", "-1", "0", "1e3", "1.5", "null", "true", "\"", "\\", "\\u0000", "\\ud800", "{",
        "}", "[", "]", ",", ":", " ", "\n", "\"id\":", "\"next_id\":", "\"seq\":", "\"tasks\":", "\"started_at\":",
        "\"duration_ms\":", "\"put\":", "\"drop\":", "\"journal\":", "\u{FF}", "\u{7F}",
    ]

    static func mutate(_ bytes: [UInt8], _ generator: inout SeededGenerator) -> [UInt8] {
        var result = bytes
        for _ in 0..<Int.random(in: 1...3, using: &generator) {
            let position = result.isEmpty ? 0 : Int.random(in: 0..<result.count, using: &generator)
            switch Int.random(in: 0..<6, using: &generator) {
            case 0 where !result.isEmpty:
                result[position] ^= 1 << UInt8.random(in: 0...7, using: &generator)
            case 1 where !result.isEmpty:
                result[position] = UInt8.random(in: 0...255, using: &generator)
            case 2:
                let token = Array((tokens.randomElement(using: &generator) ?? "").utf8)
                result.insert(contentsOf: token, at: position)
            case 3 where !result.isEmpty:
                let end = min(result.count, position + Int.random(in: 1...16, using: &generator))
                result.removeSubrange(position..<end)
            case 4:
                // A run of digits (a number) replaced by an extreme one.
                var end = position
                while end < result.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(result[end]) { end += 1 }
                let token = Array((tokens.prefix(8).randomElement(using: &generator) ?? "").utf8)
                result.replaceSubrange(position..<end, with: token)
            default:
                let end = min(result.count, position + Int.random(in: 1...32, using: &generator))
                result.insert(contentsOf: result[position..<end], at: position)
            }
        }
        return result
    }
}

/// Runs the scheduler over a decoded state the ways the servers do: the list now and much later, a writer's
/// settling, and each kind of change. What it returns does not matter here; that it returns does.
enum Exercise {
    static func scheduler(on state: WorkspaceState, _ generator: inout SeededGenerator) throws {
        let machine = TaskStateMachine(
            policy: try SchedulePolicy(
                slots: Int.random(in: 1...8, using: &generator), timeScale: SchedulePolicy.maximumTimeScale))
        let moments = [state.asOf.rawValue, StoredLimits.timestamps.upperBound, 0, state.asOf.rawValue + 1_000_000]
        for moment in moments {
            _ = machine.view(of: state, at: Timestamp(rawValue: moment))
            _ = machine.settled(state, at: Timestamp(rawValue: moment))
        }
        let at = Timestamp(rawValue: StoredLimits.timestamps.upperBound)
        var changes: [TaskChange] = [
            .create(
                name: try TaskName(parsing: "x"), type: .heavy,
                durationMilliseconds: StoredLimits.maximumDurationMilliseconds, at: at),
            .flush(at: at),
        ]
        if let first = state.tasks.first { changes.append(.delete(first.id, at: at)) }
        for change in changes {
            var copy = state
            _ = try? machine.apply(change, to: &copy)
        }
    }
}
