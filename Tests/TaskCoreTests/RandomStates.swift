@testable import TaskCore

/// Random workspace states and edits of them, from a seeded generator, for the codec and delta tests.
enum RandomStates {
    static let names = [
        "abc", "a \"quoted\" name", "back\\slash", "line\nbreak", "日本語", "😀 emoji", "tab\there", "\u{1}ctl", "/path",
    ]

    static func task(id: Int64, _ generator: inout SeededGenerator) -> StoredTask {
        StoredTask(
            id: TaskID(rawValue: id)!,
            name: try! TaskName(parsing: names.randomElement(using: &generator)!),
            type: TaskType.allCases.randomElement(using: &generator)!,
            createdAt: Timestamp(rawValue: Int64.random(in: 0...2_000_000_000_000, using: &generator)),
            durationMilliseconds: Int64.random(in: 2...450_000, using: &generator),
            startedAt: Bool.random(using: &generator)
                ? Timestamp(rawValue: Int64.random(in: 0...2_000_000_000_000, using: &generator)) : nil)
    }

    static func state(count: Int, _ generator: inout SeededGenerator) -> WorkspaceState {
        var tasks: [StoredTask] = []
        var id: Int64 = 0
        for _ in 0..<count {
            id += Int64.random(in: 1...3, using: &generator)
            tasks.append(task(id: id, &generator))
        }
        return WorkspaceState(
            nextID: id + Int64.random(in: 1...3, using: &generator),
            sequence: UInt64.random(in: 0...1_000, using: &generator),
            asOf: Timestamp(rawValue: Int64.random(in: 0...2_000_000_000_000, using: &generator)), tasks: tasks)
    }

    /// The next state: some tasks removed, some changed, some added above `nextID`, clock and sequence moved on.
    static func edit(_ state: WorkspaceState, _ generator: inout SeededGenerator) -> WorkspaceState {
        var next = state
        next.tasks.removeAll { _ in Int.random(in: 0..<8, using: &generator) == 0 }
        for index in next.tasks.indices where Int.random(in: 0..<6, using: &generator) == 0 {
            next.tasks[index].startedAt = Timestamp(rawValue: Int64.random(in: 0...1_000, using: &generator))
        }
        for _ in 0..<Int.random(in: 0...3, using: &generator) {
            next.tasks.append(task(id: next.nextID, &generator))
            next.nextID += 1
        }
        next.nextID += Int64.random(in: 0...1, using: &generator)
        next.sequence += 1
        next.asOf = Timestamp(rawValue: state.asOf.rawValue + Int64.random(in: 0...10_000, using: &generator))
        return next
    }
}
