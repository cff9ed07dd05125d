/// A task as clients see it: exactly `id`, `name`, `type` and `status`.
public struct TaskRecord: Hashable, Sendable {
    public let id: TaskID
    public let name: TaskName
    public let type: TaskType
    public let status: TaskStatus

    public init(id: TaskID, name: TaskName, type: TaskType, status: TaskStatus) {
        self.id = id
        self.name = name
        self.type = type
        self.status = status
    }
}
