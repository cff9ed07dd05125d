import TaskAPI
import TaskCore

/// Everything taskd-fcgi needs to start, resolved flag > `TASKD_*` variable > default and validated at once.
struct FastCGIConfiguration: Equatable, Sendable {
    /// Where the listening socket comes from.
    enum Listener: Equatable, Sendable {
        /// systemd socket activation: `LISTEN_PID` is this process and `LISTEN_FDS` ≥ 1, so the socket is fd 3.
        case systemd(fd: Int32)
        /// A unix socket this process creates. `isExplicit` is false when the path is only the default, in which case
        /// a listening socket inherited on fd 0 (from a spawner) takes precedence.
        case unixSocket(path: String, mode: UInt32, isExplicit: Bool)
    }

    static let defaultSocketPath = "/run/taskd/fcgi.sock"
    static let defaultSocketMode: UInt32 = 0o660
    /// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
    static let systemdFirstDescriptor: Int32 = 3

    // Without `fastcgi_keep_conn`, a worker is only ever busy while a request is in flight: nginx opens a unix-socket
    // connection per request and libfcgi closes it after the answer, so no idle connection pins a thread (the trap
    // of architecture.md: with keep-alive, 2 to 16 threads served 400 to 3,100 requests/s where the same threads
    // without it served 12,000 to 16,000). Creates wait for fsyncs while holding their workspace's lock, so threads
    // mostly wait on the disk, not the CPU: measured on 2 cores, GET peaked at 4 to 8 threads and POST across
    // workspaces stopped gaining at 8. 16 keeps reads flowing while several creates queue on one workspace's lock, for
    // the cost of 16 idle stacks. Figures in BENCHMARKS.md (REST).
    static let defaultThreads = 16

    // nginx sends a whole request as soon as it has connected (it buffers client bodies first) and reads answers as
    // they come, so on a local socket either step takes microseconds; 3 s of silence means a broken or hostile peer.
    // A worker such a peer holds is back after at most this long, and a stop (twice this plus 1 s) stays within
    // systemd's TimeoutStopSec=10s.
    static let defaultConnectionDeadline = 3.0
    static let connectionDeadlineRange = 0.05...60.0

    var settings: ServiceSettings
    var listener: Listener
    var threads: Int
    var connectionDeadline: Duration

    /// Resolves and validates every setting; `processID` is compared with `LISTEN_PID`.
    static func resolve(
        options: FastCGIOptions, environment: [String: String], processID: Int32
    ) throws(ValidationError) -> FastCGIConfiguration {
        let settings = try ServiceSettings.resolve(overrides: options.overrides, environment: environment)
        let reader = SettingReader(environment: environment)
        let threads = try reader.integer(options.threads, "TASKD_FCGI_THREADS", default: defaultThreads, in: 1...1_024)
        let deadline = try reader.double(
            options.connectionDeadline, "TASKD_FCGI_CONNECTION_DEADLINE", default: defaultConnectionDeadline)
        guard connectionDeadlineRange.contains(deadline) else {
            throw ValidationError(
                parameter: "TASKD_FCGI_CONNECTION_DEADLINE",
                message: "TASKD_FCGI_CONNECTION_DEADLINE must be between \(connectionDeadlineRange.lowerBound) and "
                    + "\(connectionDeadlineRange.upperBound) seconds, got \(deadline).")
        }
        let listener: Listener
        if let count = environment["LISTEN_FDS"].flatMap({ Int($0) }), count >= 1,
            environment["LISTEN_PID"].flatMap({ Int32($0) }) == processID
        {
            listener = .systemd(fd: systemdFirstDescriptor)
        } else {
            let explicitPath = reader.raw(options.socket, "TASKD_FCGI_SOCKET")
            let path = explicitPath ?? defaultSocketPath
            guard !path.isEmpty, path.utf8.count < 108 else {
                throw ValidationError(
                    parameter: "TASKD_FCGI_SOCKET",
                    message: "TASKD_FCGI_SOCKET must be a path of 1 to 107 bytes, got '\(path.prefix(120))'.")
            }
            let modeText = reader.raw(options.socketMode, "TASKD_FCGI_SOCKET_MODE")
            let mode: UInt32
            if let modeText {
                guard let parsed = UInt32(modeText, radix: 8), parsed <= 0o777 else {
                    throw ValidationError(
                        parameter: "TASKD_FCGI_SOCKET_MODE",
                        message: "TASKD_FCGI_SOCKET_MODE must be octal permissions such as 0660, got '\(modeText)'.")
                }
                mode = parsed
            } else {
                mode = defaultSocketMode
            }
            listener = .unixSocket(path: path, mode: mode, isExplicit: explicitPath != nil)
        }
        return FastCGIConfiguration(
            settings: settings, listener: listener, threads: threads,
            connectionDeadline: .milliseconds(Int64((deadline * 1_000).rounded())))
    }
}
