import Glibc
import TaskCore

/// Why the store could not do what it was asked. Every failing system call, every unreadable file and every limit
/// has its own case, so callers map them to answers without parsing messages.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed; `errno` is what it set.
    case io(operation: String, path: String, errno: Int32)
    /// A stored file exists but does not parse, or breaks the store's rules (a damaged journal line followed by
    /// good ones, a checkpoint that disagrees with its journal). Nothing is ever reset or overwritten because of it:
    /// an operator has to look (`taskctl check` says how).
    case corrupt(path: String, detail: String)
    /// Creating one more workspace would give the tenant more than it may keep.
    case workspaceLimitReached(limit: Int)
    /// Open mode: a new tenant would make more than `limit` tenants in the state directory.
    case tenantCountReached(limit: Int)
    /// Open mode: a new workspace would make more than `limit` workspaces in the state directory, over all tenants.
    case workspaceCountReached(limit: Int)
    /// No key with this id in the keys file.
    case keyNotFound(id: String)
    /// A value could not be encoded for storage (a programming error, never expected).
    case encodingFailed(detail: String)
    /// The workspace's lock was not granted within the deadline (another process holds it, or too many changes
    /// queue for it): nothing was changed.
    case lockTimeout(path: String, waitedMilliseconds: Int)
    /// This process already has `limit` changes waiting for the workspace: nothing was changed.
    case tooManyWriters(limit: Int)
    /// This process already has `limit` changes waiting, over all workspaces (half its request threads): nothing
    /// was changed.
    case processBusy(limit: Int)
    /// A failed batch's lines could not be cut off the workspace's journal yet, so the workspace is unavailable in
    /// this process (every read and write retries the cut first): nothing was changed.
    case rollbackPending(path: String)
    /// The tenant is frozen (`taskctl tenant freeze`, while it moves to another shard): nothing was changed.
    case tenantFrozen(tenant: TenantID)

    /// The store cannot do this right now but may soon (read-only file system, disk full, quota exceeded, an I/O
    /// error, a lock held too long): a 503, not a bug.
    public var isUnavailable: Bool {
        switch self {
        case .io(_, _, let code): code == EROFS || code == ENOSPC || code == EDQUOT || code == EIO
        case .lockTimeout, .tooManyWriters, .processBusy, .tenantFrozen, .rollbackPending: true
        case .corrupt, .workspaceLimitReached, .tenantCountReached, .workspaceCountReached, .keyNotFound,
            .encodingFailed:
            false
        }
    }

    /// A refusal the service means to give for a while (a busy workspace, a frozen tenant), not a fault to log.
    public var isDeliberate: Bool {
        switch self {
        case .lockTimeout, .tooManyWriters, .processBusy, .tenantFrozen: true
        default: false
        }
    }

    /// The change waited for a workspace that is busy: worth retrying within a second or so.
    public var isBusy: Bool {
        switch self {
        case .lockTimeout, .tooManyWriters, .processBusy: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .io(let operation, let path, let code):
            "\(operation) '\(path)' failed: \(String(cString: strerror(code))) (errno \(code))"
        case .corrupt(let path, let detail):
            "'\(path)' is corrupt: \(detail)"
        case .workspaceLimitReached(let limit):
            "This tenant already has \(limit) workspaces, the most allowed."
        case .tenantCountReached(let limit):
            "The state directory already holds \(limit) tenants, the most allowed in open mode."
        case .workspaceCountReached(let limit):
            "The state directory already holds \(limit) workspaces, the most allowed in open mode."
        case .keyNotFound(let id):
            "No key with id '\(id)'."
        case .encodingFailed(let detail):
            "Could not encode a stored value: \(detail)"
        case .lockTimeout(let path, let waited):
            "The lock '\(path)' was not granted within \(waited) ms."
        case .tooManyWriters(let limit):
            "\(limit) changes are already waiting for this workspace in this process."
        case .processBusy(let limit):
            "\(limit) changes are already waiting for workspaces in this process."
        case .rollbackPending(let path):
            "The lines of a failed write could not be cut off '\(path)' yet."
        case .tenantFrozen(let tenant):
            "Tenant \(tenant) is frozen: its writes are refused until it is unfrozen."
        }
    }
}
