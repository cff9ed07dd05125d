import TaskCore

/// What a key granted when it was checked: its tenant, and the key's SHA-256 (never the key). Kept by whatever lives
/// longer than one request (a WebSocket stream), so that it can later ask the key ring whether the key still grants
/// the same tenant (`KeyRing.stillGrants`).
public struct KeyGrant: Hashable, Sendable, CustomStringConvertible {
    public let tenant: TenantID
    let digest: [UInt8]

    init(tenant: TenantID, digest: [UInt8]) {
        self.tenant = tenant
        self.digest = digest
    }

    /// The tenant and a short prefix of the hash, as `taskctl key list` shows it; never enough to find the key.
    public var description: String { "\(tenant) (sha256 \(KeyDigest.hex(Array(digest.prefix(4)))))" }
}
