import TaskCore

/// `workspace show`: the list as of a moment, with the facts behind it.
struct WorkspaceOutput: Encodable {
    struct Row: Encodable {
        let id: Int64
        let name: String
        let type: String
        let status: String
        let createdAt: Timestamp
        let startedAt: Timestamp?
        let durationMilliseconds: Int64

        enum CodingKeys: String, CodingKey {
            case id, name, type, status
            case createdAt = "created_at"
            case startedAt = "started_at"
            case durationMilliseconds = "duration_ms"
        }
    }

    let tenant: String
    let workspace: String
    let at: Timestamp
    let nextChange: Timestamp?
    let nextID: Int64
    let sequence: UInt64
    let tasks: [Row]

    init(key: WorkspaceKey, state: WorkspaceState, view: WorkspaceView) {
        tenant = key.tenant.rawValue
        workspace = key.workspace.rawValue
        at = view.at
        nextChange = view.nextChange
        nextID = state.nextID
        sequence = state.sequence
        tasks = zip(view.tasks, state.tasks).map { record, stored in
            Row(
                id: record.id.rawValue, name: record.name.rawValue, type: record.type.rawValue,
                status: record.status.rawValue, createdAt: stored.createdAt, startedAt: stored.startedAt,
                durationMilliseconds: stored.durationMilliseconds)
        }
    }

    var lines: [String] {
        var lines = [
            "Workspace \(workspace) of tenant \(tenant) at \(Output.format(at)): \(tasks.count) tasks, "
                + "next id \(nextID), seq \(sequence)."
        ]
        if let nextChange {
            lines.append("Next status change at \(Output.format(nextChange)).")
        }
        if !tasks.isEmpty {
            lines.append("ID        STATUS      TYPE        DURATION   NAME")
            for task in tasks {
                let seconds = Double(task.durationMilliseconds) / 1000
                lines.append(
                    String(task.id).padded(to: 10) + task.status.padded(to: 12) + task.type.padded(to: 12)
                        + "\(seconds)s".padded(to: 11) + Self.printable(task.name))
            }
        }
        return lines
    }

    /// Names are kept as sent: show control characters escaped so a name cannot rewrite the terminal.
    static func printable(_ name: String) -> String {
        var bytes: [UInt8] = []
        WireFormat.appendString(name, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    enum CodingKeys: String, CodingKey {
        case tenant, workspace, at, tasks
        case nextChange = "next_change"
        case nextID = "next_id"
        case sequence = "seq"
    }
}
