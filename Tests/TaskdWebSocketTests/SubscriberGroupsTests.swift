import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import TaskdWebSocket

/// `SubscriberGroups` against a plain set: random inserts and removals, then every loop gets exactly its members.
struct SubscriberGroupsTests {
    final class Member: WorkspaceSubscriber {
        let eventLoop: any EventLoop
        init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }
        func receive(_ frame: ByteBuffer) {}
        func workspaceUnavailable() {}
    }

    @Test(arguments: [1, 2, 3, 4, 5])
    func randomChangesMatchAModel(seed: UInt64) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 3)
        var generator = SplitMix(seed: seed)
        let loops = (0..<3).map { _ in group.next() }
        let pool = (0..<40).map { Member(eventLoop: loops[$0 % 3]) }
        var groups = SubscriberGroups()
        var model: Set<ObjectIdentifier> = []
        for _ in 0..<400 {
            let member = pool[Int(generator.next() % UInt64(pool.count))]
            if generator.next() % 3 == 0 {
                groups.remove(member)
                model.remove(ObjectIdentifier(member))
            } else {
                groups.insert(member)
                model.insert(ObjectIdentifier(member))
            }
            #expect(groups.count == model.count)
            #expect(groups.isEmpty == model.isEmpty)
        }
        let seen = Mutex<[ObjectIdentifier: [ObjectIdentifier]]>([:])
        let calls = Mutex(0)
        groups.forEachLoop { members in
            for member in members { member.eventLoop.assertInEventLoop() }
            let loop = members.first.map { ObjectIdentifier($0.eventLoop) }
            seen.withLock {
                $0[loop ?? ObjectIdentifier(Member.self), default: []] += members.map { ObjectIdentifier($0) }
            }
            calls.withLock { $0 += 1 }
        }
        let expectedLoops = Set(
            pool.filter { model.contains(ObjectIdentifier($0)) }.map { ObjectIdentifier($0.eventLoop) })
        let deadline = ContinuousClock.now + .seconds(5)
        while calls.withLock({ $0 }) < expectedLoops.count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(1))
        }
        let delivered = seen.withLock { $0 }
        #expect(Set(delivered.keys) == expectedLoops)
        let all = delivered.values.flatMap { $0 }
        #expect(all.count == model.count && Set(all) == model, "each member once, and only members")
        try await group.shutdownGracefully()
    }

    /// A small deterministic generator (SplitMix64), so that a failure can be replayed from its seed.
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
