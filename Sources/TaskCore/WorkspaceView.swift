/// A workspace as of one moment: the list clients see, and when it will next change by itself.
public struct WorkspaceView: Hashable, Sendable {
    /// The moment the list describes (never earlier than the state's `asOf`).
    public let at: Timestamp
    /// Every task with its status at `at`, by ascending id.
    public let tasks: [TaskRecord]
    /// The first moment after `at` at which some status differs; `nil` when nothing will change without a write.
    public let nextChange: Timestamp?

    public init(at: Timestamp, tasks: [TaskRecord], nextChange: Timestamp?) {
        self.at = at
        self.tasks = tasks
        self.nextChange = nextChange
    }
}
