import Glibc
import Logging
import TaskCore

/// Group commit: see the design note in `CommitQueue.swift`.
extension WorkspaceStore {
    /// Commits `change` to `key`, alone or in a batch; returns when it has finished (its `failure` says how).
    func commit(_ change: PendingChange, to key: WorkspaceKey) throws(StoreError) {
        let (queue, role) = try queues.enter(key, change, limit: options.maxWritersPerWorkspace)
        if role == .follower {
            switch queue.wait(for: change) {
            case .finished:
                return
            case .withdrawn:
                queues.release(key, queue)
                throw .lockTimeout(path: files(key).lock, waitedMilliseconds: Self.milliseconds(options.lockWait))
            case .promoted:
                break
            }
        }
        lead(change, queue: queue, key: key)
        if queue.handOff() { queues.release(key, queue) }
    }

    /// Takes the file lock, commits everything waiting as one batch, and checkpoints if the journal grew past the
    /// threshold. Every change of the batch is finished when this returns.
    private func lead(_ own: PendingChange, queue: CommitQueue, key: WorkspaceKey) {
        let files = files(key)
        var batch = [own]
        do {
            // The lines of an earlier failed batch that could not be cut off: this process still holds the lock for
            // them, and no change may build on them (see UncutJournals.swift).
            try settleCut(key)
            let lock = try FileLock(path: files.lock, deadline: own.deadline)
            defer { lock.unlock() }
            batch += queue.takeWaiting()
            // Under the lock, before the state is read: see WorkspaceStore+Tenant.swift.
            try refuseIfFrozen(key.tenant)
            let committed = try commitBatch(batch, key: key, files: files, lock: lock)
            queue.finish(batch)
            if let committed, let position = committed.journalPosition, position.validEnd > options.checkpointBytes {
                checkpointAfterCommit(committed, key: key, files: files)
            }
        } catch {
            // Nothing of the batch is durable (or it was never read): every change in it fails with this error,
            // including those whose body failed on a state that held the batch's earlier, now void, changes.
            for change in batch { change.fail(error) }
            queue.finish(batch)
        }
    }

    /// Runs the batch's bodies on the current state, then appends and syncs their lines. Returns the committed
    /// snapshot, or `nil` when no body changed anything (or the committed journal could not be `fstat`ed: then there
    /// is nothing to checkpoint from). Throws only while nothing of the batch is durable (the state cannot be read,
    /// or the write or its sync failed and the lines were cut off again, or are kept from every use here until they
    /// are: `rollBack`); every change of the batch then fails with that error. Once the sync has returned, the batch
    /// is committed and nothing may fail it any more.
    private func commitBatch(_ batch: [PendingChange], key: WorkspaceKey, files: WorkspaceFiles, lock: FileLock)
        throws(StoreError) -> WorkspaceSnapshot?
    {
        let current = try snapshot(key)
        var next = current
        var lines: [UInt8] = []
        var lastLineLength = 0
        var records: [ChangeRecord] = []
        for change in batch {
            let before = next.state
            guard let taskChange = change.run(on: &next.state) else { continue }
            // Exactly one step per change: followers apply record n + 1 to state n, the journal checks continuity.
            next.state.sequence = before.sequence + 1
            let (line, check) = WireFormat.journalLine(
                .change(StateDelta(from: before, to: next.state), previous: next.chain))
            lines.append(contentsOf: line)
            lastLineLength = line.count
            next.chain = check
            records.append(ChangeRecord(sequence: next.state.sequence, key: key, change: taskChange))
        }
        guard !records.isEmpty else { return nil }
        let journal = try openJournalForAppend(current, files: files)
        defer { Syscall.close(journal.fd) }
        do {
            try Syscall.writeAll(journal.fd, lines, path: files.journal)
            try fault(.afterAppend, path: files.journal)
            try Syscall.fdatasync(journal.fd, path: files.journal)
            try fault(.afterSync, path: files.journal)
        } catch {
            // Nothing was acknowledged: take the lines back out, so that no reader keeps seeing them.
            rollBack(journal.fd, to: journal.validEnd, files: files, key: key, lock: lock)
            throw error
        }
        // Committed. Whatever fails from here on is logged, never thrown: the callers must hear that their changes
        // happened, or they would retry changes that did.
        announce(records, key: key)
        guard let identity = try? Syscall.status(of: journal.fd, path: files.journal) else {
            // The next read takes the journal from the file, batch included.
            cache.remove(key)
            return nil
        }
        let validEnd = journal.validEnd + Int64(lines.count)
        next.source = .journal(
            .init(
                identity: identity, validEnd: validEnd, lastLineStart: validEnd - Int64(lastLineLength),
                lastLineCheck: next.chain, checkpoint: journal.checkpoint))
        cache.store(next, for: key)
        return next
    }

    /// Appends a committed batch's records to the change log, waiting at most `changeLogWait` for its lock. A record
    /// that cannot be appended is only logged here: followers find the change through `ChangeLogFollower.verify`.
    private func announce(_ records: [ChangeRecord], key: WorkspaceKey) {
        do {
            try fault(.changeLogLock, path: changeLog.lockPath)
            try changeLog.append(records, deadline: .after(options.changeLogWait))
            try fault(.afterChangeLog, path: changeLog.path)
        } catch {
            let metadata: Logger.Metadata = [
                "store.workspace": "\(key)", "store.seq": "\(records.last?.sequence ?? 0)", "error": "\(error)",
            ]
            if case .lockTimeout = error {
                logger.warning(
                    "Change committed; the change log stayed locked, so it is not announced", metadata: metadata)
            } else {
                logger.error("Change committed but not logged", metadata: metadata)
            }
        }
    }

