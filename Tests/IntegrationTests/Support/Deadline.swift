import Foundation

/// Waits for a condition with a deadline: polls it every `interval`, fails with `what` when time runs out.
/// Every wait in the integration tests goes through here, so none can hang.
func waitUntil(
    _ what: @autoclosure () -> String, timeout: Duration = .seconds(10), interval: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    var lastError: (any Error)?
    while clock.now < deadline {
        do {
            if try await condition() { return }
        } catch {
            lastError = error
        }
        try await Task.sleep(for: interval)
    }
    throw HarnessError("Timed out after \(timeout) waiting for \(what())\(lastError.map { " (last error: \($0))" } ?? "")")
}
