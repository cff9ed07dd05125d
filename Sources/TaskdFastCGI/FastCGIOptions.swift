import ArgumentParser
import TaskAPI

/// Command-line flags of taskd-fcgi: the shared settings plus where and how to listen. Every one is optional: an
/// absent flag leaves the `TASKD_*` variable or the default in force (see `FastCGIConfiguration.resolve`).
struct FastCGIOptions: ParsableArguments {
    @OptionGroup var shared: SharedOptions

    @Option(
        help: """
            Unix socket to create and listen on; ignored under systemd socket activation or when fd 0 is an \
            inherited listening socket (env: TASKD_FCGI_SOCKET, default: /run/taskd/fcgi.sock)
            """)
    var socket: String?

    @Option(help: "Octal permissions of the created socket (env: TASKD_FCGI_SOCKET_MODE, default: 0660)")
    var socketMode: String?

    @Option(help: "Threads serving requests (env: TASKD_FCGI_THREADS, default: 16)")
    var threads: Int?

    @Option(
        help: """
            Seconds a connection may take to send its request, and again to take its answer, before it is cut; \
            a stop waits at most twice this plus 1 s (env: TASKD_FCGI_CONNECTION_DEADLINE, default: 3)
            """)
    var connectionDeadline: Double?

    var overrides: ServiceSettings.Overrides { shared.overrides }
}
