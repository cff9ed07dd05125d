import TaskCore

/// The per-process cache of decoded workspaces: the last snapshot read or written of each, so that reading an
/// unchanged workspace costs one `stat` instead of reading and decoding its files.
///
/// It only ever hands out immutable values; whoever uses one checks it against the files first (`WorkspaceReader`),
/// so a stale entry costs an incremental read, never a wrong answer. Bounded by the tasks it holds: past the limit,
/// the least recently used workspaces are dropped until a tenth of the room is free.
final class WorkspaceCache: Sendable {
    private struct Entry {
        var snapshot: WorkspaceSnapshot
        var lastUse: UInt64
    }

    private struct Storage {
        var entries: [WorkspaceKey: Entry] = [:]
        var tasks = 0
        var clock: UInt64 = 0
    }

    // A pthread mutex (`Monitor`) rather than `Synchronization.Mutex`, so that ThreadSanitizer checks the cache.
    private let storage = Monitor(Storage())
    let taskLimit: Int

    init(taskLimit: Int) {
        self.taskLimit = taskLimit
    }

    func snapshot(_ key: WorkspaceKey) -> WorkspaceSnapshot? {
        storage.withLock { storage in
            storage.value.clock += 1
            let now = storage.value.clock
            guard let snapshot = storage.value.entries[key]?.snapshot else { return nil }
            storage.value.entries[key]?.lastUse = now
            return snapshot
        }
    }

    /// Keeps `snapshot` as the workspace's latest (nothing is kept of a workspace that was never written).
    func store(_ snapshot: WorkspaceSnapshot, for key: WorkspaceKey) {
        guard case .nothing = snapshot.source else {
            // Dropped values are released after the lock: freeing a large state must not stall other readers.
            let evicted = storage.withLock { storage in insert(snapshot, for: key, into: &storage.value) }
            _ = evicted
            return
        }
        remove(key)
    }

    func remove(_ key: WorkspaceKey) {
        let removed = storage.withLock { storage in
            let entry = storage.value.entries.removeValue(forKey: key)
            storage.value.tasks -= entry?.snapshot.state.tasks.count ?? 0
            return entry
        }
        _ = removed
    }

    /// How many workspaces and tasks are cached (for tests and benchmarks).
    var statistics: (workspaces: Int, tasks: Int) {
        storage.withLock { ($0.value.entries.count, $0.value.tasks) }
    }

    private func insert(_ snapshot: WorkspaceSnapshot, for key: WorkspaceKey, into storage: inout Storage) -> [Entry] {
        storage.clock += 1
        let entry = Entry(snapshot: snapshot, lastUse: storage.clock)
        let previous = storage.entries.updateValue(entry, forKey: key)
        storage.tasks += snapshot.state.tasks.count - (previous?.snapshot.state.tasks.count ?? 0)
        var evicted = previous.map { [$0] } ?? []
        guard storage.tasks > taskLimit else { return evicted }
        let target = taskLimit - taskLimit / 10
        for (candidate, old) in storage.entries.sorted(by: { $0.value.lastUse < $1.value.lastUse }) {
            guard storage.tasks > target else { break }
            if candidate == key { continue }
            storage.entries[candidate] = nil
            storage.tasks -= old.snapshot.state.tasks.count
            evicted.append(old)
        }
        return evicted
    }
}
