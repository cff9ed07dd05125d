/// What applying a `TaskChange` did.
public enum ChangeOutcome: Hashable, Sendable {
    /// The new task, as it is at creation: queued.
    case created(TaskRecord)
    case deleted(TaskID)
    /// How many running or completed tasks the flush removed; 0 means the workspace did not change.
    case flushed(removed: Int)

    /// Whether the workspace changed, so that the change must be stored and announced.
    public var changedWorkspace: Bool {
        if case .flushed(removed: 0) = self { return false }
        return true
    }
}
