import Testing

@testable import TaskCore

/// `TaskList` against the simplest model of it, an `Array`: random appends, edits, inserts and removals across chunk
/// boundaries, with copies kept along the way (versions must never see each other's changes).
struct TaskListTests {
    @Test(arguments: 0..<12)
    func behavesLikeAnArrayWhateverIsDoneToIt(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        var list = TaskList()
        var model: [StoredTask] = []
        var versions: [(TaskList, [StoredTask])] = []
        var nextID: Int64 = 1
        for step in 0..<2_000 {
            switch Int.random(in: 0..<100, using: &generator) {
            case 0..<70:
                let task = RandomStates.task(id: nextID, &generator)
                nextID += 1
                list.append(task)
                model.append(task)
            case 70..<85 where !model.isEmpty:
                let index = Int.random(in: 0..<model.count, using: &generator)
                let started = Timestamp(rawValue: Int64(step))
                list[index].startedAt = started
                model[index].startedAt = started
            case 85..<90 where !model.isEmpty:
                let index = Int.random(in: 0..<model.count, using: &generator)
                list.remove(at: index)
                model.remove(at: index)
            case 90..<93:
                let index = Int.random(in: 0...model.count, using: &generator)
                let task = RandomStates.task(id: 1_000_000 + Int64(step), &generator)
                list.insert(task, at: index)
                model.insert(task, at: index)
            case 93..<95:
                let cut = Int64.random(in: 0...max(1, nextID), using: &generator)
                list.removeAll { $0.id.rawValue % 7 == cut % 7 }
                model.removeAll { $0.id.rawValue % 7 == cut % 7 }
            default:
                versions.append((list, model))
            }
            #expect(list.count == model.count)
        }
        #expect(Array(list) == model, "seed \(seed)")
        #expect(list == TaskList(model) && list.hashValue == TaskList(model).hashValue)
        for (version, expected) in versions {
            #expect(Array(version) == expected, "seed \(seed): an old version changed")
            #expect((version == list) == (expected == model))
        }
    }

    @Test func aChangeCopiesOnlyTheChunkItTouches() {
        var generator = SeededGenerator(seed: 99)
        let tasks = (1...2_000).map { RandomStates.task(id: Int64($0), &generator) }
        let original = TaskList(tasks)
        var changed = original
        changed[1_100].startedAt = Timestamp(rawValue: 1)
        changed.append(RandomStates.task(id: 2_001, &generator))
        for position in stride(from: 0, to: 2_000, by: TaskList.chunkSize) {
            #expect(original.sharesChunk(with: changed, at: position) == (position == 0 || position == 512))
        }
        let delta = StateDelta(
            from: WorkspaceState(nextID: 2_001, sequence: 1, asOf: .init(rawValue: 0), tasks: original),
            to: WorkspaceState(nextID: 2_002, sequence: 2, asOf: .init(rawValue: 0), tasks: changed))
        #expect(delta.put.map(\.id.rawValue) == [1_101, 2_001] && delta.drop.isEmpty)
    }
}
