/// The shape of an API key, which says where its tenant lives without anything being looked up.
///
/// A key is `tk_s<shard>_<id>_<secret>`: the shard it was issued for (1 to 9999, no leading zero), the 12 hex digits
/// of its public id (`k_<id>` in `taskctl key list`) and 43 base64url characters of secret (32 random bytes). The
/// front nginx (nginx/front.conf.template) reads the shard and the id from the key with a regular expression that
/// must accept exactly what `route(of:)` accepts; the shard that serves the key still checks the whole key against its
/// hash. Keys issued before shards existed (`tk_` + 43 characters) carry neither and go to the front's default shard.
public enum KeyFormat {
    public static let shards: ClosedRange<Int> = 1...9_999
    /// The shard of a host that was never told its number: a single host is shard 1, and the front sends keys without
    /// a shard there too.
    public static let defaultShard = 1
    /// Hex digits of the public id inside the key.
    static let idLength = 12
    /// Base64url characters of the secret: 32 bytes.
    static let secretLength = 43
    static let idPrefix = "k_"

    /// Where the front routes a key: the shard written into it and its public id; nil for a key issued before shards
    /// existed, or anything else that does not have the shape (the front sends those to its default shard).
    public static func route(of key: String) -> (shard: Int, id: String)? {
        let bytes = Array(key.utf8)
        guard bytes.starts(with: Array("tk_s".utf8)) else { return nil }
        var index = 4
        let digitsStart = index
        while index < bytes.count, isDigit(bytes[index]), index - digitsStart < 4 { index += 1 }
        guard index > digitsStart, bytes[digitsStart] != UInt8(ascii: "0"), index < bytes.count,
            bytes[index] == UInt8(ascii: "_")
        else { return nil }
        let shardText = String(decoding: bytes[digitsStart..<index], as: UTF8.self)
        index += 1
        let idStart = index
        let idEnd = idStart + idLength
        guard idEnd < bytes.count, bytes[idStart..<idEnd].allSatisfy(isLowerHex), bytes[idEnd] == UInt8(ascii: "_")
        else { return nil }
        let secret = bytes[(idEnd + 1)...]
        guard secret.count == secretLength, secret.allSatisfy(isBase64URL), let shard = Int(shardText) else {
            return nil
        }
        return (shard, idPrefix + String(decoding: bytes[idStart..<idEnd], as: UTF8.self))
    }

    /// The key for `shard`, the entry `id` (`k_` + 12 hex digits) and 32 secret bytes.
    static func key(shard: Int, id: String, secret: [UInt8]) -> String {
        precondition(shards.contains(shard) && id.hasPrefix(idPrefix) && secret.count == 32)
        return "tk_s\(shard)_\(id.dropFirst(idPrefix.count))_" + KeyDigest.base64URL(secret)
    }

    /// The part of an entry id the key carries and the front's routes file names: `k_0a1b2c3d4e5f` → `0a1b2c3d4e5f`.
    public static func routedID(ofEntryID id: String) -> String? {
        guard id.hasPrefix(idPrefix) else { return nil }
        let hex = id.dropFirst(idPrefix.count)
        guard hex.utf8.count == idLength, hex.utf8.allSatisfy(isLowerHex) else { return nil }
        return String(hex)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }

    private static func isBase64URL(_ byte: UInt8) -> Bool {
        isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "_")
    }
}
