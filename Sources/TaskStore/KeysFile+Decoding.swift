import Glibc
import TaskCore

/// Reading the keys file, which is untrusted input like every stored file: bounded in size, a regular file, version 1,
/// and every entry checked against `KeyEntry`'s rules.
///
/// Two readers, one set of rules: `taskctl`, which rewrites the file, reads it strictly (`read`: any broken entry is
/// an error naming the file and the field, and nothing is rewritten); the servers and `taskctl check` read each entry
/// on its own (`load`), so that a damaged entry costs its own key, not everyone's.
extension KeysFile {
    /// The most a keys file may hold: 16 MiB, about 100,000 keys. A larger file is refused whole (no key works)
    /// rather than read into every process.
    public static let maximumBytes = 16 << 20

    /// Every entry of a keys file, each checked on its own: what the servers serve and `taskctl check` reports.
    public struct Contents: Sendable, Equatable {
        /// The entries that keep every rule, in the file's order, duplicates included.
        public var entries: [KeyEntry] = []
        /// The entries that break one, with their position and the field at fault.
        public var problems: [Problem] = []
        /// The well-formed hashes of entries that break another rule: a valid entry with one of them is refused too.
        public internal(set) var flawedHashes: Set<KeyHash> = []

        /// No entry at all (what a missing file holds).
        public init() {}

        /// Hashes that more than one entry holds, with those entries. Such a key is refused for every claimant
        /// (fail closed): nothing says which tenant it means, and the last or first match must not decide.
        public var duplicatedHashes: [KeyHash: [KeyEntry]] {
            Dictionary(grouping: entries, by: \.sha256).filter { $0.value.count > 1 }
        }

        /// Hashes no request may be granted by: held twice, or by an entry that breaks a rule.
        public var refusedHashes: Set<KeyHash> {
            flawedHashes.union(duplicatedHashes.keys)
        }

        /// The entries the servers serve: every valid entry whose hash is not refused.
        public var usableEntries: [KeyEntry] {
            let refused = refusedHashes
            return entries.filter { !refused.contains($0.sha256) }
        }
    }

    /// An entry that breaks a rule.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        /// Its position in `keys`, from 0.
        public let index: Int
        /// Its id, when it has a well-formed one (anything else is not repeated).
        public let id: String?
        public let flaw: KeyEntry.Flaw

        /// `keys[3].sha256`, as `jq` would address it.
        public var field: String { "keys[\(index)]" + (flaw.field.isEmpty ? "" : "." + flaw.field) }

        public var description: String { field + (id.map { " (\($0))" } ?? "") + ": " + flaw.message }
    }

    /// The file read strictly, for an edit: an entry that breaks a rule is an error naming it. Empty when missing.
    static func read(path: String) throws(StoreError) -> KeysDocument {
        guard let bytes = try readBytes(path) else { return .empty }
        return try decode(bytes, path: path)
    }

    /// `bytes` (the file at `path`) read strictly.
    static func decode(_ bytes: [UInt8], path: String) throws(StoreError) -> KeysDocument {
        let contents = try decodeContents(bytes, path: path)
        if let problem = contents.problems.first { throw flawed(problem, path: path) }
        return KeysDocument(version: KeysDocument.currentVersion, keys: contents.entries)
    }

    /// The error of a strict read that met `problem`.
    static func flawed(_ problem: Problem, path: String) -> StoreError {
        .corrupt(
            path: path,
            detail: "\(problem). Nothing was changed: repair or remove that entry (`taskctl check` lists every one).")
    }

    /// Every entry of the file at `path`, each checked on its own; nil when there is no file. Throws only when the
    /// file as a whole is unusable (unreadable, too large, not a keys document, another version).
    public static func load(path: String) throws(StoreError) -> Contents? {
        guard let bytes = try readBytes(path) else { return nil }
        return try decodeContents(bytes, path: path)
    }

    /// `bytes` (the file at `path`), each entry checked on its own.
    static func decodeContents(_ bytes: [UInt8], path: String) throws(StoreError) -> Contents {
        guard bytes.count <= maximumBytes else { throw tooLarge(path: path, size: bytes.count) }
        guard !bytes.isEmpty else { throw .corrupt(path: path, detail: "the file is empty") }
        let document: StoredDocument
        do {
            document = try WireFormat.decode(StoredDocument.self, from: bytes)
        } catch {
            throw .corrupt(path: path, detail: describe(error))
        }
        guard let version = document.version else { throw .corrupt(path: path, detail: "version: missing") }
        guard version == Int64(KeysDocument.currentVersion) else {
            throw .corrupt(
                path: path,
                detail: "version: \(version) is not \(KeysDocument.currentVersion), the only version this taskd reads")
        }
        guard let keys = document.keys else { throw .corrupt(path: path, detail: "keys: missing") }
        var contents = Contents()
        for (index, stored) in keys.enumerated() {
            switch KeyEntry.validated(stored) {
            case .success(let entry):
                contents.entries.append(entry)
            case .failure(let flaw):
                let id = stored.id.flatMap { KeyFormat.routedID(ofEntryID: $0) == nil ? nil : $0 }
                contents.problems.append(Problem(index: index, id: id, flaw: flaw))
                if let text = stored.sha256, let hash = try? KeyHash(parsing: text) {
                    contents.flawedHashes.insert(hash)
                }
            }
        }
        return contents
    }

    /// The file's bytes, at most `maximumBytes`; nil when it does not exist. Opened without blocking and refused
    /// unless it is a regular file, so that a FIFO or a device put in its place cannot hold a server's thread.
    static func readBytes(_ path: String) throws(StoreError) -> [UInt8]? {
        guard let fd = try Syscall.openIfExists(path, O_RDONLY | O_NONBLOCK) else { return nil }
        defer { Syscall.close(fd) }
        var info = stat()
        try Syscall.retrying("fstat", path: path) { fstat(fd, &info) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw .corrupt(path: path, detail: "it is not a regular file")
        }
        guard info.st_size <= maximumBytes else { throw tooLarge(path: path, size: Int(info.st_size)) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.st_size) + 1)
        // One byte past the limit at most: a file that grew since the fstat is refused, never read to its end.
        while bytes.count <= maximumBytes {
            let count = min(64 << 10, maximumBytes + 1 - bytes.count)
            guard try Syscall.read(fd, appendingTo: &bytes, count: count, path: path) > 0 else { break }
        }
        guard bytes.count <= maximumBytes else { throw tooLarge(path: path, size: bytes.count) }
        return bytes
    }

    private static func tooLarge(path: String, size: Int) -> StoreError {
        .corrupt(
            path: path,
            detail: "it is \(size) bytes or more, over the \(maximumBytes) bytes (about 100,000 keys) a keys file may"
                + " hold")
    }

    /// A decoding error as `field: what is wrong`, without the decoder's internals.
    private static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else {
            return "not a keys document: " + String("\(error)".prefix(200))
        }
        let context: DecodingError.Context
        switch error {
        case .dataCorrupted(let found), .keyNotFound(_, let found), .typeMismatch(_, let found),
            .valueNotFound(_, let found):
            context = found
        @unknown default:
            return "not a keys document"
        }
        let field = context.codingPath.map { key in key.intValue.map { "[\($0)]" } ?? "." + key.stringValue }
            .joined().drop { $0 == "." }
        let what = String(context.debugDescription.prefix(200))
        return field.isEmpty ? "not a keys document: \(what)" : "\(field): \(what)"
    }

    /// The document as written, before its entries are checked one by one.
    private struct StoredDocument: Decodable {
        var version: Int64?
        var keys: [KeyEntry.Stored]?
    }
}
