import Foundation
import TaskCore
import Testing

@testable import TaskStore

@Suite struct UnloggedChangeDetectorTests {
    @Test func aCommittedChangeStillNotHeldAtTheNextCheckIsReported() throws {
        let key = try Fixtures.key()
        var detector = UnloggedChangeDetector()
        // Committed 5, held 4: maybe its record is on its way; not yet reported.
        #expect(detector.check(held: [key: 4], committed: [key: 5]).isEmpty)
        // Held 5 by the next check: it arrived.
        #expect(detector.check(held: [key: 5], committed: [key: 6]).isEmpty)
        // 6 was committed a check ago and is still not held: reported once.
        #expect(detector.check(held: [key: 5], committed: [key: 6]) == [key])
        #expect(detector.check(held: [key: 5], committed: [key: 6]).isEmpty)
        // A workspace no longer watched is forgotten.
        #expect(detector.check(held: [:], committed: [key: 9]).isEmpty)
        #expect(detector.check(held: [key: 5], committed: [key: 9]).isEmpty)
    }

    @Test func aChangeTheLogNeverAnnouncedReachesTheFollowerThroughVerify() throws {
        let directory = try TemporaryDirectory()
        let store = try Fixtures.store(directory)
        let key = try Fixtures.key()
        try Fixtures.create(in: store, key)
        let follower = try ChangeLogFollower(directory: directory.path)
        // The change log is lost (as if the writer died after its fdatasync, before the append).
        try FileManager.default.removeItem(atPath: directory.path + "/changes.log")
        try FileManager.default.createDirectory(
            atPath: directory.path + "/changes.log", withIntermediateDirectories: false)
        try Fixtures.create(in: store, key)
        _ = try? follower.poll()
        #expect(follower.verify(held: [key: 1], store: store).isEmpty)
        #expect(follower.verify(held: [key: 1], store: store) == [.stale(key)])
    }
}
