import Foundation

/// Replays an `strace -f -qq -e trace=%desc,%net,%process` log of taskd-fcgi and checks how it used its descriptors: that no
/// close(2) or shutdown(2) ever reached a descriptor number the caller did not own.
///
/// Connection descriptors (from accept(2)/accept4(2), and their duplicates) must be closed by the thread that
/// opened them and shut down only while they are open; no close may find its descriptor already closed (EBADF), and
/// none may close a number that nothing opened; libfcgi's own accept may only ever run on descriptor -1, and no poll
/// may wait on a closed number. The hazard of libfcgi's `OS_Accept` (closing a connection, then polling and closing
/// the same number again after another thread reused it for a file) shows as a thread closing a descriptor another
/// thread opened when that thread's own last use of the number was a connection it closed.
struct DescriptorTrace {
    enum Kind: Equatable { case preexisting, connection, other }

    struct Owner {
        var thread: Int
        var kind: Kind
        var line: String
    }

    private(set) var violations: [String] = []
    private(set) var connectionsAccepted = 0
    private(set) var connectionsShutDown = 0
    private var open: [Int: Owner] = [:]
    /// The last calls on each descriptor number, quoted in violations.
    private var history: [Int: [String]] = [:]
    /// Processes forked by the traced one (its threads are created with CLONE_THREAD).
    private var otherProcesses: Set<Int> = []
    /// Per thread, the connection numbers it has closed and not opened again since.
    private var closedConnections: [Int: Set<Int>] = [:]
    private let listeningDescriptor: Int

    /// `preexisting`: the descriptors open when tracing began.
    init(log: String, listeningDescriptor: Int, preexisting: [Int]) {
        self.listeningDescriptor = listeningDescriptor
        for fd in preexisting { open[fd] = Owner(thread: 0, kind: .preexisting, line: "(open before tracing)") }
        let calls = Self.calls(in: log)
        // Processes forked by the traced one (a sanitizer's symbolizer) have descriptor tables of their own; a
        // child may run before its parent's clone returns, so they are all found first.
        for call in calls.map(\.text) where ["clone", "clone3", "fork", "vfork"].contains(call.prefix { $0 != "(" }) {
            if !call.contains("CLONE_THREAD"), let child = Self.result(of: call), child > 0 {
                otherProcesses.insert(child)
            }
        }
        for (thread, call) in Self.inKernelOrder(calls) where !otherProcesses.contains(thread) {
            replay(call, thread: thread)
        }
        for (fd, owner) in open where owner.kind == .connection {
            violations.append("connection descriptor \(fd) never closed: \(owner.line)")
        }
    }

    /// A call's two lines: where it started and where it returned (the same for a call printed in one line).
    private struct Call {
        var thread: Int
        var text: String
        var started: Int
        var returned: Int
    }

    /// The calls in the order their descriptors changed hands: a close (or shutdown) frees the number when it starts,
    /// so another thread's open that returns the same number while the close is still printing comes after it; an
    /// open takes its number when it returns.
    private static func inKernelOrder(_ calls: [Call]) -> [(Int, String)] {
        calls.map { call -> (position: Int, thread: Int, text: String) in
            let name = call.text.prefix { $0 != "(" }
            return (name == "close" || name == "shutdown" ? call.started : call.returned, call.thread, call.text)
        }
        .enumerated().sorted { ($0.element.position, $0.offset) < ($1.element.position, $1.offset) }
        .map { ($0.element.thread, $0.element.text) }
    }

    /// The log's complete calls, with calls strace split in two joined.
    private static func calls(in log: String) -> [Call] {
        var calls: [Call] = []
        var pending: [Int: (text: String, line: Int)] = [:]
        for (line, rawLine) in log.split(separator: "\n").enumerated() {
            guard let space = rawLine.firstIndex(of: " "), let thread = Int(rawLine[..<space]) else { continue }
            // strace pads the thread id to a column: `4693  close(7) = 0`, `14693 close(7) = 0`.
            var call = String(rawLine[space...].drop { $0 == " " })
            var started = line
            if let cut = call.range(of: " <unfinished ...>") {
                pending[thread] = (String(call[..<cut.lowerBound]), line)
                continue
            }
            if call.hasPrefix("<... "), let resumed = call.range(of: " resumed>") {
                // A call in progress when strace attached has no first half: its arguments are unknown ("?").
                let name = call[call.index(call.startIndex, offsetBy: 5)..<resumed.lowerBound]
                let first = pending.removeValue(forKey: thread)
                started = first?.line ?? line
                call = (first?.text ?? "\(name)(?") + call[resumed.upperBound...]
            }
            // A call that strace's attach interrupted resumes as `restart_syscall(<... resuming interrupted accept4
            // ...>) = 9`: its name is the interrupted call's, its arguments unknown.
            if call.hasPrefix("restart_syscall("), let start = call.range(of: "resuming interrupted "),
                let end = call[start.upperBound...].firstIndex(of: " "), let equals = call.range(of: ">) ")
            {
                call = "\(call[start.upperBound..<end])(?)" + call[call.index(before: equals.upperBound)...]
            }
            calls.append(Call(thread: thread, text: call, started: started, returned: line))
        }
        return calls
    }

