import Glibc
import Logging
import TaskCore

// Design note: reading without a lock.
//
// A workspace is its checkpoint plus the journal lines after the checkpoint's sequence. Writers append to the journal
// under the workspace lock; a checkpoint is written in two renames, `checkpoint.json` first and then a new
// `journal.log` that starts at it, each followed by an fsync of the directory. Readers take no lock. They open the
// journal first and the checkpoint second, so the checkpoint they read is never older than the journal's start:
// either it is the one the journal starts at, or a newer one whose sequence the journal reaches (its line there must
// carry the checkpoint's chain value), or a newer one still, written after the journal they hold was replaced, which
// is then the state to return.
//
// Chain values tie each state to the exact line that produced it: every change line names the check value of the
// line before it (`prev`), a new journal names the check value of the state it starts from, and so does a checkpoint.
// A cached state is therefore continued only by lines that name it, which also protects a reader against a journal
// that was cut back after a failed write and grew again.

/// Reads a workspace's files into a snapshot, or brings a cached snapshot up to date by reading only what changed.
struct WorkspaceReader {
    let files: WorkspaceFiles
    /// When set, a damaged journal found by this reader has its damaged bytes kept in a side file
    /// (`DamagedJournal`), and this logger says so. Unset for read-only processes and for `taskctl check`.
    var damageLogger: Logger?

    init(files: WorkspaceFiles, keepingDamageWith logger: Logger? = nil) {
        self.files = files
        self.damageLogger = logger
    }

    /// The current state: `cached` itself when the files did not change, `cached` plus the new journal lines when
    /// the journal only grew (or was replaced by one that continues it), otherwise a full read.
    func read(cached: WorkspaceSnapshot?) throws(StoreError) -> WorkspaceSnapshot {
        if let cached, let refreshed = try refresh(cached) { return refreshed }
        return try readAll()
    }

    // MARK: Refreshing a cached snapshot

    /// `nil` when only a full read will do.
    private func refresh(_ cached: WorkspaceSnapshot) throws(StoreError) -> WorkspaceSnapshot? {
        let journal = try Syscall.status(files.journal)
        switch cached.source {
        case .nothing:
            return nil
        case .legacy(let identity):
            guard journal == nil, try Syscall.status(files.checkpoint) == nil,
                let current = try Syscall.status(files.legacy), current.isUnchanged(since: identity)
            else { return nil }
            return cached
        case .checkpointOnly(let identity):
            guard journal == nil, let current = try Syscall.status(files.checkpoint),
                current.isUnchanged(since: identity)
            else { return nil }
            return cached
        case .journal(let position):
            guard let journal else { return nil }
            if journal.isSameFile(as: position.identity) {
                // A checkpoint changes only together with a new journal: otherwise someone else replaced it.
                let checkpoint = try Syscall.status(files.checkpoint)
                guard Self.isUnchanged(checkpoint, since: position.checkpoint) else { return nil }
                if journal.isUnchanged(since: position.identity) { return cached }
            }
            return try continueJournal(cached, from: position)
        }
    }

