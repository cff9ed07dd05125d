import Testing

@testable import TaskCore

/// Thousands of random sequences of creates, deletes, flushes and clock jumps, each checked millisecond by millisecond
/// against `ReferenceWorkspace`, plus the invariants the contract promises.
struct TaskStateMachineModelTests {
    /// Everything one random sequence checks; a failure names its seed so it can be replayed.
    struct Run {
        let seed: UInt64
        var generator: SeededGenerator
        let machine: TaskStateMachine
        var model: ReferenceWorkspace
        var state = WorkspaceState.empty
        var lastSeen: [Int64: TaskStatus] = [:]
        var highestID: Int64 = 0
        var previousView: WorkspaceView?

        init(seed: UInt64) throws {
            self.seed = seed
            generator = SeededGenerator(seed: seed)
            let slots = [1, 2, 3, 6].randomElement(using: &generator) ?? 6
            machine = TaskStateMachine(policy: try SchedulePolicy(slots: slots, timeScale: 1))
            model = ReferenceWorkspace(slots: slots, now: 1_000_000)
        }

        var now: Timestamp { Timestamp(rawValue: model.now) }

        /// Compares the state machine's list with the model's at the model's clock, and checks the invariants.
        mutating func check(_ comment: @autoclosure () -> String) {
            let view = machine.view(of: state, at: now)
            let expected = model.statuses
            let actual = Dictionary(uniqueKeysWithValues: view.tasks.map { ($0.id.rawValue, $0.status) })
            #expect(actual == expected, "seed \(seed) at \(model.now): \(comment())")
            #expect(view.tasks.map(\.id) == view.tasks.map(\.id).sorted(), "seed \(seed): list not ordered by id")
            let running = view.tasks.filter { $0.status == .running }.count
            #expect(
                running <= machine.policy.slots, "seed \(seed): \(running) running with \(machine.policy.slots) slots")
            for task in view.tasks {
                if let seen = lastSeen[task.id.rawValue] {
                    #expect(seen <= task.status, "seed \(seed): task \(task.id) went from \(seen) to \(task.status)")
                }
                lastSeen[task.id.rawValue] = task.status
            }
            // Tasks start in id order: started tasks have non-decreasing start times by id.
            let starts = machine.startTimes(of: state)
            let started = zip(view.tasks, starts).filter { $0.0.status != .queued }.map(\.1)
            #expect(started == started.sorted(), "seed \(seed): tasks started out of id order")
            // nextChange names exactly the next moment the list differs.
            if let previous = previousView, previous.at.rawValue == model.now - 1 {
                let changed = previous.tasks.map(\.status) != view.tasks.map(\.status)
                #expect(changed == (previous.nextChange == now), "seed \(seed) at \(model.now): nextChange wrong")
            }
            previousView = view
        }

        mutating func advance(by milliseconds: Int64) {
            let checkEvery: Int64 = milliseconds <= 60 ? 1 : 13
            for step in 0..<milliseconds {
                model.tick()
                if step % checkEvery == 0 || step == milliseconds - 1 {
                    check("after a tick")
                } else {
                    previousView = nil
                }
            }
        }

        /// Applies a change to a copy decoded from the stored bytes too, as a follower would, and expects the same.
        mutating func apply(_ change: TaskChange) throws(TaskError) -> ChangeOutcome {
            let before = state
            let outcome = try machine.apply(change, to: &state)
            if Int.random(in: 0..<10, using: &generator) == 0, let bytes = try? WireFormat.encode(before),
                var follower = try? WireFormat.decode(WorkspaceState.self, from: bytes)
            {
                _ = try? machine.apply(change, to: &follower)
                #expect(follower == state, "seed \(seed): a follower diverged after \(change.kind)")
            }
            previousView = nil
            return outcome
        }

        mutating func step() throws {
            let jump = Int.random(in: 0..<20, using: &generator)
            advance(
                by: jump < 6
                    ? 0
                    : (jump < 18
                        ? Int64.random(in: 1...25, using: &generator) : Int64.random(in: 100...400, using: &generator)))
            switch Int.random(in: 0..<100, using: &generator) {
            case 0..<45:
                let duration =
                    Int.random(in: 0..<5, using: &generator) == 0
                    ? Int64.random(in: 50...300, using: &generator) : Int64.random(in: 2...30, using: &generator)
                let change = TaskChange.create(
                    name: try TaskName(parsing: "t"), type: .tiny, durationMilliseconds: duration, at: now)
                let outcome = try apply(change)
                let id = model.create(duration: duration)
                guard case .created(let record) = outcome else {
                    Issue.record("seed \(seed): create answered \(outcome)")
                    return
                }
                #expect(record.id.rawValue == id && record.status == .queued, "seed \(seed): create answered \(record)")
                #expect(id > highestID, "seed \(seed): id \(id) reused")
                highestID = id
                check("after create \(id)")
            case 45..<75:
                let candidates = model.entries.map(\.id) + [highestID + 1]
                let id = candidates.randomElement(using: &generator) ?? 1
                let taskID = try #require(TaskID(rawValue: id))
                let expected = model.delete(id)
                do {
                    let outcome = try apply(.delete(taskID, at: now))
                    #expect(
                        expected == nil && outcome == .deleted(taskID),
                        "seed \(seed): delete \(id) succeeded, model said \(String(describing: expected))")
                } catch .notFound(let missing) {
                    #expect(expected == .notFound && missing == taskID, "seed \(seed): delete \(id) not found")
                } catch .notDeletable(_, let status) {
                    #expect(expected == .notDeletable(status), "seed \(seed): delete \(id) refused as \(status)")
                } catch {
                    Issue.record("seed \(seed): delete \(id) threw \(error)")
                }
                check("after delete \(id)")
            case 75..<90:
                let kept = Set(model.entries.filter { model.status(of: $0, at: model.now) == .queued }.map(\.id))
                let before = machine.view(of: state, at: now)
                let outcome = try apply(.flush(at: now))
                let removed = model.flush()
                #expect(
                    outcome == .flushed(removed: removed), "seed \(seed): flush removed \(outcome), model \(removed)")
                let after = machine.view(of: state, at: now)
                #expect(Set(after.tasks.map(\.id.rawValue)) == kept, "seed \(seed): flush kept the wrong tasks")
                // A flush never changes the status of a task it keeps (they were and stay queued at this moment).
                let beforeStatus = Dictionary(uniqueKeysWithValues: before.tasks.map { ($0.id, $0.status) })
                for task in after.tasks {
                    #expect(beforeStatus[task.id] == task.status, "seed \(seed): flush changed \(task.id)")
                }
                check("after flush")
            default:
                check("idle")
            }
        }
    }

    @Test(arguments: 0..<8)
    func randomSequencesMatchTheReferenceSimulation(batch: Int) throws {
        for index in 0..<250 {
            var run = try Run(seed: UInt64(batch * 1_000 + index))
            for _ in 0..<60 { try run.step() }
            run.advance(by: 400)
        }
    }
}
