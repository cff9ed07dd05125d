import Foundation
import Logging
import Synchronization
import TaskCore
import Testing

@testable import TaskStore

/// The keys file read as untrusted input: every field of every entry checked and named, one spelling of a hash,
/// a hash held twice refused for everyone, and the file bounded.
@Suite struct KeysFileDecodingTests {
    static let victimKey = "tk_s1_0123456789ab_" + String(repeating: "V", count: 43)
    static let otherKey = "tk_s1_ba9876543210_" + String(repeating: "O", count: 43)

    /// A well-formed entry as a JSON object, with `changes` applied (a nil value removes the field).
    static func entry(
        id: String = "k_0123456789ab", tenant: String = "victim", key: String = victimKey,
        _ changes: [String: Any?] = [:]
    ) -> [String: Any] {
        var object: [String: Any] = [
            "id": id, "tenant": tenant, "sha256": KeyHash(of: key).hex, "created_at": 1_764_403_100_000, "shard": 1,
        ]
        for (field, value) in changes { object[field] = value }
        return object
    }

    static func write(_ entries: [Any], version: Any = 1, to path: String) throws {
        let data = try JSONSerialization.data(
            withJSONObject: ["version": version, "keys": entries], options: [.sortedKeys])
        try data.write(to: URL(fileURLWithPath: path))
        chmod(path, 0o600)
    }

    static func apiKey(_ text: String) throws -> APIKey {
        try #require(APIKey(text))
    }

    /// Each a change that breaks one field's rule, and that field.
    static var flawedFields: [(changes: [String: Any?], field: String)] {
        [
            (["sha256": KeyHash(of: victimKey).hex.uppercased()], "sha256"),
            (["sha256": String(KeyHash(of: victimKey).hex.dropLast())], "sha256"),
            (["sha256": String(KeyHash(of: victimKey).hex.dropLast()) + "g"], "sha256"),
            (["sha256": " " + KeyHash(of: victimKey).hex], "sha256"),
            (["sha256": nil], "sha256"),
            (["sha256": 12], "sha256"),
            (["id": "k_0123456789AB"], "id"),
            (["id": "k_0"], "id"),
            (["id": "../../etc"], "id"),
            (["tenant": "Victim"], "tenant"),
            (["tenant": ""], "tenant"),
            (["tenant": "open-0123456789abcdef0123"], "tenant"),
            (["tenant": nil], "tenant"),
            (["created_at": -1], "created_at"),
            (["created_at": 253_402_300_800_000], "created_at"),
            (["created_at": "yesterday"], "created_at"),
            (["shard": 0], "shard"),
            (["shard": 10_000], "shard"),
            (["shard": "1"], "shard"),
        ]
    }

    @Test(arguments: 0..<flawedFields.count)
    func everyFieldOfAnEntryIsCheckedAndAFlawNamesIt(index: Int) throws {
        let (changes, field) = Self.flawedFields[index]
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        try Self.write(
            [Self.entry(id: "k_ba9876543210", tenant: "other", key: Self.otherKey), Self.entry(changes)], to: path)

        // The servers' reading: that entry is a problem, the other one still counts.
        let contents = try #require(try KeysFile.load(path: path))
        #expect(contents.problems.map(\.field) == ["keys[1].\(field)"], "\(contents.problems)")
        #expect(contents.usableEntries.map(\.tenant.rawValue) == ["other"])
        // taskctl's reading: an error naming the file and the field, and no edit.
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect {
            try KeysFile.revoke(id: "k_ba9876543210", path: path)
        } throws: { error in
            guard case StoreError.corrupt(let named, let detail) = error else { return false }
            return named == path && detail.contains("keys[1].\(field)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func anElementThatIsNotAnObjectIsNamedByItsPosition() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        try Self.write([Self.entry(), "k_0123456789ab", NSNull()], to: path)
        let contents = try #require(try KeysFile.load(path: path))
        #expect(contents.problems.map(\.field) == ["keys[1]", "keys[2]"])
        #expect(contents.entries.count == 1)
    }

    @Test(arguments: [
        #"{"keys":[],"version":2}"#, #"{"keys":[]}"#, #"{"version":1}"#, #"{"keys":{},"version":1}"#, "[]", "",
    ])
    func aFileThatIsNotAVersion1KeysDocumentIsRefusedWhole(text: String) throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: StoreError.self) { try KeysFile.load(path: path) }
        #expect(throws: StoreError.self) { try KeysFile.list(path: path) }
    }

