import Glibc

/// How many connections taskd-ws takes on, from its open-files limit: every connection is a descriptor (through
/// nginx, one unix socket per client), and the change log, workspace reads and the keys file need a few more at
/// moments nobody chooses.
///
/// - `socketCap`: sockets held at once; accepting pauses at this many (`AcceptLimiter`), so `reserved` descriptors
///   always stay free for the store.
/// - `connections`: sockets served at once; those between `connections` and `socketCap` are answered 503 before any
///   upgrade, so that a client beyond the budget learns why instead of waiting in the listen backlog.
struct DescriptorBudget: Equatable, Sendable, CustomStringConvertible {
    /// The soft RLIMIT_NOFILE in effect.
    let limit: Int
    /// Descriptors already open when the budget was taken (standard streams, event loops, the change log, the
    /// listening socket...).
    let inUse: Int

    /// Kept free for what the sidecar opens while it serves: a workspace document per read on each thread-pool
    /// thread, the keys file, the change log's successor at a rotation, plus what one round of accepts may take
    /// beyond the cap (NIO accepts up to 4 sockets per read).
    static let reserved = 64

    /// Sockets held at once.
    var socketCap: Int { max(0, limit - inUse - Self.reserved) }

    /// Sockets served at once.
    var connections: Int { socketCap - refusalMargin }

    /// Sockets kept to answer 503 with, beyond the budget.
    var refusalMargin: Int { min(64, (socketCap + 15) / 16) }

    var description: String {
        "open-files limit \(limit), \(inUse) in use, \(Self.reserved) reserved: \(connections) connections"
            + " (\(refusalMargin) more are answered 503)"
    }

    /// The budget of this process: raises the soft open-files limit to the hard one first (systemd's
    /// `LimitNOFILE=` sets both; a shell usually leaves the soft one at 1024), then counts the descriptors open now.
    static func ofThisProcess() -> DescriptorBudget {
        var limits = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits)
        if limits.rlim_cur < limits.rlim_max {
            var raised = limits
            raised.rlim_cur = limits.rlim_max
            // Refused under a seccomp filter without setrlimit (the unit's @resources exclusion): keep what is set.
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limits = raised }
        }
        // RLIM_INFINITY is the largest value: the kernel caps descriptors far below Int32.max anyway.
        let limit = Int(clamping: min(limits.rlim_cur, rlim_t(Int32.max)))
        return DescriptorBudget(limit: limit, inUse: openDescriptorCount())
    }

    /// Descriptors open in this process, from /proc/self/fd (less the one reading it).
    static func openDescriptorCount() -> Int {
        max(0, descriptorEntries(in: "/proc/self/fd") - 1)
    }

    /// The entries of a `/proc/<pid>/fd` directory (0 when it cannot be read).
    static func descriptorEntries(in path: String) -> Int {
        guard let directory = opendir(path) else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in name[0] == UInt8(ascii: ".") }
            if !isDot { count += 1 }
        }
        return count
    }
}
