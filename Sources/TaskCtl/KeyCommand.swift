import ArgumentParser
import TaskAPI
import TaskCore
import TaskStore

/// `taskctl key add|list|revoke`: API keys, stored hashed in the keys file the servers re-read on change.
struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Issue, list and revoke API keys.",
        subcommands: [Add.self, List.self, Revoke.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a new key for a tenant and print it, once, as the last line of the output.",
            discussion: """
                Only a hash of the key is stored: copy the key now, it cannot be shown again. The running servers \
                accept it within a second, without a restart. The key names its shard (TASKD_SHARD, or --shard), \
                which is how a front nginx routes it to this host (docs/scaling.md).
                """
        )

        @Argument(help: "The tenant that owns the key: 1 to 64 of a-z 0-9 . _ -, starting with a letter or digit.")
        var tenant: String

        @Option(name: SettingCatalog.shard.name, help: SettingCatalog.shard.help)
        var shard: Int?

        @OptionGroup var options: CommonOptions

        func run() throws {
            try CommandFailure.reporting {
                let tenant = try TenantID(parsing: tenant)
                guard !KeyRing.isOpenModeName(tenant) else {
                    throw CommandFailure(
                        .usage,
                        "'\(tenant)' has the form open mode gives its sandboxes (open- and 20 hex digits): no issued key"
                            + " may belong to it. Choose another tenant name.")
                }
                let context = try options.makeContext()
                let shard = try context.setting(SettingCatalog.shard, flag: shard)
                let issued = try KeysFile.issue(
                    tenant: tenant, shard: shard, path: context.settings.keysFile,
                    lockWait: context.settings.store.lockWait)
                try context.output.emit(
                    IssuedKeyOutput(entry: KeyOutput(issued.entry), key: issued.key),
                    text: [
                        "Issued key \(issued.entry.id) for tenant \(issued.entry.tenant) on shard \(shard)"
                            + " (stored hashed in \(context.settings.keysFile)).",
                        "Copy it now: it is not shown again.",
                        issued.key,
                    ])
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List issued keys (ids, tenants, hashes; never keys).")

        @Option(help: "Only keys of this tenant.")
        var tenant: String?

        @OptionGroup var options: CommonOptions

        func run() throws {
            try CommandFailure.reporting {
                let tenant = try tenant.map { name throws(TaskCore.ValidationError) in try TenantID(parsing: name) }
                let context = try options.makeContext()
                let entries = try KeysFile.list(path: context.settings.keysFile)
                    .filter { tenant == nil || $0.tenant == tenant }
                    .map(KeyOutput.init)
                try context.output.emit(
                    ["keys": entries],
                    text: entries.isEmpty
                        ? ["No keys."]
                        : [KeyOutput.header] + entries.map(\.line))
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a key by its id (from `key list`).",
            discussion: "Running servers refuse the key within a second. Exits 1 when no key has that id."
        )

        @Argument(help: "The key's id, as `key list` prints it.")
        var id: String

        @OptionGroup var options: CommonOptions

        func run() throws {
            try CommandFailure.reporting {
                let context = try options.makeContext()
                let entry = KeyOutput(
                    try KeysFile.revoke(
                        id: id, path: context.settings.keysFile, lockWait: context.settings.store.lockWait))
                try context.output.emit(
                    ["revoked": entry], text: ["Revoked key \(entry.id) of tenant \(entry.tenant)."])
            }
        }
    }
}

/// A key entry as taskctl prints it.
struct KeyOutput: Encodable {
    let id: String
    let tenant: String
    let sha256: String
    let createdAt: String
    /// The shard written into the key; absent for a key issued before shards existed.
    let shard: Int?

    init(_ entry: KeyEntry) {
        id = entry.id
        tenant = entry.tenant.rawValue
        sha256 = entry.sha256.hex
        createdAt = Output.format(entry.createdAt)
        shard = entry.shard
    }

    static let header = "ID                    TENANT                SHARD  CREATED                   SHA-256"

    var line: String {
        id.padded(to: 22) + tenant.padded(to: 22) + (shard.map { "\($0)" } ?? "-").padded(to: 7)
            + createdAt.padded(to: 26) + String(sha256.prefix(16)) + "…"
    }

    enum CodingKeys: String, CodingKey {
        case id, tenant, sha256, shard
        case createdAt = "created_at"
    }
}

struct IssuedKeyOutput: Encodable {
    let entry: KeyOutput
    let key: String
}
