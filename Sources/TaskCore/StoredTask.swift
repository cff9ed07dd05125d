/// A task as the store keeps it: what clients see, plus the facts its schedule is computed from.
public struct StoredTask: Hashable, Sendable, Codable {
    public let id: TaskID
    public let name: TaskName
    public let type: TaskType
    /// When the create was committed.
    public let createdAt: Timestamp
    /// How long the task runs once started, drawn at creation (milliseconds, at least 2).
    public let durationMilliseconds: Int64
    /// When the task started, once a writer has learned it; `nil` while it may still be queued.
    public var startedAt: Timestamp?

    public init(
        id: TaskID, name: TaskName, type: TaskType, createdAt: Timestamp, durationMilliseconds: Int64,
        startedAt: Timestamp? = nil
    ) {
        self.id = id
        self.name = name
        self.type = type
        self.createdAt = createdAt
        self.durationMilliseconds = durationMilliseconds
        self.startedAt = startedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, type
        case createdAt = "created_at"
        case durationMilliseconds = "duration_ms"
        case startedAt = "started_at"
    }
}
