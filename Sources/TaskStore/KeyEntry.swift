import TaskCore

/// One issued key as the keys file keeps it: never the key itself, only its SHA-256.
public struct KeyEntry: Codable, Hashable, Sendable {
    /// A short public handle for `taskctl keys revoke`, unrelated to the secret.
    public let id: String
    public let tenant: TenantID
    /// Lower-case hex SHA-256 of the key's UTF-8 bytes.
    public let sha256: String
    public let createdAt: Timestamp

    public init(id: String, tenant: TenantID, sha256: String, createdAt: Timestamp) {
        self.id = id
        self.tenant = tenant
        self.sha256 = sha256
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, tenant, sha256
        case createdAt = "created_at"
    }
}

/// A freshly issued key: the only moment the secret exists outside the caller's hands.
public struct IssuedKey: Hashable, Sendable {
    public let entry: KeyEntry
    /// `tk_` followed by 43 base64url characters (32 random bytes). Shown once, stored nowhere.
    public let key: String

    public init(entry: KeyEntry, key: String) {
        self.entry = entry
        self.key = key
    }
}

/// The keys file: `{"keys":[…],"version":1}`.
struct KeysDocument: Codable, Hashable, Sendable {
    static let currentVersion = 1

    var version: Int
    var keys: [KeyEntry]

    static let empty = KeysDocument(version: currentVersion, keys: [])
}
