import TaskCore

/// The lines of a journal (or of the part of one that follows a known offset), each checked on its own.
///
/// Only the bytes after the last line break can be a torn write. An append is one `write` of whole lines, made
/// durable by one `fdatasync` before it is acknowledged, so a crash (or a write still in progress, as a reader
/// without the lock may see it) leaves an exact prefix of those lines: the last of them, cut short, has no line
/// break yet (`WireFormat.isJournalLinePrefix` checks that it can be such a prefix). A complete line (its line break
/// written) that fails its check is damage, wherever it is, the last line included, and so are bytes after the last
/// line break that no write cut short could have left (a complete line whose line break was changed): they may hold
/// an acknowledged change, so they are never ignored or cut off (see docs/state-directory.md, "Damage").
struct JournalScan {
    struct Line {
        let line: JournalLine
        /// Offsets in the file: the first byte of the line and the byte after its line break.
        let start: Int64
        let end: Int64
    }

    enum Damage: Equatable {
        /// Bytes from `offset` to the end of the file hold no line break and are the beginning of a journal line:
        /// ignored by readers, cut by the next write.
        case tornTail(offset: Int64)
        /// A complete line that fails its check, or a tail that is not a torn line; nothing from `offset` on is read.
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
        var found: Damage?
        var collected: [Line] = []
        var end = fileOffset
        bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            var lineNumber = firstLineNumber
            while start < buffer.count {
                guard let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                    let tail = UnsafeBufferPointer(rebasing: buffer[start...])
                    found =
                        WireFormat.isJournalLinePrefix(tail)
                        ? .tornTail(offset: fileOffset + Int64(start))
                        : .corrupt(
                            offset: fileOffset + Int64(start), lineNumber: lineNumber,
                            reason: "the bytes after the last line break are not the beginning of a journal line")
                    return
                }
                do throws(WireFormatError) {
                    let line = try WireFormat.decodeJournalLine(UnsafeBufferPointer(rebasing: buffer[start..<newline]))
                    collected.append(
                        Line(line: line, start: fileOffset + Int64(start), end: fileOffset + Int64(newline + 1)))
                    end = fileOffset + Int64(newline + 1)
                } catch {
                    found = .corrupt(
                        offset: fileOffset + Int64(start), lineNumber: lineNumber,
                        reason: String(error.message.prefix(200)))
                    return
                }
                start = newline + 1
                lineNumber += 1
            }
        }
        lines = collected
        validEnd = end
        damage = found
    }

    /// Whether the bytes hold damage (a complete line that fails its check), not just a torn tail.
    var isCorrupt: Bool {
        if case .corrupt = damage { return true }
        return false
    }
}