    @Test func aKeysFileOverItsBoundOrNotARegularFileIsRefusedWithoutBeingRead() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        // Sparse: 16 MiB and one byte, without writing them.
        let fd = open(path, O_CREAT | O_WRONLY, 0o600)
        #expect(ftruncate(fd, off_t(KeysFile.maximumBytes + 1)) == 0)
        close(fd)
        #expect {
            try KeysFile.load(path: path)
        } throws: { error in
            guard case StoreError.corrupt(_, let detail) = error else { return false }
            return detail.contains("\(KeysFile.maximumBytes) bytes")
        }
        // A FIFO in its place must not block the reader (a server thread would hang on it).
        let fifo = directory.path + "/fifo.json"
        #expect(mkfifo(fifo, 0o600) == 0)
        let started = ContinuousClock.now
        #expect(throws: StoreError.self) { try KeysFile.load(path: fifo) }
        #expect(ContinuousClock.now - started < .seconds(1))
        let ring = KeyRing(path: fifo, openMode: false, logger: Fixtures.logger)
        #expect(ring.tenant(for: try Self.apiKey(Self.victimKey)) == nil)
    }

    @Test func aHashHeldTwiceGrantsNothingToEitherClaimantEvenInOpenMode() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        try Self.write(
            [
                Self.entry(id: "k_0123456789ab", tenant: "victim"),
                Self.entry(id: "k_ba9876543210", tenant: "other", key: Self.otherKey),
                Self.entry(id: "k_00000000000e", tenant: "mallory"),
            ], to: path)
        let records = LogRecords()
        let logger = Logger(label: "test") { _ in RecordingHandler(records: records) }
        for openMode in [false, true] {
            let ring = KeyRing(path: path, openMode: openMode, logger: logger)
            #expect(ring.tenant(for: try Self.apiKey(Self.victimKey)) == nil, "open mode \(openMode)")
            #expect(ring.tenant(for: try Self.apiKey(Self.otherKey))?.rawValue == "other")
        }
        let warnings = records.lines.filter { $0.contains("more than once") }
        // Once per load (one per ring here), naming no key, no hash and no id.
        #expect(warnings.count == 2, "\(records.lines)")
        let hash = KeyHash(of: Self.victimKey).hex
        #expect(records.lines.allSatisfy { !$0.contains(hash.prefix(16)) && !$0.contains("0123456789ab") })

        let contents = try #require(try KeysFile.load(path: path))
        #expect(
            contents.duplicatedHashes[KeyHash(of: Self.victimKey)]?.map(\.tenant.rawValue) == ["victim", "mallory"])
        // Revoking the entry that should not be there gives the key back to its tenant.
        _ = try KeysFile.revoke(id: "k_00000000000e", path: path)
        let ring = KeyRing(path: path, openMode: false, logger: Fixtures.logger)
        #expect(ring.tenant(for: try Self.apiKey(Self.victimKey))?.rawValue == "victim")
    }

    @Test func anUpperCaseSpellingOfAHashTakesNothingFromTheKeysTenant() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        let upper = KeyHash(of: Self.victimKey).hex.uppercased()
        // The mallory entry comes last: the old ring let the last match win.
        try Self.write(
            [Self.entry(), Self.entry(id: "k_00000000000e", tenant: "mallory", ["sha256": upper])], to: path)
        let ring = KeyRing(path: path, openMode: false, logger: Fixtures.logger)
        #expect(ring.tenant(for: try Self.apiKey(Self.victimKey))?.rawValue == "victim")
        let contents = try #require(try KeysFile.load(path: path))
        #expect(contents.problems.map(\.field) == ["keys[1].sha256"])
    }

    @Test func anEntryThatBreaksARuleAlsoTakesItsHashFromAValidOne() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        // Same hash, but the second entry's tenant is not a tenant name: fail closed for the key.
        try Self.write([Self.entry(), Self.entry(id: "k_00000000000e", tenant: "Not A Tenant")], to: path)
        for openMode in [false, true] {
            let ring = KeyRing(path: path, openMode: openMode, logger: Fixtures.logger)
            #expect(ring.tenant(for: try Self.apiKey(Self.victimKey)) == nil)
        }
    }

    @Test func anEditWaitsForTheKeysLockOnlyUntilItsDeadline() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/keys.json"
        let first = try KeysFile.issue(tenant: TenantID(parsing: "acme"), path: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let held = try KeysFile.lock(path: path, lockWait: .seconds(1))
        defer { held.unlock() }
        let started = ContinuousClock.now
        #expect {
            try KeysFile.issue(tenant: TenantID(parsing: "acme"), path: path, lockWait: .milliseconds(200))
        } throws: { error in
            guard case StoreError.lockTimeout(let lockPath, _) = error else { return false }
            return lockPath == path + ".lock"
        }
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(200) && waited < .seconds(2), "\(waited)")
        #expect(throws: StoreError.self) { try KeysFile.revoke(id: first.entry.id, path: path, lockWait: .zero) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func addingComparesHashesAsBytesAndRefusesAClash() throws {
        let acme = try TenantID(parsing: "acme")
        let entry = KeyEntry(
            id: "k_0123456789ab", tenant: acme, sha256: KeyHash(of: Self.victimKey), createdAt: Timestamp(rawValue: 0))
        let sameHash = KeyEntry(
            id: "k_ba9876543210", tenant: try TenantID(parsing: "mallory"),
            sha256: try KeyHash(parsing: KeyHash(of: Self.victimKey).hex), createdAt: Timestamp(rawValue: 0))
        #expect(KeysFile.addition(of: [sameHash], to: [entry]).conflicting == [sameHash])
        #expect(KeysFile.addition(of: [entry], to: [entry]) == KeyAddition())
        #expect(throws: ValidationError.self) { try KeyHash(parsing: KeyHash(of: Self.victimKey).hex.uppercased()) }
    }
}

/// Log lines, as `RecordingHandler` keeps them.
private final class LogRecords: Sendable {
    private let storage = Mutex<[String]>([])

    var lines: [String] { storage.withLock { $0 } }

    func append(_ line: String) { storage.withLock { $0.append(line) } }
}

/// Keeps every log message with its metadata, as one line each.
private struct RecordingHandler: LogHandler {
    let records: LogRecords
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        let line = "\(level) \(message) \(metadata ?? [:])"
        records.append(line)
    }
}
