import Glibc
import TaskCore

/// Admin operations on the keys file (used by `taskctl`). Edits hold `flock` on `<path>.lock`, for at most
/// `lockWait` (then `StoreError.lockTimeout`, and nothing changed), read the file strictly (`KeysFile+Decoding.swift`)
/// and replace it atomically with mode 0600, so servers reading it concurrently see the old or the new list, never a
/// mix. The servers only read the file (`KeyRing`) and never take its lock.
public enum KeysFile {
    /// How long an edit waits for another one to finish (`TASKD_LOCK_WAIT_MS` in taskctl, same default).
    public static let defaultLockWait = StoreOptions.defaultLockWait

    /// Issues a new random key for `tenant`, written for `shard` (`KeyFormat`), and stores its hash. The returned key
    /// is never shown again.
    public static func issue(
        tenant: TenantID, shard: Int = KeyFormat.defaultShard, path: String, lockWait: Duration = defaultLockWait
    ) throws(StoreError) -> IssuedKey {
        precondition(KeyFormat.shards.contains(shard), "shard \(shard) is outside \(KeyFormat.shards)")
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return try edit(path: path, lockWait: lockWait) { (document: inout KeysDocument) throws(StoreError) in
            var id: String
            repeat {
                id =
                    KeyFormat.idPrefix
                    + KeyDigest.hex((0..<6).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
            } while document.keys.contains { $0.id == id }
            let key = KeyFormat.key(shard: shard, id: id, secret: secret)
            let entry = KeyEntry(
                id: id, tenant: tenant, sha256: KeyHash(of: key), createdAt: Self.now(), shard: shard)
            document.keys.append(entry)
            return IssuedKey(entry: entry, key: key)
        }
    }

    /// Every entry, in the order issued; empty when the file does not exist.
    public static func list(path: String) throws(StoreError) -> [KeyEntry] {
        try read(path: path).keys
    }

    /// Removes the key with this id; it stops working within a second on every server.
    public static func revoke(
        id: String, path: String, lockWait: Duration = defaultLockWait
    ) throws(StoreError) -> KeyEntry {
        try edit(path: path, lockWait: lockWait) { (document: inout KeysDocument) throws(StoreError) in
            guard let index = document.keys.firstIndex(where: { $0.id == id }) else { throw .keyNotFound(id: id) }
            return document.keys.remove(at: index)
        }
    }

    /// Adds entries carried over from another keys file (a tenant moving in): all of them, or none when any of them
    /// has the id or the hash of a different entry already here. Entries already here unchanged are left as they are,
    /// so an import can run twice.
    public static func add(
        _ entries: [KeyEntry], path: String, lockWait: Duration = defaultLockWait
    ) throws(StoreError) -> KeyAddition {
        try edit(path: path, lockWait: lockWait) { (document: inout KeysDocument) throws(StoreError) in
            let addition = addition(of: entries, to: document.keys)
            if addition.conflicting.isEmpty { document.keys += addition.added }
            return addition
        }
    }

    /// What adding `entries` to `existing` would do (see `add`). Hashes are compared as the 32 bytes they are.
    static func addition(of entries: [KeyEntry], to existing: [KeyEntry]) -> KeyAddition {
        var addition = KeyAddition()
        for entry in entries where !existing.contains(entry) && !addition.added.contains(entry) {
            if (existing + addition.added).contains(where: { $0.id == entry.id || $0.sha256 == entry.sha256 }) {
                addition.conflicting.append(entry)
            } else {
                addition.added.append(entry)
            }
        }
        if !addition.conflicting.isEmpty { addition.added = [] }
        return addition
    }

    /// Removes every key of `tenant` (a tenant that moved away): its requests and streams stop within a second.
    public static func removeAll(
        of tenant: TenantID, path: String, lockWait: Duration = defaultLockWait
    ) throws(StoreError) -> [KeyEntry] {
        try edit(path: path, lockWait: lockWait) { (document: inout KeysDocument) throws(StoreError) in
            let removed = document.keys.filter { $0.tenant == tenant }
            document.keys.removeAll { $0.tenant == tenant }
            return removed
        }
    }

    /// Reads the file under its lock, lets `body` change it, and writes it back unless `body` throws.
    private static func edit<Result>(
        path: String, lockWait: Duration, _ body: (inout KeysDocument) throws(StoreError) -> Result
    ) throws(StoreError) -> Result {
        let lock = try lock(path: path, lockWait: lockWait)
        defer { lock.unlock() }
        var document = try read(path: path)
        let result = try body(&document)
        try write(document, path: path)
        return result
    }

    /// Takes the lock every edit of the file at `path` holds, waiting at most `lockWait` for another edit to end
    /// (`StoreError.lockTimeout` then). Whatever the holder does meanwhile, no other edit of the keys can happen.
    static func lock(path: String, lockWait: Duration) throws(StoreError) -> FileLock {
        try Syscall.makeDirectories(Syscall.parentDirectory(of: path))
        return try FileLock(path: path + ".lock", deadline: .after(lockWait))
    }

    /// Replaces the file with `document`, mode 0600; the caller holds `lock(path:)`.
    static func write(_ document: KeysDocument, path: String) throws(StoreError) {
        let bytes: [UInt8]
        do {
            bytes = try WireFormat.encode(document) + [UInt8(ascii: "\n")]
        } catch {
            throw .encodingFailed(detail: "\(error)")
        }
        try AtomicFile.write(bytes, to: path, temporary: path + ".tmp", mode: 0o600)
    }

    private static func now() -> Timestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Timestamp(milliseconds: Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000)
    }
}
