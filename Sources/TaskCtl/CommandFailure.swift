import ArgumentParser
import Glibc
import TaskCore
import TaskStore

/// A command that could not do what was asked: a message for stderr and the exit code that classifies it.
struct CommandFailure: Error, CustomStringConvertible {
    /// Exit codes follow sysexits(3) where one fits, so scripts can tell "not there" from "broken".
    enum Kind: Int32 {
        /// A problem was found (`check`), or the key, tenant or workspace asked for does not exist.
        case problem = 1
        /// The arguments are wrong (ArgumentParser uses the same code for its own validation errors).
        case usage = 64
        /// A stored file does not parse or breaks an invariant.
        case corrupt = 65
        /// Reading or writing the state failed.
        case io = 74
        /// A lock (the keys file's, a workspace's) stayed held by another process past the wait: retry.
        case busy = 75
        /// The state dir or keys file is not accessible to this user.
        case permission = 77
        /// A TASKD_* setting is invalid.
        case configuration = 78
    }

    let kind: Kind
    let message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// Classifies a store error.
    init(_ error: StoreError) {
        switch error {
        case .lockTimeout(let path, let waited):
            self.init(
                .busy,
                "Another process holds \(path) (an edit under way): gave up after \(waited) ms, nothing was changed."
                    + " Retry; TASKD_LOCK_WAIT_MS sets how long to wait.")
        default:
            self.init(Self.kind(of: error), error.description)
        }
    }

    var description: String { message }

    static func kind(of error: StoreError) -> Kind {
        switch error {
        case .corrupt: .corrupt
        case .keyNotFound: .problem
        case .lockTimeout: .busy
        case .io(_, _, let errno) where errno == EACCES || errno == EPERM: .permission
        default: .io
        }
    }

    /// Runs a command body: a failure goes to stderr as one line and becomes the process's exit code.
    static func reporting(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let failure as CommandFailure {
            Output.printError(failure.message)
            throw ExitCode(failure.kind.rawValue)
        } catch let error as StoreError {
            let failure = CommandFailure(error)
            Output.printError(failure.message)
            throw ExitCode(failure.kind.rawValue)
        } catch let error as TenantMoveError {
            Output.printError(error.description)
            throw ExitCode(Kind.problem.rawValue)
        } catch let error as TaskCore.ValidationError {
            Output.printError(error.message)
            throw ExitCode(Kind.usage.rawValue)
        }
    }
}
