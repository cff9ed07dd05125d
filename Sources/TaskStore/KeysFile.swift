import Glibc
import TaskCore

/// Admin operations on the keys file (used by `taskctl`). Edits hold `flock` on `<path>.lock` and replace the file
/// atomically with mode 0600, so servers reading it concurrently see the old or the new list, never a mix.
public enum KeysFile {
    /// Issues a new random key for `tenant`, written for `shard` (`KeyFormat`), and stores its hash. The returned key
    /// is never shown again.
    public static func issue(
        tenant: TenantID, shard: Int = KeyFormat.defaultShard, path: String
    ) throws(StoreError) -> IssuedKey {
        precondition(KeyFormat.shards.contains(shard), "shard \(shard) is outside \(KeyFormat.shards)")
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return try edit(path: path) { (document: inout KeysDocument) throws(StoreError) in
            var id: String
            repeat {
                id =
                    KeyFormat.idPrefix
                    + KeyDigest.hex((0..<6).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
            } while document.keys.contains { $0.id == id }
            let key = KeyFormat.key(shard: shard, id: id, secret: secret)
            let entry = KeyEntry(
                id: id, tenant: tenant, sha256: KeyDigest.hex(KeyDigest.digest(of: key)), createdAt: Self.now(),
                shard: shard)
            document.keys.append(entry)
            return IssuedKey(entry: entry, key: key)
        }
    }

    /// Every entry, in the order issued; empty when the file does not exist.
    public static func list(path: String) throws(StoreError) -> [KeyEntry] {
        try read(path: path).keys
    }

    /// Removes the key with this id; it stops working within a second on every server.
    public static func revoke(id: String, path: String) throws(StoreError) -> KeyEntry {
        try edit(path: path) { (document: inout KeysDocument) throws(StoreError) in
            guard let index = document.keys.firstIndex(where: { $0.id == id }) else { throw .keyNotFound(id: id) }
            return document.keys.remove(at: index)
        }
    }

    /// Adds entries carried over from another keys file (a tenant moving in): all of them, or none when any of them
    /// has the id or the hash of a different entry already here. Entries already here unchanged are left as they are,
    /// so an import can run twice.
    public static func add(_ entries: [KeyEntry], path: String) throws(StoreError) -> KeyAddition {
        try edit(path: path) { (document: inout KeysDocument) throws(StoreError) in
            var addition = KeyAddition()
            for entry in entries where !document.keys.contains(entry) {
                if document.keys.contains(where: { $0.id == entry.id || $0.sha256 == entry.sha256 })
                    || addition.added.contains(where: { $0.id == entry.id || $0.sha256 == entry.sha256 })
                {
                    addition.conflicting.append(entry)
                } else {
                    addition.added.append(entry)
                }
            }
            if addition.conflicting.isEmpty {
                document.keys += addition.added
            } else {
                addition.added = []
            }
            return addition
        }
    }

    /// Removes every key of `tenant` (a tenant that moved away): its requests and streams stop within a second.
    public static func removeAll(of tenant: TenantID, path: String) throws(StoreError) -> [KeyEntry] {
        try edit(path: path) { (document: inout KeysDocument) throws(StoreError) in
            let removed = document.keys.filter { $0.tenant == tenant }
            document.keys.removeAll { $0.tenant == tenant }
            return removed
        }
    }

    static func read(path: String) throws(StoreError) -> KeysDocument {
        guard let bytes = try AtomicFile.read(path) else { return .empty }
        return try decode(bytes, path: path)
    }

    static func decode(_ bytes: [UInt8], path: String) throws(StoreError) -> KeysDocument {
        do {
            return try WireFormat.decode(KeysDocument.self, from: bytes)
        } catch {
            throw .corrupt(path: path, detail: bytes.isEmpty ? "the file is empty" : String("\(error)".prefix(300)))
        }
    }

    private static func edit<Result>(
        path: String, _ body: (inout KeysDocument) throws(StoreError) -> Result
    ) throws(StoreError) -> Result {
        try Syscall.makeDirectories(Syscall.parentDirectory(of: path))
        let lock = try FileLock(path: path + ".lock")
        defer { lock.unlock() }
        var document = try read(path: path)
        let result = try body(&document)
        let bytes: [UInt8]
        do {
            bytes = try WireFormat.encode(document) + [UInt8(ascii: "\n")]
        } catch {
            throw .encodingFailed(detail: "\(error)")
        }
        try AtomicFile.write(bytes, to: path, temporary: path + ".tmp", mode: 0o600)
        return result
    }

    private static func now() -> Timestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Timestamp(milliseconds: Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000)
    }
}
