import Glibc

/// Why taskd-fcgi could not start. Startup failures exit non-zero with this message; requests never produce one.
enum StartupError: Error, CustomStringConvertible {
    case system(String, Int32)
    case socket(path: String, operation: String, errno: Int32)
    case socketInUse(path: String)
    case notASocket(path: String)
    case invalidInheritedSocket(fd: Int32, reason: String)

    var description: String {
        switch self {
        case .system(let call, let code):
            "\(call) failed: \(Self.text(code))"
        case .socket(let path, let operation, let code):
            "Cannot \(operation) the FastCGI socket \(path): \(Self.text(code))"
        case .socketInUse(let path):
            "Another process is already serving on \(path); stop it or choose another --socket."
        case .notASocket(let path):
            "\(path) exists and is not a socket; remove it or choose another --socket."
        case .invalidInheritedSocket(let fd, let reason):
            "The inherited descriptor \(fd) cannot be used: \(reason)"
        }
    }

    private static func text(_ code: Int32) -> String {
        String(cString: strerror(code)) + " (errno \(code))"
    }
}
