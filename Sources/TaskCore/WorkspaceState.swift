/// Everything stored about one workspace: the document a writer replaces atomically.
///
/// Invariant kept by `TaskStateMachine.apply`: every task that had started before `asOf` has `startedAt` set,
/// and every task without `startedAt` was queued at `asOf`. So the list at any later moment follows from this
/// value, the slot count and that moment alone.
public struct WorkspaceState: Hashable, Sendable, Codable {
    /// The id the next create receives; ids are never reused.
    public var nextID: Int64
    /// How many changes have been committed; the change log repeats it as the record's `seq`.
    public var sequence: UInt64
    /// The moment up to which the recorded facts are complete.
    public var asOf: Timestamp
    /// The tasks, by ascending id.
    public var tasks: TaskList

    public static let empty = WorkspaceState(nextID: 1, sequence: 0, asOf: Timestamp(rawValue: 0), tasks: TaskList())

    public init(nextID: Int64, sequence: UInt64, asOf: Timestamp, tasks: TaskList) {
        self.nextID = nextID
        self.sequence = sequence
        self.asOf = asOf
        self.tasks = tasks
    }

    public init(nextID: Int64, sequence: UInt64, asOf: Timestamp, tasks: some Sequence<StoredTask>) {
        self.init(nextID: nextID, sequence: sequence, asOf: asOf, tasks: TaskList(tasks))
    }

    enum CodingKeys: String, CodingKey {
        case nextID = "next_id"
        case sequence = "seq"
        case asOf = "as_of"
        case tasks
    }
}
