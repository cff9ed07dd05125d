import Glibc

/// A plain POSIX thread running one closure, joined by its owner. The FastCGI loop is synchronous and blocks in
/// poll() and in the store's fsyncs, so it runs on its own threads, never on Swift's concurrency pool.
final class WorkerThread {
    private let thread: pthread_t

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    init(_ run: @escaping () -> Void) throws(StartupError) {
        let body = Unmanaged.passRetained(Body(run)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { argument in
                guard let argument else { return nil }
                Unmanaged<Body>.fromOpaque(argument).takeRetainedValue().run()
                return nil
            }, body)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(body).release()
            throw .system("pthread_create", result)
        }
        self.thread = thread
    }

    func join() {
        _ = pthread_join(thread, nil)
    }
}
