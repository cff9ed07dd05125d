import TaskCore

/// Reads one setting from a flag value or a `TASKD_*` variable, naming the variable when its value is unusable.
///
/// Every binary resolves its own settings with this, so precedence and messages are the same everywhere.
public struct SettingReader: Sendable {
    public let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    /// The flag's value, else the variable's when set and non-empty, else `nil`.
    public func raw(_ flag: String?, _ variable: String) -> String? {
        if let flag { return flag }
        if let value = environment[variable], !value.isEmpty { return value }
        return nil
    }

    public func string(_ flag: String?, _ variable: String, default fallback: String) throws(ValidationError) -> String
    {
        let value = raw(flag, variable) ?? fallback
        guard !value.isEmpty else {
            throw ValidationError(parameter: variable, message: "\(variable) must not be empty.")
        }
        return value
    }

    public func integer(
        _ flag: Int?, _ variable: String, default fallback: Int, in range: ClosedRange<Int>
    ) throws(ValidationError) -> Int {
        let value: Int
        if let flag {
            value = flag
        } else if let text = raw(nil, variable) {
            guard let parsed = Int(text) else {
                throw ValidationError(parameter: variable, message: "\(variable) must be an integer, got '\(text)'.")
            }
            value = parsed
        } else {
            value = fallback
        }
        guard range.contains(value) else {
            throw ValidationError(
                parameter: variable,
                message: "\(variable) must be between \(range.lowerBound) and \(range.upperBound), got \(value).")
        }
        return value
    }

    public func double(_ flag: Double?, _ variable: String, default fallback: Double) throws(ValidationError) -> Double
    {
        if let flag { return flag }
        guard let text = raw(nil, variable) else { return fallback }
        guard let value = Double(text), value.isFinite else {
            throw ValidationError(parameter: variable, message: "\(variable) must be a number, got '\(text)'.")
        }
        return value
    }

    public func boolean(_ flag: Bool?, _ variable: String, default fallback: Bool) throws(ValidationError) -> Bool {
        if let flag { return flag }
        guard let text = raw(nil, variable) else { return fallback }
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            throw ValidationError(parameter: variable, message: "\(variable) must be true or false, got '\(text)'.")
        }
    }
}
