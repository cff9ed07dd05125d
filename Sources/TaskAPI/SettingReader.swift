import TaskCore

/// Resolves settings from their declarations: the flag's value, else the `TASKD_*` variable's when set and
/// non-empty, else the declared default. A value that does not parse or is out of range is reported with the
/// variable that names the setting, so every binary's messages read the same.
public struct SettingReader: Sendable {
    public let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    /// The setting's value; `fallback` replaces the declared default when that depends on other settings.
    public func value<Value>(of setting: Setting<Value>, flag: Value?, default fallback: Value? = nil)
        throws(ValidationError) -> Value
    {
        let value: Value
        if let flag {
            value = flag
        } else if let text = variableText(setting) {
            guard let parsed = Value(settingText: text) else {
                throw ValidationError(
                    parameter: setting.variable,
                    message: "\(setting.variable) must be \(Value.expectation), got '\(text.prefix(120))'.")
            }
            value = parsed
        } else if let defaultValue = fallback ?? setting.defaultValue {
            value = defaultValue
        } else {
            preconditionFailure("\(setting.variable) has no default and none was given")
        }
        try check(value, of: setting)
        return value
    }

    /// Whether the flag or the variable sets the setting (rather than its default).
    public func isSet<Value>(_ setting: Setting<Value>, flag: Value?) -> Bool {
        flag != nil || variableText(setting) != nil
    }

    private func variableText<Value>(_ setting: Setting<Value>) -> String? {
        guard let text = environment[setting.variable], !text.isEmpty else { return nil }
        return text
    }

    private func check<Value>(_ value: Value, of setting: Setting<Value>) throws(ValidationError) {
        if let text = value as? String, text.isEmpty {
            throw ValidationError(parameter: setting.variable, message: "\(setting.variable) must not be empty.")
        }
        guard setting.isAccepted(value) else {
            let shown = value.settingText.prefix(120)
            throw ValidationError(
                parameter: setting.variable,
                message: "\(setting.variable) must be \(setting.constraint ?? Value.expectation), got '\(shown)'.")
        }
    }
}
