import ArgumentParser
import TaskAPI

/// `taskctl check`: validates every document, the change log and the keys file.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate every workspace document, the change log and the keys file; check nginx's limits.",
        discussion: """
            Reads only; safe while the servers run. Prints each problem with the file or workspace concerned and \
            exits 1 when there is any; warnings (a loose file mode, a log line still being written) do not change \
            the exit code.
            """
    )

    @OptionGroup var options: CommonOptions

    @Option(
        help: """
            nginx's main configuration, checked for enough connections for the WebSocket clients             (default: \(NginxLimitCheck.defaultPath), skipped when it does not exist)
            """)
    var nginxConfig: String?

    func run() throws {
        try CommandFailure.reporting {
            let context = try options.makeContext()
            var report = StateChecker(settings: context.settings, logger: context.logger, now: WallClock.now()).run()
            NginxLimitCheck(path: nginxConfig ?? NginxLimitCheck.defaultPath, isExplicit: nginxConfig != nil)
                .run(&report)
            try context.output.emit(report, text: report.lines)
            if !report.isHealthy {
                throw ExitCode(CommandFailure.Kind.problem.rawValue)
            }
        }
    }
}
