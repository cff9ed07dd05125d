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
        /// Digests no key may be granted by (held by two entries, or by an entry that breaks a rule): they are
        /// refused even in open mode, where an unknown key would otherwise become a tenant of its own.
        var refused: Set<[UInt8]> = []
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
    private let cache = ReadWriteLock(Cache())

    public init(path: String, openMode: Bool, logger: Logger) {
        self.path = path
        self.openMode = openMode
        self.logger = logger
    }

    /// The key's tenant, or nil when unknown/revoked. Re-reads the keys file when it changed (stat at most every
    /// ~200 ms, so a revoke takes effect within 1 s), SHA-256 of the key compared in constant time against every
    /// entry. A key whose hash two entries hold, or an entry that breaks the file's rules, grants nothing (fail closed;
    /// `taskctl check` names them). Open mode: an unknown non-empty key is its own tenant, named "open-" + first 20
    /// hex of its SHA-256 (`isOpenModeName`).
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
        cache.write { cache in
            refreshIfDue(&cache)
            return cache.generation
        }
    }

    private func tenant(forDigest digest: [UInt8], emptyKey: Bool) -> TenantID? {
        // The common case, a known key while the last look at the file is recent: every thread at once, under the
        // read lock. Anything else (a look is due, or the key is unknown) takes the write lock below.
        let now = ContinuousClock.now
        let recent: TenantID? = cache.read { cache in
            guard let checkedAt = cache.checkedAt, now - checkedAt < Self.recheckInterval else { return nil }
            return Self.match(digest, in: cache.entries)
        }
        if let recent { return recent }
        let (known, refused): (TenantID?, Bool) = cache.write { cache in
            refreshIfDue(&cache)
            if let found = Self.match(digest, in: cache.entries) { return (found, false) }
            // A key just issued must work at once: an unknown key looks at the file again (one stat; it is read only
            // when it changed). Known keys keep the interval, which bounds how long a revoked one still works.
            let changed = refreshIfDue(&cache, force: true)
            return (changed ? Self.match(digest, in: cache.entries) : nil, cache.refused.contains(digest))
        }
        if let known { return known }
        guard openMode, !emptyKey, !refused else { return nil }
        return try? TenantID(parsing: Self.openModePrefix + KeyDigest.hex(digest).prefix(Self.openModeHexDigits))
    }

    static let openModePrefix = "open-"
    static let openModeHexDigits = 20

    /// Whether `tenant` has the form of an open-mode sandbox's name (`open-` and 20 lower-case hex digits). No issued
    /// key may belong to such a tenant: in open mode its workspaces are the sandbox of whoever holds the key whose
    /// hash begins with those digits.
    public static func isOpenModeName(_ tenant: TenantID) -> Bool {
        let name = tenant.rawValue.utf8
        guard name.count == openModePrefix.utf8.count + openModeHexDigits, name.starts(with: openModePrefix.utf8)
        else { return false }
        return name.dropFirst(openModePrefix.utf8.count).allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
        }
    }

    /// The tenant of the entry whose digest is `digest`. The ring holds no two entries with one digest (those are
    /// refused when the file is read), so at most one matches.
    private static func match(_ digest: [UInt8], in entries: [Entry]) -> TenantID? {
        var match: TenantID?
        // Every entry is compared, whatever matched before, so timing says nothing about the list.
        for entry in entries where KeyDigest.equalInConstantTime(entry.digest, digest) {
            match = entry.tenant
        }
        return match
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
            cache.refused = []
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
            cache.refused = []
            return
        }
        if identity.permissions & 0o077 != 0 {
            logger.warning(
                "The keys file is readable by other users; make it mode 0600",
                metadata: ["keys.path": "\(path)", "keys.mode": "\(String(identity.permissions, radix: 8))"])
        }
        do {
            let contents = try KeysFile.load(path: path) ?? KeysFile.Contents()
            cache.replaceEntries(
                with: contents.usableEntries.map { Entry(digest: $0.sha256.bytes, tenant: $0.tenant) })
            cache.refused = Set(contents.refusedHashes.map(\.bytes))
            // Once per load, naming no key: `taskctl check` names the entries, to the operator only.
            if !contents.problems.isEmpty {
                logger.warning(
                    "Refusing keys whose entries break the keys file's rules; taskctl check names them",
                    metadata: ["keys.path": "\(path)", "keys.flawed": "\(contents.problems.count)"])
            }
            let duplicated = contents.duplicatedHashes
            if !duplicated.isEmpty {
                logger.warning(
                    "Refusing keys whose hash appears more than once in the keys file; taskctl check names them",
                    metadata: ["keys.path": "\(path)", "keys.duplicated": "\(duplicated.count)"])
            }
            logger.info("Keys loaded", metadata: ["keys.path": "\(path)", "keys.count": "\(cache.entries.count)"])
        } catch {
            logger.error(
                "Cannot read the keys file; no key is accepted",
                metadata: ["keys.path": "\(path)", "error": "\(error)"])
            cache.replaceEntries(with: [])
            cache.refused = []
        }
    }
}
