import TaskCore

/// One issued key as the keys file keeps it: never the key itself, only its SHA-256.
///
/// Decoding checks every field against the rules below (`KeyEntry.Flaw` names the field that breaks one), so an entry
/// read from the keys file or from a tenant's export is always one `taskctl key add` could have written:
/// - `id`: `k_` and 12 lower-case hex digits;
/// - `tenant`: a tenant name (`TenantID`), and not one of the names open mode gives its sandboxes (`open-` and 20
///   hex digits), which an issued key could otherwise reach into;
/// - `sha256`: 64 lower-case hex digits (`KeyHash`);
/// - `created_at`: milliseconds since 1970, 0 to the end of year 9999;
/// - `shard`: absent, or 1 to 9999 (`KeyFormat.shards`).
public struct KeyEntry: Codable, Hashable, Sendable {
    /// A short public handle for `taskctl key revoke`, unrelated to the secret.
    public let id: String
    public let tenant: TenantID
    public let sha256: KeyHash
    public let createdAt: Timestamp
    /// The shard written into the key when it was issued (`KeyFormat`); nil for a key issued before shards existed.
    public let shard: Int?

    /// The latest `created_at` an entry may have: the last millisecond of year 9999.
    public static let latestCreation: Int64 = 253_402_300_799_999

    /// An entry from values the caller made (issuing a key, tests); decoding is what checks stored entries.
    public init(id: String, tenant: TenantID, sha256: KeyHash, createdAt: Timestamp, shard: Int? = nil) {
        self.id = id
        self.tenant = tenant
        self.sha256 = sha256
        self.createdAt = createdAt
        self.shard = shard
    }

    /// The same key, belonging to `tenant` (an export imported under another name).
    func belonging(to tenant: TenantID) -> KeyEntry {
        KeyEntry(id: id, tenant: tenant, sha256: sha256, createdAt: createdAt, shard: shard)
    }

    enum CodingKeys: String, CodingKey {
        case id, tenant, sha256, shard
        case createdAt = "created_at"
    }

    /// A field of a stored entry that breaks its rule.
    public struct Flaw: Error, Equatable, Sendable {
        /// The field as the file spells it (`sha256`, `created_at`…); empty when the entry is not an object at all.
        public let field: String
        public let message: String
    }

    /// Strict: an entry that breaks a rule is an error naming its field.
    public init(from decoder: any Decoder) throws {
        let stored = Stored(from: decoder)
        switch Self.validated(stored) {
        case .success(let entry):
            self = entry
        case .failure(let flaw):
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "\(flaw.field): \(flaw.message)"))
        }
    }

    /// The entry `stored` describes, or the first of its fields that breaks a rule (in the file's key order).
    static func validated(_ stored: Stored) -> Result<KeyEntry, Flaw> {
        if let flaw = stored.flaw { return .failure(flaw) }
        guard let createdAt = stored.createdAt else { return .failure(Flaw(field: "created_at", message: "missing")) }
        guard (0...latestCreation).contains(createdAt) else {
            return .failure(
                Flaw(field: "created_at", message: "\(createdAt) is outside 0 to \(latestCreation) (milliseconds)"))
        }
        guard let id = stored.id else { return .failure(Flaw(field: "id", message: "missing")) }
        guard KeyFormat.routedID(ofEntryID: id) != nil else {
            return .failure(
                Flaw(field: "id", message: "'\(id.prefix(40))' is not k_ and 12 lower-case hex digits"))
        }
        guard let hashText = stored.sha256 else { return .failure(Flaw(field: "sha256", message: "missing")) }
        let hash: KeyHash
        do {
            hash = try KeyHash(parsing: hashText)
        } catch {
            return .failure(Flaw(field: "sha256", message: error.message))
        }
        if let shard = stored.shard, !KeyFormat.shards.contains(Int(clamping: shard)) {
            return .failure(
                Flaw(
                    field: "shard",
                    message: "\(shard) is outside \(KeyFormat.shards.lowerBound) to \(KeyFormat.shards.upperBound)"
                        + " (or absent)"))
        }
        guard let tenantText = stored.tenant else { return .failure(Flaw(field: "tenant", message: "missing")) }
        let tenant: TenantID
        do {
            tenant = try TenantID(parsing: tenantText)
        } catch {
            return .failure(Flaw(field: "tenant", message: error.message))
        }
        if KeyRing.isOpenModeName(tenant) {
            return .failure(
                Flaw(
                    field: "tenant",
                    message: "'\(tenant)' has the form open mode gives its sandboxes (open- and 20 hex digits):"
                        + " no issued key may belong to it"))
        }
        return .success(
            KeyEntry(
                id: id, tenant: tenant, sha256: hash, createdAt: Timestamp(rawValue: createdAt),
                shard: stored.shard.map { Int($0) }))
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
