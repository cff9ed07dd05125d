import ArgumentParser
import TaskAPI
import TaskCore

/// Command-line options of taskd-ws: the shared settings plus where to listen, the socket's mode and how often to
/// ping. Names and help come from `SettingCatalog`.
struct WebSocketOptions: ParsableArguments {
    @OptionGroup var shared: SharedOptions

    @Option(
        name: SettingCatalog.maxWebSocketConnections.name, help: SettingCatalog.maxWebSocketConnections.help)
    var maxWsConnections: Int?

    @Option(
        name: SettingCatalog.openMaxWebSocketConnections.name,
        help: SettingCatalog.openMaxWebSocketConnections.help)
    var openMaxWsConnections: Int?

    @Option(name: SettingCatalog.webSocketListen.name, help: SettingCatalog.webSocketListen.help)
    var listen: String?

    @Option(name: SettingCatalog.webSocketSocketMode.name, help: SettingCatalog.webSocketSocketMode.help)
    var socketMode: String?

    @Option(name: SettingCatalog.webSocketPingInterval.name, help: SettingCatalog.webSocketPingInterval.help)
    var pingInterval: Double?

    init() {}
}

/// Everything taskd-ws runs with, resolved once at startup: flag, then `TASKD_*` variable, then default.
struct WebSocketConfiguration: Sendable, Equatable {
    var settings: ServiceSettings
    var listen: ListenAddress
    /// Permissions given to the unix socket (ignored for TCP).
    var socketMode: UInt32
    /// How long a connection may stay silent before it is pinged; a connection silent for twice this is closed.
    var pingInterval: Duration
    /// In open mode, the most WebSocket connections of all tenants together; nil outside open mode.
    var openModeConnectionLimit: Int?

    /// Resolves and validates every setting; a bad value is reported with the variable that holds it.
    static func resolve(options: WebSocketOptions, environment: [String: String]) throws(TaskCore.ValidationError)
        -> WebSocketConfiguration
    {
        var overrides = options.shared.overrides
        overrides.maxConnectionsPerTenant = options.maxWsConnections
        let settings = try ServiceSettings.resolve(overrides: overrides, environment: environment)

        let reader = SettingReader(environment: environment)
        let listenText = try reader.value(of: SettingCatalog.webSocketListen, flag: options.listen)
        let listen = try ListenAddress(parsing: listenText, setting: SettingCatalog.webSocketListen.variable)
        let modeText = try reader.value(of: SettingCatalog.webSocketSocketMode, flag: options.socketMode)
        // The declaration accepts only octal permissions, so this parses.
        let socketMode = UInt32(modeText, radix: 8) ?? 0o660
        let seconds = try reader.value(of: SettingCatalog.webSocketPingInterval, flag: options.pingInterval)
        let openModeLimit = try reader.value(
            of: SettingCatalog.openMaxWebSocketConnections, flag: options.openMaxWsConnections)
        return WebSocketConfiguration(
            settings: settings, listen: listen, socketMode: socketMode,
            pingInterval: .milliseconds(Int64((seconds * 1_000).rounded())),
            openModeConnectionLimit: settings.openMode ? openModeLimit : nil)
    }
}
