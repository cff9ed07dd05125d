/// A request that is well formed but cannot be carried out on the workspace as it is.
public enum TaskError: Error, Equatable, Sendable {
    /// The workspace holds no task with this id.
    case notFound(TaskID)
    /// Only queued tasks can be deleted.
    case notDeletable(TaskID, status: TaskStatus)
    /// The workspace already keeps the most tasks it may.
    case taskLimitReached(limit: Int)
    /// The workspace's `next_id` is at the end of the ids it may hand out (`StoredLimits.nextIDs`): no new task.
    case idsExhausted
    /// The workspace's sequence is at the end of its range (`StoredLimits.sequences`): no change at all.
    case sequenceExhausted
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
        case .idsExhausted:
            "This workspace has handed out every task id it may (up to \(StoredLimits.maximumSafeInteger - 1));"
                + " it takes no new task. Use another workspace_id."
        case .sequenceExhausted:
            "This workspace has recorded the most changes it may (\(StoredLimits.maximumSafeInteger)); it takes no"
                + " further change. Use another workspace_id."
        }
    }
}
