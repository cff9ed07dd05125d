import TaskCore

// Design note: repairing a damaged journal.
//
// A damaged journal line may hold an acknowledged change, so nothing moves past it on its own: the workspace answers
// 503 until an operator runs `taskctl workspace repair`. The repair keeps what can be trusted, the state of the good
// lines before the damage, and must then make sure no id that may have been handed out is handed out again, and no
// sequence a follower may hold is used again. It cannot read the lost changes, so it bounds them:
//
// - each journal line is one change, and each change advances the sequence by one and `next_id` by at most one (only
//   a create hands out an id);
// - the damaged bytes held at most as many changes as they have line breaks, plus one in case the damage hit a line
//   break and joined two lines (bytes after the last line break were never acknowledged);
// - lines of the damaged part that still pass their check are taskd's own: their `seq` and `next_id` are facts;
// - the change log (`changes.log`, `changes.log.1`) names, for each logged change, its sequence and whether it was a
//   create; a logged sequence is a fact too, and a logged delete or flush handed out no id.
//
// So the last sequence that may have been used is S = the largest of: the good state's seq plus the bound on lost
// lines, any checked line's seq, any logged seq. From the last known (seq, next_id) pair, every step up to S that is
// not known to be a delete or a flush may have been a create: next_id grows by one for each. The repaired workspace
// is the good state with that `next_id` and seq S + 1, written as a new checkpoint with a new journal, under the
// workspace's lock, after the damaged bytes are safe in their side file. Followers notice the higher sequence (the
// sidecar's periodic check) and read the workspace again. An id or two may be skipped; none is reused.

/// What `repair` did to a workspace.
public struct RepairOutcome: Sendable, Equatable, Encodable {
    /// The side file holding the journal's bytes from the damaged line on.
    public let sideFile: String
    /// Where the damage starts: the line (the header is line 1) and its byte offset, and why it is damage.
    public let damagedLine: Int
    public let damagedOffset: Int64
    public let reason: String
    /// The sequence of the last good state, which the repaired workspace keeps.
    public let keptSequence: UInt64
    /// The last sequence that may have been used by a change lost with the damaged bytes.
    public let lastPossibleSequence: UInt64
    public let previousNextID: Int64
    /// The repaired workspace's `next_id` and `seq`.
    public let nextID: Int64
    public let sequence: UInt64
    /// Tasks the repaired workspace keeps.
    public let tasks: Int

    enum CodingKeys: String, CodingKey {
        case sideFile = "side_file"
        case damagedLine = "damaged_line"
        case damagedOffset = "damaged_offset"
        case reason
        case keptSequence = "kept_seq"
        case lastPossibleSequence = "last_possible_seq"
        case previousNextID = "previous_next_id"
        case nextID = "next_id"
        case sequence = "seq"
        case tasks
    }
}

extension WorkspaceStore {
    /// Moves a workspace past a damaged journal (see the design note above); `nil` when its journal has no damage
    /// (or it has no journal). Takes the workspace's lock like a writer, waiting at most `StoreOptions.lockWait`
    /// (`lockTimeout` otherwise), and refuses a frozen tenant (`tenantFrozen`). Throws `corrupt` when the workspace
    /// is broken in a way a repair cannot mend (a checkpoint that is unreadable, missing or disagrees with its
    /// journal): then it must be restored from a backup.
    public func repair(_ key: WorkspaceKey) throws(StoreError) -> RepairOutcome? {
        let files = files(key)
        guard try Syscall.status(files.directory) != nil else { return nil }
        let lock = try FileLock(path: files.lock, deadline: .after(options.lockWait))
        defer { lock.unlock() }
        try refuseIfFrozen(key.tenant)
        guard let (bytes, identity) = try WorkspaceReader.readFile(files.journal) else { return nil }
        let reading = try WorkspaceReader(files: files).readJournal(bytes, identity: identity)
        guard let damage = reading.damage else { return nil }
        // The damaged bytes are safe before anything else changes.
        if !damage.bytes.isEmpty { try damage.keep(in: files) }

        let good = reading.snapshot.state
        let logged = loggedChanges(of: key)
        let checked = damage.checkedChanges
        var last = good.sequence + UInt64(damage.changeBound)
        last = max(last, logged.keys.max() ?? 0, checked.map(\.sequence).max() ?? 0)
        var anchor = (sequence: good.sequence, nextID: good.nextID)
        if let latest = checked.max(by: { $0.sequence < $1.sequence }), latest.sequence > anchor.sequence {
            anchor = (latest.sequence, max(latest.nextID, good.nextID))
        }
        let knownOthers = logged.filter { $0.key > anchor.sequence && $0.key <= last && !$0.value }.count
        let possibleCreates = Int64(clamping: last - anchor.sequence) - Int64(knownOthers)
        let limit = StoredLimits.maximumSafeInteger
        var repaired = good
        repaired.nextID = min(limit, max(anchor.nextID, checked.map(\.nextID).max() ?? 0) + possibleCreates)
        repaired.sequence = min(UInt64(limit), last + 1)
        // Any chain value will do for a sequence no state ever had; this one also differs from the old chain's.
        var seed = Array("repair \(repaired.sequence) ".utf8)
        withUnsafeBytes(of: reading.snapshot.chain.bigEndian) { seed.append(contentsOf: $0) }
        let chain = CRC32C.checksum(seed)

        cache.remove(key)
        var next = WorkspaceSnapshot(state: repaired, chain: chain, source: .nothing)
        next.source = .journal(try writeCheckpoint(next, files: files))
        cache.store(next, for: key)
        let outcome = RepairOutcome(
            sideFile: damage.path(in: files), damagedLine: damage.lineNumber, damagedOffset: damage.offset,
            reason: damage.reason, keptSequence: good.sequence, lastPossibleSequence: last,
            previousNextID: good.nextID, nextID: repaired.nextID, sequence: repaired.sequence,
            tasks: repaired.tasks.count)
        logger.notice(
            "Workspace repaired past a damaged journal",
            metadata: [
                "store.workspace": "\(key)", "store.side_file": "\(outcome.sideFile)",
                "store.kept_seq": "\(outcome.keptSequence)", "store.seq": "\(outcome.sequence)",
                "store.next_id": "\(outcome.nextID)",
            ])
        return outcome
    }

    /// The workspace's changes the change log still names: sequence → whether it was a create. Lines that do not
    /// decode are skipped (`taskctl check` reports them).
    private func loggedChanges(of key: WorkspaceKey) -> [UInt64: Bool] {
        var changes: [UInt64: Bool] = [:]
        for path in [changeLog.rotatedPath, changeLog.path] {
            guard let bytes = try? AtomicFile.read(path) else { continue }
            for line in bytes.split(separator: UInt8(ascii: "\n")) {
                guard let record = try? WireFormat.decode(ChangeRecord.self, from: line), record.key == key else {
                    continue
                }
                if case .create = record.change {
                    changes[record.sequence] = true
                } else if changes[record.sequence] == nil {
                    changes[record.sequence] = false
                }
            }
        }
        return changes
    }
}
