import Testing

@testable import TaskCore

struct TaskStateMachineTests {
    let t0 = Timestamp(rawValue: 1_000_000)

    private func machine(slots: Int = 6) throws -> TaskStateMachine {
        TaskStateMachine(policy: try SchedulePolicy(slots: slots, timeScale: 1))
    }

    private func create(
        _ state: inout WorkspaceState, _ machine: TaskStateMachine, at: Timestamp, duration: Int64 = 100,
        name: String = "t"
    ) throws -> TaskID {
        let change = TaskChange.create(
            name: try TaskName(parsing: name), type: .tiny, durationMilliseconds: duration, at: at)
        guard case .created(let record) = try machine.apply(change, to: &state) else {
            Issue.record("create did not create")
            return try #require(TaskID(rawValue: 1))
        }
        return record.id
    }

    private func statuses(_ state: WorkspaceState, _ machine: TaskStateMachine, at: Timestamp) -> [TaskStatus] {
        machine.view(of: state, at: at).tasks.map(\.status)
    }

    @Test func newTaskIsQueuedAtItsCreateThenRunsForItsDuration() throws {
        let machine = try machine()
        var state = WorkspaceState.empty
        let change = TaskChange.create(
            name: try TaskName(parsing: "abc"), type: .tiny, durationMilliseconds: 100, at: t0)
        let outcome = try machine.apply(change, to: &state)
        #expect(
            outcome
                == .created(
                    TaskRecord(
                        id: try #require(TaskID(rawValue: 1)), name: try TaskName(parsing: "abc"), type: .tiny,
                        status: .queued)))
        #expect(statuses(state, machine, at: t0) == [.queued])
        #expect(machine.view(of: state, at: t0).nextChange == t0 + 1)
        #expect(statuses(state, machine, at: t0 + 1) == [.running])
        #expect(machine.view(of: state, at: t0 + 1).nextChange == t0 + 100)
        #expect(statuses(state, machine, at: t0 + 99) == [.running])
        #expect(statuses(state, machine, at: t0 + 100) == [.completed])
        #expect(machine.view(of: state, at: t0 + 100).nextChange == nil)
    }

    @Test func queuedTasksWaitForAFreeSlotInIDOrder() throws {
        let machine = try machine(slots: 2)
        var state = WorkspaceState.empty
        _ = try create(&state, machine, at: t0, duration: 50)
        _ = try create(&state, machine, at: t0, duration: 30)
        _ = try create(&state, machine, at: t0 + 1, duration: 10)
        _ = try create(&state, machine, at: t0 + 2, duration: 10)
        #expect(statuses(state, machine, at: t0 + 5) == [.running, .running, .queued, .queued])
        #expect(statuses(state, machine, at: t0 + 30) == [.running, .completed, .queued, .queued])
        #expect(statuses(state, machine, at: t0 + 31) == [.running, .completed, .running, .queued])
        #expect(statuses(state, machine, at: t0 + 41) == [.running, .completed, .completed, .running])
        #expect(statuses(state, machine, at: t0 + 51) == [.completed, .completed, .completed, .completed])
    }

    @Test func deleteRemovesOnlyQueuedTasks() throws {
        let machine = try machine(slots: 1)
        var state = WorkspaceState.empty
        let first = try create(&state, machine, at: t0, duration: 10)
        let second = try create(&state, machine, at: t0, duration: 10)
        let before = state
        #expect(throws: TaskError.notDeletable(first, status: .running)) {
            try machine.apply(.delete(first, at: t0 + 5), to: &state)
        }
        #expect(state == before)
        #expect(try machine.apply(.delete(second, at: t0 + 5), to: &state) == .deleted(second))
        #expect(state.tasks.map(\.id) == [first])
        #expect(throws: TaskError.notDeletable(first, status: .completed)) {
            try machine.apply(.delete(first, at: t0 + 20), to: &state)
        }
        let missing = try #require(TaskID(rawValue: 99))
        #expect(throws: TaskError.notFound(missing)) { try machine.apply(.delete(missing, at: t0 + 20), to: &state) }
    }

    @Test func aTaskStartingThisVeryMillisecondIsStillQueuedAndDeletable() throws {
        let machine = try machine(slots: 1)
        var state = WorkspaceState.empty
        _ = try create(&state, machine, at: t0, duration: 10)
        let second = try create(&state, machine, at: t0, duration: 10)
        #expect(statuses(state, machine, at: t0 + 10) == [.completed, .queued])
        #expect(try machine.apply(.delete(second, at: t0 + 10), to: &state) == .deleted(second))
    }

    @Test func flushRemovesDispatchedTasksAndFreesTheirSlotsAtOnce() throws {
        let machine = try machine(slots: 2)
        var state = WorkspaceState.empty
        for _ in 0..<2 { _ = try create(&state, machine, at: t0, duration: 1_000) }
        let waiting = [
            try create(&state, machine, at: t0, duration: 10), try create(&state, machine, at: t0, duration: 10),
        ]
        let outcome = try machine.apply(.flush(at: t0 + 100), to: &state)
        #expect(outcome == .flushed(removed: 2))
        #expect(state.tasks.map(\.id) == waiting)
        #expect(statuses(state, machine, at: t0 + 100) == [.queued, .queued])
        #expect(statuses(state, machine, at: t0 + 101) == [.running, .running])
    }

    @Test func flushWithNothingDispatchedChangesNothing() throws {
        let machine = try machine(slots: 1)
        var state = WorkspaceState.empty
        _ = try create(&state, machine, at: t0, duration: 10)
        #expect(try machine.apply(.flush(at: t0), to: &state) == .flushed(removed: 0))
        #expect(ChangeOutcome.flushed(removed: 0).changedWorkspace == false)
        #expect(state.tasks.count == 1)
    }

    @Test func flushKeepsHistoryOfEarlierFinishersThatDecidedLaterStarts() throws {
        let machine = try machine(slots: 1)
        var state = WorkspaceState.empty
        _ = try create(&state, machine, at: t0, duration: 10)
        _ = try create(&state, machine, at: t0, duration: 10)
        _ = try create(&state, machine, at: t0, duration: 10)
        // At +15 the first is completed and the second running; flush removes both, so the third starts at +15.
        _ = try machine.apply(.flush(at: t0 + 15), to: &state)
        #expect(statuses(state, machine, at: t0 + 16) == [.running])
        #expect(statuses(state, machine, at: t0 + 25) == [.completed])
    }

    @Test func idsAreNeverReused() throws {
        let machine = try machine(slots: 1)
        var state = WorkspaceState.empty
        let first = try create(&state, machine, at: t0, duration: 5)
        let second = try create(&state, machine, at: t0, duration: 5)
        _ = try machine.apply(.delete(second, at: t0), to: &state)
        _ = try machine.apply(.flush(at: t0 + 10), to: &state)
        #expect(state.tasks.isEmpty)
        let third = try create(&state, machine, at: t0 + 10)
        #expect(first.rawValue == 1 && second.rawValue == 2 && third.rawValue == 3)
    }

    @Test func taskLimitRejectsCreatesBeyondIt() throws {
        let machine = try machine()
        var state = WorkspaceState.empty
        for _ in 0..<3 { _ = try create(&state, machine, at: t0) }
        let change = TaskChange.create(name: try TaskName(parsing: "x"), type: .tiny, durationMilliseconds: 5, at: t0)
        let before = state
        #expect(throws: TaskError.taskLimitReached(limit: 3)) { try machine.apply(change, to: &state, taskLimit: 3) }
        #expect(state == before)
    }

    @Test func aClockBehindTheStoredStateNeverMovesTimeBackwards() throws {
        let machine = try machine(slots: 1)
        var state = WorkspaceState.empty
        _ = try create(&state, machine, at: t0 + 1_000, duration: 10)
        #expect(machine.view(of: state, at: t0).at == t0 + 1_000)
        let late = try create(&state, machine, at: t0, duration: 10)
        #expect(state.tasks.last?.createdAt == t0 + 1_000)
        #expect(state.asOf == t0 + 1_000)
        #expect(late.rawValue == 2)
    }

    @Test func writesRecordEveryStartTheyLearn() throws {
        let machine = try machine(slots: 1)
        var state = WorkspaceState.empty
        _ = try create(&state, machine, at: t0, duration: 10)
        _ = try create(&state, machine, at: t0, duration: 10)
        _ = try create(&state, machine, at: t0 + 15, duration: 10)
        #expect(state.tasks.map(\.startedAt) == [t0, t0 + 10, nil])
    }

    @Test func fewerSlotsThanRecordedRunningTasksStillScheduleSafely() throws {
        var state = WorkspaceState.empty
        let wide = try machine(slots: 3)
        for _ in 0..<4 { _ = try create(&state, wide, at: t0, duration: 10 + Int64(state.tasks.count)) }
        _ = try create(&state, wide, at: t0 + 1, duration: 10)
        let narrow = try machine(slots: 1)
        // Three tasks were recorded running under three slots; with one slot the next waits until all have ended.
        #expect(statuses(state, narrow, at: t0 + 2) == [.running, .running, .running, .queued, .queued])
        #expect(statuses(state, narrow, at: t0 + 10) == [.completed, .running, .running, .queued, .queued])
        #expect(statuses(state, narrow, at: t0 + 11) == [.completed, .completed, .running, .queued, .queued])
        #expect(statuses(state, narrow, at: t0 + 12) == [.completed, .completed, .completed, .queued, .queued])
        #expect(statuses(state, narrow, at: t0 + 13) == [.completed, .completed, .completed, .running, .queued])
    }
}
