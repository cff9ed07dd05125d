/// The journal's lines: `{"crc":"<8 hex>","len":<n>,"rec":<n bytes of JSON>}` and a line break.
///
/// `len` is the length in bytes of the `rec` value and `crc` its CRC-32C, so a line cut short or garbled anywhere is
/// recognised without trusting any of its JSON. The envelope is written in exactly this shape (no spaces), so it is
/// checked byte by byte; the record inside is ordinary JSON with sorted keys, readable with `jq -c .rec`.
///
/// - header: `{"base":<seq>,"chain":"<8 hex>","journal":2}`
/// - change: `{"as_of":…,"drop":[ids],"next_id":…,"prev":"<8 hex>","put":[tasks],"seq":…}`
extension WireFormat {
    /// The line's bytes, line break included, and its check value.
    public static func journalLine(_ entry: JournalEntry) -> (bytes: [UInt8], check: UInt32) {
        var record: [UInt8] = []
        switch entry {
        case .header(let base, let chain):
            record.append(contentsOf: #"{"base":"#.utf8)
            record.append(contentsOf: String(base).utf8)
            record.append(contentsOf: #","chain":"#.utf8)
            appendCheck(chain, to: &record)
            record.append(contentsOf: #","journal":"#.utf8)
            appendInteger(Int64(storeFormat), to: &record)
            record.append(UInt8(ascii: "}"))
        case .change(let delta, let previous):
            record.reserveCapacity(96 + delta.put.count * 128 + delta.drop.count * 8)
            record.append(contentsOf: #"{"as_of":"#.utf8)
            appendInteger(delta.asOf.rawValue, to: &record)
            record.append(contentsOf: #","drop":["#.utf8)
            for (index, id) in delta.drop.enumerated() {
                if index > 0 { record.append(UInt8(ascii: ",")) }
                appendInteger(id.rawValue, to: &record)
            }
            record.append(contentsOf: #"],"next_id":"#.utf8)
            appendInteger(delta.nextID, to: &record)
            record.append(contentsOf: #","prev":"#.utf8)
            appendCheck(previous, to: &record)
            record.append(contentsOf: #","put":["#.utf8)
            for (index, task) in delta.put.enumerated() {
                if index > 0 { record.append(UInt8(ascii: ",")) }
                appendStoredTask(task, to: &record)
            }
            record.append(contentsOf: #"],"seq":"#.utf8)
            record.append(contentsOf: String(delta.sequence).utf8)
            record.append(UInt8(ascii: "}"))
        }
        let check = CRC32C.checksum(record)
        var line: [UInt8] = []
        line.reserveCapacity(record.count + 40)
        line.append(contentsOf: #"{"crc":"#.utf8)
        appendCheck(check, to: &line)
        line.append(contentsOf: #","len":"#.utf8)
        appendInteger(Int64(record.count), to: &line)
        line.append(contentsOf: #","rec":"#.utf8)
        line.append(contentsOf: record)
        line.append(contentsOf: "}\n".utf8)
        return (line, check)
    }

    /// Reads one line, without its line break. Fails when the envelope, the length, the check or the record is wrong.
    public static func decodeJournalLine(_ line: UnsafeBufferPointer<UInt8>) throws(WireFormatError) -> JournalLine {
        var offset = 0
        func expect(_ literal: StaticString) throws(WireFormatError) {
            let count = literal.utf8CodeUnitCount
            guard line.count - offset >= count,
                (0..<count).allSatisfy({ line[offset + $0] == literal.utf8Start[$0] })
            else { throw WireFormatError(message: "the line does not start like a journal line") }
            offset += count
        }
        try expect(#"{"crc":""#)
        var check: UInt32 = 0
        for _ in 0..<8 {
            guard offset < line.count, let digit = lowerHexDigits.firstIndex(of: line[offset]) else {
                throw WireFormatError(message: "the crc is not eight lower-case hex digits")
            }
            check = check << 4 | UInt32(digit)
            offset += 1
        }
        try expect(#"","len":"#)
        var length = 0
        let digitsStart = offset
        while offset < line.count, offset - digitsStart < 10, (0x30...0x39).contains(line[offset]) {
            length = length * 10 + Int(line[offset] - 0x30)
            offset += 1
        }
        guard offset > digitsStart else { throw WireFormatError(message: "the len is not a number") }
        try expect(#","rec":"#)
        guard line.count - offset == length + 1, line[line.count - 1] == UInt8(ascii: "}") else {
            throw WireFormatError(message: "the line is not \(length) bytes of record long (cut short or garbled)")
        }
        let record = UnsafeBufferPointer(rebasing: line[offset..<offset + length])
        guard CRC32C.checksum(UnsafeRawBufferPointer(record)) == check else {
            throw WireFormatError(message: "the crc does not match the record")
        }
        var reader = JSONReader(record)
        let entry = try readJournalRecord(&reader)
        try reader.expectEnd()
        return JournalLine(entry: entry, check: check)
    }

    /// Whether `bytes` (which hold no line break) can be what a write cut short leaves of a journal line: a prefix
    /// of one, possibly followed by zero bytes (a file system may show an extended size before the data). A write
    /// leaves an exact prefix of what it wrote, so the envelope must match as far as it goes, the bytes must be
    /// fewer than the line their `len` announces, and a record that is all there must pass its check. Anything else
    /// (a complete line whose line break was changed, garbage) is damage, not a torn write.
    public static func isJournalLinePrefix(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var count = bytes.count
        while count > 0, bytes[count - 1] == 0 { count -= 1 }
        let opening: [StaticString] = [#"{"crc":""#, #"","len":"#, #","rec":"#]
        var offset = 0
        /// Matches `literal` as far as the bytes go; `nil` when they end inside it.
        func match(_ literal: StaticString) -> Bool? {
            for index in 0..<literal.utf8CodeUnitCount {
                guard offset < count else { return nil }
                guard bytes[offset] == literal.utf8Start[index] else { return false }
                offset += 1
            }
            return true
        }
        guard let crcOpening = match(opening[0]) else { return true }
        guard crcOpening else { return false }
        var check: UInt32 = 0
        for _ in 0..<8 {
            guard offset < count else { return true }
            guard let digit = lowerHexDigits.firstIndex(of: bytes[offset]) else { return false }
            check = check << 4 | UInt32(digit)
            offset += 1
        }
        guard let lenOpening = match(opening[1]) else { return true }
        guard lenOpening else { return false }
        var length = 0
        let digitsStart = offset
        while offset < count, (0x30...0x39).contains(bytes[offset]) {
            guard offset - digitsStart < 10 else { return false }
            length = length * 10 + Int(bytes[offset] - 0x30)
            offset += 1
        }
        guard offset < count else { return true }
        guard offset > digitsStart else { return false }
        guard let recOpening = match(opening[2]) else { return true }
        guard recOpening else { return false }
        // The line is `offset + length` bytes, then `}` and the line break; a prefix stops before the line break.
        let recordEnd = offset + length
        guard count <= recordEnd + 1 else { return false }
        if count >= recordEnd {
            let record = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[offset..<recordEnd])
            guard CRC32C.checksum(record) == check else { return false }
        }
        return count <= recordEnd || bytes[recordEnd] == UInt8(ascii: "}")
    }

    private static func readJournalRecord(_ reader: inout JSONReader) throws(WireFormatError) -> JournalEntry {
        var journal: Int64?
        var base: Int64?
        var chain: UInt32?
        var sequence: Int64?
        var previous: UInt32?
        var asOf: Int64?
        var nextID: Int64?
        var put: [StoredTask] = []
        var drop: [TaskID] = []
        try reader.readObject { (reader, key) throws(WireFormatError) in
            switch key {
            case "journal": journal = try reader.readInt64()
            case "base": base = try reader.readInt64("base", in: StoredLimits.sequences)
            case "chain": chain = try readCheck(&reader)
            case "seq": sequence = try reader.readInt64("seq", in: StoredLimits.changeSequences)
            case "prev": previous = try readCheck(&reader)
            case "as_of": asOf = try reader.readInt64("as_of", in: StoredLimits.timestamps)
            case "next_id": nextID = try reader.readInt64("next_id", in: StoredLimits.nextIDs)
            case "put":
                try reader.readArray { (reader) throws(WireFormatError) in put.append(try readTask(&reader)) }
            case "drop":
                try reader.readArray { (reader) throws(WireFormatError) in
                    let value = try reader.readInt64("dropped task id", in: StoredLimits.taskIDs)
                    guard let id = TaskID(rawValue: value) else { throw reader.failure("task id \(value) in drop") }
                    drop.append(id)
                }
            default: try reader.skipValue()
            }
        }
        if let journal {
            guard journal == Int64(storeFormat) else {
                throw reader.failure("journal format \(journal) is not one this version reads (\(storeFormat))")
            }
            guard let base, let chain else { throw reader.failure("the header lacks base or chain") }
            return .header(base: UInt64(base), chain: chain)
        }
        guard let sequence, let previous, let asOf, let nextID else {
            throw reader.failure("the record lacks one of seq, prev, as_of, next_id")
        }
        // Checked here as well as where the delta is applied, so that a line that decodes is one that can apply.
        guard isAscending(put.lazy.map(\.id.rawValue)), isAscending(drop.lazy.map(\.rawValue)) else {
            throw reader.failure("the ids of put or drop are not ascending")
        }
        if let last = put.last?.id.rawValue, last >= nextID {
            throw reader.failure("task \(last) in put is not below next_id \(nextID)")
        }
        if let last = drop.last?.rawValue, last >= nextID {
            throw reader.failure("task \(last) in drop is not below next_id \(nextID)")
        }
        let delta = StateDelta(
            sequence: UInt64(sequence), asOf: Timestamp(rawValue: asOf), nextID: nextID, put: put, drop: drop)
        return .change(delta, previous: previous)
    }

    private static func isAscending(_ values: some Sequence<Int64>) -> Bool {
        var previous: Int64 = 0
        for value in values {
            guard value > previous else { return false }
            previous = value
        }
        return true
    }
}
