import ArgumentParser
import TaskAPI
import TaskCore
import TaskStore

/// `taskctl workspace show|list`: what the servers would answer, read straight from the state dir.
struct WorkspaceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workspace",
        abstract: "Inspect tenants and workspaces; repair a damaged one.",
        subcommands: [Show.self, List.self, Repair.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a workspace's tasks as of now, as GET /tasks would list them.",
            discussion: "Exits 1 when the tenant has no such workspace, 65 when its document is corrupt."
        )

        @Argument(help: "The tenant.")
        var tenant: String

        @Argument(help: "The workspace id.")
        var workspace: String

        @OptionGroup var options: CommonOptions

        func run() throws {
            try CommandFailure.reporting {
                let key = WorkspaceKey(
                    tenant: try TenantID(parsing: tenant), workspace: try WorkspaceID(parsing: workspace))
                let context = try options.makeContext()
                let store = try context.openStore()
                guard try store.workspaces(of: key.tenant).contains(key.workspace) else {
                    throw CommandFailure(.problem, "Tenant \(key.tenant) has no workspace \(key.workspace).")
                }
                let state = try store.read(key)
                let view = context.stateMachine.view(of: state, at: WallClock.now())
                let output = WorkspaceOutput(key: key, state: state, view: view)
                try context.output.emit(output, text: output.lines)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List workspaces, of one tenant or of all.",
            discussion: "Exits 1 when a tenant is given that has no workspace."
        )

        @Argument(help: "Only this tenant's workspaces.")
        var tenant: String?

        @OptionGroup var options: CommonOptions

        func run() throws {
            try CommandFailure.reporting {
                let only = try tenant.map { name throws(TaskCore.ValidationError) in try TenantID(parsing: name) }
                let context = try options.makeContext()
                let store = try context.openStore()
                var rows: [WorkspaceSummary] = []
                for tenant in try only.map({ [$0] }) ?? store.tenants() {
                    for workspace in try store.workspaces(of: tenant) {
                        let state = try store.read(WorkspaceKey(tenant: tenant, workspace: workspace))
                        rows.append(
                            WorkspaceSummary(
                                tenant: tenant.rawValue, workspace: workspace.rawValue, tasks: state.tasks.count,
                                nextID: state.nextID, sequence: state.sequence))
                    }
                }
                if let only, rows.isEmpty {
                    throw CommandFailure(.problem, "Tenant \(only) has no workspace.")
                }
                try context.output.emit(["workspaces": rows], text: WorkspaceSummary.table(rows))
            }
        }
    }
}

/// One row of `workspace list`.
struct WorkspaceSummary: Encodable {
    let tenant: String
    let workspace: String
    let tasks: Int
    let nextID: Int64
    let sequence: UInt64

    /// The rows as an aligned table, columns as wide as their longest value.
    static func table(_ rows: [WorkspaceSummary]) -> [String] {
        guard !rows.isEmpty else { return ["No workspaces."] }
        let tenantWidth = max(6, rows.map(\.tenant.count).max() ?? 0) + 2
        let workspaceWidth = max(9, rows.map(\.workspace.count).max() ?? 0) + 2
        func line(_ tenant: String, _ workspace: String, _ tasks: String, _ sequence: String) -> String {
            tenant.padded(to: tenantWidth) + workspace.padded(to: workspaceWidth) + tasks.padded(to: 9) + sequence
        }
        return [line("TENANT", "WORKSPACE", "TASKS", "SEQ")]
            + rows.map { line($0.tenant, $0.workspace, String($0.tasks), String($0.sequence)) }
    }

    enum CodingKeys: String, CodingKey {
        case tenant, workspace, tasks
        case nextID = "next_id"
        case sequence = "seq"
    }
}

extension String {
    /// The string followed by spaces up to `width` characters, and at least one.
    func padded(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
