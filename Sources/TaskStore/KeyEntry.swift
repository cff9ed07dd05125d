import TaskCore

/// One issued key as the keys file keeps it: never the key itself, only its SHA-256.
public struct KeyEntry: Codable, Hashable, Sendable {
    /// A short public handle for `taskctl keys revoke`, unrelated to the secret.
    public let id: String
    public let tenant: TenantID
    /// Lower-case hex SHA-256 of the key's UTF-8 bytes.
    public let sha256: String
    public let createdAt: Timestamp
    /// The shard written into the key when it was issued (`KeyFormat`); nil for a key issued before shards existed.
    public let shard: Int?

    public init(id: String, tenant: TenantID, sha256: String, createdAt: Timestamp, shard: Int? = nil) {
        self.id = id
        self.tenant = tenant
        self.sha256 = sha256
        self.createdAt = createdAt
        self.shard = shard
    }

    enum CodingKeys: String, CodingKey {
        case id, tenant, sha256, shard
        case createdAt = "created_at"
    }
}

/// A freshly issued key: the only moment the secret exists outside the caller's hands.
public struct IssuedKey: Hashable, Sendable {
    public let entry: KeyEntry
    /// `tk_s<shard>_<id>_` followed by 43 base64url characters (32 random bytes), see `KeyFormat`. Shown once, stored
    /// nowhere.
    public let key: String

    public init(entry: KeyEntry, key: String) {
        self.entry = entry
        self.key = key
    }
}

/// What `KeysFile.add` did: the entries it added, or, when some clashed with entries already there, none of them and
/// the clashing ones.
public struct KeyAddition: Hashable, Sendable {
    public var added: [KeyEntry] = []
    public var conflicting: [KeyEntry] = []
}

/// The keys file: `{"keys":[…],"version":1}`.
struct KeysDocument: Codable, Hashable, Sendable {
    static let currentVersion = 1

    var version: Int
    var keys: [KeyEntry]

    static let empty = KeysDocument(version: currentVersion, keys: [])
}
