import TaskCore

/// Why a step of moving a tenant (`taskctl tenant …`) was refused. Nothing was written when one of these is thrown.
public enum TenantMoveError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `export` of a tenant that is not frozen, without `--live`.
    case notFrozen(TenantID)
    /// Nothing of this tenant here: no workspace and no key.
    case notFound(TenantID)
    /// `import` would write over a workspace that was written here before.
    case workspaceNotEmpty(WorkspaceKey)
    /// `import` carries a key whose id or hash is already here for another key.
    case keyConflict(id: String)

    public var description: String {
        switch self {
        case .notFrozen(let tenant):
            "Tenant \(tenant) is not frozen: `taskctl tenant freeze \(tenant)` first, so that the export is final"
                + " (or --live for a copy that later writes may outdate)."
        case .notFound(let tenant):
            "There is no tenant \(tenant) here: no workspace and no key."
        case .workspaceNotEmpty(let key):
            "Workspace \(key.workspace) of tenant \(key.tenant) already exists here with tasks or history; nothing"
                + " was imported (--replace writes over it, for a second attempt at the same import)."
        case .keyConflict(let id):
            "Key \(id), or its hash, is already in this keys file for another key; nothing was imported."
        }
    }
}
