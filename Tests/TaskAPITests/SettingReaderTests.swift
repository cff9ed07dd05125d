import TaskCore
import Testing

@testable import TaskAPI

@Suite struct SettingReaderTests {
    @Test func flagBeatsVariableBeatsDefault() throws {
        let setting = SettingCatalog.slots
        #expect(try SettingReader(environment: [:]).value(of: setting, flag: nil) == 6)
        #expect(try SettingReader(environment: ["TASKD_SLOTS": "3"]).value(of: setting, flag: nil) == 3)
        #expect(try SettingReader(environment: ["TASKD_SLOTS": "3"]).value(of: setting, flag: 9) == 9)
        // An empty variable is unset, as systemd's EnvironmentFile= writes `TASKD_SLOTS=`.
        #expect(try SettingReader(environment: ["TASKD_SLOTS": ""]).value(of: setting, flag: nil) == 6)
    }

    @Test func computedDefaultIsUsedOnlyWhenNothingIsSet() throws {
        let reader = SettingReader(environment: [:])
        #expect(try reader.value(of: SettingCatalog.keysFile, flag: nil, default: "/s/keys.json") == "/s/keys.json")
        #expect(try reader.value(of: SettingCatalog.keysFile, flag: "/k", default: "/s/keys.json") == "/k")
    }

    @Test(arguments: [
        ("TASKD_SLOTS", "many", "TASKD_SLOTS must be an integer, got 'many'."),
        ("TASKD_SLOTS", "0", "TASKD_SLOTS must be between 1 and 10000, got '0'."),
        ("TASKD_TIME_SCALE", "fast", "TASKD_TIME_SCALE must be a number, got 'fast'."),
        ("TASKD_TIME_SCALE", "-1", "TASKD_TIME_SCALE must be above 0 and at most 1000, got '-1'."),
        ("TASKD_OPEN_MODE", "maybe", "TASKD_OPEN_MODE must be true or false, got 'maybe'."),
        (
            "TASKD_LOG_LEVEL", "loud",
            "TASKD_LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical, got 'loud'."
        ),
        ("TASKD_FCGI_SOCKET_MODE", "rw", "TASKD_FCGI_SOCKET_MODE must be octal permissions such as 0660, got 'rw'."),
        ("TASKD_WS_PING_INTERVAL", "0", "TASKD_WS_PING_INTERVAL must be between 0.1 and 3600 seconds, got '0'."),
    ])
    func badValuesNameTheVariable(variable: String, value: String, message: String) {
        let reader = SettingReader(environment: [variable: value])
        let setting = SettingCatalog.all.first { $0.variable == variable }
        #expect(setting != nil)
        #expect {
            switch variable {
            case "TASKD_SLOTS": _ = try reader.value(of: SettingCatalog.slots, flag: nil)
            case "TASKD_TIME_SCALE": _ = try reader.value(of: SettingCatalog.timeScale, flag: nil)
            case "TASKD_OPEN_MODE": _ = try reader.value(of: SettingCatalog.openMode, flag: nil)
            case "TASKD_LOG_LEVEL": _ = try reader.value(of: SettingCatalog.logLevel, flag: nil)
            case "TASKD_FCGI_SOCKET_MODE": _ = try reader.value(of: SettingCatalog.fastCGISocketMode, flag: nil)
            default: _ = try reader.value(of: SettingCatalog.webSocketPingInterval, flag: nil)
            }
        } throws: { error in
            guard let error = error as? TaskCore.ValidationError else { return false }
            return error.parameter == variable && error.message == message
        }
    }

    @Test func flagsAreCheckedLikeVariables() {
        #expect(throws: TaskCore.ValidationError.self) {
            try SettingReader(environment: [:]).value(of: SettingCatalog.fastCGIThreads, flag: 0)
        }
        #expect(throws: TaskCore.ValidationError.self) {
            try SettingReader(environment: [:]).value(of: SettingCatalog.stateDirectory, flag: "")
        }
    }
}
