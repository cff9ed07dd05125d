import TaskCore
import Testing

@testable import TaskdWebSocket

struct WebSocketConfigurationTests {
    private func resolve(_ arguments: [String] = [], _ environment: [String: String] = [:]) throws
        -> WebSocketConfiguration
    {
        try WebSocketConfiguration.resolve(options: WebSocketOptions.parse(arguments), environment: environment)
    }

    @Test func defaultsListenOnTheRunDirectorySocketAndPingEveryThirtySeconds() throws {
        let configuration = try resolve()
        #expect(configuration.listen == .unix(path: "/run/taskd/ws.sock"))
        #expect(configuration.pingInterval == .seconds(30))
        #expect(configuration.settings.stateDirectory == "/var/lib/taskd")
        #expect(configuration.settings.maxConnectionsPerTenant == 100)
    }

    @Test func environmentOverridesDefaultsAndFlagsOverrideEnvironment() throws {
        let environment = [
            "TASKD_WS_LISTEN": "127.0.0.1:9001", "TASKD_WS_PING_INTERVAL": "5", "TASKD_STATE_DIR": "/tmp/state",
            "TASKD_MAX_WS_CONNECTIONS": "7",
        ]
        let fromEnvironment = try resolve([], environment)
        #expect(fromEnvironment.listen == .tcp(host: "127.0.0.1", port: 9001))
        #expect(fromEnvironment.pingInterval == .seconds(5))
        #expect(fromEnvironment.settings.stateDirectory == "/tmp/state")
        #expect(fromEnvironment.settings.maxConnectionsPerTenant == 7)

        let fromFlags = try resolve(
            ["--listen", "unix:/tmp/ws.sock", "--ping-interval", "0.5", "--max-ws-connections", "3"], environment)
        #expect(fromFlags.listen == .unix(path: "/tmp/ws.sock"))
        #expect(fromFlags.pingInterval == .milliseconds(500))
        #expect(fromFlags.settings.maxConnectionsPerTenant == 3)
        #expect(fromFlags.settings.stateDirectory == "/tmp/state")
    }

    @Test func bracketedIPv6AddressesAreAccepted() throws {
        #expect(try resolve(["--listen", "[::1]:8081"]).listen == .tcp(host: "::1", port: 8081))
    }

    @Test(arguments: ["unix:relative.sock", "localhost", "127.0.0.1:0", "127.0.0.1:70000", ":8080", "host:port"])
    func badListenAddressesNameTheVariable(_ listen: String) {
        #expect {
            try resolve([], ["TASKD_WS_LISTEN": listen])
        } throws: { error in
            (error as? TaskCore.ValidationError)?.parameter == "TASKD_WS_LISTEN"
        }
    }

    @Test(arguments: ["0", "-1", "abc", "99999"])
    func badPingIntervalsNameTheVariable(_ interval: String) {
        #expect {
            try resolve([], ["TASKD_WS_PING_INTERVAL": interval])
        } throws: { error in
            (error as? TaskCore.ValidationError)?.parameter == "TASKD_WS_PING_INTERVAL"
        }
    }

    @Test func sharedSettingErrorsAreReported() {
        #expect(throws: TaskCore.ValidationError.self) { try resolve([], ["TASKD_SLOTS": "zero"]) }
    }

    @Test func theSocketIsForOwnerAndGroupUnlessSaidOtherwise() throws {
        #expect(try resolve().socketMode == 0o660)
        #expect(try resolve([], ["TASKD_WS_SOCKET_MODE": "0600"]).socketMode == 0o600)
        #expect(try resolve(["--socket-mode", "660"], ["TASKD_WS_SOCKET_MODE": "0600"]).socketMode == 0o660)
    }

    @Test(arguments: ["999", "abc", "-1", "01777", "0x660"])
    func badSocketModesNameTheVariable(_ mode: String) {
        #expect {
            try resolve([], ["TASKD_WS_SOCKET_MODE": mode])
        } throws: { error in
            (error as? TaskCore.ValidationError)?.parameter == "TASKD_WS_SOCKET_MODE"
        }
    }

    @Test func openModeCapsConnectionsOfAllTenantsAndOnlyInOpenMode() throws {
        #expect(try resolve().openModeConnectionLimit == nil)
        #expect(try resolve([], ["TASKD_OPEN_MAX_WS_CONNECTIONS": "5"]).openModeConnectionLimit == nil)
        #expect(try resolve([], ["TASKD_OPEN_MODE": "true"]).openModeConnectionLimit == 1_000)
        let fromFlag = try resolve(
            ["--open-max-ws-connections", "3"],
            ["TASKD_OPEN_MODE": "true", "TASKD_OPEN_MAX_WS_CONNECTIONS": "5"])
        #expect(fromFlag.openModeConnectionLimit == 3)
        #expect(throws: TaskCore.ValidationError.self) {
            try resolve([], ["TASKD_OPEN_MODE": "true", "TASKD_OPEN_MAX_WS_CONNECTIONS": "0"])
        }
    }
}
