import Glibc
import TaskCore

/// The front nginx's routes file: the keys whose tenant moved to another shard than the one written in them, as lines
/// of the map in nginx/front.conf.template (`<12 hex digits of the key id> <shard>;`, with the tenant as a comment).
/// Key ids are public, so the file holds nothing secret. `taskctl tenant route` edits it; nginx reads it on reload.
public struct FrontRoutes: Equatable, Sendable {
    public struct Route: Equatable, Sendable {
        /// The key id as the key carries it: 12 lower-case hex digits.
        public let routedID: String
        public let shard: Int
        /// The key's tenant, kept as a comment for the people reading the file.
        public let tenant: String?
    }

    /// What `route(_:to:)` changed.
    public struct Change: Equatable, Sendable {
        /// Keys now routed by a line of this file.
        public var added: [KeyEntry] = []
        /// Keys whose line went away because they now go where they say.
        public var cleared: [KeyEntry] = []
        /// Keys issued before shards existed: the front sends them to its default shard whatever this file says.
        public var unroutable: [KeyEntry] = []
    }

    public private(set) var routes: [Route]

    static let header = """
        # taskd front: keys whose tenant moved to another shard than the one written in them, one line per key:
        # <key id, without k_> <shard>;   Written by `taskctl tenant route`; apply with `nginx -s reload`.

        """

    public init(routes: [Route] = []) {
        self.routes = routes
    }

    /// Parses the file; every line is a comment, blank, or a route. Anything else is refused rather than rewritten.
    public init(parsing text: String, path: String) throws(StoreError) {
        var routes: [Route] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.hasPrefix("#") { continue }
            let (body, comment) = Self.split(line)
            let fields = body.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 2, fields[1].hasSuffix(";"), let shard = Int(fields[1].dropLast()),
                KeyFormat.shards.contains(shard), let routedID = KeyFormat.routedID(ofEntryID: "k_" + fields[0])
            else {
                throw .corrupt(
                    path: path, detail: "line \(index + 1) is not '<12 hex digits> <shard>;': '\(line.prefix(80))'")
            }
            routes.append(Route(routedID: routedID, shard: shard, tenant: comment))
        }
        self.routes = routes
    }

    private static func split(_ line: Substring) -> (body: Substring, comment: String?) {
        guard let hash = line.firstIndex(of: "#") else { return (line, nil) }
        let comment = line[line.index(after: hash)...].trimmingPrefix(" ")
        return (line[..<hash], comment.isEmpty ? nil : String(comment))
    }

    /// The file's text: the header, then one line per route.
    public var text: String {
        Self.header
            + routes.map { route in
                "\(route.routedID) \(route.shard);" + (route.tenant.map { "  # \($0)" } ?? "") + "\n"
            }.joined()
    }

    /// Sends `keys` to `shard`: a line for each key that names another shard, none for a key that names this one.
    public mutating func route(_ keys: [KeyEntry], to shard: Int) -> Change {
        var change = Change()
        for key in keys {
            guard key.shard != nil, let routedID = KeyFormat.routedID(ofEntryID: key.id) else {
                change.unroutable.append(key)
                continue
            }
            let hadLine = routes.contains { $0.routedID == routedID }
            routes.removeAll { $0.routedID == routedID }
            if key.shard == shard {
                if hadLine { change.cleared.append(key) }
            } else {
                routes.append(Route(routedID: routedID, shard: shard, tenant: key.tenant.rawValue))
                change.added.append(key)
            }
        }
        return change
    }

    /// Reads the file at `path` (empty when missing), applies `body` and replaces the file atomically, holding
    /// `<path>.lock` so that two operators' edits do not interleave; waits at most `lockWait` for another edit
    /// (`StoreError.lockTimeout`, nothing changed).
    public static func edit<Result>(
        path: String, lockWait: Duration = KeysFile.defaultLockWait,
        _ body: (inout FrontRoutes) throws(StoreError) -> Result
    ) throws(StoreError) -> Result {
        let lock = try FileLock(path: path + ".lock", deadline: .after(lockWait))
        defer { lock.unlock() }
        var routes = FrontRoutes()
        if let bytes = try AtomicFile.read(path) {
            routes = try FrontRoutes(parsing: String(decoding: bytes, as: UTF8.self), path: path)
        }
        let result = try body(&routes)
        try AtomicFile.write(Array(routes.text.utf8), to: path, temporary: path + ".tmp", mode: 0o644)
        return result
    }
}
