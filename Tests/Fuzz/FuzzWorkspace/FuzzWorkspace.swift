import Foundation
import Logging
import TaskCore
import TaskStore
import TaskdFuzzSupport

/// libFuzzer target: a workspace's files as the store reads them: the input is `checkpoint.json`, a zero byte, then
/// `journal.log` (no zero byte: only a journal). Each input gets a fresh store, as a new process would, and is
/// read, inspected as `taskctl check` does, and written to. Oracles: a workspace that reads is storable and takes a
/// change or refuses it with an error; one that does not read is reported by `inspect`; once `repair` has moved a
/// workspace past its damage, it reads.
///
/// An input that starts with the byte 1 has its journal's lines sealed first (`seal`): their lengths, checks and
/// chain values made right, so that changes to what the records say reach the store's rules (sequences, chains,
/// the checkpoint's agreement with the journal) instead of failing the line's check.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWorkspace(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput.bytes(data, size)
    let sealing = input.first == 1
    if sealing { input.removeFirst() }
    let root = FuzzInput.scratchDirectory + "/state"
    try? FileManager.default.removeItem(atPath: root)
    let logger = Logger(label: "taskd.fuzz") { _ in SwiftLogNoOpLogHandler() }
    /// A store as a new process opens it: nothing cached.
    func freshStore() -> WorkspaceStore? {
        try? WorkspaceStore(
            directory: root, maxWorkspacesPerTenant: 2, logger: logger,
            options: StoreOptions(lockWait: .milliseconds(200)))
    }
    guard let key = try? WorkspaceKey(tenant: TenantID(parsing: "fuzz"), workspace: WorkspaceID(parsing: "w")),
        let store = freshStore()
    else { return 0 }
    let directory = URL(fileURLWithPath: store.journalPath(key)).deletingLastPathComponent().path
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var journal = input
    if let separator = input.firstIndex(of: 0) {
        let checkpoint = Array(input[..<separator])
        journal = Array(input[(separator + 1)...])
        _ = FileManager.default.createFile(atPath: store.checkpointPath(key), contents: Data(checkpoint))
        if sealing { journal = seal(journal, chain: (try? WireFormat.decodeCheckpoint(checkpoint))?.chain ?? 0) }
    } else if sealing {
        journal = seal(journal, chain: 0)
    }
    _ = FileManager.default.createFile(atPath: store.journalPath(key), contents: Data(journal))

    guard let state = try? store.read(key) else {
        FuzzInput.require(store.inspect(key).findings.contains { $0.isProblem }, "check misses an unreadable workspace")
        if (try? store.repair(key)) != nil {
            FuzzInput.require((try? freshStore()?.read(key)) != nil, "a repaired workspace does not read")
        }
        return 0
    }
    FuzzInput.require((try? StoredLimits.check(state)) != nil, "a workspace read out of range")
    FuzzInput.exerciseScheduler(on: state)
    guard let policy = try? SchedulePolicy(), let name = try? TaskName(parsing: "fuzz") else { return 0 }
    let machine = TaskStateMachine(policy: policy)
    let change = TaskChange.create(name: name, type: .tiny, durationMilliseconds: 3_000, at: state.asOf)
    let created = try? store.update(key) { state in
        StoreUpdate(change: change, result: try machine.apply(change, to: &state))
    }
    if created != nil {
        // By another process: this one's cache would hide a journal that only it can read.
        let sequence = (try? freshStore()?.read(key))?.sequence
        FuzzInput.require(sequence == state.sequence + 1, "a committed create is not read by a new process")
    }
    return 0
}

/// The journal with every complete line rebuilt around its record: `len` and `crc` computed, the header's `chain` set
/// to `chain` and each change's `prev` to the check of the line before it.
func seal(_ journal: [UInt8], chain: UInt32) -> [UInt8] {
    let marker = Array(#","rec":"#.utf8)
    var result: [UInt8] = []
    var previous = chain
    var lines = journal.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
    let tail = lines.removeLast()  // after the last line break: left as it is
    for line in lines {
        guard let start = firstIndex(of: marker, in: line), line.last == UInt8(ascii: "}") else {
            result += line + [UInt8(ascii: "\n")]
            continue
        }
        var record = Array(line[(start + marker.count)..<(line.count - 1)])
        replaceCheck(after: #""chain":""#, with: chain, in: &record)
        replaceCheck(after: #""prev":""#, with: previous, in: &record)
        result += FuzzInput.sealedLine(record: record) + [UInt8(ascii: "\n")]
        previous = CRC32C.checksum(record)
    }
    return result + tail
}

private func replaceCheck(after key: String, with value: UInt32, in record: inout [UInt8]) {
    let key = Array(key.utf8)
    guard let start = firstIndex(of: key, in: record), start + key.count + 8 <= record.count else { return }
    record.replaceSubrange((start + key.count)..<(start + key.count + 8), with: FuzzInput.hex(value))
}

private func firstIndex(of pattern: [UInt8], in bytes: [UInt8]) -> Int? {
    guard bytes.count >= pattern.count else { return nil }
    return (0...(bytes.count - pattern.count)).first { bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) }
}
