import ArgumentParser

/// One setting of taskd, declared once: its `TASKD_*` variable, its command-line flag, its default, the values it
/// accepts and its help text. Every binary builds its flags (`help`, `flag`) and resolves its values
/// (`SettingReader.value(of:flag:)`) from the declarations in `SettingCatalog`, and a test holds the README's settings
/// table to them, so no default or range is ever written twice.
public struct Setting<Value: SettingValue>: SettingDeclaration {
    public let variable: String
    /// The long flag, without its dashes (`state-dir`).
    public let flag: String
    public let summary: String
    public let defaultText: String
    public let readers: [SettingDeclarationReader]
    /// `nil` when the default depends on other settings (`defaultText` says how).
    public let defaultValue: Value?
    /// What the accepted values are, for messages (`between 1 and 10000`); `nil` when every parsed value is accepted.
    public let constraint: String?
    private let accepts: @Sendable (Value) -> Bool

    public init(
        variable: String, flag: String, summary: String, default defaultValue: Value?, defaultText: String? = nil,
        readers: [SettingDeclarationReader], constraint: String? = nil,
        accepts: @escaping @Sendable (Value) -> Bool = { _ in true }
    ) {
        self.variable = variable
        self.flag = flag
        self.summary = summary
        self.defaultValue = defaultValue
        self.defaultText = defaultText ?? defaultValue?.settingText ?? ""
        self.readers = readers
        self.constraint = constraint
        self.accepts = accepts
    }

    /// The flag's name for `@Option(name:)`.
    public var name: NameSpecification { .customLong(flag) }

    /// The flag's help: the summary, the variable and the default, as every binary's `--help` prints them.
    public var help: ArgumentHelp { ArgumentHelp("\(summary) (env: \(variable), default: \(defaultText))") }

    /// Whether a parsed value is within what the setting accepts.
    public func isAccepted(_ value: Value) -> Bool { accepts(value) }
}

extension Setting where Value == Int {
    /// An integer setting accepted within `range`.
    public init(
        variable: String, flag: String, summary: String, default defaultValue: Int, in range: ClosedRange<Int>,
        readers: [SettingDeclarationReader]
    ) {
        self.init(
            variable: variable, flag: flag, summary: summary, default: defaultValue, readers: readers,
            constraint: "between \(range.lowerBound) and \(range.upperBound)", accepts: { range.contains($0) })
    }
}

extension Setting where Value == Double {
    /// A number accepted within `range`; `unit` follows the bounds in messages (`seconds`).
    public init(
        variable: String, flag: String, summary: String, default defaultValue: Double, in range: ClosedRange<Double>,
        unit: String = "", readers: [SettingDeclarationReader]
    ) {
        let suffix = unit.isEmpty ? "" : " " + unit
        self.init(
            variable: variable, flag: flag, summary: summary, default: defaultValue, readers: readers,
            constraint: "between \(range.lowerBound.settingText) and \(range.upperBound.settingText)\(suffix)",
            accepts: { range.contains($0) })
    }
}
