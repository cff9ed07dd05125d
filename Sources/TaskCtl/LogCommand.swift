import ArgumentParser
import TaskCore
import TaskStore

/// `taskctl log compact`: rotates the change log now and checkpoints every workspace.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Maintain the change log.",
        subcommands: [Compact.self]
    )

    struct Compact: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rotate the change log now and fold every workspace's journal into a new checkpoint.",
            discussion: """
                Safe while the servers run: writers move to the new log under its lock, and taskd-ws follows the \
                rotation (it re-reads its workspaces if it fell behind). Each workspace whose journal holds changes \
                gets a checkpoint and a new journal under its own lock, as a writer would; a workspace still in \
                format 1 is converted. The journals are the durable truth; the log only tells followers what changed.
                """
        )

        @OptionGroup var options: CommonOptions

        func run() throws {
            try CommandFailure.reporting {
                let context = try options.makeContext()
                let store = try context.openStore()
                try store.compactLog()
                var checkpointed = 0
                for tenant in try store.tenants() {
                    for workspace in try store.workspaces(of: tenant) {
                        if try store.checkpoint(WorkspaceKey(tenant: tenant, workspace: workspace)) {
                            checkpointed += 1
                        }
                    }
                }
                try context.output.emit(
                    CompactionOutput(compacted: true, checkpointed: checkpointed),
                    text: [
                        "Compacted the change log in \(context.settings.stateDirectory) and checkpointed"
                            + " \(checkpointed) workspaces."
                    ])
            }
        }
    }
}

/// What `log compact --json` prints.
struct CompactionOutput: Encodable {
    let compacted: Bool
    let checkpointed: Int
}
