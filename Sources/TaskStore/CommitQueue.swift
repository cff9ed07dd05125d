// Design note: group commit.
//
// Changes to one workspace from the threads of one process meet in its `CommitQueue`. The first to arrive while no
// one leads becomes the leader; later ones wait in the queue. The leader takes the workspace's file lock, then takes
// every change waiting at that moment into its batch, runs their bodies one after the other on the current state,
// appends all their journal lines with one write, makes them durable with one fdatasync, and only then marks them
// finished, which wakes their threads with their answers. Changes that arrive meanwhile wait for the next batch:
// when the leader is done it promotes the first of them, whose thread then leads. So while one batch waits for the
// disk the next one gathers, and a workspace under load pays one fdatasync per batch, not per change.
//
// Waiting is bounded twice. A change that is still waiting (not yet taken into a batch) when its deadline passes
// withdraws and reports `lockTimeout`; a leader whose deadline passes before the file lock is granted fails its own
// change the same way and passes the lead on. And at most `limit` changes of this process may be inside the queue at
// once: one more is refused at once with `tooManyWriters`, so that a burst on one workspace cannot occupy every
// request thread of the responder while other tenants wait. Nor can several busy workspaces together: the store admits
// at most `maxWritersInProcess` changes at once over all workspaces (half the responder's threads; `CommitQueues`
// counts them), and refuses one more at once with `processBusy`. A change already taken into a batch is never
// abandoned: its write may be on its way to the disk, so its caller waits for the outcome.

/// The changes of one process waiting for one workspace.
final class CommitQueue: Sendable {
    struct State {
        /// Changes not yet taken into a batch, in arrival order.
        var waiting: [PendingChange] = []
        /// Changes inside the queue: waiting, leading or in a batch.
        var writers = 0
        var hasLeader = false
    }

    enum Role {
        case leader
        case follower
    }

    enum Wait {
        case finished
        case promoted
        /// The deadline passed before the change was taken into a batch; it was removed from the queue.
        case withdrawn
    }

    let monitor = Monitor(State())

    /// Admits a change: its caller leads at once, or waits (`wait`); refused when `limit` changes are already in.
    func enter(_ change: PendingChange, limit: Int) throws(StoreError) -> Role {
        try monitor.withLock { (locked) throws(StoreError) -> Role in
            guard locked.value.writers < limit else { throw .tooManyWriters(limit: limit) }
            locked.value.writers += 1
            if locked.value.hasLeader {
                locked.value.waiting.append(change)
                return .follower
            }
            locked.value.hasLeader = true
            change.status = .taken
            return .leader
        }
    }

    /// Blocks until the change is finished, its caller is promoted to lead, or its deadline passes while it waits.
    func wait(for change: PendingChange) -> Wait {
        monitor.withLock { locked in
            while true {
                switch change.status {
                case .finished: return .finished
                case .promoted: return .promoted
                case .taken: locked.wait(until: nil)
                case .waiting:
                    if !locked.wait(until: change.deadline), change.status == .waiting {
                        locked.value.waiting.removeAll { $0 === change }
                        locked.value.writers -= 1
                        change.discard()
                        return .withdrawn
                    }
                }
            }
        }
    }

    /// Takes every waiting change into the leader's batch.
    func takeWaiting() -> [PendingChange] {
        monitor.withLock { locked in
            let taken = locked.value.waiting
            locked.value.waiting = []
            for change in taken { change.status = .taken }
            return taken
        }
    }

    /// Marks changes finished (their outcome is set) and wakes their callers.
    func finish(_ changes: some Collection<PendingChange>) {
        guard !changes.isEmpty else { return }
        monitor.withLock { locked in
            for change in changes { change.status = .finished }
            locked.value.writers -= changes.count
        }
        monitor.broadcast()
    }

    /// The leader is done: the first waiting change's caller leads next. Returns whether the queue is now idle.
    func handOff() -> Bool {
        let idle = monitor.withLock { locked in
            guard !locked.value.waiting.isEmpty else {
                locked.value.hasLeader = false
                return locked.value.writers == 0
            }
            let next = locked.value.waiting.removeFirst()
            next.status = .promoted
            return false
        }
        monitor.broadcast()
        return idle
    }

    var isIdle: Bool {
        monitor.withLock { locked in !locked.value.hasLeader && locked.value.writers == 0 }
    }
}
