/// What every setting declaration shows of itself, whatever its value type: enough to print `--help`, document the
/// setting and check the documentation against it.
public protocol SettingDeclaration: Sendable {
    /// The environment variable (`TASKD_SLOTS`).
    var variable: String { get }
    /// The long flag, without its dashes (`slots`).
    var flag: String { get }
    /// One line saying what the setting does.
    var summary: String { get }
    /// The default as a person reads it (`6`, `<state dir>/keys.json`).
    var defaultText: String { get }
    /// The binaries that read it.
    var readers: [SettingDeclarationReader] { get }
}

/// A binary that reads settings.
public enum SettingDeclarationReader: String, Sendable, CaseIterable {
    case fastCGI = "taskd-fcgi"
    case webSocket = "taskd-ws"
    case taskctl
}
