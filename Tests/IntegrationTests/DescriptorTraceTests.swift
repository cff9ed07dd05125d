import Testing

/// The strace replay of `OperationsShutdownTraceTests` must see the hazards it is there to catch.
@Suite struct DescriptorTraceTests {
    private let healthy = """
        10 <... accept4 resumed>NULL, NULL, SOCK_CLOEXEC) = 5
        10  close(5)                       = 0
        13 restart_syscall(<... resuming interrupted accept4 ...>) = 6
        13 close(6)                        = 0
        1 <... poll resumed>)              = 1 ([{fd=4, revents=POLLIN}])
        10 accept4(3, NULL, NULL, SOCK_CLOEXEC <unfinished ...>
        11 openat(AT_FDCWD, "/state/keys.json", O_RDONLY|O_CLOEXEC) = 7
        10 <... accept4 resumed>)          = 8
        11 close(7)                        = 0
        11 openat(AT_FDCWD, "/state/keys.json", O_RDONLY|O_CLOEXEC) = 7
        10 fcntl(8, F_DUPFD_CLOEXEC, 0)    = 9
        11 close(7)                        = 0
        1 shutdown(8, SHUT_RDWR)           = 0
        10 shutdown(9, SHUT_WR)            = 0
        10 poll([{fd=9, events=POLLIN}], 1, 2000) = 1 ([{fd=9, revents=POLLIN|POLLHUP}])
        10 close(9)                        = 0
        1 poll([{fd=-1}], 1, 100)          = 0 (Timeout)
        10 accept(-1, 0x7ffd, [110])       = -1 EBADF (Bad file descriptor)
        10 close(8)                        = 0
        12 pipe2([7, 9], O_CLOEXEC)        = 0
        12 close(9)                        = 0
        11 close(7 <unfinished ...>
        12 openat(AT_FDCWD, "/state/lock", O_RDWR) = 7
        11 <... close resumed>)            = 0
        12 close(7)                        = 0
        1 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD) = 77
        77 close(3)                        = 0
        77 close(4)                        = -1 EBADF (Bad file descriptor)
        """

    @Test func aHealthyTraceHasNoViolations() {
        let trace = DescriptorTrace(log: healthy, listeningDescriptor: 3, preexisting: [0, 1, 2, 3])
        #expect(trace.violations.isEmpty, "\(trace.violations)")
        #expect(trace.connectionsAccepted == 3)
        #expect(trace.connectionsShutDown == 1)
    }

    @Test(arguments: [
        // libfcgi's old hazard: a connection closed, its number reused for a store file, closed again by the worker.
        "10 accept(3, NULL, NULL) = 8\n10 close(8) = 0\n11 openat(AT_FDCWD, \"/state/lock\", O_RDWR) = 8\n10 close(8) = 0",
        // ... and its first symptom, the keeper's poll on the closed number.
        "10 accept(3, NULL, NULL) = 8\n10 close(8) = 0\n10 poll([{fd=8, events=POLLIN}], 1, 2000) = 1 ([{fd=8, revents=POLLNVAL}])",
        // A double close.
        "10 accept4(3, NULL, NULL, SOCK_CLOEXEC) = 8\n10 close(8) = 0\n10 close(8) = -1 EBADF (Bad file descriptor)",
        // A shutdown of a number that is no longer a connection.
        "10 accept4(3, NULL, NULL, SOCK_CLOEXEC) = 8\n10 close(8) = 0\n1 shutdown(8, SHUT_RDWR) = 0",
        // An accept on something other than the listening socket.
        "10 accept(8, NULL, NULL) = 9\n10 close(9) = 0",
        // A connection that is never closed.
        "10 accept4(3, NULL, NULL, SOCK_CLOEXEC) = 8",
    ])
    func aHazardIsReported(_ log: String) {
        let trace = DescriptorTrace(log: log, listeningDescriptor: 3, preexisting: [0, 1, 2, 3])
        #expect(!trace.violations.isEmpty)
    }
}