    private func continueJournal(_ cached: WorkspaceSnapshot, from position: WorkspaceSnapshot.JournalPosition)
        throws(StoreError) -> WorkspaceSnapshot?
    {
        guard let fd = try Syscall.openIfExists(files.journal, O_RDONLY) else { return nil }
        defer { Syscall.close(fd) }
        let identity = try Syscall.status(of: fd, path: files.journal)
        var snapshot = cached
        if identity.isSameFile(as: position.identity) {
            // Appends only ever make the journal longer: a journal rewritten at the same size (or cut back) was
            // changed some other way, and is read again from the start.
            guard identity.size > position.identity.size, identity.size >= position.validEnd else { return nil }
            let bytes = try Syscall.readToEnd(
                fd, from: position.lastLineStart, path: files.journal,
                expectedSize: Int(identity.size - position.lastLineStart))
            let scan = JournalScan(bytes, fileOffset: position.lastLineStart)
            guard !scan.isCorrupt, let first = scan.lines.first, first.line.check == position.lastLineCheck else {
                return nil
            }
            guard Self.apply(scan.lines.dropFirst(), to: &snapshot) else { return nil }
            snapshot.source = .journal(
                Self.position(identity, scan, last: scan.lines.last ?? first, checkpoint: position.checkpoint))
            return snapshot
        }
        // A new journal: usable when it continues the cached state (it starts at it, or passes through it).
        let bytes = try Syscall.readToEnd(fd, path: files.journal, expectedSize: Int(identity.size))
        let scan = JournalScan(bytes)
        guard !scan.isCorrupt, let first = scan.lines.first, case .header(let base, let chain) = first.line.entry
        else { return nil }
        var remaining = scan.lines.dropFirst()
        if base == cached.state.sequence {
            guard chain == cached.chain else { return nil }
        } else if base < cached.state.sequence {
            guard let index = remaining.firstIndex(where: { $0.line.check == cached.chain }) else { return nil }
            remaining = remaining[(index + 1)...]
        } else {
            return nil
        }
        guard Self.apply(remaining, to: &snapshot) else { return nil }
        // The checkpoint that goes with this journal was renamed before it; a newer one means a newer journal too,
        // which the next read notices anyway.
        let checkpoint = try Syscall.status(files.checkpoint)
        snapshot.source = .journal(
            Self.position(identity, scan, last: scan.lines.last ?? first, checkpoint: checkpoint))
        return snapshot
    }

    /// Applies change lines that must continue `snapshot` one by one; `false` at the first that does not.
    private static func apply(_ lines: some Sequence<JournalScan.Line>, to snapshot: inout WorkspaceSnapshot) -> Bool {
        for scanned in lines {
            guard case .change(let delta, let previous) = scanned.line.entry, previous == snapshot.chain,
                delta.sequence == snapshot.state.sequence + 1
            else { return false }
            do {
                try delta.apply(to: &snapshot.state)
            } catch {
                return false
            }
            snapshot.chain = scanned.line.check
        }
        return true
    }

    private static func position(
        _ identity: Syscall.FileIdentity, _ scan: JournalScan, last: JournalScan.Line,
        checkpoint: Syscall.FileIdentity?
    ) -> WorkspaceSnapshot.JournalPosition {
        .init(
            identity: identity, validEnd: scan.validEnd, lastLineStart: last.start, lastLineCheck: last.line.check,
            checkpoint: checkpoint)
    }

    private static func isUnchanged(_ current: Syscall.FileIdentity?, since known: Syscall.FileIdentity?) -> Bool {
        switch (current, known) {
        case (nil, nil): true
        case (.some(let current), .some(let known)): current.isUnchanged(since: known)
        default: false
        }
    }

    // MARK: Reading everything

    private func readAll() throws(StoreError) -> WorkspaceSnapshot {
        // A conversion from version 1 may move the state between the files while we look: look again then.
        for _ in 0..<3 {
            if let fd = try Syscall.openIfExists(files.journal, O_RDONLY) {
                defer { Syscall.close(fd) }
                return try readJournal(fd)
            }
            if let (state, chain, identity) = try readCheckpoint() {
                return WorkspaceSnapshot(state: state, chain: chain, source: .checkpointOnly(identity))
            }
            if let (bytes, identity) = try Self.readFile(files.legacy) {
                let state = try Self.decodeDocument(bytes, path: files.legacy).state
                return WorkspaceSnapshot(state: state, chain: 0, source: .legacy(identity))
            }
            if try Syscall.status(files.journal) == nil, try Syscall.status(files.checkpoint) == nil {
                return .nothing
            }
        }
        return .nothing
    }

    private func readJournal(_ fd: Int32) throws(StoreError) -> WorkspaceSnapshot {
        let identity = try Syscall.status(of: fd, path: files.journal)
        let bytes = try Syscall.readToEnd(fd, path: files.journal, expectedSize: Int(identity.size))
        let reading = try readJournal(bytes, identity: identity)
        guard let damage = reading.damage else { return reading.snapshot }
        throw refuse(damage)
    }

