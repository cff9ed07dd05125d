import Testing

@testable import TaskCore

struct JournalLineTests {
    private func decode(_ bytes: some Collection<UInt8>) throws(WireFormatError) -> JournalLine {
        let line = Array(bytes)
        return try line.withUnsafeBufferPointer { (buffer) throws(WireFormatError) in
            try WireFormat.decodeJournalLine(buffer)
        }
    }

    @Test func crc32cMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        // Continuing from a seed is the same as checking the concatenation.
        let whole = CRC32C.checksum(Array("hello, world".utf8))
        #expect(CRC32C.checksum(Array(", world".utf8), seed: CRC32C.checksum(Array("hello".utf8))) == whole)
    }

    @Test(arguments: 0..<20)
    func linesRoundTrip(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let state = RandomStates.state(count: Int.random(in: 0...30, using: &generator), &generator)
        let delta = StateDelta(from: state, to: RandomStates.edit(state, &generator))
        for entry in [
            JournalEntry.header(base: state.sequence, chain: UInt32.random(in: 0...UInt32.max, using: &generator)),
            .change(delta, previous: UInt32.random(in: 0...UInt32.max, using: &generator)),
        ] {
            let (bytes, check) = WireFormat.journalLine(entry)
            #expect(bytes.last == UInt8(ascii: "\n"))
            #expect(bytes.dropLast().allSatisfy { $0 != UInt8(ascii: "\n") })
            let line = try decode(bytes.dropLast())
            #expect(line == JournalLine(entry: entry, check: check))
        }
    }

    @Test func aHeaderLineIsExactlyAsDocumented() {
        let (bytes, check) = WireFormat.journalLine(.header(base: 12, chain: 0x0000_00ff))
        let record = #"{"base":12,"chain":"000000ff","journal":2}"#
        let expected =
            #"{"crc":""# + String(check, radix: 16).leftPadded(to: 8) + #"","len":\#(record.utf8.count),"rec":"#
            + record + "}\n"
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
        #expect(check == CRC32C.checksum(Array(record.utf8)))
    }

    /// The two example lines of docs/state-directory.md, byte for byte.
    @Test func theDocumentedExampleLinesAreValid() throws {
        let header = try decode(
            Array(#"{"crc":"8da01825","len":42,"rec":{"base":17,"chain":"c0ffee01","journal":2}}"#.utf8))
        #expect(header.entry == .header(base: 17, chain: 0xc0ff_ee01) && header.check == 0x8da0_1825)
        let line =
            #"{"crc":"3500e213","len":171,"rec":{"as_of":1764403199000,"drop":[],"next_id":19,"prev":"c0ffee01","put":"#
            + #"[{"created_at":1764403199000,"duration_ms":11873,"id":18,"name":"train","type":"gx.small"}],"seq":18}}"#
        let change = try decode(Array(line.utf8))
        guard case .change(let delta, let previous) = change.entry else {
            Issue.record("not a change: \(change)")
            return
        }
        #expect(
            previous == 0xc0ff_ee01 && delta.sequence == 18 && delta.nextID == 19
                && delta.put.map(\.id.rawValue) == [18])
        #expect(WireFormat.journalLine(change.entry).bytes == Array((line + "\n").utf8))
    }

    @Test func everyCutOfALineIsRejected() throws {
        var generator = SeededGenerator(seed: 1)
        let state = RandomStates.state(count: 5, &generator)
        let (bytes, _) = WireFormat.journalLine(
            .change(StateDelta(from: state, to: RandomStates.edit(state, &generator)), previous: 9))
        let line = Array(bytes.dropLast())
        for length in 0..<line.count {
            #expect(throws: WireFormatError.self, "cut at \(length)") { try decode(line[..<length]) }
        }
    }

    @Test func everyChangedByteOfALineIsRejected() throws {
        var generator = SeededGenerator(seed: 2)
        let state = RandomStates.state(count: 3, &generator)
        let (bytes, _) = WireFormat.journalLine(
            .change(StateDelta(from: state, to: RandomStates.edit(state, &generator)), previous: 9))
        let line = Array(bytes.dropLast())
        for index in line.indices {
            var garbled = line
            garbled[index] ^= UInt8.random(in: 1...255, using: &generator)
            #expect(throws: WireFormatError.self, "byte \(index)") { try decode(garbled) }
        }
    }

    @Test func checkpointsCarryTheirFormatAndChainAndVersionOneStillReads() throws {
        var generator = SeededGenerator(seed: 5)
        let state = RandomStates.state(count: 12, &generator)
        let checkpoint = try WireFormat.decodeCheckpoint(WireFormat.checkpointDocument(state, chain: 0xdead_beef))
        #expect(checkpoint.state == state && checkpoint.format == 2 && checkpoint.chain == 0xdead_beef)
        let legacy = try WireFormat.decodeCheckpoint(WireFormat.workspaceDocument(state))
        #expect(legacy.state == state && legacy.format == 1 && legacy.chain == 0)
        var future = WireFormat.checkpointDocument(state, chain: 1)
        future.replaceSubrange(future.firstRange(of: Array(#""format":2"#.utf8))!, with: Array(#""format":3"#.utf8))
        #expect(throws: WireFormatError.self) { try WireFormat.decodeCheckpoint(future) }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
