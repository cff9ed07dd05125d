import Glibc
import TaskCore

/// What `taskctl check` learns of one workspace's files: its format, its state when readable, and every problem
/// found, each with the file concerned and how to repair it. Reads only; takes no lock.
public struct WorkspaceInspection: Sendable {
    public enum Format: String, Sendable {
        /// No file yet (an empty directory).
        case none
        /// Version 1's `state.json`: read as it is, converted on the workspace's first write.
        case version1 = "1"
        case version2 = "2"
    }

    public struct Finding: Sendable, Equatable {
        /// A problem makes the workspace unusable (it answers 503); a warning does not.
        public let isProblem: Bool
        public let path: String
        public let message: String
    }

    public internal(set) var format = Format.none
    /// The workspace as a read returns it; `nil` when it cannot be read.
    public internal(set) var state: WorkspaceState?
    /// Changes in the journal after its checkpoint, and the journal's size.
    public internal(set) var journalRecords = 0
    public internal(set) var journalBytes: Int64 = 0
    public internal(set) var findings: [Finding] = []

    mutating func problem(_ path: String, _ message: String) {
        findings.append(Finding(isProblem: true, path: path, message: message))
    }

    mutating func warning(_ path: String, _ message: String) {
        findings.append(Finding(isProblem: false, path: path, message: message))
    }
}

extension WorkspaceStore {
    /// Checks a workspace's journal line by line (checks, sequence continuity, chain), the checkpoint against it,
    /// and reads it as the servers would.
    public func inspect(_ key: WorkspaceKey) -> WorkspaceInspection {
        let files = files(key)
        var inspection = WorkspaceInspection()
        let hasJournal = (try? Syscall.status(files.journal)) != nil
        let hasCheckpoint = (try? Syscall.status(files.checkpoint)) != nil
        let hasLegacy = (try? Syscall.status(files.legacy)) != nil
        inspection.format = hasJournal || hasCheckpoint ? .version2 : hasLegacy ? .version1 : .none
        if hasJournal { Self.inspectJournal(files, key, into: &inspection) }
        Self.inspectSideFiles(files, into: &inspection)
        if hasLegacy && (hasJournal || hasCheckpoint) {
            inspection.warning(
                files.legacy,
                "A version 1 document left by an interrupted conversion; it is ignored. The next checkpoint of this"
                    + " workspace removes it (taskctl log compact).")
        }
        do {
            inspection.state = try WorkspaceReader(files: files).read(cached: nil).state
        } catch {
            // Findings above already explain a damaged journal; add what the reader says only when they do not.
            if !inspection.findings.contains(where: \.isProblem) {
                let path = if case .corrupt(let path, _) = error { path } else { files.directory }
                inspection.problem(path, "The workspace cannot be read: \(error). " + Self.restoreAdvice)
            }
        }
        return inspection
    }

    static let restoreAdvice =
        "Repair: stop the services, keep a copy of the workspace directory, and restore it from a backup."

    private static func inspectJournal(
        _ files: WorkspaceFiles, _ key: WorkspaceKey, into inspection: inout WorkspaceInspection
    ) {
        let path = files.journal
        guard let (bytes, identity) = try? WorkspaceReader.readFile(path) else {
            inspection.problem(path, "The journal cannot be read. " + restoreAdvice)
            return
        }
        inspection.journalBytes = identity.size
        let scan = JournalScan(bytes)
        if case .tornTail(let offset) = scan.damage {
            inspection.warning(
                path,
                "The last line (from byte \(offset)) is incomplete: a write cut short by a crash and never"
                    + " acknowledged. Harmless: readers ignore it and the next change cuts it off.")
        }
        if let reading = try? WorkspaceReader(files: files).readJournal(bytes, identity: identity),
            let damage = reading.damage
        {
            inspection.problem(path, damageMessage(damage, files, key))
            return
        }
        guard let first = scan.lines.first, case .header(let base, let chain) = first.line.entry else {
            inspection.problem(path, "The first line is not a journal header. " + restoreAdvice)
            return
        }
        inspection.journalRecords = scan.lines.count - 1
        inspectCheckpoint(files, base: base, chain: chain, lines: scan.lines, into: &inspection)
    }

    /// Side files of damage found earlier: the journal may be sound again (repaired), but they hold changes that
    /// were lost, so an operator should look at them and archive them.
    private static func inspectSideFiles(_ files: WorkspaceFiles, into inspection: inout WorkspaceInspection) {
        let names = (try? Syscall.directoryEntries(files.directory)) ?? []
        for name in names.sorted() where name.hasPrefix(DamagedJournal.namePrefix) {
            guard !inspection.findings.contains(where: { $0.message.contains(name) }) else { continue }
            inspection.warning(
                files.directory + "/" + name,
                "The damaged part of an earlier journal, kept when the damage was found: the changes it held were"
                    + " lost by the repair. Look at it (each line is a journal line), then archive it.")
        }
    }

    /// What `check` says of a damaged journal: where, why, where its bytes are kept, and the repair.
    static func damageMessage(_ damage: DamagedJournal, _ files: WorkspaceFiles, _ key: WorkspaceKey) -> String {
        let kept =
            damage.isKept(in: files)
            ? "Its bytes from there on are kept in \(damage.path(in: files))."
            : "Its bytes from there on will be kept in \(damage.path(in: files)) (by the first server that reads"
                + " the workspace, or by the repair)."
        return "Line \(damage.lineNumber) (byte \(damage.offset)) is damaged: \(damage.reason). It may hold an"
            + " acknowledged change, so the workspace answers 503 and nothing is written to it. " + kept
            + " Repair: taskctl workspace repair \(key.tenant) \(key.workspace) (it keeps what precedes the damage and"
            + " the side file, and sets next_id above every id that may have been handed out)."
    }

    private static func inspectCheckpoint(
        _ files: WorkspaceFiles, base: UInt64, chain: UInt32, lines: [JournalScan.Line],
        into inspection: inout WorkspaceInspection
    ) {
        let path = files.checkpoint
        guard let (bytes, _) = try? WorkspaceReader.readFile(path) else {
            if base > 0 {
                inspection.problem(
                    path, "The journal starts at seq \(base) but the checkpoint is missing. " + restoreAdvice)
            }
            return
        }
        let document: (state: WorkspaceState, format: Int, chain: UInt32)
        do {
            document = try WireFormat.decodeCheckpoint(bytes)
        } catch {
            inspection.problem(path, "The checkpoint is unusable: \(error.message). " + restoreAdvice)
            return
        }
        let sequence = document.state.sequence
        let agrees: Bool
        if sequence < base {
            agrees = false
        } else if sequence == base {
            agrees = document.chain == chain
        } else if let line = lines.first(where: { $0.line.entry.sequence == sequence }) {
            agrees = line.line.check == document.chain
        } else {
            // A checkpoint ahead of the whole journal is only a moment's state (a rotation in progress).
            agrees = true
        }
        if !agrees {
            inspection.problem(
                path,
                "The checkpoint (seq \(sequence)) and the journal (from seq \(base)) describe different histories."
                    + " " + restoreAdvice)
        }
        if document.format < WireFormat.storeFormat {
            inspection.warning(
                path, "The checkpoint has format \(document.format), expected \(WireFormat.storeFormat).")
        }
        inspection.journalRecords = lines.filter { $0.line.entry.sequence > sequence }.count
    }
}
