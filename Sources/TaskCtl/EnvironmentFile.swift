import Foundation

/// The servers' settings file (`/etc/taskd/taskd.env`), so `taskctl` sees the state dir the services use.
///
/// systemd's `EnvironmentFile=` syntax, the subset the template uses: `NAME=value` lines, `#` comments, optional
/// surrounding quotes. Only `TASKD_*` names are taken, and a variable already set in taskctl's own environment wins.
enum EnvironmentFile {
    static let defaultPath = "/etc/taskd/taskd.env"

    /// `environment` completed from the file named by `TASKD_ENV_FILE` (default `/etc/taskd/taskd.env`), if readable.
    static func merged(into environment: [String: String]) -> [String: String] {
        let path = environment["TASKD_ENV_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultPath
        guard let data = FileManager.default.contents(atPath: path) else { return environment }
        var merged = environment
        for (name, value) in parse(String(decoding: data, as: UTF8.self)) where merged[name] == nil {
            merged[name] = value
        }
        return merged
    }

    static func parse(_ text: String) -> [(String, String)] {
        var pairs: [(String, String)] = []
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            guard !line.hasPrefix("#"), !line.hasPrefix(";"), let equals = line.firstIndex(of: "=") else { continue }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            guard name.hasPrefix("TASKD_") else { continue }
            pairs.append((name, value))
        }
        return pairs
    }
}
