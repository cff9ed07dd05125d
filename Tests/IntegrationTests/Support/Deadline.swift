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
    var attempts = 0
    // The condition is always tried once more after the deadline has passed: on a loaded machine this task may be
    // scheduled late, and a wait must fail because the condition stayed false, not because it was not looked at.
    while true {
        let isLastAttempt = clock.now >= deadline
        attempts += 1
        do {
            if try await condition() { return }
        } catch {
            lastError = error
        }
        if isLastAttempt { break }
        try await Task.sleep(for: interval)
    }
    throw HarnessError(
        "Timed out after \(timeout) (\(attempts) attempts) waiting for \(what())\(lastError.map { " (last error: \($0))" } ?? "")"
    )
}
