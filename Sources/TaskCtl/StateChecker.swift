import Foundation
import Glibc
import Logging
import TaskAPI
import TaskCore
import TaskStore

/// Reads a whole state dir and reports everything that breaks the store's rules, without changing anything.
///
/// Safe while the servers run: the change log is read before the workspaces, and a record is appended only after
/// its journal lines are durable, so every record seen has its workspace at that sequence or later.
struct StateChecker {
    let settings: ServiceSettings
    let logger: Logger
    let now: Timestamp

    func run() -> CheckReport {
        var report = CheckReport()
        var info = stat()
        guard stat(settings.stateDirectory, &info) == 0 else {
            report.problem(settings.stateDirectory, "The state directory cannot be read: \(Self.errnoText()).")
            return report
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            report.problem(settings.stateDirectory, "The state directory is not a directory.")
            return report
        }
        if info.st_mode & 0o077 != 0 {
            report.warning(
                settings.stateDirectory,
                "The state directory is accessible to other users (mode \(String(info.st_mode & 0o777, radix: 8)));"
                    + " 0700 is expected.")
        }
        checkKeys(&report)
        let latest = checkChangeLog(&report)
        checkWorkspaces(&report, logged: latest)
        return report
    }

    // MARK: Change log

    /// Checks every record of the log (oldest file first); returns the last sequence logged per workspace.
    private func checkChangeLog(_ report: inout CheckReport) -> [WorkspaceKey: UInt64] {
        var latest: [WorkspaceKey: UInt64] = [:]
        let directory = URL(fileURLWithPath: settings.stateDirectory)
        for name in ["changes.log.1", "changes.log"] {
            let path = directory.appendingPathComponent(name).path
            guard FileManager.default.fileExists(atPath: path) else { continue }
            guard let data = FileManager.default.contents(atPath: path) else {
                report.problem(path, "The change log cannot be read.")
                continue
            }
            let bytes = [UInt8](data)
            var lineNumber = 0
            var start = 0
            while start < bytes.count {
                lineNumber += 1
                guard let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                    report.warning(path, "Line \(lineNumber) is incomplete (a write in progress, or a crash).")
                    break
                }
                defer { start = end + 1 }
                let record: ChangeRecord
                do {
                    record = try WireFormat.decode(ChangeRecord.self, from: bytes[start..<end])
                } catch {
                    report.problem(path, "Line \(lineNumber) is not a change record: \(Self.describe(error)).")
                    continue
                }
                report.logRecords += 1
                if let previous = latest[record.key], record.sequence <= previous {
                    report.problem(
                        path,
                        "Line \(lineNumber): \(record.key) has seq \(record.sequence) after seq \(previous);"
                            + " sequences must increase.")
                }
                latest[record.key] = max(latest[record.key] ?? 0, record.sequence)
            }
        }
        return latest
    }

    // MARK: Workspaces

    private func checkWorkspaces(_ report: inout CheckReport, logged: [WorkspaceKey: UInt64]) {
        let store: WorkspaceStore
        let tenants: [TenantID]
        do {
            store = try WorkspaceStore(settings: settings, logger: logger)
            tenants = try store.tenants()
        } catch {
            report.problem(settings.stateDirectory, "The workspaces cannot be listed: \(error).")
            return
        }
        var seen = Set<WorkspaceKey>()
        for tenant in tenants {
            if (try? store.isFrozen(tenant)) == true {
                report.warning(
                    "\(tenant)",
                    "Tenant \(tenant) is frozen: its writes are refused until `taskctl tenant unfreeze \(tenant)`"
                        + " (or, once it has moved to another shard and been retired here, its workspaces are a backup)."
                )
            }
            let workspaces: [WorkspaceID]
            do {
                workspaces = try store.workspaces(of: tenant)
            } catch {
                report.problem("\(tenant)", "The workspaces of tenant \(tenant) cannot be listed: \(error).")
                continue
            }
            for workspace in workspaces {
                let key = WorkspaceKey(tenant: tenant, workspace: workspace)
                let subject = "\(key) (\(store.journalPath(key)))"
                seen.insert(key)
                let inspection = store.inspect(key)
                for finding in inspection.findings {
                    if finding.isProblem {
                        report.problem("\(key) (\(finding.path))", finding.message)
                    } else {
                        report.warning("\(key) (\(finding.path))", finding.message)
                    }
                }
                report.journalRecords += inspection.journalRecords
                if inspection.format == .version1 { report.version1Workspaces += 1 }
                guard let state = inspection.state else { continue }
                report.workspaces += 1
                report.tasks += state.tasks.count
                for message in violations(of: state) {
                    report.problem(subject, message)
                }
                if let sequence = logged[key], sequence > state.sequence {
                    report.problem(
                        subject,
                        "The change log has seq \(sequence) but the workspace only seq \(state.sequence):"
                            + " a committed change is missing from the journal.")
                }
                if state.tasks.count > settings.maxTasksPerWorkspace {
                    report.warning(
                        subject,
                        "\(state.tasks.count) tasks kept, more than TASKD_MAX_TASKS (\(settings.maxTasksPerWorkspace))."
                    )
                }
                let running = TaskStateMachine(policy: settings.policy).view(of: state, at: now).tasks
                    .filter { $0.status == .running }.count
                if running > settings.policy.slots {
                    report.warning(
                        subject,
                        "\(running) tasks are running, more than TASKD_SLOTS (\(settings.policy.slots));"
                            + " was the setting lowered?")
                }
            }
        }
        for key in logged.keys where !seen.contains(key) {
            report.problem("\(key)", "The change log has records for a workspace whose document is missing.")
        }
    }

    /// The invariants every stored document keeps, as messages; empty when the document is sound.
    func violations(of state: WorkspaceState) -> [String] {
        var messages: [String] = []
        if state.nextID < 1 {
            messages.append("next_id is \(state.nextID); it must be at least 1.")
        }
        if state.nextID >= StoredLimits.nextIDs.upperBound {
            messages.append(
                "next_id is \(state.nextID), the last the store allows: the workspace refuses new tasks (429).")
        }
        if state.sequence >= UInt64(StoredLimits.sequences.upperBound) {
            messages.append("seq is \(state.sequence), the last the store allows: the workspace refuses every change.")
        }
        if state.sequence < UInt64(max(0, state.nextID - 1)) {
            messages.append("seq \(state.sequence) is lower than the \(state.nextID - 1) creates next_id implies.")
        }
        var previous: StoredTask?
        for task in state.tasks {
            let id = task.id.rawValue
            if id >= state.nextID {
                messages.append("Task \(id) is not below next_id \(state.nextID): its id could be reused.")
            }
            if task.durationMilliseconds < SchedulePolicy.minimumDurationMilliseconds {
                messages.append("Task \(id) has duration \(task.durationMilliseconds) ms, below the minimum.")
            }
            if task.createdAt > state.asOf {
                messages.append("Task \(id) was created after the document's as_of.")
            }
            if let started = task.startedAt {
                if started < task.createdAt {
                    messages.append("Task \(id) started before it was created.")
                }
                if started > state.asOf {
                    messages.append("Task \(id) has a start recorded after the document's as_of.")
                }
            }
            if let previous {
                if previous.id >= task.id {
                    messages.append("Task \(id) follows task \(previous.id): tasks must be in ascending id order.")
                }
                switch (previous.startedAt, task.startedAt) {
                case (nil, .some):
                    messages.append("Task \(id) has started while the earlier task \(previous.id) has not.")
                case (.some(let earlier), .some(let later)) where later < earlier:
                    messages.append("Task \(id) started before the earlier task \(previous.id).")
                default:
                    break
                }
            }
            previous = task
        }
        return messages
    }

    static func errnoText() -> String {
        String(cString: strerror(errno))
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? DecodingError {
            switch error {
            case .dataCorrupted(let context), .keyNotFound(_, let context), .typeMismatch(_, let context),
                .valueNotFound(_, let context):
                return context.debugDescription
            @unknown default:
                return "\(error)"
            }
        }
        return "\(error)"
    }
}
