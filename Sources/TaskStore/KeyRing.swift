import Logging
import TaskCore

/// Answers "whose key is this?" on every request, from the keys file, which it re-reads when it changes.
public final class KeyRing: Sendable {
    /// How long a check of the keys file stays fresh: a revoke takes effect well within a second.
    static let recheckInterval: Duration = .milliseconds(200)

    private struct Entry {
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
        let digest = KeyDigest.digest(of: key.rawValue)
        let known: TenantID? = cache.withValue { cache in
            refreshIfDue(&cache)
            var match: TenantID?
            // Every entry is compared, whatever matched before, so timing says nothing about the list.
            for entry in cache.entries where KeyDigest.equalInConstantTime(entry.digest, digest) {
                match = entry.tenant
            }
            return match
        }
        if let known { return known }
        guard openMode, !key.rawValue.isEmpty else { return nil }
        return try? TenantID(parsing: "open-" + KeyDigest.hex(digest).prefix(20))
    }

    /// Re-reads the file if it was replaced or edited since the last look, at most once per `recheckInterval`.
    /// A file that cannot be read or parsed yields no keys (fail closed), logged once per change.
    private func refreshIfDue(_ cache: inout Cache) {
        let now = ContinuousClock.now
        if let checkedAt = cache.checkedAt, now - checkedAt < Self.recheckInterval { return }
        cache.checkedAt = now
        let identity: Syscall.FileIdentity?
        do {
            identity = try Syscall.status(path)
        } catch {
            if cache.statError != error {
                logger.error("Cannot stat the keys file", metadata: ["keys.path": "\(path)", "error": "\(error)"])
            }
            cache.statError = error
            cache.entries = []
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
            cache.entries = []
            return
        }
        if identity.permissions & 0o077 != 0 {
            logger.warning(
                "The keys file is readable by other users; make it mode 0600",
                metadata: ["keys.path": "\(path)", "keys.mode": "\(String(identity.permissions, radix: 8))"])
        }
        do {
            let document = try KeysFile.read(path: path)
            cache.entries = document.keys.compactMap { entry in
                guard let digest = KeyDigest.bytes(fromHex: entry.sha256) else {
                    logger.warning("Skipping a key entry with a malformed hash", metadata: ["key.id": "\(entry.id)"])
                    return nil
                }
                return Entry(digest: digest, tenant: entry.tenant)
            }
            logger.info("Keys loaded", metadata: ["keys.path": "\(path)", "keys.count": "\(cache.entries.count)"])
        } catch {
            logger.error(
                "Cannot read the keys file; no key is accepted",
                metadata: ["keys.path": "\(path)", "error": "\(error)"])
            cache.entries = []
        }
    }
}
