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
            workspace becomes a fresh checkpoint with its tasks, next id and sequence. Checks everything first and \
            writes nothing when: a key's id or hash is already here for another key; a tenant of that name exists \
            here with keys or workspaces the export does not have (it would merge two customers: --as imports under \
            another name); a workspace exists here with another history than the exported one (it took writes \
            since the export: it is never rolled back). A workspace already here exactly as exported (same \
            sequence and chain) is refused too, unless --replace, which accepts it as imported. Holds the keys \
            file's lock throughout (TASKD_LOCK_WAIT_MS to get it).
            """
    )

    @Argument(help: "The export file.")
    var file: String

    @Flag(
        help: """
            Accept workspaces already here exactly as exported (a second attempt at the same import); never writes \
            over one with another history.
            """)
    var replace = false

    @Option(
        name: .customLong("as"),
        help: "Import under this tenant name instead of the export's (its keys then belong to it).")
    var newName: String?

    @OptionGroup var options: CommonOptions

    func run() throws {
        try CommandFailure.reporting {
            let name = try newName.map { text throws(TaskCore.ValidationError) in try TenantID(parsing: text) }
            // Read before taking the state directory owner's identity, which may not be allowed to read it.
            let export = try TenantExport.read(file: file)
            let context = try options.makeContext()
            let summary = try export.restore(
                into: try context.openStore(), keysFile: context.settings.keysFile, replacing: replace, as: name,
                lockWait: context.settings.store.lockWait)
            try context.output.emit(
                summary,
                text: [
                    "Imported tenant \(export.tenant)"
                        + (summary.tenant == export.tenant.rawValue ? "" : " as \(summary.tenant)")
                        + ": \(summary.workspaces) workspace(s)"
                        + (summary.unchanged == 0 ? "" : " (\(summary.unchanged) already here, unchanged)")
                        + ", \(summary.tasks) task(s), \(summary.keys) key(s)"
                        + (export.document.frozen
                            ? "; it is frozen here until `taskctl tenant unfreeze \(summary.tenant)`." : ".")
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
