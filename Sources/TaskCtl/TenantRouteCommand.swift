import ArgumentParser
import TaskCore
import TaskStore

/// `taskctl tenant route FILE --shard N --routes MAP`: the front's routes for a moved tenant's keys.
struct TenantRouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Send a tenant's keys (from its export) to a shard: edit the front nginx's routes file.",
        discussion: """
            Writes a line per key that names another shard, and removes the lines of keys that name this one; \
            then reload the front (nginx -s reload). Runs on the front's host and needs no state directory. Keys \
            issued before shards existed cannot be routed (the front sends them to its default shard): they are \
            named on stderr, and the exit code is 1 when there are any.
            """
    )

    @Argument(help: "The tenant's export file (from `tenant export`).")
    var file: String

    @Option(help: "The shard the tenant now lives on.")
    var shard: Int

    @Option(help: "The front's routes file (the template's ROUTES_FILE), created when missing.")
    var routes: String

    @Flag(help: "Print JSON (one document on stdout) instead of text.")
    var json = false

    func validate() throws {
        guard KeyFormat.shards.contains(shard) else {
            throw ValidationError("--shard must be between 1 and \(KeyFormat.shards.upperBound).")
        }
    }

    func run() throws {
        try CommandFailure.reporting {
            let export = try TenantExport.read(file: file)
            let change = try FrontRoutes.edit(path: routes) { routes in routes.route(export.keys, to: shard) }
            let output = RouteOutput(
                tenant: export.tenant.rawValue, shard: shard, routed: change.added.map(\.id),
                cleared: change.cleared.map(\.id), unroutable: change.unroutable.map(\.id))
            try Output(json: json).emit(
                output,
                text: [
                    "Tenant \(export.tenant): \(change.added.count) key(s) routed to shard \(shard),"
                        + " \(change.cleared.count) line(s) no longer needed, in \(routes).",
                    "Apply it with: nginx -s reload",
                ])
            guard change.unroutable.isEmpty else {
                throw CommandFailure(
                    .problem,
                    "Key(s) \(change.unroutable.map(\.id).joined(separator: ", ")) were issued before shards existed:"
                        + " the front sends them to its default shard whatever the routes say. Replace them"
                        + " (`taskctl key add \(export.tenant)` on shard \(shard), then `taskctl key revoke`).")
            }
        }
    }
}

struct RouteOutput: Encodable {
    let tenant: String
    let shard: Int
    let routed: [String]
    let cleared: [String]
    let unroutable: [String]
}
