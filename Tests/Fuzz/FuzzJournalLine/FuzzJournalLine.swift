import TaskCore
import TaskdFuzzSupport

/// libFuzzer target: one journal line (without its line break), as `WireFormat.decodeJournalLine` reads it, and the
/// torn-tail rule (`WireFormat.isJournalLinePrefix`). A line that decodes must encode to a line that decodes to the
/// same entry and check; its change, applied to an empty workspace, must leave a storable state; every prefix of a
/// good line is a possible torn write. An input that starts with the byte 1 is a record: it is sealed into a line
/// with the right length and check first, so that changed records reach the record decoder.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJournalLine(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput.bytes(data, size)
    if input.first == 1 { input = FuzzInput.sealedLine(record: Array(input.dropFirst())) }
    let isPrefix = input.withUnsafeBufferPointer { WireFormat.isJournalLinePrefix($0) }
    guard let line = try? input.withUnsafeBufferPointer({ try WireFormat.decodeJournalLine($0) }) else { return 0 }
    FuzzInput.require(isPrefix, "a good line without its line break is not taken for a torn write")
    for length in [0, input.count / 2, input.count - 1] {
        let prefix = Array(input[..<length])
        FuzzInput.require(
            prefix.withUnsafeBufferPointer { WireFormat.isJournalLinePrefix($0) }, "prefix of \(length) bytes")
    }
    let (bytes, check) = WireFormat.journalLine(line.entry)
    let again = try? Array(bytes.dropLast()).withUnsafeBufferPointer { try WireFormat.decodeJournalLine($0) }
    FuzzInput.require(again == JournalLine(entry: line.entry, check: check), "the line does not read back")
    if case .change(let delta, _) = line.entry {
        var state = WorkspaceState.empty
        if (try? delta.apply(to: &state)) != nil {
            FuzzInput.require((try? StoredLimits.check(state)) != nil, "an applied line left a state out of range")
            FuzzInput.exerciseScheduler(on: state)
        }
    }
    return 0
}
