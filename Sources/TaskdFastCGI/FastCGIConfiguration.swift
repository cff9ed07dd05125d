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

    /// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
    static let systemdFirstDescriptor: Int32 = 3

    var settings: ServiceSettings
    var listener: Listener
    var threads: Int
    var connectionDeadline: Duration

    /// How many changes may be under way at once over all workspaces: half the request threads (at least one), so that
    /// writers waiting for busy workspaces never hold more than half the threads and reads (and other tenants) keep
    /// the rest. Beyond it a change is answered 503 with Retry-After at once.
    static func writerLimit(threads: Int) -> Int {
        max(1, threads / 2)
    }

    /// Resolves and validates every setting; `processID` is compared with `LISTEN_PID`.
    static func resolve(
        options: FastCGIOptions, environment: [String: String], processID: Int32
    ) throws(ValidationError) -> FastCGIConfiguration {
        var settings = try ServiceSettings.resolve(overrides: options.overrides, environment: environment)
        let reader = SettingReader(environment: environment)
        let threads = try reader.value(of: SettingCatalog.fastCGIThreads, flag: options.threads)
        settings.store.maxWritersInProcess = writerLimit(threads: threads)
        let deadline = try reader.value(of: SettingCatalog.fastCGIConnectionDeadline, flag: options.connectionDeadline)
        let listener: Listener
        if let count = environment["LISTEN_FDS"].flatMap({ Int($0) }), count >= 1,
            environment["LISTEN_PID"].flatMap({ Int32($0) }) == processID
        {
            listener = .systemd(fd: systemdFirstDescriptor)
        } else {
            let path = try reader.value(of: SettingCatalog.fastCGISocket, flag: options.socket)
            let modeText = try reader.value(of: SettingCatalog.fastCGISocketMode, flag: options.socketMode)
            // The declaration accepts only octal permissions.
            let mode = UInt32(modeText, radix: 8) ?? 0o660
            listener = .unixSocket(
                path: path, mode: mode, isExplicit: reader.isSet(SettingCatalog.fastCGISocket, flag: options.socket))
        }
        return FastCGIConfiguration(
            settings: settings, listener: listener, threads: threads,
            connectionDeadline: .milliseconds(Int64((deadline * 1_000).rounded())))
    }
}
