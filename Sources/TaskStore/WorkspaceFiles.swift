/// The files of one workspace directory (see docs/state-directory.md).
struct WorkspaceFiles: Sendable {
    static let journalName = "journal.log"
    static let checkpointName = "checkpoint.json"
    /// Version 1's document, read as it is until the workspace's first write converts it.
    static let legacyName = "state.json"
    static let lockName = "lock"

    let directory: String

    var journal: String { directory + "/" + Self.journalName }
    var journalTemporary: String { directory + "/journal.log.tmp" }
    var checkpoint: String { directory + "/" + Self.checkpointName }
    var checkpointTemporary: String { directory + "/checkpoint.json.tmp" }
    var legacy: String { directory + "/" + Self.legacyName }
    var lock: String { directory + "/" + Self.lockName }
}
