import Foundation
import TaskCore
import Testing

@testable import TaskStore

@Suite struct ChangeLogFollowerTests {
    private static func changes(_ events: [FollowerEvent]) -> [ChangeRecord] {
        events.compactMap { event in
            if case .change(let record) = event { return record }
            return nil
        }
    }

    @Test func startsAtTheEndAndSeesNewChanges() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        try Fixtures.create(in: store, key)
        let follower = try ChangeLogFollower(directory: directory.path)
        #expect(try follower.poll().isEmpty)
        try Fixtures.create(in: store, key, name: "second")
        let events = try follower.poll()
        #expect(events.count == 1)
        let record = try #require(Self.changes(events).first)
        #expect(record.sequence == 2 && record.key == key)
        guard case .create(let name, _, _, _) = record.change else {
            Issue.record("expected a create, got \(record.change)")
            return
        }
        #expect(name.rawValue == "second")
        #expect(try follower.poll().isEmpty)
    }

    @Test func seesEveryChangeInOrderAcrossRotations() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory, changeLogLimit: 2_000)
        let follower = try ChangeLogFollower(directory: directory.path)
        let keys = try [Fixtures.key("acme", "one"), Fixtures.key("acme", "two"), Fixtures.key("other", "one")]
        var seen: [ChangeRecord] = []
        var rotations = 0
        var lastInode = try Syscall.status(directory.path + "/changes.log")?.inode
        for index in 0..<150 {
            try Fixtures.create(in: store, keys[index % keys.count])
            let inode = try Syscall.status(directory.path + "/changes.log")?.inode
            if inode != lastInode {
                rotations += 1
                lastInode = inode
                // Poll once per rotation, after more records went to the new file: the follower must finish the
                // old file and continue in the new one.
                let events = try follower.poll()
                #expect(!events.contains(.reset))
                seen += Self.changes(events)
            }
        }
        seen += Self.changes(try follower.poll())
        #expect(rotations >= 3)
        #expect(seen.count == 150)
        for (offset, key) in keys.enumerated() {
            #expect(seen.filter { $0.key == key }.map(\.sequence) == Array(1...50), "\(key), \(offset)")
        }
    }

    @Test func keepsUpWithAConcurrentWriterAcrossRotation() async throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory, changeLogLimit: 16_000)
        // Created here, before the first write, then handed to its thread.
        let handOver = Monitor<ChangeLogFollower?>(try ChangeLogFollower(directory: directory.path))
        let key = try Fixtures.key()
        let total = 200
        // Writer and follower each on their own thread, as in taskd-fcgi and taskd-ws.
        let results = try await Threads.run(count: 2) { role -> (records: [ChangeRecord], resets: Int) in
            if role == 0 {
                for _ in 0..<total { try Fixtures.create(in: store, key) }
                return ([], 0)
            }
            guard let follower = handOver.withValue({ $0.take() }) else { return ([], 1) }
            var seen: [ChangeRecord] = []
            var resets = 0
            let deadline = ContinuousClock.now + .seconds(150)
            while seen.count < total && resets == 0 && ContinuousClock.now < deadline {
                follower.waitForActivity(timeout: .milliseconds(500))
                let events = try follower.poll()
                resets += events.count { $0 == .reset }
                seen += Self.changes(events)
            }
            return (seen, resets)
        }
        let seen = results[1].records
        let resets = results[1].resets
        #expect(resets == 0)
        #expect(seen.map(\.sequence) == (1...UInt64(total)).map { $0 })
        #expect(FileManager.default.fileExists(atPath: directory.path + "/changes.log.1"))
    }

    @Test func resetsWhenRotatedTwiceBetweenPolls() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory, changeLogLimit: 500)
        let follower = try ChangeLogFollower(directory: directory.path)
        let key = try Fixtures.key()
        for _ in 0..<30 { try Fixtures.create(in: store, key) }
        let events = try follower.poll()
        #expect(events.contains(.reset))
        try Fixtures.create(in: store, key)
        let after = Self.changes(try follower.poll())
        #expect(after.map(\.sequence) == [31])
    }

    @Test func resetsWhenTheLogIsTruncated() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        let follower = try ChangeLogFollower(directory: directory.path)
        for _ in 0..<3 { try Fixtures.create(in: store, key) }
        #expect(Self.changes(try follower.poll()).count == 3)
        #expect(truncate(directory.path + "/changes.log", 0) == 0)
        #expect(try follower.poll() == [.reset])
        try Fixtures.create(in: store, key)
        #expect(Self.changes(try follower.poll()).map(\.sequence) == [4])
    }

    @Test func consumesCompleteLinesOnly() throws {
        let directory = try TemporaryDirectory()
        _ = try Fixtures.store(directory)
        let follower = try ChangeLogFollower(directory: directory.path)
        let record = ChangeRecord(sequence: 1, key: try Fixtures.key(), change: .flush(at: Timestamp(milliseconds: 5)))
        let line = try WireFormat.encode(record) + [UInt8(ascii: "\n")]
        let handle = try #require(FileHandle(forWritingAtPath: directory.path + "/changes.log"))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(line.prefix(10)))
        #expect(try follower.poll().isEmpty)
        try handle.write(contentsOf: Data(line.dropFirst(10)) + Data(line.prefix(3)))
        #expect(try follower.poll() == [.change(record)])
        try handle.write(contentsOf: Data(line.dropFirst(3)))
        #expect(try follower.poll() == [.change(record)])
    }

    @Test func aDamagedLineIsAReset() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let follower = try ChangeLogFollower(directory: directory.path)
        let handle = try #require(FileHandle(forWritingAtPath: directory.path + "/changes.log"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"seq\":oops}\n".utf8))
        try handle.close()
        try Fixtures.create(in: store, Fixtures.key())
        let events = try follower.poll()
        #expect(events.contains(.reset))
        #expect(Self.changes(events).map(\.sequence) == [1])
    }

    @Test func compactingTheLogLosesNothing() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        let follower = try ChangeLogFollower(directory: directory.path)
        try Fixtures.create(in: store, key)
        try store.compactLog()
        try Fixtures.create(in: store, key)
        let events = try follower.poll()
        #expect(Self.changes(events).map(\.sequence) == [1, 2])
        #expect(!events.contains(.reset))
        let current = try String(contentsOfFile: directory.path + "/changes.log", encoding: .utf8)
        #expect(current.split(separator: "\n").count == 1)
    }

    @Test func waitForActivityWakesOnAWriteAndOtherwiseTimesOut() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let follower = try ChangeLogFollower(directory: directory.path)
        let clock = ContinuousClock()
        let idle = clock.measure { follower.waitForActivity(timeout: .milliseconds(100)) }
        #expect(idle >= .milliseconds(90))
        try Fixtures.create(in: store, Fixtures.key())
        let woken = clock.measure { follower.waitForActivity(timeout: .seconds(10)) }
        #expect(woken < .seconds(5))
        #expect(Self.changes(try follower.poll()).count == 1)
    }
}
