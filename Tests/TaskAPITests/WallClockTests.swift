import Foundation
import Testing

@testable import TaskAPI

@Suite struct WallClockTests {
    @Test func readsTheRealtimeClockInMilliseconds() {
        let before = Int64(Date().timeIntervalSince1970 * 1_000)
        let now = WallClock.now().rawValue
        let after = Int64(Date().timeIntervalSince1970 * 1_000)
        #expect(now >= before - 1 && now <= after + 1)
    }
}
