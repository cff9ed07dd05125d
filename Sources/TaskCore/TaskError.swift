/// A request that is well formed but cannot be carried out on the workspace as it is.
public enum TaskError: Error, Equatable, Sendable {
    /// The workspace holds no task with this id.
    case notFound(TaskID)
    /// Only queued tasks can be deleted.
    case notDeletable(TaskID, status: TaskStatus)
    /// The workspace already keeps the most tasks it may.
    case taskLimitReached(limit: Int)
}

extension TaskError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .notFound(let id):
            "No task with id \(id) in this workspace."
        case .notDeletable(let id, let status):
            "Task \(id) is \(status.rawValue); only queued tasks can be deleted."
        case .taskLimitReached(let limit):
            "This workspace already keeps \(limit) tasks, the most allowed; flush finished tasks first."
        }
    }
}
