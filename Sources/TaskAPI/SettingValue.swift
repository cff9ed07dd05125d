/// A type a setting can hold: parsed from a variable's text the way ArgumentParser parses the flag.
public protocol SettingValue: Sendable, CustomStringConvertible {
    /// The value of a variable's text; `nil` when the text is not one.
    init?(settingText: String)
    /// What a valid text is, for messages (`an integer`).
    static var expectation: String { get }
    /// The value as a person writes it in a variable (`1` rather than `1.0`).
    var settingText: String { get }
}

extension SettingValue {
    public var settingText: String { description }
}

extension Int: SettingValue {
    public init?(settingText: String) { self.init(settingText) }
    public static var expectation: String { "an integer" }
}

extension Double: SettingValue {
    public init?(settingText: String) {
        guard let value = Double(settingText), value.isFinite else { return nil }
        self = value
    }
    public static var expectation: String { "a number" }
    public var settingText: String {
        self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : description
    }
}

extension Bool: SettingValue {
    public init?(settingText: String) {
        switch settingText.lowercased() {
        case "1", "true", "yes", "on": self = true
        case "0", "false", "no", "off": self = false
        default: return nil
        }
    }
    public static var expectation: String { "true or false" }
}

extension String: SettingValue {
    public init?(settingText: String) { self = settingText }
    public static var expectation: String { "a value" }
}
