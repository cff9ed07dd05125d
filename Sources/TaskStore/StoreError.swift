import Glibc

/// Why the store could not do what it was asked. Every failing system call, every unreadable file and every limit
/// has its own case, so callers map them to answers without parsing messages.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed; `errno` is what it set.
    case io(operation: String, path: String, errno: Int32)
    /// A stored file exists but does not parse (truncated, edited by hand, written by something else). Nothing is
    /// ever reset or overwritten because of it: an operator has to look.
    case corrupt(path: String, detail: String)
    /// Creating one more workspace would give the tenant more than it may keep.
    case workspaceLimitReached(limit: Int)
    /// No key with this id in the keys file.
    case keyNotFound(id: String)
    /// A value could not be encoded for storage (a programming error, never expected).
    case encodingFailed(detail: String)

    /// The store cannot be written right now (read-only file system, disk full, quota exceeded): a 503, not a bug.
    public var isUnavailable: Bool {
        guard case .io(_, _, let code) = self else { return false }
        return code == EROFS || code == ENOSPC || code == EDQUOT
    }

    public var description: String {
        switch self {
        case .io(let operation, let path, let code):
            "\(operation) '\(path)' failed: \(String(cString: strerror(code))) (errno \(code))"
        case .corrupt(let path, let detail):
            "'\(path)' is corrupt: \(detail)"
        case .workspaceLimitReached(let limit):
            "This tenant already has \(limit) workspaces, the most allowed."
        case .keyNotFound(let id):
            "No key with id '\(id)'."
        case .encodingFailed(let detail):
            "Could not encode a stored value: \(detail)"
        }
    }
}
