import TaskCore

/// Checkpoints: the journal folded into `checkpoint.json`, and a new journal started from it (see the design note in
/// `WorkspaceReader.swift` for why readers never see the two disagree).
extension WorkspaceStore {
    /// Writes a checkpoint of `key` now if its journal holds any change, or converts a version 1 document; `false`
    /// when there was nothing to fold (`taskctl log compact`). Waits for the lock like any change.
    @discardableResult
    public func checkpoint(_ key: WorkspaceKey) throws(StoreError) -> Bool {
        let files = files(key)
        guard try Syscall.status(files.directory) != nil else { return false }
        let lock = try FileLock(path: files.lock, deadline: .after(options.lockWait))
        defer { lock.unlock() }
        let current = try snapshot(key)
        switch current.source {
        case .nothing:
            return false
        case .journal(let position):
            guard position.lastLineStart > 0 else { return false }  // only the header: nothing to fold
        case .legacy, .checkpointOnly:
            break
        }
        var next = current
        next.source = .journal(try writeCheckpoint(current, files: files))
        cache.store(next, for: key)
        return true
    }

    /// The checkpoint a writer owes once its batch made the journal longer than `checkpointBytes`. Its callers are
    /// answered already; a failure (a full disk) only leaves the journal longer, so it is logged, not thrown.
    func checkpointAfterCommit(_ committed: WorkspaceSnapshot, key: WorkspaceKey, files: WorkspaceFiles) {
        do {
            var next = committed
            next.source = .journal(try writeCheckpoint(committed, files: files))
            cache.store(next, for: key)
        } catch {
            cache.remove(key)
            logger.warning(
                "Cannot write a checkpoint; the journal keeps growing",
                metadata: ["store.workspace": "\(key)", "error": "\(error)"])
        }
    }

    /// Writes `snapshot` as the checkpoint, then starts a new journal at it and removes a version 1 document.
    /// Call with the workspace's lock held.
    func writeCheckpoint(_ snapshot: WorkspaceSnapshot, files: WorkspaceFiles) throws(StoreError)
        -> WorkspaceSnapshot.JournalPosition
    {
        let document = WireFormat.checkpointDocument(snapshot.state, chain: snapshot.chain)
        let checkpoint = try AtomicFile.replace(document, at: files.checkpoint, temporary: files.checkpointTemporary) {
            () throws(StoreError) in try fault(.beforeCheckpointRename, path: files.checkpoint)
        }
        // Durable before the new journal replaces the old one: a journal must never start after its checkpoint.
        try Syscall.fsyncDirectory(files.directory)
        try fault(.afterCheckpointRename, path: files.checkpoint)
        var position = try startJournal(files, base: snapshot.state.sequence, chain: snapshot.chain)
        position.checkpoint = checkpoint
        try fault(.afterJournalRotate, path: files.journal)
        if try Syscall.status(files.legacy) != nil {
            Syscall.unlinkIfExists(files.legacy)
            try Syscall.fsyncDirectory(files.directory)
        }
        return position
    }

    /// Replaces the journal by one holding only its header (the state at `base`, chain value `chain`), durably.
    func startJournal(_ files: WorkspaceFiles, base: UInt64, chain: UInt32) throws(StoreError)
        -> WorkspaceSnapshot.JournalPosition
    {
        let (header, check) = WireFormat.journalLine(.header(base: base, chain: chain))
        let identity = try AtomicFile.replace(header, at: files.journal, temporary: files.journalTemporary)
        try Syscall.fsyncDirectory(files.directory)
        return .init(
            identity: identity, validEnd: Int64(header.count), lastLineStart: 0, lastLineCheck: check,
            checkpoint: try Syscall.status(files.checkpoint))
    }
}
