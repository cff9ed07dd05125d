import Logging
import TaskCore

/// Answers "whose key is this?" on every request, from the keys file, which it re-reads when it changes.
///
/// Long-lived uses of a key (WebSocket streams) keep the `KeyGrant` they were given and ask `stillGrants` again when
/// `generation()` moves, which it does each time the set of keys changes (revoked, added, or the file replaced).
public final class KeyRing: Sendable {
    /// How long a check of the keys file stays fresh: a revoke takes effect well within a second.
    static let recheckInterval: Duration = .milliseconds(200)

    private struct Entry: Equatable {
        let digest: [UInt8]
        let tenant: TenantID
    }

    private struct Cache {
        var entries: [Entry] = []
        var identity: Syscall.FileIdentity?
        var hasLoaded = false
        var checkedAt: ContinuousClock.Instant?
        /// The last failure to stat the file, so that a lasting one is logged once.
        var statError: StoreError?
        /// Counts changes of `entries`.
        var generation: UInt64 = 0

        mutating func replaceEntries(with new: [Entry]) {
            if new != entries { generation &+= 1 }
            entries = new
        }
    }

    private let path: String
    private let openMode: Bool
    private let logger: Logger
    private let cache = Monitor(Cache())

    public init(path: String, openMode: Bool, logger: Logger) {
        self.path = path
        self.openMode = openMode
        self.logger = logger
    }

    /// The key's tenant, or nil when unknown/revoked. Re-reads the keys file when it changed (stat at most every
    /// ~200 ms, so a revoke takes effect within 1 s), SHA-256 of the key compared in constant time against every
    /// entry. Open mode: an unknown non-empty key is its own tenant, named "open-" + first 20 hex of its SHA-256.
    public func tenant(for key: APIKey) -> TenantID? {
        grant(for: key)?.tenant
    }

    /// What the key grants now (its tenant, and its hash for `stillGrants`), or nil when unknown/revoked; see
    /// `tenant(for:)`.
    public func grant(for key: APIKey) -> KeyGrant? {
        let digest = KeyDigest.digest(of: key.rawValue)
        guard let tenant = tenant(forDigest: digest, emptyKey: key.rawValue.isEmpty) else { return nil }
        return KeyGrant(tenant: tenant, digest: digest)
    }

    /// Whether the key behind `grant` still grants the same tenant: false once it is revoked, or the keys file was
    /// replaced without it, or it now belongs to another tenant. Same freshness as `tenant(for:)`.
    public func stillGrants(_ grant: KeyGrant) -> Bool {
        tenant(forDigest: grant.digest, emptyKey: false) == grant.tenant
    }

    /// A number that changes whenever the set of keys does, after re-reading the file if it is due (see
    /// `tenant(for:)`). Grants handed out before a change must be checked again with `stillGrants`.
    public func generation() -> UInt64 {
        cache.withValue { cache in
            refreshIfDue(&cache)
            return cache.generation
        }
    }

    private func tenant(forDigest digest: [UInt8], emptyKey: Bool) -> TenantID? {
        let known: TenantID? = cache.withValue { cache in
            func match() -> TenantID? {
                var match: TenantID?
                // Every entry is compared, whatever matched before, so timing says nothing about the list.
                for entry in cache.entries where KeyDigest.equalInConstantTime(entry.digest, digest) {
                    match = entry.tenant
                }
                return match
            }
            refreshIfDue(&cache)
            if let found = match() { return found }
            // A key just issued must work at once: an unknown key looks at the file again (one stat; it is read only
            // when it changed). Known keys keep the interval, which bounds how long a revoked one still works.
            guard refreshIfDue(&cache, force: true) else { return nil }
            return match()
        }
        if let known { return known }
        guard openMode, !emptyKey else { return nil }
        return try? TenantID(parsing: "open-" + KeyDigest.hex(digest).prefix(20))
    }

    /// Re-reads the file if it was replaced or edited since the last look, at most once per `recheckInterval`.
    /// A file that cannot be read or parsed yields no keys (fail closed), logged once per change.
    /// Returns whether the entries may have changed (the file was looked at and had changed).
    @discardableResult
    private func refreshIfDue(_ cache: inout Cache, force: Bool = false) -> Bool {
        let before = cache.generation
        refresh(&cache, force: force)
        return cache.generation != before
    }

    private func refresh(_ cache: inout Cache, force: Bool) {
        let now = ContinuousClock.now
        if !force, let checkedAt = cache.checkedAt, now - checkedAt < Self.recheckInterval { return }
        cache.checkedAt = now
        let identity: Syscall.FileIdentity?
        do {
            identity = try Syscall.status(path)
        } catch {
            if cache.statError != error {
                logger.error("Cannot stat the keys file", metadata: ["keys.path": "\(path)", "error": "\(error)"])
            }
            cache.statError = error
            cache.replaceEntries(with: [])
            cache.identity = nil
            cache.hasLoaded = false
            return
        }
        cache.statError = nil
        if cache.hasLoaded, identity == cache.identity { return }
        cache.identity = identity
        cache.hasLoaded = true
        guard let identity else {
            if !cache.entries.isEmpty || !openMode {
                logger.warning("The keys file does not exist; no key is accepted", metadata: ["keys.path": "\(path)"])
            }
            cache.replaceEntries(with: [])
            return
        }
        if identity.permissions & 0o077 != 0 {
            logger.warning(
                "The keys file is readable by other users; make it mode 0600",
                metadata: ["keys.path": "\(path)", "keys.mode": "\(String(identity.permissions, radix: 8))"])
        }
        do {
            let document = try KeysFile.read(path: path)
            let entries = document.keys.compactMap { entry -> Entry? in
                guard let digest = KeyDigest.bytes(fromHex: entry.sha256) else {
                    logger.warning("Skipping a key entry with a malformed hash", metadata: ["key.id": "\(entry.id)"])
                    return nil
                }
                return Entry(digest: digest, tenant: entry.tenant)
            }
            cache.replaceEntries(with: entries)
            logger.info("Keys loaded", metadata: ["keys.path": "\(path)", "keys.count": "\(cache.entries.count)"])
        } catch {
            logger.error(
                "Cannot read the keys file; no key is accepted",
                metadata: ["keys.path": "\(path)", "error": "\(error)"])
            cache.replaceEntries(with: [])
        }
    }
}
