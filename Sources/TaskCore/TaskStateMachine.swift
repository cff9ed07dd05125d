/// The life of tasks as a pure function of stored state and time.
///
/// A task's schedule follows from the stored facts: queued tasks start in id order as soon as one of the workspace's
/// `slots` is free, and run for their drawn duration. With `start` and `end = start + duration`, a task is
///
/// - `queued` while `now <= start`,
/// - `running` while `start < now < end`,
/// - `completed` once `now >= end`.
///
/// So a task created into a free slot is still `queued` at the moment of its create, and never more than `slots`
/// tasks are running at any moment. Nothing here reads a clock or a file.
public struct TaskStateMachine: Sendable {
    public let policy: SchedulePolicy

    public init(policy: SchedulePolicy) {
        self.policy = policy
    }

    // MARK: Reading

    /// The list as of `now` (or as of the state's `asOf`, if `now` is earlier: time never runs backwards).
    public func view(of state: WorkspaceState, at now: Timestamp) -> WorkspaceView {
        let at = max(now, state.asOf)
        let starts = startTimes(of: state)
        var records: [TaskRecord] = []
        records.reserveCapacity(state.tasks.count)
        var next: Int64?
        for (task, start) in zip(state.tasks, starts) {
            let end = Self.sum(start, task.durationMilliseconds)
            let status = Self.status(start: start, end: end, at: at.rawValue)
            records.append(TaskRecord(id: task.id, name: task.name, type: task.type, status: status))
            let change: Int64? =
                switch status {
                case .queued: Self.sum(start, 1)
                case .running: end
                case .completed: nil
                }
            if let change, change < (next ?? .max) { next = change }
        }
        return WorkspaceView(at: at, tasks: records, nextChange: next.map(Timestamp.init(rawValue:)))
    }

    /// Each task's start time, recorded or computed, in the order of `state.tasks`.
    public func startTimes(of state: WorkspaceState) -> [Int64] {
        var starts = [Int64](repeating: 0, count: state.tasks.count)
        for (index, task) in state.tasks.enumerated() {
            if let startedAt = task.startedAt { starts[index] = startedAt.rawValue }
        }
        forEachQueuedStart(of: state, before: .max) { index, start in starts[index] = start }
        return starts
    }

    /// Calls `body` with the index and computed start of each task not yet started (no `startedAt`), in id order,
    /// as long as the start is before `limit`: queued tasks start in id order, so none after that one starts earlier.
    func forEachQueuedStart(of state: WorkspaceState, before limit: Int64, _ body: (Int, Int64) -> Void) {
        let asOf = state.asOf.rawValue
        var ends = MinHeap(reservingCapacity: min(policy.slots, state.tasks.count) + 1)
        for task in state.tasks {
            guard let startedAt = task.startedAt else { continue }
            let end = Self.sum(startedAt.rawValue, task.durationMilliseconds)
            if end > asOf { ends.push(end) }
        }
        var earliest = asOf
        for (index, task) in state.tasks.enumerated() where task.startedAt == nil {
            var start = earliest
            while ends.count >= policy.slots, let end = ends.popMin() {
                start = max(start, end)
            }
            guard start < limit else { return }
            body(index, start)
            ends.push(Self.sum(start, task.durationMilliseconds))
            earliest = start
        }
    }

    /// `a + b`, held at `Int64.max` instead of trapping. Stored values are range-checked (`StoredLimits`) so that
    /// no sum of them comes near the limit; this keeps a state built some other way from trapping all the same.
    @inline(__always)
    static func sum(_ a: Int64, _ b: Int64) -> Int64 {
        let (result, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : result
    }

    static func status(start: Int64, end: Int64, at now: Int64) -> TaskStatus {
        if now <= start { return .queued }
        if now < end { return .running }
        return .completed
    }

    // MARK: Writing

    /// Applies a change at its moment (or at `asOf`, if that is later), recording every start learned on the way.
    ///
    /// On error `state` is left as it was. `taskLimit` bounds how many tasks a workspace keeps. A workspace whose
    /// sequence or `next_id` is at the end of its range (`StoredLimits`) refuses the change instead of overflowing.
    public func apply(
        _ change: TaskChange, to state: inout WorkspaceState, taskLimit: Int = .max
    ) throws(TaskError) -> ChangeOutcome {
        guard state.sequence < UInt64(StoredLimits.sequences.upperBound) else { throw .sequenceExhausted }
        let at = max(change.at, state.asOf)
        var next = settled(state, at: at)
        let outcome: ChangeOutcome
        switch change {
        case .create(let name, let type, let duration, _):
            guard next.tasks.count < taskLimit else { throw .taskLimitReached(limit: taskLimit) }
            guard next.nextID < StoredLimits.nextIDs.upperBound, let id = TaskID(rawValue: next.nextID) else {
                throw .idsExhausted
            }
            next.nextID += 1
            let stored = min(
                max(SchedulePolicy.minimumDurationMilliseconds, duration), StoredLimits.durations.upperBound)
            next.tasks.append(
                StoredTask(id: id, name: name, type: type, createdAt: at, durationMilliseconds: stored))
            outcome = .created(TaskRecord(id: id, name: name, type: type, status: .queued))
        case .delete(let id, _):
            guard let index = Self.index(of: id, in: next.tasks) else { throw .notFound(id) }
            if let startedAt = next.tasks[index].startedAt {
                let end = Self.sum(startedAt.rawValue, next.tasks[index].durationMilliseconds)
                throw .notDeletable(id, status: Self.status(start: startedAt.rawValue, end: end, at: at.rawValue))
            }
            next.tasks.remove(at: index)
            outcome = .deleted(id)
        case .flush:
            let before = next.tasks.count
            next.tasks.removeAll { $0.startedAt != nil }
            outcome = .flushed(removed: before - next.tasks.count)
        }
        next.sequence += 1
        state = next
        return outcome
    }

    /// The same state with `asOf` moved to `at` and every task that has started before `at` given its start time.
    public func settled(_ state: WorkspaceState, at: Timestamp) -> WorkspaceState {
        var next = state
        let at = max(at, state.asOf)
        // Only the starts before `at` are learned; the queue behind them is not computed (a large workspace is
        // mostly queue, and this runs on every change).
        forEachQueuedStart(of: state, before: at.rawValue) { index, start in
            next.tasks[index].startedAt = Timestamp(rawValue: start)
        }
        next.asOf = at
        return next
    }

    static func index(of id: TaskID, in tasks: TaskList) -> Int? {
        let low = insertionIndex(of: id, in: tasks)
        return low < tasks.count && tasks[low].id == id ? low : nil
    }

    /// The first index whose task id is not below `id` (binary search; `tasks` are by ascending id).
    static func insertionIndex(of id: TaskID, in tasks: TaskList) -> Int {
        var low = 0
        var high = tasks.count
        while low < high {
            let middle = (low + high) / 2
            if tasks[middle].id < id { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
