/// What one committed change did to a workspace's stored state, as the journal keeps it: the new `asOf`, `nextID`
/// and sequence, every task that is new or changed (usually the created task and the tasks whose start was learned),
/// and the ids removed.
///
/// Replaying a delta needs no state machine and no settings, so a journal reads back the same whatever `TASKD_SLOTS`
/// or the code's scheduling rules are when it is read.
public struct StateDelta: Hashable, Sendable {
    /// The workspace's sequence after the change.
    public var sequence: UInt64
    public var asOf: Timestamp
    public var nextID: Int64
    /// Tasks that are new or differ from the previous state, by ascending id.
    public var put: [StoredTask]
    /// Ids of tasks removed, ascending.
    public var drop: [TaskID]

    public init(sequence: UInt64, asOf: Timestamp, nextID: Int64, put: [StoredTask], drop: [TaskID]) {
        self.sequence = sequence
        self.asOf = asOf
        self.nextID = nextID
        self.put = put
        self.drop = drop
    }

    /// The delta that turns `old` into `new`. Both keep their tasks by ascending id (the state's invariant), so one
    /// merge pass finds every difference; chunks the two lists share (see `TaskList`) are skipped whole.
    public init(from old: WorkspaceState, to new: WorkspaceState) {
        var put: [StoredTask] = []
        var drop: [TaskID] = []
        let before = old.tasks
        let after = new.tasks
        var oldIndex = 0
        var newIndex = 0
        while oldIndex < before.count && newIndex < after.count {
            if oldIndex == newIndex && before.sharesChunk(with: after, at: oldIndex) {
                oldIndex += min(TaskList.chunkSize, before.count - oldIndex)
                newIndex = oldIndex
                continue
            }
            let previous = before[oldIndex]
            let next = after[newIndex]
            if previous.id == next.id {
                if previous != next { put.append(next) }
                oldIndex += 1
                newIndex += 1
            } else if previous.id < next.id {
                drop.append(previous.id)
                oldIndex += 1
            } else {
                put.append(next)
                newIndex += 1
            }
        }
        drop.append(contentsOf: before[oldIndex...].lazy.map(\.id))
        put.append(contentsOf: after[newIndex...])
        self.init(sequence: new.sequence, asOf: new.asOf, nextID: new.nextID, put: put, drop: drop)
    }

    /// Applies the delta; fails, leaving `state` as it was, when it does not fit (a dropped id that is not there, a
    /// task at or above `nextID`, lists out of order).
    public func apply(to state: inout WorkspaceState) throws(WireFormatError) {
        guard nextID >= state.nextID else {
            throw WireFormatError(message: "next_id goes back from \(state.nextID) to \(nextID)")
        }
        guard Self.isAscending(put.lazy.map(\.id)), Self.isAscending(drop.lazy) else {
            throw WireFormatError(message: "the ids of put or drop are not ascending")
        }
        if let last = put.last, last.id.rawValue >= nextID {
            throw WireFormatError(message: "task \(last.id) is not below next_id \(nextID)")
        }
        if !drop.isEmpty {
            // Checked before anything moves, so that a failure leaves the state untouched.
            var dropIndex = 0
            for task in state.tasks where dropIndex < drop.count && task.id == drop[dropIndex] { dropIndex += 1 }
            guard dropIndex == drop.count else {
                throw WireFormatError(message: "task \(drop[dropIndex]) is dropped but not there")
            }
        }
        var tasks = state.tasks
        state.tasks = TaskList()  // `tasks` is now the only reference, so the edits below happen in place
        if !drop.isEmpty {
            var dropIndex = 0
            var kept = 0
            for index in tasks.indices {
                if dropIndex < drop.count, tasks[index].id == drop[dropIndex] {
                    dropIndex += 1
                } else {
                    tasks.swapAt(kept, index)
                    kept += 1
                }
            }
            tasks.removeSubrange(kept...)
        }
        for task in put {
            if let last = tasks.last, last.id < task.id {
                tasks.append(task)
                continue
            }
            let index = TaskStateMachine.insertionIndex(of: task.id, in: tasks)
            if index < tasks.count, tasks[index].id == task.id {
                tasks[index] = task
            } else {
                tasks.insert(task, at: index)
            }
        }
        state.tasks = tasks
        state.sequence = sequence
        state.asOf = asOf
        state.nextID = nextID
    }

    private static func isAscending(_ ids: some Sequence<TaskID>) -> Bool {
        var previous: TaskID?
        for id in ids {
            if let previous, previous >= id { return false }
            previous = id
        }
        return true
    }
}
