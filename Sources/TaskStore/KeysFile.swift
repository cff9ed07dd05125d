import Glibc
import TaskCore

/// Admin operations on the keys file (used by `taskctl`). Edits hold `flock` on `<path>.lock` and replace the file
/// atomically with mode 0600, so servers reading it concurrently see the old or the new list, never a mix.
public enum KeysFile {
    /// Issues a new random key for `tenant` and stores its hash. The returned key is never shown again.
    public static func issue(tenant: TenantID, path: String) throws(StoreError) -> IssuedKey {
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let key = "tk_" + KeyDigest.base64URL(secret)
        let digest = KeyDigest.hex(KeyDigest.digest(of: key))
        return try edit(path: path) { (document: inout KeysDocument) throws(StoreError) in
            var id: String
            repeat {
                id = "k_" + KeyDigest.hex((0..<6).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
            } while document.keys.contains { $0.id == id }
            let entry = KeyEntry(id: id, tenant: tenant, sha256: digest, createdAt: Self.now())
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
