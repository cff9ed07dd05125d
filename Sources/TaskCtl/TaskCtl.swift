import ArgumentParser
import TaskAPI

/// `taskctl`: the operator's tool for keys, workspaces, the change log and a consistency check of the state dir.
@main
struct TaskCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskctl",
        abstract: "Administer a taskd state directory: keys, workspaces, the change log.",
        discussion: """
            Settings come from the same TASKD_* variables as the servers (TASKD_STATE_DIR, TASKD_KEYS_FILE, \
            TASKD_SLOTS, TASKD_TIME_SCALE, ...), taken from the environment, then from /etc/taskd/taskd.env (or the \
            file TASKD_ENV_FILE names); --state-dir and --keys-file override them. Run as root, taskctl \
            switches to the owner of the state directory first, so every file it writes belongs to the service user.

            Exit codes: 0 success; 1 a problem was found, or the thing asked for does not exist; 64 bad usage; \
            65 a stored file is corrupt; 74 an I/O error; 77 permission denied; 78 a TASKD_* setting is invalid.
            """,
        version: TaskdVersion.current,
        subcommands: [KeyCommand.self, WorkspaceCommand.self, TenantCommand.self, LogCommand.self, CheckCommand.self]
    )
}
