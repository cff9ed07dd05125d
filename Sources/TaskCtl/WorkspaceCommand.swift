import ArgumentParser
import TaskCore
import TaskStore

/// `taskctl workspace show|list`: what the servers would answer, read straight from the state dir.
struct WorkspaceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workspace",
        abstract: "Inspect tenants and workspaces.",
        subcommands: [Show.self, List.self]
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
                let view = context.stateMachine.view(of: state, at: SystemTime.now())
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
                try context.output.emit(
                    ["workspaces": rows],
                    text: rows.isEmpty ? ["No workspaces."] : [WorkspaceSummary.header] + rows.map(\.line))
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

    static let header = "TENANT                WORKSPACE                                                          TASKS     SEQ"

    var line: String {
        tenant.padded(to: 22) + workspace.padded(to: 66) + String(tasks).padded(to: 10) + String(sequence)
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