    /// What a journal's bytes give: the state of its good lines on top of the checkpoint, and the damage that
    /// stopped the reading, if any: the first complete line that fails its check, or the first line that does not
    /// continue the one before it (a second header, a break in `seq` or `prev`, a change that does not apply).
    /// Throws when the journal and the checkpoint cannot be put together at all (a missing or disagreeing checkpoint).
    func readJournal(_ bytes: [UInt8], identity: Syscall.FileIdentity) throws(StoreError) -> JournalReading {
        let scan = JournalScan(bytes)
        if let damage = DamagedJournal(scan, journal: bytes) {
            // Everything before the damaged line is read as usual, so that a repair knows the good prefix's state.
            let prefix = Array(bytes[..<Int(damage.offset)])
            var reading = try readGoodLines(JournalScan(prefix), bytes: bytes, identity: identity)
            if reading.damage == nil { reading.damage = damage }
            return reading
        }
        return try readGoodLines(scan, bytes: bytes, identity: identity)
    }

    /// Reads the lines of `scan`, which pass their checks, on top of the checkpoint.
    private func readGoodLines(_ scan: JournalScan, bytes: [UInt8], identity: Syscall.FileIdentity)
        throws(StoreError) -> JournalReading
    {
        let checkpoint = try readCheckpoint()
        guard let first = scan.lines.first, case .header(let base, let headerChain) = first.line.entry else {
            // Without its header nothing in the journal can be placed: all of it is damaged.
            let reason = bytes.isEmpty ? "the file is empty" : "the first line is not a journal header"
            guard let (state, chain, _) = checkpoint else { throw corrupt(reason) }
            let damage = DamagedJournal(offset: 0, lineNumber: 1, reason: reason, bytes: bytes)
            return JournalReading(
                snapshot: WorkspaceSnapshot(state: state, chain: chain, source: .nothing), damage: damage)
        }
        var records = ArraySlice(scan.lines.dropFirst())
        var damage: DamagedJournal?
        var expected = (sequence: base, chain: headerChain)
        for (index, scanned) in zip(2..., records) {
            let reason: String
            if case .change(let delta, let previous) = scanned.line.entry {
                if delta.sequence == expected.sequence + 1, previous == expected.chain {
                    expected = (delta.sequence, scanned.line.check)
                    continue
                }
                reason =
                    "it has seq \(delta.sequence) after seq \(expected.sequence), or does not continue the line before"
                    + " it (prev)"
            } else {
                reason = "it is a second header"
            }
            damage = Self.damage(at: scanned, lineNumber: index, reason: reason, in: bytes)
            records = records[..<records.index(records.startIndex, offsetBy: index - 2)]
            break
        }
        var snapshot: WorkspaceSnapshot
        var checkpointIsNewer = false
        if let (state, chain, _) = checkpoint {
            let sequence = state.sequence
            if sequence < base {
                throw corrupt(
                    "the journal starts at seq \(base) but \(WorkspaceFiles.checkpointName) is at seq \(sequence)")
            }
            snapshot = WorkspaceSnapshot(state: state, chain: chain, source: .nothing)
            if sequence == base {
                guard chain == headerChain else { throw checkpointDisagrees(sequence) }
            } else if let index = records.firstIndex(where: { $0.line.entry.sequence == sequence }) {
                guard records[index].line.check == chain else { throw checkpointDisagrees(sequence) }
                records = records[(index + 1)...]
            } else {
                // The checkpoint is newer than this whole journal: it was replaced after we opened it (or the two
                // were put together by hand). Every line is older than the checkpoint; the state is the checkpoint's,
                // and a writer must start a new journal at it rather than append to this one.
                records = records[records.endIndex...]
                checkpointIsNewer = true
            }
        } else if base == 0 {
            snapshot = WorkspaceSnapshot(state: .empty, chain: headerChain, source: .nothing)
        } else {
            throw corrupt("the journal starts at seq \(base) but \(WorkspaceFiles.checkpointName) is missing")
        }
        var last = first
        for scanned in records {
            guard case .change(let delta, _) = scanned.line.entry else { continue }
            do {
                try delta.apply(to: &snapshot.state)
            } catch {
                let number = scan.lines.firstIndex { $0.start == scanned.start }.map { $0 + 1 } ?? 0
                damage = Self.damage(
                    at: scanned, lineNumber: number, reason: "its change does not apply: \(error.message)", in: bytes)
                break
            }
            snapshot.chain = scanned.line.check
            last = scanned
        }
        if damage == nil, let end = scan.lines.last { last = end }
        if checkpointIsNewer, damage == nil, let checkpointIdentity = checkpoint?.2 {
            snapshot.source = .checkpointOnly(checkpointIdentity)
        } else {
            snapshot.source = .journal(Self.position(identity, scan, last: last, checkpoint: checkpoint?.2))
        }
        return JournalReading(snapshot: snapshot, damage: damage)
    }

