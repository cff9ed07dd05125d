import ArgumentParser
import TaskCore
import TaskStore

/// `taskctl tenant …`: moving a tenant between shards (docs/scaling.md). On the source: `freeze`, `export`, and at
/// the end `retire`; on the target: `import`, then `unfreeze`; for the front: `route`.
struct TenantCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Move a tenant between shards: freeze, export, import, route, unfreeze, retire.",
        discussion: "The procedure, step by step, is in docs/scaling.md.",
        subcommands: [
            Freeze.self, Unfreeze.self, TenantExportCommand.self, TenantImportCommand.self, TenantRouteCommand.self,
            Retire.self,
        ]
    )

    struct Freeze: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Refuse the tenant's writes (503 with Retry-After) from now on; reads and streams go on.",
            discussion: """
                Writes already under way finish first: the store checks the flag under each workspace's lock, so \
                once this returns, whatever `tenant export` reads is final.
                """
        )

        @Argument(help: "The tenant.")
        var tenant: String

        @OptionGroup var options: CommonOptions

        func run() throws {
            try CommandFailure.reporting {
                let tenant = try TenantID(parsing: tenant)
                let context = try options.makeContext()
                try context.openStore().freeze(tenant)
                try context.output.emit(
                    ["frozen": tenant.rawValue], text: ["Tenant \(tenant) is frozen: its writes are refused (503)."])
            }
        }
    }

    struct Unfreeze: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept the tenant's writes again.",
            discussion: "Exits 1 when the tenant was not frozen."
        )

        @Argument(help: "The tenant.")
        var tenant: String

        @OptionGroup var options: CommonOptions

        func run() throws {
            try CommandFailure.reporting {
                let tenant = try TenantID(parsing: tenant)
                let context = try options.makeContext()
                guard try context.openStore().unfreeze(tenant) else {
                    throw CommandFailure(.problem, "Tenant \(tenant) was not frozen.")
                }
                try context.output.emit(
                    ["unfrozen": tenant.rawValue], text: ["Tenant \(tenant) accepts writes again."])
            }
        }
    }

    struct Retire: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a moved tenant's keys from this shard; its workspaces stay, frozen, as a backup.",
            discussion: """
                Run it on the source once the front sends the tenant to its new shard. Within a second this shard \
                refuses the keys and closes the tenant's open streams (1008); clients reconnect through the front \
                to the new shard. Refuses a tenant that is not frozen here.
                """
        )

        @Argument(help: "The tenant.")
        var tenant: String

        @OptionGroup var options: CommonOptions

        func run() throws {
            try CommandFailure.reporting {
                let tenant = try TenantID(parsing: tenant)
                let context = try options.makeContext()
                guard try context.openStore().isFrozen(tenant) else {
                    throw CommandFailure(
                        .problem, "Tenant \(tenant) is not frozen here: freeze it and move it before retiring it.")
                }
                let removed = try KeysFile.removeAll(
                    of: tenant, path: context.settings.keysFile, lockWait: context.settings.store.lockWait)
                try context.output.emit(
                    ["retired": tenant.rawValue, "keys_removed": "\(removed.count)"],
                    text: ["Removed \(removed.count) key(s) of tenant \(tenant); its workspaces stay here, frozen."])
            }
        }
    }
}
