import TaskCore

/// Where taskd-ws listens: a unix socket (`unix:/run/taskd/ws.sock`) or a TCP address (`127.0.0.1:8081`, `[::1]:8081`).
enum ListenAddress: Hashable, Sendable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: Int)

    init(parsing text: String, setting: String) throws(ValidationError) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard path.hasPrefix("/") else {
                throw ValidationError(
                    parameter: setting,
                    message: "\(setting) must name an absolute socket path after 'unix:', got '\(text)'.")
            }
            self = .unix(path: path)
            return
        }
        guard let colon = text.lastIndex(of: ":") else {
            throw ValidationError(
                parameter: setting, message: "\(setting) must be 'unix:/path' or 'HOST:PORT', got '\(text)'.")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else {
            throw ValidationError(
                parameter: setting,
                message: "\(setting) must be 'unix:/path' or 'HOST:PORT' with a port from 1 to 65535, got '\(text)'.")
        }
        self = .tcp(host: host, port: port)
    }

    var description: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }
}
