import Foundation

/// Every byte of JSON that taskd writes goes through here.
///
/// Tasks and task lists, the hot path, are written by hand in the documented key order (`id`, `name`, `type`,
/// `status`), compact, UTF-8, with `/` left unescaped. Everything else uses the one shared `JSONEncoder`, with sorted
/// keys because key order is otherwise random on Linux.
public enum WireFormat {
    /// `{"id":3,"name":"abc","type":"gx.tiny","status":"queued"}`
    public static func task(_ task: TaskRecord) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + task.name.rawValue.utf8.count)
        appendTask(task, to: &bytes)
        return bytes
    }

    /// `[{…},{…}]`: one line of the WebSocket stream, without the line break.
    public static func taskList(_ tasks: [TaskRecord]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(2 + tasks.count * 64)
        appendTaskList(tasks, to: &bytes)
        return bytes
    }

    /// `{"tasks":[…]}`: the body of `GET /tasks`.
    public static func tasksEnvelope(_ tasks: [TaskRecord]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(12 + tasks.count * 64)
        bytes.append(contentsOf: #"{"tasks":"#.utf8)
        appendTaskList(tasks, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    /// `{"task":{…}}`: the body of a create's answer.
    public static func taskEnvelope(_ task: TaskRecord) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.append(contentsOf: #"{"task":"#.utf8)
        appendTask(task, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    /// `{"code":"…","message":"…"}`: the one shape of every error.
    public static func error(code: String, message: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.append(contentsOf: #"{"code":"#.utf8)
        appendString(code, to: &bytes)
        bytes.append(contentsOf: #","message":"#.utf8)
        appendString(message, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    public static func appendTaskList(_ tasks: [TaskRecord], to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "["))
        for (index, task) in tasks.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            appendTask(task, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    public static func appendTask(_ task: TaskRecord, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: #"{"id":"#.utf8)
        appendInteger(task.id.rawValue, to: &bytes)
        bytes.append(contentsOf: #","name":"#.utf8)
        appendString(task.name.rawValue, to: &bytes)
        bytes.append(contentsOf: #","type":""#.utf8)
        bytes.append(contentsOf: task.type.rawValue.utf8)
        bytes.append(contentsOf: #"","status":""#.utf8)
        bytes.append(contentsOf: task.status.rawValue.utf8)
        bytes.append(contentsOf: #""}"#.utf8)
    }

    /// A JSON string literal: `"` and `\` escaped, control characters as `\n`-style or `\u00XX` escapes, everything
    /// else (including `/` and non-ASCII) as its UTF-8 bytes.
    public static func appendString(_ string: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        let copied = string.utf8.withContiguousStorageIfAvailable { appendEscaped($0, to: &bytes) }
        if copied == nil {
            Array(string.utf8).withUnsafeBufferPointer { appendEscaped($0, to: &bytes) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Copies runs that need no escape in one go; only `"`, `\` and control characters are rewritten.
    private static func appendEscaped(_ source: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        var runStart = 0
        for index in source.indices {
            let byte = source[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: source[runStart..<index]))
            runStart = index + 1
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case 0x0A: bytes.append(contentsOf: #"\n"#.utf8)
            case 0x0D: bytes.append(contentsOf: #"\r"#.utf8)
            case 0x09: bytes.append(contentsOf: #"\t"#.utf8)
            case 0x08: bytes.append(contentsOf: #"\b"#.utf8)
            case 0x0C: bytes.append(contentsOf: #"\f"#.utf8)
            default:
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(hexDigits[Int(byte >> 4)])
                bytes.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: source[runStart..<source.count]))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    // MARK: Everything else

    /// Encodes any other value (stored documents, change-log records, admin output) with sorted keys.
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        Array(try encoder.encode(value))
    }

    public static func decode<Value: Decodable>(_ type: Value.Type, from bytes: some Collection<UInt8>) throws -> Value
    {
        try JSONDecoder().decode(type, from: Data(bytes))
    }

    // JSONEncoder is documented thread-safe for `encode`; its options are fixed here and never changed.
    private nonisolated(unsafe) static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
