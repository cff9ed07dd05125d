/// The stored workspace document, written and read by hand: `JSONEncoder`/`JSONDecoder` take tens of milliseconds on
/// a workspace of 10,000 tasks.
///
/// The bytes are the same JSON that `Codable` gives with sorted keys, one task per line so that a person can read
/// the file, and any JSON with the same content (other key order, other white space, as `jq` writes it) reads back.
/// Version 1 (`state.json`) has no `format` key; a version 2 checkpoint (`checkpoint.json`) adds `format` and `chain`.
extension WireFormat {
    /// The version of the checkpoint and journal formats this code writes.
    public static let storeFormat = 2

    /// A version 1 document (no `format`, no `chain`).
    public static func workspaceDocument(_ state: WorkspaceState) -> [UInt8] {
        document(state, chain: nil)
    }

    /// A checkpoint: the document at `state.sequence`, with the journal chain value of that state.
    public static func checkpointDocument(_ state: WorkspaceState, chain: UInt32) -> [UInt8] {
        document(state, chain: chain)
    }

    private static func document(_ state: WorkspaceState, chain: UInt32?) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(96 + state.tasks.count * 128)
        bytes.append(contentsOf: #"{"as_of":"#.utf8)
        appendInteger(state.asOf.rawValue, to: &bytes)
        if let chain {
            bytes.append(contentsOf: #","chain":"#.utf8)
            appendCheck(chain, to: &bytes)
            bytes.append(contentsOf: #","format":"#.utf8)
            appendInteger(Int64(storeFormat), to: &bytes)
        }
        bytes.append(contentsOf: #","next_id":"#.utf8)
        appendInteger(state.nextID, to: &bytes)
        bytes.append(contentsOf: #","seq":"#.utf8)
        bytes.append(contentsOf: String(state.sequence).utf8)
        bytes.append(contentsOf: #","tasks":["#.utf8)
        for (index, task) in state.tasks.enumerated() {
            bytes.append(contentsOf: index == 0 ? "\n".utf8 : ",\n".utf8)
            appendStoredTask(task, to: &bytes)
        }
        bytes.append(contentsOf: state.tasks.isEmpty ? "]}\n".utf8 : "\n]}\n".utf8)
        return bytes
    }

    /// `{"created_at":…,"duration_ms":…,"id":…,"name":…,"started_at":…,"type":…}` (no `started_at` while unknown).
    static func appendStoredTask(_ task: StoredTask, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: #"{"created_at":"#.utf8)
        appendInteger(task.createdAt.rawValue, to: &bytes)
        bytes.append(contentsOf: #","duration_ms":"#.utf8)
        appendInteger(task.durationMilliseconds, to: &bytes)
        bytes.append(contentsOf: #","id":"#.utf8)
        appendInteger(task.id.rawValue, to: &bytes)
        bytes.append(contentsOf: #","name":"#.utf8)
        appendString(task.name.rawValue, to: &bytes)
        if let startedAt = task.startedAt {
            bytes.append(contentsOf: #","started_at":"#.utf8)
            appendInteger(startedAt.rawValue, to: &bytes)
        }
        bytes.append(contentsOf: #","type":""#.utf8)
        bytes.append(contentsOf: task.type.rawValue.utf8)
        bytes.append(contentsOf: #""}"#.utf8)
    }

    /// Reads a stored document of either version, checking every value against the model's rules.
    public static func decodeWorkspaceDocument(_ bytes: [UInt8]) throws(WireFormatError) -> WorkspaceState {
        try decodeCheckpoint(bytes).state
    }

    /// Reads a stored document: the state, its format (1 when it has none) and its chain value (0 for version 1).
    public static func decodeCheckpoint(_ bytes: [UInt8]) throws(WireFormatError) -> (
        state: WorkspaceState, format: Int, chain: UInt32
    ) {
        try decodeWhole(bytes) { reader, _ throws(WireFormatError) in try readWorkspace(&reader) }
    }

    /// Reads one document that must fill `bytes`: whatever follows it is an error, as is any error of `read`.
    static func decodeWhole<Document>(
        _ bytes: [UInt8],
        _ read: (inout JSONReader, UnsafeBufferPointer<UInt8>) throws(WireFormatError) -> Document
    ) throws(WireFormatError) -> Document {
        do {
            return try bytes.withUnsafeBufferPointer { buffer in
                var reader = JSONReader(buffer)
                let document = try read(&reader, buffer)
                try reader.expectEnd()
                return document
            }
        } catch let error as WireFormatError {
            throw error
        } catch {
            throw WireFormatError(message: "\(error)")
        }
    }

    static func readWorkspace(_ reader: inout JSONReader) throws(WireFormatError) -> (
        state: WorkspaceState, format: Int, chain: UInt32
    ) {
        var asOf: Int64?
        var nextID: Int64?
        var sequence: Int64?
        var tasks: [StoredTask]?
        var format: Int64 = 1
        var chain: UInt32 = 0
        try reader.readObject { (reader, key) throws(WireFormatError) in
            switch key {
            case "as_of": asOf = try reader.readInt64("as_of", in: StoredLimits.timestamps)
            case "next_id": nextID = try reader.readInt64("next_id", in: StoredLimits.nextIDs)
            case "seq": sequence = try reader.readInt64("seq", in: StoredLimits.sequences)
            case "format": format = try reader.readInt64("format", in: 1...Int64(storeFormat))
            case "chain": chain = try readCheck(&reader)
            case "tasks":
                var list: [StoredTask] = []
                try reader.readArray { (reader) throws(WireFormatError) in list.append(try readTask(&reader)) }
                tasks = list
            default: try reader.skipValue()
            }
        }
        guard let asOf, let nextID, let sequence, let tasks else {
            throw reader.failure("the document lacks one of as_of, next_id, seq, tasks")
        }
        var previous: Int64 = 0
        for task in tasks {
            guard task.id.rawValue > previous, task.id.rawValue < nextID else {
                throw reader.failure("task ids are not ascending below next_id \(nextID) (task \(task.id))")
            }
            previous = task.id.rawValue
        }
        let state = WorkspaceState(
            nextID: nextID, sequence: UInt64(sequence), asOf: Timestamp(rawValue: asOf), tasks: tasks)
        return (state, Int(format), chain)
    }

    /// A check value as JSON: eight lower-case hex digits in quotes.
    static func appendCheck(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for shift in stride(from: 28, through: 0, by: -4) {
            bytes.append(lowerHexDigits[Int((value >> UInt32(shift)) & 0xF)])
        }
        bytes.append(UInt8(ascii: "\""))
    }

    static func readCheck(_ reader: inout JSONReader) throws(WireFormatError) -> UInt32 {
        let text = try reader.readString()
        guard text.utf8.count == 8, let value = UInt32(text, radix: 16) else {
            throw reader.failure("expected eight hex digits")
        }
        return value
    }

    static let lowerHexDigits = Array("0123456789abcdef".utf8)

    /// One stored task, every field checked against `StoredLimits` and the name against `TaskName`'s stored rules.
    static func readTask(_ reader: inout JSONReader) throws(WireFormatError) -> StoredTask {
        var id: Int64?
        var name: String?
        var type: String?
        var createdAt: Int64?
        var duration: Int64?
        var startedAt: Int64?
        try reader.readObject { (reader, key) throws(WireFormatError) in
            switch key {
            case "id": id = try reader.readInt64("task id", in: StoredLimits.taskIDs)
            case "name": name = try reader.readString()
            case "type": type = try reader.readString()
            case "created_at": createdAt = try reader.readInt64("created_at", in: StoredLimits.timestamps)
            case "duration_ms": duration = try reader.readInt64("duration_ms", in: StoredLimits.durations)
            case "started_at":
                startedAt = reader.readNull() ? nil : try reader.readInt64("started_at", in: StoredLimits.timestamps)
            default: try reader.skipValue()
            }
        }
        guard let id, let name, let type, let createdAt, let duration, let taskID = TaskID(rawValue: id) else {
            throw reader.failure("a task lacks one of id, name, type, created_at, duration_ms")
        }
        guard let taskType = TaskType(rawValue: type) else {
            throw reader.failure("task \(id) has unknown type '\(type.prefix(40))'")
        }
        let taskName: TaskName
        do {
            taskName = try TaskName(stored: name)
        } catch {
            throw reader.failure("task \(id): \(error.message)")
        }
        return StoredTask(
            id: taskID, name: taskName, type: taskType, createdAt: Timestamp(rawValue: createdAt),
            durationMilliseconds: duration, startedAt: startedAt.map(Timestamp.init(rawValue:)))
    }

    static func appendInteger(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            appendDigits(value.magnitude, to: &bytes)
        } else {
            appendDigits(UInt64(value), to: &bytes)
        }
    }

    private static func appendDigits(_ value: UInt64, to bytes: inout [UInt8]) {
        // UInt64.max has 20 digits; they are written backwards into a fixed buffer, then appended at once.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var remaining = value
            var index = buffer.count
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            } while remaining > 0
            bytes.append(contentsOf: buffer[index...])
        }
    }
}
