import Foundation

@testable import TaskStore

/// Runs blocking work (locks, fsync, child processes) on dedicated threads, never on the concurrency pool, and
/// awaits the results. Assertions belong in the awaiting test, not in the bodies.
enum Threads {
    /// Runs `body(index)` on `count` threads at once; the results are in index order.
    static func run<Result: Sendable>(
        count: Int = 1, _ body: @escaping @Sendable (Int) throws -> Result
    ) async throws -> [Result] {
        let results = Monitor<[Int: Swift.Result<Result, any Error>]>([:])
        return try await withCheckedThrowingContinuation { continuation in
            for index in 0..<count {
                let thread = Thread {
                    let outcome = Swift.Result { try body(index) }
                    let finished: [Int: Swift.Result<Result, any Error>]? = results.withValue { results in
                        results[index] = outcome
                        return results.count == count ? results : nil
                    }
                    guard let finished else { return }
                    continuation.resume(
                        with: Swift.Result {
                            try (0..<count).map { try finished[$0, default: .failure(CancellationError())].get() }
                        })
                }
                thread.start()
            }
        }
    }

    /// Runs `body` on its own thread and returns its result.
    static func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await run(count: 1) { _ in try body() }[0]
    }
}
