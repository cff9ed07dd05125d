import Foundation
import Testing

/// `taskctl check --nginx-config`: a warning while nginx's limits hold fewer than 10,000 WebSocket clients, none for
/// the settings docs/deploying.md gives or for the local template.
@Suite(.timeLimit(.minutes(1)))
struct OperationsNginxCheckTests {
    /// Runs `taskctl check --json` on an empty state directory with `configuration` as nginx.conf (nil: no file).
    private func check(_ configuration: String?) async throws -> (status: Int32, report: [String: Any]) {
        let state = try OperationsTaskCtlTests.StateDirectory()
        defer { state.remove() }
        chmod(state.path, 0o700)
        let path = state.path + "/nginx.conf"
        if let configuration { try configuration.write(toFile: path, atomically: true, encoding: .utf8) }
        let result = try await state.taskctl("check", "--json", "--nginx-config", path)
        return (result.status, try state.json(result))
    }

    private func nginxFindings(_ report: [String: Any], _ kind: String) -> [String] {
        ((report[kind] as? [[String: Any]]) ?? []).filter {
            ($0["subject"] as? String)?.hasSuffix("nginx.conf") == true
        }
        .compactMap { $0["message"] as? String }
    }

    @Test func debiansStockLimitsAreWarnedAboutWithTheFix() async throws {
        let stock = """
            user www-data;
            worker_processes auto;
            pid /run/nginx.pid;
            events {
            \tworker_connections 768;
            \t# multi_accept on;
            }
            http { include /etc/nginx/sites-enabled/*; }
            """
        let (status, report) = try await check(stock)
        #expect(status == 0, "a warning does not fail the check: \(report)")
        let warnings = nginxFindings(report, "warnings")
        #expect(warnings.count == 2, "\(warnings)")
        #expect(warnings.contains { $0.contains("worker_connections is 768") && $0.contains("384") })
        #expect(warnings.contains { $0.contains("worker_rlimit_nofile is not set") })
        #expect(
            warnings.allSatisfy {
                $0.contains("worker_connections 20480;") && $0.contains("worker_rlimit_nofile 24576;")
            })
    }

    @Test func theDocumentedProductionSettingsAndTheLocalTemplatePass() async throws {
        let guide = try String(contentsOfFile: OperationsCommand.packageRoot + "/docs/deploying.md", encoding: .utf8)
        let blocks = guide.split(separator: "```nginx\n").dropFirst().compactMap { $0.split(separator: "```").first }
        let documented = try #require(
            blocks.first { $0.contains("worker_rlimit_nofile") }, "no nginx block in the guide")
        let production = "user www-data;\nworker_processes auto;\n\(documented)http { }\n"
        #expect(nginxFindings(try await check(production).report, "warnings").isEmpty)
        // And it is nginx configuration nginx itself accepts.
        let prefix = try OperationsCommand.temporaryDirectory("nginx")
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let standalone = "pid \(prefix)/nginx.pid;\nerror_log \(prefix)/error.log;\n\(documented)http { }\n"
        try standalone.write(toFile: prefix + "/nginx.conf", atomically: true, encoding: .utf8)
        let nginx = try PackagePaths.nginx().path
        let tested = try await OperationsCommand.run(
            nginx, ["-t", "-q", "-p", prefix + "/", "-c", prefix + "/nginx.conf"])
        #expect(tested.status == 0, "\(tested)")

        let template = try String(
            contentsOfFile: OperationsCommand.packageRoot + "/nginx/local.conf.template", encoding: .utf8)
        #expect(nginxFindings(try await check(template).report, "warnings").isEmpty)
    }

    @Test func commentedOutValuesDoNotCountAndAMissingFileNamedOnTheCommandLineIsAProblem() async throws {
        let commented =
            "# worker_rlimit_nofile 24576;\nevents { worker_connections 4096; # worker_connections 20480;\n}\n"
        let warnings = nginxFindings(try await check(commented).report, "warnings")
        #expect(warnings.contains { $0.contains("worker_connections is 4096") }, "\(warnings)")
        #expect(warnings.contains { $0.contains("worker_rlimit_nofile is not set") }, "\(warnings)")

        let (status, report) = try await check(nil)
        #expect(status == 1, "\(report)")
        #expect(nginxFindings(report, "problems").count == 1, "\(report)")
    }
}
