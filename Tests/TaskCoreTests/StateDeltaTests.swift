import Testing

@testable import TaskCore

struct StateDeltaTests {
    /// The model: a delta is right when applying it to the old state gives exactly the new one.
    @Test(arguments: 0..<40)
    func applyingTheDeltaOfTwoStatesGivesTheSecond(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        var state = RandomStates.state(count: Int.random(in: 0...60, using: &generator), &generator)
        for _ in 0..<25 {
            let next = RandomStates.edit(state, &generator)
            let delta = StateDelta(from: state, to: next)
            var replayed = state
            try delta.apply(to: &replayed)
            #expect(replayed == next, "seed \(seed)")
            state = next
        }
    }

    @Test func aCreateStoresOnlyTheNewTaskAndTheStartsLearned() throws {
        var generator = SeededGenerator(seed: 7)
        let before = RandomStates.state(count: 1_000, &generator)
        var after = before
        after.tasks[3].startedAt = Timestamp(rawValue: 5)
        after.tasks.append(RandomStates.task(id: after.nextID, &generator))
        after.nextID += 1
        after.sequence += 1
        let delta = StateDelta(from: before, to: after)
        #expect(delta.put.map(\.id) == [before.tasks[3].id, after.tasks.last!.id])
        #expect(delta.drop.isEmpty)
    }

    @Test func aDeltaThatDoesNotFitFailsAndChangesNothing() throws {
        var generator = SeededGenerator(seed: 8)
        let state = RandomStates.state(count: 20, &generator)
        let missing = TaskID(rawValue: state.nextID + 5)!
        var bad = StateDelta(from: state, to: RandomStates.edit(state, &generator))
        bad.drop = [missing]
        var target = state
        #expect(throws: WireFormatError.self) { try bad.apply(to: &target) }
        #expect(target == state)

        var backwards = StateDelta(from: state, to: state)
        backwards.nextID = state.nextID - 1
        #expect(throws: WireFormatError.self) { try backwards.apply(to: &target) }
        var above = StateDelta(from: state, to: state)
        above.put = [RandomStates.task(id: state.nextID, &generator)]
        #expect(throws: WireFormatError.self) { try above.apply(to: &target) }
        #expect(target == state)
    }
}
