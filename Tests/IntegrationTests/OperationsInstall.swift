import Foundation

/// `make install` into a temporary root, with the binaries `make test` built (the debug build, next to the tests).
enum OperationsInstall {
    static func run(destination: String, prefix: String? = nil, target: String = "install") async throws
        -> OperationsCommand.Result
    {
        var arguments = [
            "-C", OperationsCommand.packageRoot, "--no-print-directory", target, "DESTDIR=\(destination)",
            "SWIFT_BIN=\(OperationsCommand.binDirectory)",
        ]
        if let prefix { arguments.append("PREFIX=\(prefix)") }
        let make = OperationsCommand.which("make") ?? "/usr/bin/make"
        return try await OperationsCommand.run(make, arguments)
    }
}
