import TaskCore

/// Why a step of moving a tenant (`taskctl tenant …`) was refused. Nothing was written when one of these is thrown,
/// and each message says what to do instead.
public enum TenantMoveError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `export` of a tenant that is not frozen, without `--live`.
    case notFrozen(TenantID)
    /// Nothing of this tenant here: no workspace and no key.
    case notFound(TenantID)
    /// `import` would write over a workspace that holds exactly the exported state (without `--replace`).
    case workspaceNotEmpty(WorkspaceKey)
    /// `import` would write over a workspace whose history is not the exported one: it took writes since the export
    /// (its sequence or chain moved), or holds another history altogether.
    case workspaceMoved(WorkspaceKey, sequence: UInt64, exportedSequence: UInt64)
    /// `import` into a tenant that exists here with keys or workspaces the export does not have: it would merge two
    /// customers into one.
    case tenantExists(TenantID, keyIDs: [String], workspaces: [WorkspaceID])
    /// `import` carries a key whose id or hash is already here for another key.
    case keyConflict(id: String)
    /// `export` of a key this shard refuses (its hash is held by another entry too): it must be resolved here first.
    case refusedKey(id: String)
    /// `import --as` a name of the form open mode gives its sandboxes, which no issued key may belong to.
    case reservedName(TenantID)

    public var description: String {
        switch self {
        case .notFrozen(let tenant):
            "Tenant \(tenant) is not frozen: `taskctl tenant freeze \(tenant)` first, so that the export is final"
                + " (or --live for a copy that later writes may outdate)."
        case .notFound(let tenant):
            "There is no tenant \(tenant) here: no workspace and no key."
        case .workspaceNotEmpty(let key):
            "Workspace \(key.workspace) of tenant \(key.tenant) already exists here, at the exported sequence and"
                + " chain; nothing was imported (--replace accepts it as imported, for a second attempt at the same"
                + " import)."
        case .workspaceMoved(let key, let sequence, let exported):
            "Workspace \(key.workspace) of tenant \(key.tenant) is at seq \(sequence) here and seq \(exported) in the"
                + " export, with another history: it took writes since the export, or holds other data. Nothing was"
                + " imported: writing over it would lose those changes and could hand out task ids again. Import the"
                + " export under another name (`taskctl tenant import FILE --as NEW_NAME`); to go back to an older"
                + " state on purpose, restore a backup of the state directory (docs/deploying.md)."
        case .tenantExists(let tenant, let keyIDs, let workspaces):
            "Tenant \(tenant) already exists here with \(keyIDs.count) key(s)"
                + (keyIDs.isEmpty ? "" : " (\(keyIDs.prefix(5).joined(separator: ", ")))")
                + " and \(workspaces.count) workspace(s)"
                + (workspaces.isEmpty ? "" : " (\(workspaces.prefix(5).map(\.rawValue).joined(separator: ", ")))")
                + " that are not in this export: importing would merge two customers, each reading the other's"
                + " workspaces. Nothing was imported. Import it under another name:"
                + " `taskctl tenant import FILE --as NEW_NAME`."
        case .keyConflict(let id):
            "Key \(id), or its hash, is already in this keys file for another key; nothing was imported."
        case .refusedKey(let id):
            "Key \(id) is refused here: its hash is held by another entry of the keys file too. Nothing was exported;"
                + " revoke the entry that should not be there (`taskctl check` names both), then export again."
        case .reservedName(let tenant):
            "'\(tenant)' has the form open mode gives its sandboxes (open- and 20 hex digits), which no issued key may"
                + " belong to; nothing was imported. Choose another name with --as."
        }
    }
}