    private static func damage(at line: JournalScan.Line, lineNumber: Int, reason: String, in bytes: [UInt8])
        -> DamagedJournal
    {
        DamagedJournal(
            offset: line.start, lineNumber: lineNumber, reason: reason, bytes: Array(bytes[Int(line.start)...]))
    }

    /// The error a damaged journal gives every reader and writer: the bytes are kept in a side file first, when this
    /// reader may write one.
    private func refuse(_ damage: DamagedJournal) -> StoreError {
        var kept = damage.isKept(in: files)
        if !kept, let logger = damageLogger, !damage.bytes.isEmpty {
            do {
                kept = true
                if try damage.keep(in: files) {
                    logger.warning(
                        "Kept the damaged part of a journal in a side file",
                        metadata: [
                            "store.file": "\(files.journal)", "store.offset": "\(damage.offset)",
                            "store.side_file": "\(damage.path(in: files))",
                        ])
                }
            } catch {
                kept = false
                logger.error(
                    "Cannot keep the damaged part of a journal",
                    metadata: ["store.file": "\(files.journal)", "error": "\(error)"])
            }
        }
        let keptNote = kept ? "; the bytes from there on are kept in \(damage.fileName)" : ""
        return corrupt(
            "line \(damage.lineNumber) (byte \(damage.offset)) is damaged: \(damage.reason)\(keptNote)."
                + " Nothing is written to this workspace until `taskctl workspace repair` moves past it")
    }

    private func readCheckpoint() throws(StoreError) -> (WorkspaceState, UInt32, Syscall.FileIdentity)? {
        guard let (bytes, identity) = try Self.readFile(files.checkpoint) else { return nil }
        let document = try Self.decodeDocument(bytes, path: files.checkpoint)
        return (document.state, document.chain, identity)
    }

    static func decodeDocument(_ bytes: [UInt8], path: String) throws(StoreError) -> (
        state: WorkspaceState, format: Int, chain: UInt32
    ) {
        do {
            return try WireFormat.decodeCheckpoint(bytes)
        } catch {
            throw .corrupt(path: path, detail: bytes.isEmpty ? "the file is empty" : String(error.message.prefix(300)))
        }
    }

    /// A whole file and its identity; `nil` when it does not exist.
    static func readFile(_ path: String) throws(StoreError) -> ([UInt8], Syscall.FileIdentity)? {
        guard let fd = try Syscall.openIfExists(path, O_RDONLY) else { return nil }
        defer { Syscall.close(fd) }
        let identity = try Syscall.status(of: fd, path: path)
        return (try Syscall.readToEnd(fd, path: path, expectedSize: Int(clamping: identity.size)), identity)
    }

    private func corrupt(_ detail: String) -> StoreError {
        .corrupt(path: files.journal, detail: detail)
    }

    private func checkpointDisagrees(_ sequence: UInt64) -> StoreError {
        .corrupt(
            path: files.checkpoint,
            detail: "its chain value differs from the journal's at seq \(sequence): they describe different histories")
    }
}

/// A journal read as far as it can be: the state of its good lines, and the damage that stopped the reading.
struct JournalReading {
    var snapshot: WorkspaceSnapshot
    var damage: DamagedJournal?
}

extension JournalEntry {
    /// The sequence of the state after this line.
    var sequence: UInt64 {
        switch self {
        case .header(let base, _): base
        case .change(let delta, _): delta.sequence
        }
    }
}
