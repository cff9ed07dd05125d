import ArgumentParser
import Foundation
import TaskCore
import TaskStore

/// `taskctl tenant import FILE`: a tenant's export written into this shard.
struct TenantImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Write a tenant's export (from `tenant export`) into this state directory and keys file.",
        discussion: """
            A tenant exported frozen arrives frozen: `tenant unfreeze` it once the front routes it here. Each \
            workspace becomes a fresh checkpoint with its tasks, next id and sequence. Refuses, and writes nothing, \
            when a workspace exists here with tasks or history (--replace writes over it) or when a key's id or \
            hash is already here for another key.
            """
    )

    @Argument(help: "The export file.")
    var file: String

    @Flag(help: "Write over workspaces that already exist here (a second attempt at the same import).")
    var replace = false

    @OptionGroup var options: CommonOptions

    func run() throws {
        try CommandFailure.reporting {
            // Read before taking the state directory owner's identity, which may not be allowed to read it.
            let export = try TenantExport.read(file: file)
            let context = try options.makeContext()
            let summary = try export.restore(
                into: try context.openStore(), keysFile: context.settings.keysFile, replacing: replace)
            try context.output.emit(
                summary,
                text: [
                    "Imported tenant \(summary.tenant): \(summary.workspaces) workspace(s), \(summary.tasks) task(s),"
                        + " \(summary.keys) key(s)"
                        + (export.document.frozen ? "; it is frozen here until `taskctl tenant unfreeze`." : ".")
                ])
        }
    }
}

extension TenantExport {
    /// The export in the file the operator named.
    static func read(file path: String) throws -> TenantExport {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure(.problem, "Cannot read \(path).")
        }
        return try read(Array(data), path: path)
    }
}
