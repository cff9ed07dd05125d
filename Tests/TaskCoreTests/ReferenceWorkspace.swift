@testable import TaskCore

/// A plain step-by-step simulation of one workspace, the model the state machine is checked against.
///
/// It keeps a clock and moves it one millisecond at a time: at each boundary, running tasks whose time is up free their
/// slot, and the lowest-id waiting tasks take free slots. Operations happen at the current millisecond, after that step.
struct ReferenceWorkspace {
    struct Entry {
        let id: Int64
        let duration: Int64
        var start: Int64?
    }

    enum Failure: Equatable {
        case notFound
        case notDeletable(TaskStatus)
    }

    let slots: Int
    private(set) var now: Int64
    private(set) var nextID: Int64 = 1
    private(set) var entries: [Entry] = []

    init(slots: Int, now: Int64) {
        self.slots = slots
        self.now = now
    }

    func status(of entry: Entry, at moment: Int64) -> TaskStatus {
        guard let start = entry.start, moment > start else { return .queued }
        return moment < start + entry.duration ? .running : .completed
    }

    var statuses: [Int64: TaskStatus] {
        Dictionary(uniqueKeysWithValues: entries.map { ($0.id, status(of: $0, at: now)) })
    }

    /// Moves the clock forward one millisecond.
    mutating func tick() {
        now += 1
        fillSlots()
    }

    mutating func create(duration: Int64) -> Int64 {
        let id = nextID
        nextID += 1
        entries.append(Entry(id: id, duration: duration, start: nil))
        fillSlots()
        return id
    }

    mutating func delete(_ id: Int64) -> Failure? {
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return .notFound }
        let status = status(of: entries[index], at: now)
        guard status == .queued else { return .notDeletable(status) }
        entries.remove(at: index)
        fillSlots()
        return nil
    }

    /// Removes every task shown running or completed now; returns how many.
    mutating func flush() -> Int {
        let before = entries.count
        let moment = now
        entries.removeAll { entry in
            guard let start = entry.start else { return false }
            return moment > start
        }
        fillSlots()
        return before - entries.count
    }

    private mutating func fillSlots() {
        var busy = entries.filter { entry in
            guard let start = entry.start else { return false }
            return start <= now && now < start + entry.duration
        }.count
        for index in entries.indices where entries[index].start == nil && busy < slots {
            entries[index].start = now
            busy += 1
        }
    }
}
