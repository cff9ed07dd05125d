import ArgumentParser
import TaskAPI
import TaskCore

/// Command-line options of taskd-ws: the shared settings plus where to listen, the socket's mode and how often to
/// ping.
struct WebSocketOptions: ParsableArguments {
    @OptionGroup var shared: SharedOptions

    @Option(help: "WebSocket connections per tenant (env: TASKD_MAX_WS_CONNECTIONS, default: 100)")
    var maxWsConnections: Int?

    @Option(help: "unix:/path or HOST:PORT to listen on (env: TASKD_WS_LISTEN, default: unix:/run/taskd/ws.sock)")
    var listen: String?

    @Option(help: "Permissions of the unix socket, octal (env: TASKD_WS_SOCKET_MODE, default: 0660)")
    var socketMode: String?

    @Option(
        help: "Seconds without a frame from a client before it is pinged (env: TASKD_WS_PING_INTERVAL, default: 30)")
    var pingInterval: Double?

    init() {}
}

/// Everything taskd-ws runs with, resolved once at startup: flag, then `TASKD_*` variable, then default.
struct WebSocketConfiguration: Sendable, Equatable {
    static let defaultListen = "unix:/run/taskd/ws.sock"
    static let defaultPingIntervalSeconds = 30.0
    /// Owner and group (nginx's workers, through the socket directory's group) may connect; nobody else.
    static let defaultSocketMode: UInt32 = 0o660

    var settings: ServiceSettings
    var listen: ListenAddress
    /// Permissions given to the unix socket (ignored for TCP).
    var socketMode: UInt32
    /// How long a connection may stay silent before it is pinged; a connection silent for twice this is closed.
    var pingInterval: Duration

    /// Resolves and validates every setting; a bad value is reported with the variable that holds it.
    static func resolve(options: WebSocketOptions, environment: [String: String]) throws(TaskCore.ValidationError)
        -> WebSocketConfiguration
    {
        var overrides = options.shared.overrides
        overrides.maxConnectionsPerTenant = options.maxWsConnections
        let settings = try ServiceSettings.resolve(overrides: overrides, environment: environment)

        let reader = SettingReader(environment: environment)
        let listenText = try reader.string(options.listen, "TASKD_WS_LISTEN", default: defaultListen)
        let listen = try ListenAddress(parsing: listenText, setting: "TASKD_WS_LISTEN")
        let modeText = reader.raw(options.socketMode, "TASKD_WS_SOCKET_MODE")
        let socketMode = try modeText.map { text throws(TaskCore.ValidationError) in
            guard let mode = UInt32(text, radix: 8), mode <= 0o777 else {
                throw TaskCore.ValidationError(
                    parameter: "TASKD_WS_SOCKET_MODE",
                    message: "TASKD_WS_SOCKET_MODE must be octal permissions such as 0660, got '\(text)'.")
            }
            return mode
        }
        let seconds = try reader.double(
            options.pingInterval, "TASKD_WS_PING_INTERVAL", default: defaultPingIntervalSeconds)
        guard seconds >= 0.1, seconds <= 3_600 else {
            throw ValidationError(
                parameter: "TASKD_WS_PING_INTERVAL",
                message: "TASKD_WS_PING_INTERVAL must be between 0.1 and 3600 seconds, got \(seconds).")
        }
        return WebSocketConfiguration(
            settings: settings, listen: listen, socketMode: socketMode ?? defaultSocketMode,
            pingInterval: .milliseconds(Int64((seconds * 1_000).rounded())))
    }
}
