import ArgumentParser
import Foundation
import TaskAPI
import TaskCore
import TaskStore

/// `taskctl tenant export TENANT > FILE`: the tenant's workspaces and keys as one JSON document on stdout.
struct TenantExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a tenant's workspaces and keys (hashes) to stdout, as one JSON document.",
        discussion: """
            Each workspace is read under its lock, with its tasks, next id and sequence. The tenant must be frozen \
            (`tenant freeze`), so that no write can follow the export; --live copies a tenant that is not, for a \
            backup. A summary goes to stderr. Exits 1 when the tenant has neither workspace nor key here.
            """
    )

    @Argument(help: "The tenant.")
    var tenant: String

    @Flag(help: "Export a tenant that is not frozen (a copy that later writes may outdate; not for a move).")
    var live = false

    @OptionGroup var options: CommonOptions

    func run() throws {
        try CommandFailure.reporting {
            let tenant = try TenantID(parsing: tenant)
            let context = try options.makeContext()
            let summary = try TenantExport.write(
                tenant: tenant, store: try context.openStore(), keysFile: context.settings.keysFile, live: live,
                exportedAt: WallClock.now()
            ) { bytes in
                FileHandle.standardOutput.write(Data(bytes))
            }
            Output.printNote(
                "Exported tenant \(tenant): \(summary.workspaces) workspace(s), \(summary.tasks) task(s),"
                    + " \(summary.keys) key(s)\(live ? " (live)" : "").")
        }
    }
}

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
            let export = try TenantExport.read(try readFile(file), path: file)
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

/// The whole of a file the operator named.
func readFile(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CommandFailure(.problem, "Cannot read \(path).")
    }
    return Array(data)
}
