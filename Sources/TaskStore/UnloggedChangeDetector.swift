import TaskCore

/// Finds watched workspaces whose committed state stays ahead of what their follower holds: a change whose record
/// never reached the change log, because its writer died between the journal's fdatasync and the log append (or the
/// append failed). Nothing else would ever announce such a change until the workspace's next one.
///
/// Pure: the caller passes, at each check, the sequence it holds per watched workspace and the sequence the store
/// has committed. A workspace is reported when a sequence committed at one check is still not held at the next, so a
/// record merely on its way through the log (appended a moment after the fdatasync) is never mistaken for a lost
/// one. With checks every `interval`, a lost record is made up for within two intervals.
public struct UnloggedChangeDetector: Sendable {
    /// Per workspace: the committed sequence seen at the last check, when it was ahead of what was held.
    private var suspects: [WorkspaceKey: UInt64] = [:]

    public init() {}

    /// The workspaces to read again. `committed` may lack a workspace that could not be read (it is skipped).
    public mutating func check(held: [WorkspaceKey: UInt64], committed: [WorkspaceKey: UInt64]) -> [WorkspaceKey] {
        var stale: [WorkspaceKey] = []
        var next: [WorkspaceKey: UInt64] = [:]
        for (key, sequence) in held {
            if let suspect = suspects[key], sequence < suspect {
                stale.append(key)
                continue
            }
            if let latest = committed[key], latest > sequence { next[key] = latest }
        }
        suspects = next
        return stale.sorted {
            ($0.tenant.rawValue, $0.workspace.rawValue) < ($1.tenant.rawValue, $1.workspace.rawValue)
        }
    }
}
