import Foundation
import Logging
import TaskCore

@testable import TaskStore

/// A fresh directory under the system's temporary directory, removed when the value goes away.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory().replacing(/\/+$/, with: "") + "/taskd-store-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }
        }
        guard let created else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: created)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

enum Fixtures {
    static let logger = Logger(label: "taskd.store.test") { _ in SwiftLogNoOpLogHandler() }
    static func machine() throws -> TaskStateMachine {
        TaskStateMachine(policy: try SchedulePolicy(slots: 6, timeScale: 1))
    }

    static func key(_ tenant: String = "acme", _ workspace: String = "default") throws -> WorkspaceKey {
        WorkspaceKey(tenant: try TenantID(parsing: tenant), workspace: try WorkspaceID(parsing: workspace))
    }

    static func store(
        _ directory: TemporaryDirectory, maxWorkspaces: Int = 100, changeLogLimit: Int64? = nil,
        options: StoreOptions = StoreOptions()
    ) throws -> WorkspaceStore {
        var options = options
        if let changeLogLimit { options.changeLogLimit = changeLogLimit }
        return try WorkspaceStore(
            directory: directory.path, maxWorkspacesPerTenant: maxWorkspaces, logger: logger, options: options)
    }

    static func now() -> Timestamp {
        Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
    }

    /// Commits one create and returns the new task's id.
    @discardableResult
    static func create(in store: WorkspaceStore, _ key: WorkspaceKey, name: String = "job") throws -> TaskID {
        let name = try TaskName(parsing: name)
        let machine = try machine()
        return try store.update(key) { state in
            let change = TaskChange.create(name: name, type: .heavy, durationMilliseconds: 300_000, at: now())
            guard case .created(let record) = try machine.apply(change, to: &state) else {
                throw StoreError.encodingFailed(detail: "not a create")
            }
            return StoreUpdate(change: change, result: record.id)
        }
    }
}
