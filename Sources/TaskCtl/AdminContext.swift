import Glibc
import Logging
import TaskAPI
import TaskCore
import TaskStore

/// What a command works with once its options are resolved.
struct AdminContext {
    let settings: ServiceSettings
    let output: Output
    let logger: Logger

    /// The store of an existing state directory (taskctl never creates one: the services' user must own it).
    func openStore() throws -> WorkspaceStore {
        var info = stat()
        guard stat(settings.stateDirectory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw CommandFailure(
                .problem,
                "There is no state directory at \(settings.stateDirectory) (systemd-tmpfiles --create taskd.conf"
                    + " creates it; TASKD_STATE_DIR or --state-dir names another).")
        }
        do {
            return try WorkspaceStore(settings: settings, logger: logger)
        } catch {
            throw CommandFailure(error)
        }
    }

    var stateMachine: TaskStateMachine { TaskStateMachine(policy: settings.policy) }
}
