import ArgumentParser
import TaskCore
import TaskStore

extension WorkspaceCommand {
    /// `taskctl workspace repair TENANT WORKSPACE`: moves a workspace past a damaged journal.
    struct Repair: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a workspace past a damaged journal line, never reusing an id.",
            discussion: """
                A complete journal line that fails its check may hold an acknowledged change, so taskd never skips \
                it: the workspace answers 503 until this command runs (taskctl check names such workspaces). The \
                repair keeps the journal's bytes from the damaged line on in a side file \
                (journal.damaged-<offset>-<crc>, in the workspace's directory), keeps the state of the good lines \
                before it, and sets next_id above every id that may have been handed out, as far as the change log \
                and the damaged bytes tell (an id or two may be skipped, none is reused). Changes in the damaged \
                part are lost; their bytes stay in the side file. It takes the workspace's lock as a writer does, so \
                it is safe while the servers run; it refuses a frozen tenant, and a workspace whose checkpoint is \
                unreadable or disagrees with its journal (restore that one from a backup). Exits 0 when there was \
                nothing to repair, 1 when the tenant has no such workspace, 65 when the workspace cannot be \
                repaired this way.
                """
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
                guard let outcome = try store.repair(key) else {
                    try context.output.emit(
                        ["repaired": false],
                        text: ["Nothing to repair: the journal of \(key) has no damaged line."])
                    return
                }
                try context.output.emit(
                    RepairOutput(repaired: true, outcome: outcome),
                    text: [
                        "Repaired \(key): line \(outcome.damagedLine) (byte \(outcome.damagedOffset)) was damaged"
                            + " (\(outcome.reason)).",
                        "Kept the state at seq \(outcome.keptSequence) (\(outcome.tasks) tasks); the changes after it,"
                            + " up to seq \(outcome.lastPossibleSequence) at most, are lost. Their bytes are kept in"
                            + " \(outcome.sideFile).",
                        "next_id is now \(outcome.nextID) (it was \(outcome.previousNextID)); seq is now"
                            + " \(outcome.sequence).",
                    ])
            }
        }
    }
}

/// What `workspace repair --json` prints.
struct RepairOutput: Encodable {
    let repaired: Bool
    let outcome: RepairOutcome

    func encode(to encoder: any Encoder) throws {
        try outcome.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(repaired, forKey: .repaired)
    }

    enum CodingKeys: String, CodingKey {
        case repaired
    }
}
