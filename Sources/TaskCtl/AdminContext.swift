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
    /// The `TASKD_*` variables in force (the environment, then the env file), for settings only some commands read.
    let environment: [String: String]

    /// A setting only this command reads: its flag, else its variable, else its default.
    func setting<Value>(_ setting: Setting<Value>, flag: Value?) throws -> Value {
        do {
            return try SettingReader(environment: environment).value(of: setting, flag: flag)
        } catch {
            throw CommandFailure(.configuration, error.message)
        }
    }

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
