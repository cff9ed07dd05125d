import Logging
import TaskCore
import TaskStore

/// The four REST operations, each on a workspace the caller is entitled to.
extension APIHandler {
    /// `GET /tasks`: the hot path. One lock-free read of the document and one pass of the state machine.
    func listTasks(in key: WorkspaceKey) throws -> Response {
        let state = try store.read(key)
        let view = machine.view(of: state, at: clock())
        return .json(WireFormat.tasksEnvelope(view.tasks), status: .ok)
    }

    /// `POST /tasks`: appends a queued task under the workspace lock; the answer comes after the durable write.
    func createTask(_ body: CreateTaskBody, in key: WorkspaceKey, logger: Logger) throws -> Response {
        let policy = settings.policy
        let taskLimit = settings.maxTasksPerWorkspace
        let outcome = try store.update(key) { state in
            // The clock is read under the lock, so the moments of one workspace's changes never go backwards.
            let change = TaskChange.create(
                name: body.name, type: body.type, durationMilliseconds: policy.drawDuration(for: body.type),
                at: clock())
            let outcome = try machine.apply(change, to: &state, taskLimit: taskLimit)
            return StoreUpdate(change: change, result: outcome)
        }
        guard case .created(let task) = outcome else { throw UnexpectedOutcome(outcome: outcome) }
        logger.debug("Task created", metadata: ["task.id": "\(task.id)", "workspace": "\(key)"])
        return .json(WireFormat.taskEnvelope(task), status: .created)
    }

    /// `DELETE /tasks/:id`: removes a task while it is queued.
    ///
    /// A task missing or already started in a lock-free read is answered at once: ids are never reused and statuses
    /// only move forward, so the answer was true at the moment of the read. Only a queued task takes the lock, and a
    /// delete of an unused workspace creates nothing.
    func deleteTask(_ id: TaskID, in key: WorkspaceKey, logger: Logger) throws -> Response {
        let view = machine.view(of: try store.read(key), at: clock())
        guard let task = view.tasks.first(where: { $0.id == id }) else { throw TaskError.notFound(id) }
        guard task.status == .queued else { throw TaskError.notDeletable(id, status: task.status) }
        _ = try store.update(key) { state in
            let change = TaskChange.delete(id, at: clock())
            let outcome = try machine.apply(change, to: &state)
            return StoreUpdate(change: change, result: outcome)
        }
        logger.debug("Task deleted", metadata: ["task.id": "\(id)", "workspace": "\(key)"])
        return .noContent()
    }

    /// `POST /tasks/flush`: removes every running and completed task; always 204.
    ///
    /// When a lock-free read finds nothing dispatched, the flush took place at the moment of that read and changed
    /// nothing: no lock, no write, no announcement, and an unused workspace stays unused.
    func flushTasks(in key: WorkspaceKey, logger: Logger) throws -> Response {
        let view = machine.view(of: try store.read(key), at: clock())
        guard view.tasks.contains(where: { $0.status != .queued }) else { return .noContent() }
        let outcome = try store.update(key) { state in
            let change = TaskChange.flush(at: clock())
            let outcome = try machine.apply(change, to: &state)
            // A flush that removed nothing leaves the document and the change log alone.
            return StoreUpdate(change: outcome.changedWorkspace ? change : nil, result: outcome)
        }
        if case .flushed(let removed) = outcome, removed > 0 {
            logger.debug("Tasks flushed", metadata: ["tasks.removed": "\(removed)", "workspace": "\(key)"])
        }
        return .noContent()
    }
}

/// The state machine answered a change with an outcome of another kind: a bug, reported as a 500.
struct UnexpectedOutcome: Error, CustomStringConvertible {
    let outcome: ChangeOutcome
    var description: String { "Unexpected outcome \(outcome)" }
}
