/// A workspace as the store addresses it: a tenant's workspace id. Two tenants' `default` are different workspaces.
public struct WorkspaceKey: Hashable, Sendable, Codable, CustomStringConvertible {
    public let tenant: TenantID
    public let workspace: WorkspaceID

    public init(tenant: TenantID, workspace: WorkspaceID) {
        self.tenant = tenant
        self.workspace = workspace
    }

    public var description: String { "\(tenant)/\(workspace)" }
}
