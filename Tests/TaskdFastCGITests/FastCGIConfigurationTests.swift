import Testing
import TaskAPI
import TaskCore

@testable import TaskdFastCGI

@Suite struct FastCGIConfigurationTests {
    private func resolve(
        _ arguments: [String] = [], _ environment: [String: String] = [:], processID: Int32 = 100
    ) throws -> FastCGIConfiguration {
        try FastCGIConfiguration.resolve(
            options: try FastCGIOptions.parse(arguments), environment: environment, processID: processID)
    }

    @Test func defaultsAreTheDocumentedOnes() throws {
        let configuration = try resolve()
        #expect(configuration.threads == SettingCatalog.fastCGIThreads.defaultValue)
        #expect(configuration.listener == .unixSocket(path: "/run/taskd/fcgi.sock", mode: 0o660, isExplicit: false))
        #expect(configuration.settings.stateDirectory == "/var/lib/taskd")
        #expect(configuration.connectionDeadline == .seconds(3))
    }

    @Test func theConnectionDeadlineIsInSecondsWithFractions() throws {
        #expect(try resolve([], ["TASKD_FCGI_CONNECTION_DEADLINE": "0.5"]).connectionDeadline == .milliseconds(500))
        let flagged = try resolve(["--connection-deadline", "10"], ["TASKD_FCGI_CONNECTION_DEADLINE": "0.5"])
        #expect(flagged.connectionDeadline == .seconds(10))
    }

    @Test(arguments: ["0", "-1", "61", "soon", "nan"])
    func aBadConnectionDeadlineIsRejectedNamingTheVariable(_ value: String) throws {
        do {
            _ = try resolve([], ["TASKD_FCGI_CONNECTION_DEADLINE": value])
            Issue.record("accepted \(value)")
        } catch let error as ValidationError {
            #expect(error.parameter == "TASKD_FCGI_CONNECTION_DEADLINE")
        }
    }

    @Test func aFlagBeatsTheVariableWhichBeatsTheDefault() throws {
        let environment = ["TASKD_FCGI_SOCKET": "/tmp/env.sock", "TASKD_FCGI_THREADS": "3", "TASKD_SLOTS": "2"]
        let fromEnvironment = try resolve([], environment)
        #expect(fromEnvironment.threads == 3)
        #expect(fromEnvironment.listener == .unixSocket(path: "/tmp/env.sock", mode: 0o660, isExplicit: true))
        #expect(fromEnvironment.settings.policy.slots == 2)
        let fromFlags = try resolve(["--socket", "/tmp/flag.sock", "--threads", "5", "--slots", "4"], environment)
        #expect(fromFlags.threads == 5)
        #expect(fromFlags.listener == .unixSocket(path: "/tmp/flag.sock", mode: 0o660, isExplicit: true))
        #expect(fromFlags.settings.policy.slots == 4)
    }

    @Test func systemdSocketActivationIsUsedOnlyForThisProcess() throws {
        let activated = try resolve([], ["LISTEN_FDS": "1", "LISTEN_PID": "100"], processID: 100)
        #expect(activated.listener == .systemd(fd: 3))
        let someoneElses = try resolve([], ["LISTEN_FDS": "1", "LISTEN_PID": "99"], processID: 100)
        #expect(someoneElses.listener == .unixSocket(path: "/run/taskd/fcgi.sock", mode: 0o660, isExplicit: false))
        let none = try resolve([], ["LISTEN_FDS": "0", "LISTEN_PID": "100"], processID: 100)
        #expect(none.listener != .systemd(fd: 3))
    }

    @Test func theSocketModeIsOctal() throws {
        let configuration = try resolve(["--socket-mode", "0666"])
        #expect(configuration.listener == .unixSocket(path: "/run/taskd/fcgi.sock", mode: 0o666, isExplicit: false))
        #expect(throws: ValidationError.self) { try resolve(["--socket-mode", "999"]) }
        #expect(throws: ValidationError.self) { try resolve([], ["TASKD_FCGI_SOCKET_MODE": "rw"]) }
    }

    @Test(arguments: ["0", "-1", "1025", "many"])
    func aBadThreadCountIsRejectedNamingTheVariable(_ value: String) throws {
        do {
            _ = try resolve([], ["TASKD_FCGI_THREADS": value])
            Issue.record("accepted \(value)")
        } catch let error as ValidationError {
            #expect(error.parameter == "TASKD_FCGI_THREADS")
        }
    }

    @Test(arguments: [(1, 1), (2, 1), (3, 1), (4, 2), (16, 8), (17, 8), (1_024, 512)])
    func writersUnderWayAreBoundedToHalfTheThreads(threads: Int, writers: Int) throws {
        let configuration = try resolve(["--threads", "\(threads)"])
        #expect(configuration.settings.store.maxWritersInProcess == writers)
    }

    @Test func openModeBoundsTenantsAndWorkspacesInAllAndKeyedModeDoesNot() throws {
        let keyed = try resolve([], ["TASKD_OPEN_MAX_TENANTS": "5"])
        #expect(keyed.settings.store.maxTenants == nil && keyed.settings.store.maxWorkspacesInAll == nil)
        let open = try resolve(["--open-mode", "true", "--open-max-workspaces", "50"], ["TASKD_OPEN_MAX_TENANTS": "5"])
        #expect(open.settings.store.maxTenants == 5)
        #expect(open.settings.store.maxWorkspacesInAll == 50)
        let defaults = try resolve([], ["TASKD_OPEN_MODE": "true"])
        #expect(defaults.settings.store.maxTenants == SettingCatalog.openMaxTenants.defaultValue)
        #expect(defaults.settings.store.maxWorkspacesInAll == SettingCatalog.openMaxWorkspaces.defaultValue)
        #expect(throws: ValidationError.self) { try resolve([], ["TASKD_OPEN_MAX_TENANTS": "0"]) }
    }

    @Test func aSocketPathTooLongForSunPathIsRejected() throws {
        #expect(throws: ValidationError.self) { try resolve(["--socket", "/" + String(repeating: "s", count: 120)]) }
    }

    @Test func sharedSettingsAreValidatedToo() throws {
        #expect(throws: ValidationError.self) { try resolve([], ["TASKD_TIME_SCALE": "fast"]) }
        #expect(throws: ValidationError.self) { try resolve(["--log-level", "loud"]) }
    }
}
