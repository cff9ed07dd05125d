import TaskCore

/// Every workspace's `CommitQueue` in this process, created on first use and dropped when idle.
final class CommitQueues: Sendable {
    // A pthread mutex (`Monitor`), not `Synchronization.Mutex`: ThreadSanitizer sees pthread's synchronization, and
    // `make sanitize` must be able to check every hand-over here.
    private let queues = Monitor<[WorkspaceKey: CommitQueue]>([:])

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
