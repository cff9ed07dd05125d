// Design note: how taskd-fcgi stops.
//
// libfcgi's own answer to SIGTERM is a flag (`FCGX_ShutdownPending`) that `FCGX_Accept_r` checks before it calls
// accept(); a thread already blocked in accept() never looks at it again, and a handler installed with
// `SA_RESTART` (what glibc's `signal()` does) makes the kernel restart accept() so nothing wakes at all.
//
// So: SIGTERM and SIGINT are blocked in every worker thread (they inherit the mask from the main thread, which
// blocks the signals before it starts them) and delivered to the main thread only, whose handler is installed with
// `sa_flags = 0`. The handler does three async-signal-safe things: it sets an atomic flag, calls
// `FCGX_ShutdownPending()`, and writes one byte to a pipe. Workers never block in accept(): they wait in poll() on
// the listening socket *and* that pipe, one at a time, so the byte wakes whoever is waiting and, because the pipe
// is never drained, every worker after it. A worker in the middle of a request finishes it first (drain), then finds
// the flag set and returns. Worker threads never see EINTR, so a request in flight is never cut short by the signal.

import CFastCGI
import Synchronization

import Glibc

/// The process-wide "stop accepting" flag, set by SIGTERM / SIGINT, and the pipe that wakes waiting workers.
enum ShutdownSignal {
    private static let requested = Atomic<Bool>(false)
    /// The pipe's write end, read by the signal handler; an atomic so the handler never touches lazy globals.
    private static let wakeWriter = Atomic<Int32>(-1)
    private static let wakeReader = Atomic<Int32>(-1)

    /// True once SIGTERM or SIGINT has arrived (or `request()` was called).
    static var isRequested: Bool { requested.load(ordering: .acquiring) }

    /// The pipe end that becomes readable (and stays readable) once shutdown is requested.
    static var wakeDescriptor: Int32 { wakeReader.load(ordering: .acquiring) }

    /// Creates the wake pipe and ignores SIGPIPE (a client that went away must not kill the process). Call once,
    /// before any worker thread starts.
    static func prepare() throws(StartupError) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw .system("pipe", errno) }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        wakeReader.store(fds[0], ordering: .releasing)
        wakeWriter.store(fds[1], ordering: .releasing)
        // Initialise the flag now, so that the signal handler never runs a lazy global initialiser.
        requested.store(false, ordering: .releasing)
        _ = signal(SIGPIPE, SIG_IGN)
    }

    /// Blocks SIGTERM and SIGINT in the calling thread; threads started afterwards inherit the mask.
    static func blockInCurrentThread() {
        var set = terminationSignals()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Installs the handler (without `SA_RESTART`) and unblocks the signals in the calling (main) thread.
    static func installInCurrentThread() throws(StartupError) {
        for signalNumber in [SIGTERM, SIGINT] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = handleTerminationSignal
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            guard sigaction(signalNumber, &action, nil) == 0 else { throw .system("sigaction", errno) }
        }
        var set = terminationSignals()
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Requests shutdown as the signal handler does (for a startup failure after workers began).
    static func request() {
        requested.store(true, ordering: .releasing)
        FCGX_ShutdownPending()
        var byte: UInt8 = 1
        _ = write(wakeWriter.load(ordering: .acquiring), &byte, 1)
    }

    private static func terminationSignals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        return set
    }
}

/// Only async-signal-safe work: an atomic store, libfcgi's flag store, and write(2).
private func handleTerminationSignal(_: Int32) {
    let savedErrno = errno
    ShutdownSignal.request()
    errno = savedErrno
}
