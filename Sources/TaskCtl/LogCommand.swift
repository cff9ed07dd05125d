import ArgumentParser
import TaskStore

/// `taskctl log compact`: rotates the change log now instead of waiting for it to reach its size limit.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Maintain the change log.",
        subcommands: [Compact.self]
    )

    struct Compact: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rotate the change log now, dropping the previous rotation.",
            discussion: """
                Safe while the servers run: writers move to the new log under its lock, and taskd-ws follows the \
                rotation (it re-reads its workspaces if it fell behind). The workspace documents are the durable \
                truth; the log only tells followers what changed.
                """
        )

        @OptionGroup var options: CommonOptions

        func run() throws {
            try CommandFailure.reporting {
                let context = try options.makeContext()
                let store = try context.openStore()
                try store.compactLog()
                try context.output.emit(
                    ["compacted": true], text: ["Compacted the change log in \(context.settings.stateDirectory)."])
            }
        }
    }
}