    /// The journal, open for appending at the end of its last good line: created (or converted from version 1)
    /// first when the workspace has none, and cut back when it ends in a torn line: bytes after the last good line
    /// with no line break among them (a write cut short, never acknowledged). Bytes after it that hold a line break
    /// form a complete line, which may be an acknowledged change: that is damage, never cut (`DamagedJournal`).
    private func openJournalForAppend(_ current: WorkspaceSnapshot, files: WorkspaceFiles) throws(StoreError) -> (
        fd: Int32, validEnd: Int64, checkpoint: Syscall.FileIdentity?
    ) {
        let position: WorkspaceSnapshot.JournalPosition
        switch current.source {
        case .journal(let current):
            position = current
        case .nothing, .checkpointOnly:
            position = try startJournal(files, base: current.state.sequence, chain: current.chain)
        case .legacy:
            position = try writeCheckpoint(current, files: files)
        }
        let validEnd = position.validEnd
        let fd = try Syscall.open(files.journal, O_WRONLY | O_APPEND)
        do {
            if try Syscall.status(of: fd, path: files.journal).size > validEnd {
                try refuseUnlessTorn(files, after: validEnd)
                try Syscall.truncate(fd, to: validEnd, path: files.journal)
                try fault(.afterJournalRotate, path: files.journal)
                logger.warning("Cut a torn line off a journal", metadata: ["store.file": "\(files.journal)"])
            }
        } catch {
            Syscall.close(fd)
            throw error
        }
        return (fd, validEnd, position.checkpoint)
    }

    /// Throws `corrupt` unless the journal's bytes after `validEnd` are a torn tail (`JournalScan`: no line break
    /// among them, and the beginning of a journal line). The reader that found `validEnd` checked them already; this
    /// holds the rule at the one place that cuts.
    private func refuseUnlessTorn(_ files: WorkspaceFiles, after validEnd: Int64) throws(StoreError) {
        let fd = try Syscall.open(files.journal, O_RDONLY)
        defer { Syscall.close(fd) }
        let tail = try Syscall.readToEnd(fd, from: validEnd, path: files.journal)
        if JournalScan(tail, fileOffset: validEnd).damage != .tornTail(offset: validEnd) {
            throw .corrupt(
                path: files.journal,
                detail: "the bytes after the last good line (from byte \(validEnd)) are not a torn write; they are"
                    + " not cut off")
        }
    }

    /// Cuts the journal back to `length` after a failed append, so that nothing of the batch, whose callers are
    /// answered 503, stays. If even that fails, this process keeps the workspace's lock (`lock` is handed over to
    /// `uncut`) and the workspace unavailable until a retry of the cut succeeds: see UncutJournals.swift.
    private func rollBack(_ fd: Int32, to length: Int64, files: WorkspaceFiles, key: WorkspaceKey, lock: FileLock) {
        cache.remove(key)
        do {
            try fault(.rollBack, path: files.journal)
            try Syscall.truncate(fd, to: length, path: files.journal)
            try Syscall.fdatasync(fd, path: files.journal)
        } catch {
            let cut = UncutJournals.Cut(
                journal: files.journal, identity: try? Syscall.status(of: fd, path: files.journal), length: length)
            uncut.add(key, cut, lockDescriptor: lock.handOver())
            logger.error(
                "Cannot take back a failed append; the workspace stays locked and unavailable here until it can",
                metadata: [
                    "store.workspace": "\(key)", "store.file": "\(files.journal)", "store.cut.offset": "\(length)",
                    "error": "\(error)",
                ])
        }
    }

    /// Retries a pending cut of the workspace's journal (see `rollBack`); nothing to do, and one atomic load, when
    /// none is pending. Throws `rollbackPending` while the cut still fails.
    func settleCut(_ key: WorkspaceKey) throws(StoreError) {
        let didCut = try uncut.settle(key) { (cut) throws(StoreError) in
            guard let fd = try Syscall.openIfExists(cut.journal, O_WRONLY) else { return }
            defer { Syscall.close(fd) }
            let current = try Syscall.status(of: fd, path: cut.journal)
            // A journal replaced since (by hand: this process holds the lock) holds none of the lines.
            if let identity = cut.identity, !current.isSameFile(as: identity) { return }
            try fault(.rollBack, path: cut.journal)
            // Never longer: a journal already shorter was cut by someone else.
            if current.size > cut.length { try Syscall.truncate(fd, to: cut.length, path: cut.journal) }
            try Syscall.fdatasync(fd, path: cut.journal)
        }
        guard didCut else { return }
        logger.warning(
            "A failed append was taken back; the workspace is available again", metadata: ["store.workspace": "\(key)"])
    }

    /// Asks the test hook, if any, what to do at `point`.
    func fault(_ point: FaultPoint, path: String) throws(StoreError) {
        guard let hook = options.faultHook else { return }
        if case .fail(let code) = hook(point) { throw .io(operation: point.rawValue, path: path, errno: code) }
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
