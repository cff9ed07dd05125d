import Foundation

/// `taskctl check`'s look at nginx's main configuration: whether nginx can hold the WebSocket clients taskd is sized
/// for. Each client holds two connections in one nginx worker (the client's and the one to taskd-ws); Debian's stock
/// `worker_connections 768` and the default open-files limit hold a few hundred. Too low a limit is a warning (it
/// does not change the exit code): nginx refuses the clients beyond it ("worker_connections are not enough").
///
/// Only the main file is read, where Debian keeps both directives (`include`d files are not followed).
struct NginxLimitCheck {
    static let defaultPath = "/etc/nginx/nginx.conf"
    /// Two connections per client, with room for the REST requests and the listening sockets.
    static let requiredConnections = 20_480
    /// Every connection is a descriptor, and log and temporary files need some more.
    static let requiredFiles = 24_576

    let path: String
    /// The path was given on the command line: a missing file is then a problem, not a reason to skip the check.
    let isExplicit: Bool

    func run(_ report: inout CheckReport) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            if isExplicit || FileManager.default.fileExists(atPath: path) {
                report.problem(path, "The nginx configuration cannot be read.")
            }
            return
        }
        let values = Self.directives(in: text)
        let advice =
            "set `worker_connections \(Self.requiredConnections);` in `events` and `worker_rlimit_nofile"
            + " \(Self.requiredFiles);` in the main context for 10,000 WebSocket clients"
            + " (docs/deploying.md), then reload nginx."
        let connections = values["worker_connections"]
        if (connections ?? 512) < Self.requiredConnections {
            let stated = connections.map { "worker_connections is \($0)" } ?? "worker_connections is not set (512)"
            report.warning(
                path, "\(stated): each worker proxies at most \((connections ?? 512) / 2) WebSocket clients; \(advice)")
        }
        let files = values["worker_rlimit_nofile"]
        if (files ?? 0) < max(Self.requiredFiles, (connections ?? 0) + 512) {
            let stated =
                files.map { "worker_rlimit_nofile is \($0)" }
                ?? "worker_rlimit_nofile is not set (workers keep nginx.service's limit, 1024 on Debian)"
            report.warning(path, "\(stated): too few descriptors for the connections; \(advice)")
        }
    }

    /// The numeric values of `worker_connections` and `worker_rlimit_nofile` in `text`, comments left out.
    static func directives(in text: String) -> [String: Int] {
        var values: [String: Int] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let code = line.prefix { $0 != "#" }
            for match in code.matches(of: /(?:^|[\s;{}])(worker_connections|worker_rlimit_nofile)\s+(\d+)\s*;/) {
                values[String(match.output.1)] = Int(match.output.2)
            }
        }
        return values
    }
}
