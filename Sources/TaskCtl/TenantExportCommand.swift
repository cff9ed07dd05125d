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
