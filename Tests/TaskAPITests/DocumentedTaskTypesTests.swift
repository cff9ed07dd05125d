import Foundation
import TaskCore
import Testing

/// The task types the code knows (`TaskType`), against every place that lists them for clients: the OpenAPI and
/// AsyncAPI documents' `TaskType` enums and the dashboard's type menu and client module, in the same order, with the
/// same base durations.
@Suite struct DocumentedTaskTypesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    static let known = TaskType.allCases.map(\.rawValue)

    /// The `enum: [...]` line of the `TaskType:` schema (two-space YAML indentation, one line).
    static func schemaEnum(in document: String) throws -> [String] {
        let text = try Self.text(document)
        let schema = try #require(text.range(of: "\n    TaskType:\n"), "\(document) has no TaskType schema")
        let line = try #require(
            text[schema.upperBound...].split(separator: "\n").first { $0.hasPrefix("      enum: [") },
            "\(document): TaskType has no one-line enum")
        return line.drop { $0 != "[" }.dropFirst().prefix { $0 != "]" }
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    @Test(arguments: ["openapi/openapi.yaml", "openapi/asyncapi.yaml"])
    func documentedEnumIsTheKnownTypes(document: String) throws {
        #expect(try Self.schemaEnum(in: document) == Self.known)
    }

    @Test func dashboardMenuOffersTheKnownTypesWithTheirBaseDurations() throws {
        let html = try Self.text("web/index.html")
        let options = html.matches(of: #/<option value="([^"]+)">([^ ]+) \((\d+) s\)</option>/#)
        #expect(options.map { String($0.output.1) } == Self.known)
        for option in options {
            let type = try #require(TaskType(rawValue: String(option.output.1)))
            #expect(option.output.2 == option.output.1, "the label names the type")
            #expect(Int64(option.output.3) == type.baseDurationMilliseconds / 1000, "\(type)")
        }
    }

    @Test func referenceClientKnowsTheKnownTypesWithTheirBaseDurations() throws {
        let script = try Self.text("web/taskd-client.js")
        let block = try #require(script.firstMatch(of: #/TASK_TYPES = Object\.freeze\(\{([^}]*)\}\)/#))
        let entries = block.output.1.matches(of: #/"([^"]+)": (\d+),/#)
        #expect(entries.map { String($0.output.1) } == Self.known)
        for entry in entries {
            let type = try #require(TaskType(rawValue: String(entry.output.1)))
            #expect(Int64(entry.output.2) == type.baseDurationMilliseconds / 1000, "\(type)")
        }
    }
}
