import TaskCore

/// Every workspace's `CommitQueue` in this process, created on first use and dropped when idle; and the count of
/// changes this process has under way over all workspaces, which bounds how many request threads writers can hold.
final class CommitQueues: Sendable {
    // A pthread mutex (`Monitor`), not `Synchronization.Mutex`: ThreadSanitizer sees pthread's synchronization, and
    // `make sanitize` must be able to check every hand-over here.
    private let queues = Monitor<[WorkspaceKey: CommitQueue]>([:])
    /// Changes admitted by `admitWriter` and not yet dismissed: each holds its caller's thread.
    private let writersInProcess = Monitor(0)

    /// Counts one more change under way in this process, or refuses it at once (`processBusy`) when `limit` are
    /// already: so several busy workspaces together cannot hold more than `limit` threads. `nil`: no bound.
    func admitWriter(limit: Int?) throws(StoreError) {
        try writersInProcess.withValue { (count: inout Int) throws(StoreError) in
            if let limit, count >= limit { throw .processBusy(limit: limit) }
            count += 1
        }
    }

    /// The change admitted by `admitWriter` has returned (committed, failed or refused).
    func dismissWriter() {
        writersInProcess.withValue { $0 -= 1 }
    }

    /// How many changes are under way in this process, over all workspaces.
    var writersUnderWay: Int { writersInProcess.withValue { $0 } }

    /// Admits a change to the workspace's queue (see `CommitQueue.enter`).
    func enter(_ key: WorkspaceKey, _ change: PendingChange, limit: Int) throws(StoreError) -> (
        CommitQueue, CommitQueue.Role
    ) {
        // Entering under the registry's lock means an idle queue is never dropped between lookup and entry.
        try queues.withLock { (queues) throws(StoreError) -> (CommitQueue, CommitQueue.Role) in
            let queue = queues.value[key] ?? CommitQueue()
            queues.value[key] = queue
            return (queue, try queue.enter(change, limit: limit))
        }
    }

    /// Drops the queue if nobody is in it any more.
    func release(_ key: WorkspaceKey, _ queue: CommitQueue) {
        queues.withLock { queues in
            if queues.value[key] === queue, queue.isIdle { queues.value[key] = nil }
        }
    }

    /// How many changes are inside the workspace's queue (0 when it has none).
    func writers(_ key: WorkspaceKey) -> Int {
        guard let queue = queues.withLock({ $0.value[key] }) else { return 0 }
        return queue.monitor.withLock { $0.value.writers }
    }
}
