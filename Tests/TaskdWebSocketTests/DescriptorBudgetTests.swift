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

    @Test func thisProcessCountsItsOpenDescriptors() {
        let before = DescriptorBudget.openDescriptorCount()
        let fd = open("/dev/null", O_RDONLY)
        defer { close(fd) }
        #expect(DescriptorBudget.openDescriptorCount() == before + 1)
        let budget = DescriptorBudget.ofThisProcess()
        var limits = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits)
        #expect(budget.limit == Int(limits.rlim_cur))
        #expect(budget.inUse >= 3 && budget.inUse < budget.limit)
    }
}
