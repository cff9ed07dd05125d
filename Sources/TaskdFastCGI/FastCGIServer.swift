import CFastCGI
import Logging
import Synchronization

import Glibc

/// Serves FastCGI requests on a listening socket with a fixed set of threads until shutdown is requested, then
/// lets every request in flight finish (see `ShutdownSignal` for why it stops cleanly).
final class FastCGIServer: Sendable {
    /// Turns one request into the complete CGI answer (`Status:` line, headers, blank line, body). Never throws.
    typealias Responder = @Sendable (FastCGIExchange) -> [UInt8]

    private let listenDescriptor: Int32
    private let threads: Int
    private let bodyLimit: Int
    private let responder: Responder
    private let logger: Logger
    /// One waiting thread at a time: the holder polls the listening socket and the wake pipe, then accepts. Without
    /// it every idle worker would wake for every connection and all but one would find nothing to accept.
    private let acceptGate = Mutex<Void>(())

    init(listenDescriptor: Int32, threads: Int, bodyLimit: Int, logger: Logger, responder: @escaping Responder) {
        self.listenDescriptor = listenDescriptor
        self.threads = threads
        self.bodyLimit = bodyLimit
        self.logger = logger
        self.responder = responder
    }

    /// Starts the workers and returns once all of them have stopped. Call from the main thread after
    /// `ShutdownSignal.prepare()` and `blockInCurrentThread()`; the signal handler is installed here once the
    /// workers (which keep the signals blocked) are running.
    func run() throws(StartupError) {
        guard FCGX_Init() == 0 else { throw .system("FCGX_Init", errno) }
        var workers: [WorkerThread] = []
        do {
            for index in 0..<threads {
                workers.append(try WorkerThread { [self] in serve(worker: index) })
            }
            try ShutdownSignal.installInCurrentThread()
        } catch {
            ShutdownSignal.request()
            workers.forEach { $0.join() }
            throw error
        }
        workers.forEach { $0.join() }
    }

    private enum Wait { case connection, shutdown }

    private func serve(worker: Int) {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        // libfcgi's streams point back at the request, so it needs a stable address: never a Swift `var`.
        defer { request.deallocate() }
        guard FCGX_InitRequest(request, listenDescriptor, 0) == 0 else {
            logger.error("Cannot initialise a FastCGI request", metadata: ["worker": "\(worker)"])
            return
        }
        while !ShutdownSignal.isRequested {
            let accepted: Int32? = acceptGate.withLock { _ in
                guard waitForConnection() == .connection else { return nil }
                return FCGX_Accept_r(request)
            }
            guard let accepted else { break }
            if accepted < 0 {
                handleAcceptFailure(-accepted)
                continue
            }
            let exchange = FastCGIExchange(request: request, bodyLimit: bodyLimit)
            let answer = responder(exchange)
            let written = answer.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) {
                    FCGX_PutStr($0.baseAddress, Int32($0.count), request.pointee.out)
                }
            }
            if written < 0 {
                logger.debug("Client went away before the answer was written", metadata: ["worker": "\(worker)"])
            }
            FCGX_Finish_r(request)
        }
        FCGX_Finish_r(request)
    }

    /// Waits until the listening socket has a connection or shutdown was requested; never returns on EINTR.
    private func waitForConnection() -> Wait {
        var descriptors = [
            pollfd(fd: listenDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: ShutdownSignal.wakeDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            if ShutdownSignal.isRequested { return .shutdown }
            let ready = poll(&descriptors, nfds_t(descriptors.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                logger.error("poll failed", metadata: ["errno": "\(errno)"])
                ShutdownSignal.request()
                return .shutdown
            }
            if descriptors[1].revents != 0 || ShutdownSignal.isRequested { return .shutdown }
            if descriptors[0].revents != 0 { return .connection }
        }
    }

    private func handleAcceptFailure(_ code: Int32) {
        switch code {
        case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED:
            // Another process on the same socket took the connection, or the client gave up: nothing to do.
            return
        case EBADF, EINVAL, ENOTSOCK, EOPNOTSUPP:
            if ShutdownSignal.isRequested { return }
            logger.error("The listening socket is unusable; stopping", metadata: ["errno": "\(code)"])
            ShutdownSignal.request()
        default:
            if ShutdownSignal.isRequested { return }
            // Out of descriptors or memory, or a connection that broke during its first records: pause briefly
            // instead of spinning on a socket that stays readable.
            logger.warning("Cannot accept a connection", metadata: ["errno": "\(code)"])
            var pause = timespec(tv_sec: 0, tv_nsec: 20_000_000)
            _ = nanosleep(&pause, nil)
        }
    }
}
