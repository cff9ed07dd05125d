// Design note: taskd-fcgi's signals, and why libfcgi has none of them.
//
// `FCGX_Init` installs libfcgi's own handlers: SIGUSR1 and (when it is still at its default) SIGTERM set a private
// "shutdown pending" flag after which every `FCGX_Accept_r` fails without accepting, and SIGPIPE gets an empty
// handler in place of taskd's "ignore". A stray `kill -USR1` thus used to wedge the responder for good while it
// stayed "active" for systemd. taskd never lets libfcgi accept (see `FastCGIWorker`), so that flag is meaningless
// here, and `takeOverFromLibfcgi()`, called right after `FCGX_Init` and before any signal is unblocked, puts back
// taskd's own dispositions: SIGPIPE and SIGUSR1 ignored, SIGTERM and SIGINT handled by `handleTerminationSignal`.
//
// SIGTERM and SIGINT are blocked in every thread but the main one (the workers inherit the mask from the main
// thread, which blocks them before it starts any), so worker threads never see EINTR and a request in flight is
// never cut short by a signal. The handler is installed without `SA_RESTART` and does only async-signal-safe
// things: it stores an atomic flag and writes one byte to a pipe, which wakes the main thread (the supervisor, see
// `FastCGIServer`) at once. Workers waiting in accept() notice the flag within `FastCGIWorker.acceptWakeInterval`.
// The pipe is never drained, so it stays readable once shutdown is requested.

import Synchronization

import Glibc

/// The process-wide "stop accepting" flag, set by SIGTERM / SIGINT, and the pipe that wakes the supervisor.
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
    /// before any other thread starts.
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

    /// Replaces what `FCGX_Init` installed: SIGPIPE and SIGUSR1 ignored, SIGTERM and SIGINT to the flag (without
    /// `SA_RESTART`). Call right after `FCGX_Init`, while SIGTERM and SIGINT are still blocked.
    static func takeOverFromLibfcgi() throws(StartupError) {
        try install(SIGPIPE, handled: false)
        try install(SIGUSR1, handled: false)
        try install(SIGTERM, handled: true)
        try install(SIGINT, handled: true)
    }

    /// Ignores the signal, or hands it to `handleTerminationSignal`. `SIG_IGN` is the function pointer 1, which Swift
    /// uses as the "nil" of a nested optional: inside a collection or a tuple optional it can read back as nothing at
    /// all (an array of such pairs iterated as empty), so it is only ever assigned directly here.
    private static func install(_ signalNumber: Int32, handled: Bool) throws(StartupError) {
        var action = sigaction()
        if handled {
            action.__sigaction_handler.sa_handler = handleTerminationSignal
        } else {
            action.__sigaction_handler.sa_handler = SIG_IGN
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        guard sigaction(signalNumber, &action, nil) == 0 else { throw .system("sigaction", errno) }
    }

    /// Unblocks SIGTERM and SIGINT in the calling (main) thread, once the workers have started with them blocked.
    static func unblockInCurrentThread() {
        var set = terminationSignals()
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Requests shutdown as the signal handler does (a worker that met an unrecoverable error, a failed startup).
    static func request() {
        requested.store(true, ordering: .releasing)
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

/// Only async-signal-safe work: an atomic store and write(2).
private func handleTerminationSignal(_: Int32) {
    let savedErrno = errno
    ShutdownSignal.request()
    errno = savedErrno
}
