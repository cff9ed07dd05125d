/// Where a task is in its life. Statuses only ever move forward.
public enum TaskStatus: String, Sendable, Codable, CaseIterable, Comparable {
    case queued
    case running
    case completed

    private var rank: Int {
        switch self {
        case .queued: 0
        case .running: 1
        case .completed: 2
        }
    }

    public static func < (lhs: TaskStatus, rhs: TaskStatus) -> Bool { lhs.rank < rhs.rank }
}
