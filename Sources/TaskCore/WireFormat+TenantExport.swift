/// A tenant's export, as `taskctl tenant export` writes it and `taskctl tenant import` reads it: one JSON document,
/// keys sorted, that `jq` reads too.
///
/// ```json
/// {"exported_at":1764403199000,"format":"taskd-tenant","frozen":true,"keys":[…],"tenant":"acme","version":1,
///  "workspaces":[
/// {"id":"default","state":<the workspace's checkpoint document>},
/// …
/// ]}
/// ```
///
/// Each workspace's `state` is exactly its checkpoint document (docs/state-directory.md): tasks with their stored
/// times, `next_id`, `seq` and the journal chain value. The export is written one workspace at a time, so a large
/// tenant never has to fit in memory on the way out.
public struct TenantExportDocument: Sendable {
    public struct Workspace: Sendable, Equatable {
        public var id: WorkspaceID
        public var state: WorkspaceState
        public var chain: UInt32

        public init(id: WorkspaceID, state: WorkspaceState, chain: UInt32) {
            self.id = id
            self.state = state
            self.chain = chain
        }
    }

    public var tenant: TenantID
    public var exportedAt: Timestamp
    /// Whether the tenant was frozen while it was exported (a move), or not (a live copy).
    public var frozen: Bool
    /// The `keys` array as it was written (its entries belong to the keys file's format, read by TaskStore).
    public var keys: [UInt8]
    public var workspaces: [Workspace]
}

extension WireFormat {
    public static let tenantExportFormat = "taskd-tenant"
    public static let tenantExportVersion = 1
    /// The latest `exported_at` an export may carry: the last millisecond of year 9999.
    public static let latestExportTime: Int64 = 253_402_300_799_999

