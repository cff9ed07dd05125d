import Glibc
import Synchronization

/// Open mode's bounds on the whole state directory: how many tenants, and how many workspaces over all tenants, it
/// may hold. In open mode every new key is a new tenant, so without them one client could make tenants and
/// workspaces until the disk is full.
///
/// Listing the directories at every creation would cost a look into every tenant's directory. So the counts live in
/// `workspaces/.usage`, a small text file (`tenants N`, `workspaces M`) that is also the lock: every creation, in
/// every process, holds its `flock` (with the change's deadline) while it checks the counts, creates, and writes them
/// back in place (the file is never renamed). Each process counts again by listing the directories once, at its first
/// creation, and whenever the file does not read back: that corrects what bypassed the file (a tenant imported with
/// taskctl, directories removed by hand, a crash between creating a directory and counting it, a time without open
/// mode, in which nothing is counted). Only creations pay for this; reads and writes of existing workspaces never
/// look at it.
final class WorkspaceUsage: Sendable {
    struct Counts: Equatable, Sendable {
        var tenants: Int
        var workspaces: Int
    }

    static let fileName = ".usage"

    let path: String
    let maxTenants: Int
    let maxWorkspaces: Int
    private let workspacesDirectory: String
    private let hasCounted = Atomic<Bool>(false)

    /// `nil` when `options` bound neither (the usual, keyed mode).
    init?(workspacesDirectory: String, options: StoreOptions) {
        guard options.maxTenants != nil || options.maxWorkspacesInAll != nil else { return nil }
        self.workspacesDirectory = workspacesDirectory
        self.path = workspacesDirectory + "/" + Self.fileName
        self.maxTenants = options.maxTenants ?? .max
        self.maxWorkspaces = options.maxWorkspacesInAll ?? .max
    }

    /// Runs `create`, which makes the workspace's directory (and its tenant's, when that is missing) and returns
    /// whether it made it, if the bounds allow one more workspace and, for a new tenant, one more tenant; then counts
    /// what it made. Throws `tenantCountReached` or `workspaceCountReached` (nothing made), or `lockTimeout`.
    func admit(
        tenantDirectory: String, workspaceDirectory: String, deadline: Deadline,
        create: () throws(StoreError) -> Bool
    ) throws(StoreError) {
        let lock = try FileLock(path: path, deadline: deadline)
        defer { lock.unlock() }
        // Made meanwhile by another thread or process: nothing to count.
        if try Syscall.status(workspaceDirectory) != nil { return }
        var counts: Counts
        if hasCounted.load(ordering: .acquiring), let stored = try Self.parse(read(lock.descriptor)) {
            counts = stored
        } else {
            counts = try count()
            try write(counts, to: lock.descriptor)
            hasCounted.store(true, ordering: .releasing)
        }
        let isNewTenant = try Syscall.status(tenantDirectory) == nil
        if isNewTenant && counts.tenants >= maxTenants { throw .tenantCountReached(limit: maxTenants) }
        if counts.workspaces >= maxWorkspaces { throw .workspaceCountReached(limit: maxWorkspaces) }
        let before = counts
        defer {
            // Also when `create` failed after it made the tenant's directory.
            if isNewTenant, (try? Syscall.status(tenantDirectory)) != nil { counts.tenants += 1 }
            if counts != before { try? write(counts, to: lock.descriptor) }
        }
        if try create() { counts.workspaces += 1 }
    }

    /// The counts as the directories are now: tenants are the directories in `workspaces/`, workspaces those in
    /// each tenant's (names starting with `.` are the store's own files).
    func count() throws(StoreError) -> Counts {
        var counts = Counts(tenants: 0, workspaces: 0)
        for tenant in try Syscall.directoryEntries(workspacesDirectory) ?? [] where !tenant.hasPrefix(".") {
            counts.tenants += 1
            let entries = try Syscall.directoryEntries(workspacesDirectory + "/" + tenant) ?? []
            counts.workspaces += entries.count { !$0.hasPrefix(".") }
        }
        return counts
    }

    private func read(_ fd: Int32) throws(StoreError) -> [UInt8] {
        try Syscall.readToEnd(fd, from: 0, path: path)
    }

    /// Replaces the file's contents in place (under the lock; a torn write only makes the next reader count again).
    private func write(_ counts: Counts, to fd: Int32) throws(StoreError) {
        try Syscall.truncate(fd, to: 0, path: path)
        _ = try Syscall.retrying("lseek", path: path) { lseek(fd, 0, SEEK_SET) }
        let text = "tenants \(counts.tenants)\nworkspaces \(counts.workspaces)\n"
        try Syscall.writeAll(fd, Array(text.utf8), path: path)
    }

    /// The counts in the file's text, or `nil` when it is not exactly two such lines.
    static func parse(_ bytes: [UInt8]) -> Counts? {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == 3, lines[2].isEmpty else { return nil }
        func value(_ line: Substring, _ name: String) -> Int? {
            guard line.hasPrefix(name + " ") else { return nil }
            let digits = line.dropFirst(name.count + 1)
            guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                return nil
            }
            return Int(digits)
        }
        guard let tenants = value(lines[0], "tenants"), let workspaces = value(lines[1], "workspaces") else {
            return nil
        }
        return Counts(tenants: tenants, workspaces: workspaces)
    }
}
