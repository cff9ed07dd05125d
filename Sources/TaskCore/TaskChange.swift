/// One change to a workspace, complete enough that applying it to the same state always gives the same result.
///
/// A writer applies it under the workspace lock and appends it to the change log; a follower applies the same value
/// to its own copy of the state and arrives at the same document.
public enum TaskChange: Hashable, Sendable, Codable {
    /// Adds a queued task; its id is the workspace's next id.
    case create(name: TaskName, type: TaskType, durationMilliseconds: Int64, at: Timestamp)
    /// Removes a queued task.
    case delete(TaskID, at: Timestamp)
    /// Removes every running and completed task.
    case flush(at: Timestamp)

    public var at: Timestamp {
        switch self {
        case .create(_, _, _, let at), .delete(_, let at), .flush(let at): at
        }
    }

    /// A short word for logs and the change log.
    public var kind: String {
        switch self {
        case .create: "create"
        case .delete: "delete"
        case .flush: "flush"
        }
    }
}
