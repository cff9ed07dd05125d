/// What `taskctl check` found: problems make it exit 1; warnings are printed but do not.
struct CheckReport: Encodable {
    struct Finding: Encodable, Equatable {
        /// The file or workspace (`tenant/workspace`) concerned.
        let subject: String
        let message: String
    }

    var problems: [Finding] = []
    var warnings: [Finding] = []
    var keys = 0
    var workspaces = 0
    var tasks = 0
    var logRecords = 0
    /// Journal records not yet folded into a checkpoint, over all workspaces.
    var journalRecords = 0
    /// Workspaces still in version 1's format (converted on their first write).
    var version1Workspaces = 0

    var isHealthy: Bool { problems.isEmpty }

    mutating func problem(_ subject: String, _ message: String) {
        problems.append(Finding(subject: subject, message: message))
    }

    mutating func warning(_ subject: String, _ message: String) {
        warnings.append(Finding(subject: subject, message: message))
    }

    var lines: [String] {
        problems.map { "problem: \($0.subject): \($0.message)" }
            + warnings.map { "warning: \($0.subject): \($0.message)" }
            + [
                "Checked \(keys) keys, \(workspaces) workspaces (\(version1Workspaces) in format 1), \(tasks) tasks,"
                    + " \(journalRecords) journal records, \(logRecords) change-log records: "
                    + (isHealthy ? "no problems." : problems.count == 1 ? "1 problem." : "\(problems.count) problems.")
            ]
    }

    enum CodingKeys: String, CodingKey {
        case problems, warnings, keys, workspaces, tasks
        case logRecords = "log_records"
        case journalRecords = "journal_records"
        case version1Workspaces = "version1_workspaces"
        case isHealthy = "ok"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(isHealthy, forKey: .isHealthy)
        try container.encode(problems, forKey: .problems)
        try container.encode(warnings, forKey: .warnings)
        try container.encode(keys, forKey: .keys)
        try container.encode(workspaces, forKey: .workspaces)
        try container.encode(tasks, forKey: .tasks)
        try container.encode(logRecords, forKey: .logRecords)
        try container.encode(journalRecords, forKey: .journalRecords)
        try container.encode(version1Workspaces, forKey: .version1Workspaces)
    }
}
