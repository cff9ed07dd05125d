/// Why taskd-ws could not start: printed, and the process exits non-zero.
struct StartupError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
