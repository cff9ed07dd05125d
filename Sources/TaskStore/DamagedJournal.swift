import Glibc
import TaskCore

/// A journal's bytes from its first damaged line to its end, and the side file that keeps them.
///
/// A complete journal line that fails its check may hold an acknowledged change, so it is never skipped and never
/// cut off by a write: its workspace answers 503 until an operator repairs it (`taskctl workspace repair`). The first
/// process able to write that finds the damage copies these bytes into `journal.damaged-<offset>-<crc>` in the
/// workspace's directory: `<offset>` is the damaged line's byte offset in the journal, `<crc>` the CRC-32C of the kept
/// bytes (eight hex digits). The same damage found again (by another request or process) has the same name and is
/// not written twice; other damage gets another name, so no side file is ever overwritten. The file is created under
/// a temporary name and given its final one with `link`, which never replaces a file.
struct DamagedJournal: Sendable {
    static let namePrefix = "journal.damaged-"

    /// Where the first damaged line starts in the journal, and its line number (the header is line 1).
    let offset: Int64
    let lineNumber: Int
    /// Why the line fails its check.
    let reason: String
    /// The journal's bytes from `offset` to its end.
    let bytes: [UInt8]

    init(offset: Int64, lineNumber: Int, reason: String, bytes: [UInt8]) {
        self.offset = offset
        self.lineNumber = lineNumber
        self.reason = reason
        self.bytes = bytes
    }

    /// The damage `scan` found in `journal` (its whole bytes); `nil` when there is none (a torn tail is none).
    init?(_ scan: JournalScan, journal: [UInt8]) {
        guard case .corrupt(let offset, let lineNumber, let reason) = scan.damage, offset >= 0,
            offset <= Int64(journal.count)
        else { return nil }
        self.offset = offset
        self.lineNumber = lineNumber
        self.reason = reason
        self.bytes = Array(journal[Int(offset)...])
    }

    var fileName: String {
        let check = CRC32C.checksum(bytes)
        let hex = String(check, radix: 16)
        return Self.namePrefix + "\(offset)-" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    func path(in files: WorkspaceFiles) -> String { files.directory + "/" + fileName }

    /// Whether the side file exists (with this name, so with these bytes).
    func isKept(in files: WorkspaceFiles) -> Bool {
        (try? Syscall.status(path(in: files))) != nil
    }

    /// Writes the side file unless it exists, durably; `true` when this call wrote it.
    @discardableResult
    func keep(in files: WorkspaceFiles) throws(StoreError) -> Bool {
        let destination = path(in: files)
        if try Syscall.status(destination) != nil { return false }
        // Unique per caller: another thread or process may be keeping the same damage at this moment.
        let temporary = files.directory + "/journal.damaged.tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fd = try Syscall.open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        defer {
            Syscall.close(fd)
            Syscall.unlinkIfExists(temporary)
        }
        try Syscall.writeAll(fd, bytes, path: temporary)
        try Syscall.fsync(fd, path: temporary)
        let created = try Syscall.link(temporary, to: destination)
        try Syscall.fsyncDirectory(files.directory)
        return created
    }

    // MARK: What the kept bytes still tell

    /// An upper bound on how many changes the kept bytes held: each journal line is one change, and each complete
    /// line ends with a line break. One more is counted in case the damage hit a line break and joined two lines.
    /// (Bytes after the last line break were never acknowledged: an append is acknowledged only once it is durable.)
    var changeBound: Int {
        bytes.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) } + 1
    }

    /// The changes of the complete lines that still pass their check, by position: written by taskd as they are.
    var checkedChanges: [StateDelta] {
        var changes: [StateDelta] = []
        bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            while start < buffer.count, let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = UnsafeBufferPointer(rebasing: buffer[start..<newline])
                if let decoded = try? WireFormat.decodeJournalLine(line), case .change(let delta, _) = decoded.entry {
                    changes.append(delta)
                }
                start = newline + 1
            }
        }
        return changes
    }
}