    /// Everything before the first workspace; `keys` is a JSON array.
    public static func tenantExportOpening(tenant: TenantID, exportedAt: Timestamp, frozen: Bool, keys: [UInt8])
        -> [UInt8]
    {
        var bytes: [UInt8] = Array(#"{"exported_at":"#.utf8)
        appendInteger(exportedAt.rawValue, to: &bytes)
        bytes += Array(#","format":"#.utf8)
        appendString(tenantExportFormat, to: &bytes)
        bytes += Array(#","frozen":"#.utf8) + Array((frozen ? "true" : "false").utf8)
        bytes += Array(#","keys":"#.utf8) + keys
        bytes += Array(#","tenant":"#.utf8)
        appendString(tenant.rawValue, to: &bytes)
        bytes += Array(#","version":"#.utf8)
        appendInteger(Int64(tenantExportVersion), to: &bytes)
        bytes += Array(#","workspaces":["#.utf8)
        return bytes
    }

    /// One workspace; `first` is whether it opens the list (the others are preceded by a comma).
    public static func tenantExportWorkspace(_ workspace: TenantExportDocument.Workspace, first: Bool) -> [UInt8] {
        var bytes: [UInt8] = Array((first ? "\n" : ",\n").utf8) + Array(#"{"id":"#.utf8)
        appendString(workspace.id.rawValue, to: &bytes)
        bytes += Array(#","state":"#.utf8)
        bytes += checkpointDocument(workspace.state, chain: workspace.chain)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    public static let tenantExportClosing: [UInt8] = Array("\n]}\n".utf8)

    /// Reads an export, checking every field: `format`, `version`, `tenant` (a tenant name), `exported_at` (0 to
    /// `latestExportTime`), `frozen`, each workspace's `id` (a workspace id, once only) and `state` (a checkpoint
    /// document of the current format, read by the checkpoint decoder and so checked like one). A failure names the
    /// field (`workspaces[2].state: …`). `keys` is returned as written, for TaskStore to check.
    public static func decodeTenantExport(_ bytes: [UInt8]) throws(WireFormatError) -> TenantExportDocument {
        try decodeWhole(bytes) { reader, buffer throws(WireFormatError) in try readTenantExport(&reader, buffer) }
    }

    private static func readTenantExport(_ reader: inout JSONReader, _ buffer: UnsafeBufferPointer<UInt8>)
        throws(WireFormatError) -> TenantExportDocument
    {
        var format: String?
        var version: Int64?
        var tenant: String?
        var exportedAt: Int64?
        var frozen: Bool?
        var keys: [UInt8]?
        var workspaces: [TenantExportDocument.Workspace] = []
        var seen = Set<String>()
        try reader.readObject { (reader, key) throws(WireFormatError) in
            guard seen.insert(key).inserted else { throw reader.failure("\(key): appears twice") }
            if key == "workspaces" {
                try reader.readArray { (reader) throws(WireFormatError) in
                    workspaces.append(try readExportedWorkspace(&reader, index: workspaces.count))
                }
                return
            }
            do throws(WireFormatError) {
                switch key {
                case "format": format = try reader.readString()
                case "version": version = try reader.readInt64()
                case "tenant": tenant = try reader.readString()
                case "exported_at": exportedAt = try reader.readInt64()
                case "frozen": frozen = try readBoolean(&reader, buffer)
                case "keys": keys = try rawValue(&reader, buffer)
                default: try reader.skipValue()
                }
            } catch {
                throw WireFormatError(message: "\(key): \(error.message)")
            }
        }
        guard format == tenantExportFormat else {
            throw reader.failure("format: this is not a taskd tenant export (\(tenantExportFormat))")
        }
        guard version == Int64(tenantExportVersion) else {
            throw reader.failure(
                "version: \(version.map { "\($0)" } ?? "missing"), not \(tenantExportVersion), the only one this taskd reads"
            )
        }
        guard let tenant else { throw reader.failure("tenant: missing") }
        guard let exportedAt else { throw reader.failure("exported_at: missing") }
        guard let frozen else { throw reader.failure("frozen: missing") }
        guard let keys else { throw reader.failure("keys: missing") }
        guard (0...latestExportTime).contains(exportedAt) else {
            throw reader.failure("exported_at: \(exportedAt) is outside 0 to \(latestExportTime) (milliseconds)")
        }
        let tenantID: TenantID
        do {
            tenantID = try TenantID(parsing: tenant)
        } catch {
            throw reader.failure("tenant: \(error.message)")
        }
        var ids = Set<WorkspaceID>()
        for (index, workspace) in workspaces.enumerated() where !ids.insert(workspace.id).inserted {
            throw reader.failure("workspaces[\(index)].id: workspace \(workspace.id) appears twice")
        }
        return TenantExportDocument(
            tenant: tenantID, exportedAt: Timestamp(rawValue: exportedAt), frozen: frozen, keys: keys,
            workspaces: workspaces)
    }

    private static func readExportedWorkspace(_ reader: inout JSONReader, index: Int) throws(WireFormatError)
        -> TenantExportDocument.Workspace
    {
        let field = "workspaces[\(index)]"
        var id: String?
        var stored: (state: WorkspaceState, format: Int, chain: UInt32)?
        var seen = Set<String>()
        try reader.readObject { (reader, key) throws(WireFormatError) in
            guard seen.insert(key).inserted else { throw reader.failure("\(field).\(key): appears twice") }
            switch key {
            case "id":
                do throws(WireFormatError) {
                    id = try reader.readString()
                } catch {
                    throw WireFormatError(message: "\(field).id: \(error.message)")
                }
            case "state":
                // The checkpoint decoder itself, so that an exported workspace is checked exactly like a stored one.
                do throws(WireFormatError) {
                    stored = try readWorkspace(&reader)
                } catch {
                    throw WireFormatError(message: "\(field).state: \(error.message)")
                }
            default: try reader.skipValue()
            }
        }
        guard let id else { throw reader.failure("\(field).id: missing") }
        guard let stored else { throw reader.failure("\(field).state: missing") }
        let workspaceID: WorkspaceID
        do {
            workspaceID = try WorkspaceID(parsing: id)
        } catch {
            throw reader.failure("\(field).id: \(error.message)")
        }
        guard stored.format == storeFormat else {
            throw reader.failure(
                "\(field).state: format \(stored.format), not \(storeFormat): an export holds checkpoint documents")
        }
        return TenantExportDocument.Workspace(id: workspaceID, state: stored.state, chain: stored.chain)
    }

    /// The bytes of the next value, as written.
    private static func rawValue(_ reader: inout JSONReader, _ buffer: UnsafeBufferPointer<UInt8>)
        throws(WireFormatError) -> [UInt8]
    {
        let start = reader.offset
        try reader.skipValue()
        return Array(buffer[start..<reader.offset])
    }

    private static func readBoolean(_ reader: inout JSONReader, _ buffer: UnsafeBufferPointer<UInt8>)
        throws(WireFormatError) -> Bool
    {
        let text = String(decoding: try rawValue(&reader, buffer), as: UTF8.self).filter { !$0.isWhitespace }
        switch text {
        case "true": return true
        case "false": return false
        default: throw reader.failure("expected true or false")
        }
    }
}
