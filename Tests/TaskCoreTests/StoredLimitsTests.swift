import Testing

@testable import TaskCore

/// Stored numbers are untrusted: every decoder checks them against `StoredLimits`, naming the field, and the state
/// machine refuses a change at the edge of a range instead of trapping.
struct StoredLimitsTests {
    static let max = StoredLimits.maximumSafeInteger

    /// A checkpoint document with one task, whose fields are given as JSON text.
    static func document(
        asOf: String = "1000", nextID: String = "3", sequence: String = "2", id: String = "1",
        createdAt: String = "900", duration: String = "3000", startedAt: String? = nil, format: String = "2"
    ) -> [UInt8] {
        let started = startedAt.map { #","started_at":\#($0)"# } ?? ""
        return Array(
            (#"{"as_of":\#(asOf),"chain":"00000000","format":\#(format),"next_id":\#(nextID),"seq":\#(sequence),"#
                + #""tasks":[{"created_at":\#(createdAt),"duration_ms":\#(duration),"id":\#(id),"name":"a"\#(started),"#
                + #""type":"gx.tiny"}]}"#).utf8)
    }

    /// A journal line around `record`, with its length and check value right, so only the record is judged.
    static func line(_ record: String) -> [UInt8] {
        let bytes = Array(record.utf8)
        let check = String(CRC32C.checksum(bytes), radix: 16)
        let padded = String(repeating: "0", count: 8 - check.count) + check
        return Array(#"{"crc":"\#(padded)","len":\#(bytes.count),"rec":"#.utf8) + bytes + [UInt8(ascii: "}")]
    }

    static func decodeLine(_ bytes: [UInt8]) throws(WireFormatError) -> JournalLine {
        try bytes.withUnsafeBufferPointer { (buffer) throws(WireFormatError) in try WireFormat.decodeJournalLine(buffer)
        }
    }

    static let outOfRangeDocuments: [(field: String, bytes: [UInt8])] = [
        // The issue's own case: an export whose workspace said this imported fine, then trapped the responder.
        ("next_id", document(nextID: "9223372036854775807")),
        ("next_id", document(nextID: "9007199254740992")),
        ("next_id", document(nextID: "0")),
        ("next_id", document(nextID: "-3")),
        ("next_id", document(nextID: "99999999999999999999")),
        ("seq", document(sequence: "9007199254740992")),
        ("seq", document(sequence: "-1")),
        ("as_of", document(asOf: "-1")),
        ("as_of", document(asOf: "253402300800000")),
        ("task id", document(nextID: "\(max)", id: "\(max)")),
        ("task id", document(id: "0")),
        ("created_at", document(createdAt: "-5")),
        ("created_at", document(createdAt: "9223372036854775807")),
        ("duration_ms", document(duration: "0")),
        ("duration_ms", document(duration: "450000001")),
        ("duration_ms", document(duration: "9223372036854775807")),
        ("started_at", document(startedAt: "-9223372036854775808")),
        ("started_at", document(startedAt: "253402300800000")),
        ("format", document(format: "3")),
    ]

    @Test(arguments: outOfRangeDocuments)
    func anOutOfRangeNumberInADocumentIsAnErrorNamingItsField(_ field: String, _ bytes: [UInt8]) {
        let error = #expect(throws: WireFormatError.self) { try WireFormat.decodeCheckpoint(bytes) }
        #expect(error?.message.hasPrefix(field) == true || error?.message.contains(" \(field) ") == true, "\(error)")
    }

    /// The issue's export: its workspace's state is a checkpoint document, read by the same decoder.
    @Test func anExportWhoseWorkspaceHasAnOutOfRangeNextIDDoesNotRead() throws {
        let workspace = String(decoding: Self.document(nextID: "9223372036854775807"), as: UTF8.self)
        let export =
            #"{"exported_at":1,"format":"taskd-tenant","frozen":true,"keys":[],"tenant":"acme","version":1,"#
            + #""workspaces":[{"id":"default","state":\#(workspace)}]}"#
        let error = #expect(throws: WireFormatError.self) { try WireFormat.decodeTenantExport(Array(export.utf8)) }
        #expect(
            error?.message.hasPrefix("workspaces[0].state: next_id 9223372036854775807 is out of range") == true,
            "\(String(describing: error))")
    }

    @Test func valuesAtTheEdgesOfTheRangesRead() throws {
        let edge = Self.document(
            asOf: "253402300799999", nextID: "\(Self.max)", sequence: "\(Self.max)", id: "\(Self.max - 1)",
            createdAt: "0", duration: "450000000", startedAt: "253402300799999")
        let (state, _, _) = try WireFormat.decodeCheckpoint(edge)
        #expect(state.nextID == Self.max && state.sequence == UInt64(Self.max))
        #expect(state.tasks.first?.durationMilliseconds == StoredLimits.maximumDurationMilliseconds)
        try StoredLimits.check(state)
        // The same document, written back, reads the same.
        #expect(try WireFormat.decodeCheckpoint(WireFormat.checkpointDocument(state, chain: 0)).state == state)
    }

    @Test func theLongestDurationIsTheHeaviestBaseTimesOneAndAHalfAtTheLargestTimeScale() throws {
        #expect(StoredLimits.maximumDurationMilliseconds == 450_000_000)
        let policy = try SchedulePolicy(slots: 1, timeScale: SchedulePolicy.maximumTimeScale)
        var generator = SeededGenerator(seed: 11)
        for _ in 0..<10_000 {
            let duration = policy.drawDuration(for: .heavy, using: &generator)
            #expect(StoredLimits.durations.contains(duration))
        }
        #expect(throws: ValidationError.self) { try SchedulePolicy(timeScale: SchedulePolicy.maximumTimeScale + 1) }
    }

    static let outOfRangeRecords: [(field: String, record: String)] = [
        ("seq", #"{"as_of":1,"drop":[],"next_id":1,"prev":"00000000","put":[],"seq":0}"#),
        ("seq", #"{"as_of":1,"drop":[],"next_id":1,"prev":"00000000","put":[],"seq":9007199254740992}"#),
        ("next_id", #"{"as_of":1,"drop":[],"next_id":9223372036854775807,"prev":"00000000","put":[],"seq":1}"#),
        ("as_of", #"{"as_of":-7,"drop":[],"next_id":1,"prev":"00000000","put":[],"seq":1}"#),
        ("dropped task id", #"{"as_of":1,"drop":[9007199254740991],"next_id":5,"prev":"00000000","put":[],"seq":1}"#),
        ("base", #"{"base":9007199254740992,"chain":"00000000","journal":2}"#),
        (
            "duration_ms",
            #"{"as_of":1,"drop":[],"next_id":2,"prev":"00000000","#
                + #""put":[{"created_at":1,"duration_ms":-1,"id":1,"name":"a","type":"gx.tiny"}],"seq":1}"#
        ),
        (
            "put",
            #"{"as_of":1,"drop":[],"next_id":2,"prev":"00000000","#
                + #""put":[{"created_at":1,"duration_ms":5,"id":2,"name":"a","type":"gx.tiny"}],"seq":1}"#
        ),
        ("drop", #"{"as_of":1,"drop":[3],"next_id":2,"prev":"00000000","put":[],"seq":1}"#),
        ("ascending", #"{"as_of":1,"drop":[2,1],"next_id":5,"prev":"00000000","put":[],"seq":1}"#),
    ]

    @Test(arguments: outOfRangeRecords)
    func anOutOfRangeNumberInAJournalLineIsAnErrorNamingItsField(_ field: String, _ record: String) {
        let error = #expect(throws: WireFormatError.self) { try Self.decodeLine(Self.line(record)) }
        #expect(error?.message.contains(field) == true, "\(String(describing: error))")
    }

    @Test func aCreateAtTheLastIDIsRefusedAndLeavesTheStateAsItWas() throws {
        let machine = TaskStateMachine(policy: try SchedulePolicy())
        var state = WorkspaceState(
            nextID: Self.max - 1, sequence: 7, asOf: Timestamp(rawValue: 1_000), tasks: [StoredTask]())
        let create = TaskChange.create(
            name: try TaskName(parsing: "x"), type: .tiny, durationMilliseconds: 3_000, at: Timestamp(rawValue: 2_000))
        // The last id there is: handed out, after which next_id is at its end.
        guard case .created(let record) = try machine.apply(create, to: &state) else {
            Issue.record("not a create")
            return
        }
        #expect(record.id.rawValue == Self.max - 1 && state.nextID == Self.max)
        let before = state
        #expect(throws: TaskError.idsExhausted) { try machine.apply(create, to: &state) }
        #expect(state == before)
        // Deletes and flushes still work: only new ids are used up.
        #expect(try machine.apply(.flush(at: Timestamp(rawValue: 3_000)), to: &state) == .flushed(removed: 1))
    }

    @Test func aStateBuiltWithAnIDBeyondTheRangeRefusesCreatesInsteadOfTrapping() throws {
        // What the issue's import led to: next_id at Int64.max and a create that added one to it.
        let machine = TaskStateMachine(policy: try SchedulePolicy())
        var state = WorkspaceState(nextID: .max, sequence: 1, asOf: Timestamp(rawValue: 0), tasks: [StoredTask]())
        let create = TaskChange.create(
            name: try TaskName(parsing: "x"), type: .tiny, durationMilliseconds: 3_000, at: Timestamp(rawValue: 1))
        #expect(throws: TaskError.idsExhausted) { try machine.apply(create, to: &state) }
        state.nextID = .min
        #expect(throws: TaskError.idsExhausted) { try machine.apply(create, to: &state) }
    }

    @Test func anyChangeAtTheLastSequenceIsRefused() throws {
        let machine = TaskStateMachine(policy: try SchedulePolicy())
        var state = WorkspaceState(
            nextID: 1, sequence: UInt64(Self.max), asOf: Timestamp(rawValue: 0), tasks: [StoredTask]())
        let changes: [TaskChange] = [
            .create(
                name: try TaskName(parsing: "x"), type: .tiny, durationMilliseconds: 3_000, at: Timestamp(rawValue: 1)),
            .flush(at: Timestamp(rawValue: 1)), .delete(TaskID(rawValue: 1)!, at: Timestamp(rawValue: 1)),
        ]
        for change in changes {
            #expect(throws: TaskError.sequenceExhausted) { try machine.apply(change, to: &state) }
        }
        state.sequence = UInt64.max
        #expect(throws: TaskError.sequenceExhausted) { try machine.apply(changes[1], to: &state) }
    }

    @Test func extremeTimesInAStateBuiltInMemoryNeverTrapTheScheduler() throws {
        let machine = TaskStateMachine(policy: try SchedulePolicy(slots: 1))
        let name = try TaskName(parsing: "x")
        let state = WorkspaceState(
            nextID: 4, sequence: 3, asOf: Timestamp(rawValue: .max - 5),
            tasks: [
                StoredTask(
                    id: TaskID(rawValue: 1)!, name: name, type: .heavy, createdAt: Timestamp(rawValue: .max - 10),
                    durationMilliseconds: .max, startedAt: Timestamp(rawValue: .max - 9)),
                StoredTask(
                    id: TaskID(rawValue: 2)!, name: name, type: .heavy, createdAt: Timestamp(rawValue: .min),
                    durationMilliseconds: .max),
                StoredTask(
                    id: TaskID(rawValue: 3)!, name: name, type: .heavy, createdAt: Timestamp(rawValue: 0),
                    durationMilliseconds: .max),
            ])
        for now in [Int64.min, 0, .max - 6, .max] {
            let view = machine.view(of: state, at: Timestamp(rawValue: now))
            #expect(view.tasks.count == 3)
            _ = machine.settled(state, at: Timestamp(rawValue: now))
        }
        var copy = state
        _ = try? machine.apply(.flush(at: Timestamp(rawValue: .max)), to: &copy)
    }

    @Test(arguments: 0..<10)
    func theStateCheckAcceptsWhatTheDecoderAcceptsAndRejectsWhatItRejects(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let state = RandomStates.state(count: Int.random(in: 0...40, using: &generator), &generator)
        try StoredLimits.check(state)
        var broken = state
        switch Int.random(in: 0..<4, using: &generator) {
        case 0: broken.nextID = Self.max + 1
        case 1: broken.sequence = UInt64(Self.max) + 1
        case 2: broken.asOf = Timestamp(rawValue: -1)
        default:
            broken.tasks.append(RandomStates.task(id: broken.nextID, &generator))
        }
        #expect(throws: WireFormatError.self) { try StoredLimits.check(broken) }
        #expect(throws: WireFormatError.self) {
            try WireFormat.decodeCheckpoint(WireFormat.checkpointDocument(broken, chain: 0))
        }
    }
}