    /// The number after the last `) = ` of a call.
    private static func result(of call: String) -> Int? {
        guard let equals = call.range(of: #"\)\s+= "#, options: [.regularExpression, .backwards]) else { return nil }
        return Int(call[equals.upperBound...].prefix { $0 != " " })
    }

    private static let creators: Set<String> = [
        "open", "openat", "openat2", "creat", "socket", "dup", "dup2", "dup3", "eventfd", "eventfd2", "epoll_create",
        "epoll_create1", "inotify_init", "inotify_init1", "timerfd_create", "signalfd", "signalfd4", "memfd_create",
        "pidfd_open", "userfaultfd", "fanotify_init", "perf_event_open", "io_uring_setup",
    ]

    private mutating func replay(_ call: String, thread: Int) {
        // `name(arguments) = result [ERRNO (text)]`, strace padding the result to a column with spaces.
        guard let parenthesis = call.firstIndex(of: "("),
            let equals = call.range(of: #"\)\s+= "#, options: [.regularExpression, .backwards]),
            parenthesis < equals.lowerBound
        else { return }
        let name = String(call[..<parenthesis])
        let arguments = String(call[call.index(after: parenthesis)..<equals.lowerBound])
        let resultText = call[equals.upperBound...].prefix { $0 != " " }
        guard let result = Int(resultText) else { return }
        let first = Int(arguments.prefix { $0 != "," && $0 != ")" }.trimmingCharacters(in: .whitespaces))
        defer {
            for fd in [first, result].compactMap({ $0 }) where fd >= 0 && name != "poll" {
                history[fd, default: []] = Array((history[fd, default: []] + ["\(thread) \(call)"]).suffix(4))
            }
        }
        switch name {
        case "accept", "accept4":
            if let first, first != listeningDescriptor && !(first == -1 && result == -1) {
                violations.append("accept on a descriptor other than the listening one: \(call)")
            }
            if result >= 0 {
                connectionsAccepted += 1
                opened(result, Owner(thread: thread, kind: .connection, line: call))
            }
        case "fcntl" where arguments.contains("F_DUPFD") && result >= 0:
            let kind = first.flatMap { open[$0]?.kind } == .connection ? Kind.connection : .other
            opened(result, Owner(thread: thread, kind: kind, line: call))
        case "pipe", "pipe2", "socketpair":
            guard result == 0 else { return }
            for fd in Self.pair(in: arguments) { opened(fd, Owner(thread: thread, kind: .other, line: call)) }
        case "close":
            guard let fd = first else { return }
            if result < 0 {
                violations.append("close of a descriptor that was not open (\(resultText)): \(call)")
            } else if let owner = open.removeValue(forKey: fd) {
                if owner.kind == .connection && owner.thread != thread {
                    violations.append("thread \(thread) closed connection \(fd) of thread \(owner.thread): \(call)")
                }
                if owner.thread != thread && closedConnections[thread, default: []].contains(fd) {
                    violations.append(
                        "thread \(thread) closed \(fd), its old connection number, now \(owner.line): \(call)")
                }
                if owner.kind == .connection { closedConnections[thread, default: []].insert(fd) }
            } else {
                violations.append(
                    "close of descriptor \(fd), which nothing opened: \(call); before: \(history[fd] ?? [])")
            }
        case "poll", "ppoll":
            // A negative descriptor is one poll(2) skips (the supervisor's way of waiting without the wake pipe).
            for fd in Self.polled(in: arguments) where fd >= 0 && open[fd] == nil {
                violations.append("poll on descriptor \(fd), which is not open: \(call)")
            }
        case "shutdown":
            guard let fd = first else { return }
            if open[fd]?.kind != .connection {
                violations.append(
                    "shutdown of \(fd), which is not an open connection: \(call); before: \(history[fd] ?? [])")
            } else if arguments.contains("SHUT_RDWR") {
                connectionsShutDown += 1
            }
        default:
            if Self.creators.contains(name) && result >= 0 {
                opened(result, Owner(thread: thread, kind: .other, line: call))
            }
        }
    }

    private mutating func opened(_ fd: Int, _ owner: Owner) {
        closedConnections[owner.thread]?.remove(fd)
        if let previous = open[fd] {
            violations.append("descriptor \(fd) opened again while open (\(previous.line)): \(owner.line)")
        }
        open[fd] = owner
    }

    /// The descriptors of `poll([{fd=8, events=POLLIN}, {fd=5, events=POLLIN}], 2, 100)`.
    private static func polled(in arguments: String) -> [Int] {
        arguments.components(separatedBy: "{fd=").dropFirst().compactMap { Int($0.prefix { $0 == "-" || $0.isNumber }) }
    }

    /// The two descriptors of `pipe([4, 5])`, `pipe2([4, 5], O_CLOEXEC)`, `socketpair(..., [4, 5])`.
    private static func pair(in arguments: String) -> [Int] {
        guard let start = arguments.firstIndex(of: "["), let end = arguments[start...].firstIndex(of: "]") else {
            return []
        }
        return arguments[arguments.index(after: start)..<end].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
    }
}
