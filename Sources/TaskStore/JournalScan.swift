import TaskCore

/// The lines of a journal (or of the part of one that follows a known offset), each checked on its own.
///
/// A line that fails its check is a torn tail when nothing good follows it (a write cut short by a crash, or one
/// still in progress), and damage otherwise: good lines after a bad one mean the bad one was not the last write.
struct JournalScan {
    struct Line {
        let line: JournalLine
        /// Offsets in the file: the first byte of the line and the byte after its line break.
        let start: Int64
        let end: Int64
    }

    enum Damage: Equatable {
        /// Bytes from `offset` to the end of the file form no good line: ignored by readers, cut by the next write.
        case tornTail(offset: Int64)
        /// A bad line followed by good ones.
        case corrupt(offset: Int64, lineNumber: Int, reason: String)
    }

    private(set) var lines: [Line] = []
    /// The byte after the last good line: where the next append belongs.
    private(set) var validEnd: Int64
    private(set) var damage: Damage?

    /// Checks `bytes`, which start at `fileOffset` in the file (on a line boundary); line numbers count from
    /// `firstLineNumber`.
    init(_ bytes: [UInt8], fileOffset: Int64 = 0, firstLineNumber: Int = 1) {
        validEnd = fileOffset
        var firstBad: (offset: Int64, lineNumber: Int, reason: String)?
        bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            var lineNumber = firstLineNumber
            while start < buffer.count {
                guard let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                    if firstBad == nil {
                        firstBad = (fileOffset + Int64(start), lineNumber, "the last line has no line break")
                    }
                    break
                }
                defer {
                    start = newline + 1
                    lineNumber += 1
                }
                do throws(WireFormatError) {
                    let line = try WireFormat.decodeJournalLine(UnsafeBufferPointer(rebasing: buffer[start..<newline]))
                    if let bad = firstBad {
                        damage = .corrupt(offset: bad.offset, lineNumber: bad.lineNumber, reason: bad.reason)
                        return
                    }
                    lines.append(
                        Line(line: line, start: fileOffset + Int64(start), end: fileOffset + Int64(newline + 1)))
                    validEnd = fileOffset + Int64(newline + 1)
                } catch {
                    if firstBad == nil { firstBad = (fileOffset + Int64(start), lineNumber, error.message) }
                }
            }
        }
        if damage == nil, let bad = firstBad { damage = .tornTail(offset: bad.offset) }
    }

    /// Whether the bytes hold damage that is not a torn tail.
    var isCorrupt: Bool {
        if case .corrupt = damage { return true }
        return false
    }
}
