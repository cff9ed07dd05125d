import Foundation
import Testing

@testable import TaskAPI

/// The declarations in `SettingCatalog` are the one source of every setting: the README's table, the env example and
/// the readers must all agree with them.
@Suite struct SettingCatalogTests {
    /// Variables read by the scripts (`make run`), not by a binary, which the README's table also lists.
    static let scriptVariables: Set<String> = ["TASKD_HTTP_PORT", "TASKD_SHARDS"]

    static func repositoryFile(_ path: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The README's settings table: variable → (flag column, default column).
    static func readmeRows() throws -> [String: (flag: String, defaultText: String)] {
        let text = try repositoryFile("README.md")
        guard let start = text.range(of: "\n## Settings\n") else { return [:] }
        let section = text[start.upperBound...].prefix { _ in true }
        var rows: [String: (flag: String, defaultText: String)] = [:]
        for line in section.split(separator: "\n") {
            if line.hasPrefix("## ") { break }
            guard line.hasPrefix("| `TASKD_") else { continue }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard cells.count >= 5 else { continue }
            rows[cells[1].trimmingCharacters(in: ["`"])] = (cells[2], cells[3])
        }
        return rows
    }

    @Test func readmeTableListsEverySettingWithItsFlagAndDefault() throws {
        let rows = try Self.readmeRows()
        #expect(!rows.isEmpty, "README.md has no settings table")
        for setting in SettingCatalog.all {
            guard let row = rows[setting.variable] else {
                Issue.record("README.md's settings table lacks \(setting.variable)")
                continue
            }
            #expect(row.flag.contains("`--\(setting.flag)`"), "\(setting.variable): flag column '\(row.flag)'")
            if setting.readers.count == 1, let only = setting.readers.first, only != .taskctl {
                #expect(row.flag.contains("(\(only.rawValue))"), "\(setting.variable): '\(row.flag)' names no binary")
            }
            #expect(
                row.defaultText.hasPrefix("`\(setting.defaultText)`"),
                "\(setting.variable): README default '\(row.defaultText)', declared '\(setting.defaultText)'")
        }
        let declared = Set(SettingCatalog.all.map(\.variable))
        for variable in rows.keys where !declared.contains(variable) {
            #expect(Self.scriptVariables.contains(variable), "README.md documents \(variable), which nothing declares")
        }
    }

    @Test func environmentExampleDocumentsEverySetting() throws {
        let example = try Self.repositoryFile("systemd/taskd.env.example")
        for setting in SettingCatalog.all {
            #expect(example.contains(setting.variable), "systemd/taskd.env.example lacks \(setting.variable)")
        }
    }

    @Test func variablesAndFlagsAreUniquePerBinary() {
        #expect(Set(SettingCatalog.all.map(\.variable)).count == SettingCatalog.all.count)
        for reader in SettingDeclarationReader.allCases {
            let flags = SettingCatalog.all.filter { $0.readers.contains(reader) }.map(\.flag)
            #expect(Set(flags).count == flags.count, "\(reader.rawValue) has a flag declared twice: \(flags)")
        }
    }

    @Test func everyDeclaredDefaultIsAccepted() throws {
        let reader = SettingReader(environment: [:])
        #expect(try reader.value(of: SettingCatalog.slots, flag: nil) == 6)
        #expect(try reader.value(of: SettingCatalog.timeScale, flag: nil) == 1)
        #expect(try reader.value(of: SettingCatalog.fastCGIThreads, flag: nil) == 16)
        #expect(try reader.value(of: SettingCatalog.fastCGISocketMode, flag: nil) == "0660")
        #expect(try reader.value(of: SettingCatalog.webSocketPingInterval, flag: nil) == 30)
        #expect(try reader.value(of: SettingCatalog.openMode, flag: nil) == false)
        #expect(try reader.value(of: SettingCatalog.logLevel, flag: nil) == "info")
    }

    @Test func helpNamesTheVariableAndTheDefault() {
        #expect(
            SettingCatalog.slots.help.abstract == "Tasks running at once per workspace (env: TASKD_SLOTS, default: 6)")
        #expect(
            SettingCatalog.keysFile.help.abstract.hasSuffix("(env: TASKD_KEYS_FILE, default: <state dir>/keys.json)"))
        #expect(SettingCatalog.webSocketPingInterval.help.abstract.hasSuffix("default: 30)"))
    }
}
