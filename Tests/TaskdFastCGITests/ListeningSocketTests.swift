import Foundation
import Testing

@testable import TaskdFastCGI

import Glibc

@Suite struct ListeningSocketTests {
    private func temporaryDirectory() throws -> String {
        var template = Array("/tmp/taskd-ls-XXXXXX".utf8CString)
        guard let path = mkdtemp(&template) else { throw StartupError.system("mkdtemp", errno) }
        return String(cString: path)
    }

    private func open(_ path: String, mode: UInt32 = 0o660) throws -> ListeningSocket {
        try ListeningSocket.open(.unixSocket(path: path, mode: mode, isExplicit: true))
    }

    @Test func createsAListeningSocketWithTheRequestedMode() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/fcgi.sock"
        let socket = try open(path, mode: 0o666)
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect((info.st_mode & S_IFMT) == S_IFSOCK)
        #expect((info.st_mode & 0o777) == 0o666)
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        #expect(getsockopt(socket.descriptor, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0)
        #expect(accepting == 1)
        socket.close()
        #expect(!FileManager.default.fileExists(atPath: path), "the socket file is removed on close")
    }

    @Test func replacesAStaleSocketButNotALiveOne() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/fcgi.sock"
        let first = try open(path)
        // Live: another process (here, the first socket) still accepts on it.
        #expect(throws: StartupError.self) { try open(path) }
        // Stale: the file stays after its socket is closed (a crashed responder).
        _ = Glibc.close(first.descriptor)
        let second = try open(path)
        second.close()
    }

    @Test func refusesToReplaceSomethingThatIsNotASocket() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/fcgi.sock"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("keep me".utf8)))
        #expect(throws: StartupError.self) { try open(path) }
        #expect(FileManager.default.contents(atPath: path) == Data("keep me".utf8))
    }
}
