import Foundation
import Glibc
import Testing

@testable import TaskdWebSocket

struct DescriptorBudgetTests {
    @Test func aServiceLimitLeavesTheReserveAndA503MarginAside() {
        let budget = DescriptorBudget(limit: 65_536, inUse: 30)
        #expect(budget.socketCap == 65_536 - 30 - DescriptorBudget.reserved)
        #expect(budget.refusalMargin == 64)
        #expect(budget.connections == budget.socketCap - 64)
        #expect(budget.connections >= 10_000)
    }

    @Test func aShellsLimitStillServesSomeAndKeepsTheReserve() {
        let budget = DescriptorBudget(limit: 256, inUse: 20)
        #expect(budget.socketCap == 172)
        #expect(budget.refusalMargin == 11)
        #expect(budget.connections == 161)
        #expect(budget.connections + budget.refusalMargin + DescriptorBudget.reserved + budget.inUse == budget.limit)
    }

    @Test(arguments: [0, 1, 30, 64, 80, 95, 100])
    func aLimitTooSmallGivesNothingAndNeverANegativeCount(limit: Int) {
        let budget = DescriptorBudget(limit: limit, inUse: 30)
        #expect(budget.socketCap >= 0 && budget.connections >= 0 && budget.refusalMargin >= 0)
        #expect(budget.connections <= budget.socketCap)
        #expect(budget.inUse + DescriptorBudget.reserved + budget.socketCap <= max(limit, budget.inUse + 64))
    }

    /// Counted on a child whose descriptors stay as they are (this process's own change while other tests run).
    @Test func descriptorsAreCountedFromProc() async throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["30"]
        try child.run()
        defer { child.terminate() }
        // Between fork and exec the child still closes descriptors: count once it runs sleep.
        let comm = "/proc/\(child.processIdentifier)/comm"
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        while (try? String(contentsOfFile: comm, encoding: .utf8)) != "sleep\n", ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(1))
        }
        let directory = "/proc/\(child.processIdentifier)/fd"
        let listed = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(listed.count >= 3)
        #expect(DescriptorBudget.descriptorEntries(in: directory) == listed.count)
        #expect(DescriptorBudget.descriptorEntries(in: "/proc/no-such-process/fd") == 0)
    }

    @Test func thisProcessCountsItsOpenDescriptors() {
        let budget = DescriptorBudget.ofThisProcess()
        var limits = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits)
        #expect(budget.limit == Int(limits.rlim_cur))
        #expect(budget.inUse >= 3 && budget.inUse < budget.limit)
    }
}
