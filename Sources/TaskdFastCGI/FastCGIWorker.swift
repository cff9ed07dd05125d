import CFastCGI
import Logging

import Glibc

/// One request thread: it accepts a connection itself, hands it to libfcgi for the record layer, answers, and closes.
///
/// libfcgi never accepts. Its accept loop (`OS_Accept`, reached from `FCGX_Accept_r` whenever the request has no
/// connection) serialises nothing but blocks in accept() where a shutdown flag cannot reach it, polls each new unix
/// connection for up to 2 s, and, when that poll fails during a shutdown, keeps and later closes a descriptor number
/// it has already closed, which another thread may have reused for a store file. Here every worker blocks in its own
/// `accept4` (the kernel wakes one waiter per connection, so no gate is needed) and passes a duplicate of the new
/// descriptor to `FCGX_Accept_r` through `ipcFd`, which makes libfcgi skip `OS_Accept` and only read the request's
/// records. Should that reading fail (a peer that closes early, sends garbage, or is cut by its deadline), libfcgi
/// closes its duplicate and falls back to `OS_Accept` on the request's listening descriptor, which is -1: accept(-1)
/// fails with EBADF at once, so the fallback costs one failed system call and can neither block nor close anything.
struct FastCGIWorker {
    /// Turns one request into the complete CGI answer (`Status:` line, headers, blank line, body). Never throws.
    typealias Responder = @Sendable (FastCGIExchange) -> [UInt8]

    /// How long a worker waits in accept() before it looks at the shutdown flag again (`SO_RCVTIMEO` on the
    /// listening socket): the longest a stop waits for idle workers.
    static let acceptWakeInterval: Duration = .milliseconds(200)

    let index: Int
    let listenDescriptor: Int32
    /// TCP connections inherit the listening socket's `SO_RCVTIMEO`; unix ones do not.
    let connectionsInheritTimeout: Bool
    let slot: ConnectionSlot
    let deadline: Duration
    let bodyLimit: Int
    let responder: Responder
    let logger: Logger

    /// Serves connections until shutdown is requested; returns the errno of an accept failure that cannot recover
    /// (the listening socket is unusable), or nil.
    func run() -> Int32? {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        // libfcgi's streams point back at the request, so it needs a stable address: never a Swift `var`.
        defer { request.deallocate() }
        // No listening descriptor: libfcgi's own accept can only fail (see above).
        _ = FCGX_InitRequest(request, -1, 0)
        var isStarved = false
        while !ShutdownSignal.isRequested {
            let descriptor = accept4(listenDescriptor, nil, nil, Int32(SOCK_CLOEXEC.rawValue))
            if descriptor >= 0 {
                if isStarved {
                    logger.info("Accepting connections again", metadata: ["worker": "\(index)"])
                    isStarved = false
                }
                serve(descriptor, with: request)
                continue
            }
            let code = errno
            switch code {
            case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED, EPROTO:
                // The wake interval passed, or the peer gave up before its connection was accepted.
                continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                // Out of descriptors or memory: the connection stays queued. Pause instead of spinning on it.
                if !isStarved {
                    logger.warning("Cannot accept a connection", metadata: ["worker": "\(index)", "errno": "\(code)"])
                    isStarved = true
                }
                var pause = timespec(tv_sec: 0, tv_nsec: 20_000_000)
                _ = nanosleep(&pause, nil)
            default:
                return code
            }
        }
        return nil
    }

    /// One connection, one request: libfcgi reads it from a duplicate of `descriptor`, the responder answers, and
    /// libfcgi writes the answer and closes its duplicate; `descriptor` itself is closed by `slot.end()`.
    private func serve(_ descriptor: Int32, with request: UnsafeMutablePointer<FCGX_Request>) {
        let clock = ContinuousClock()
        slot.begin(descriptor, deadline: clock.now.advanced(by: deadline))
        defer {
            if slot.end() {
                logger.debug("Connection cut at its deadline", metadata: ["worker": "\(index)"])
            }
        }
        if connectionsInheritTimeout {
            var none = timeval()
            _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &none, socklen_t(MemoryLayout<timeval>.size))
        }
        let handedOver = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        guard handedOver >= 0 else {
            logger.warning("Cannot duplicate a connection", metadata: ["worker": "\(index)", "errno": "\(errno)"])
            return
        }
        request.pointee.ipcFd = handedOver
        // The `FCGX_Finish_r` that opens `FCGX_Accept_r` closes the request's connection unless it is kept.
        request.pointee.keepConnection = 1
        guard FCGX_Accept_r(request) == 0 else {
            // libfcgi has closed `handedOver` and reset `ipcFd` (every failure path goes through `FCGX_Free`).
            logger.debug("A connection ended before its request was read", metadata: ["worker": "\(index)"])
            return
        }
        let exchange = FastCGIExchange(request: request, bodyLimit: bodyLimit)
        slot.pauseDeadline()
        let answer = responder(exchange)
        slot.resumeDeadline(clock.now.advanced(by: deadline))
        let written = answer.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                FCGX_PutStr($0.baseAddress, Int32($0.count), request.pointee.out)
            }
        }
        if written < 0 {
            logger.debug("Client went away before the answer was written", metadata: ["worker": "\(index)"])
        }
        // One request per connection, whatever the peer asked for: libfcgi closes its duplicate after the answer.
        request.pointee.keepConnection = 0
        // When the request was read to its end nothing of the peer's is left unread, so a plain close cannot reset
        // the connection under the answer: skip libfcgi's lingering close (shut down writing, then poll and read
        // until the peer closes), which costs three system calls and a wake-up per request.
        if FCGX_HasSeenEOF(request.pointee.in) != 0 { _ = FCGX_Detach(request) }
        FCGX_Finish_r(request)
    }
}
