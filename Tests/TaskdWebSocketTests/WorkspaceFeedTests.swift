import TaskCore
import TaskStore
import Testing

@testable import TaskdWebSocket

struct WorkspaceFeedTests {
    private let machine: TaskStateMachine
    private let key: WorkspaceKey

    init() throws {
        machine = TaskStateMachine(policy: try SchedulePolicy(slots: 1, timeScale: 1))
        key = WorkspaceKey(tenant: try TenantID(parsing: "acme"), workspace: .default)
    }

    /// What a writer does: apply the change to its copy and log it with the new sequence.
    private func commit(_ change: TaskChange, to state: inout WorkspaceState) throws -> ChangeRecord {
        _ = try machine.apply(change, to: &state)
        return ChangeRecord(sequence: state.sequence, key: key, change: change)
    }

    private func create(_ name: String, duration: Int64 = 100, at moment: Int64) throws -> TaskChange {
        .create(
            name: try TaskName(parsing: name), type: .tiny, durationMilliseconds: duration,
            at: Timestamp(rawValue: moment))
    }

    private func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    @Test func firstRefreshSendsTheCurrentListAndAnUnchangedListIsNotSentAgain() throws {
        var feed = WorkspaceFeed(state: .empty)
        let first = feed.refresh(at: Timestamp(rawValue: 1_000), machine: machine)
        #expect(text(first.changed) == "[]")
        #expect(first.nextChange == nil)
        #expect(feed.refresh(at: Timestamp(rawValue: 2_000), machine: machine).changed == nil)
    }

    @Test func appliedRecordsFollowTheWriterAndTimedTransitionsAreScheduled() throws {
        var written = WorkspaceState.empty
        var feed = WorkspaceFeed(state: written)
        _ = feed.refresh(at: Timestamp(rawValue: 1_000), machine: machine)

        let record = try commit(create("a", at: 1_000), to: &written)
        #expect(feed.apply(record, machine: machine) == .applied)
        #expect(feed.state == written)

        let queued = feed.refresh(at: Timestamp(rawValue: 1_000), machine: machine)
        #expect(text(queued.changed) == #"[{"id":1,"name":"a","type":"gx.tiny","status":"queued"}]"#)
        #expect(queued.nextChange == Timestamp(rawValue: 1_001))

        let running = feed.refresh(at: Timestamp(rawValue: 1_001), machine: machine)
        #expect(text(running.changed) == #"[{"id":1,"name":"a","type":"gx.tiny","status":"running"}]"#)
        #expect(running.nextChange == Timestamp(rawValue: 1_100))

        let completed = feed.refresh(at: Timestamp(rawValue: 1_100), machine: machine)
        #expect(text(completed.changed) == #"[{"id":1,"name":"a","type":"gx.tiny","status":"completed"}]"#)
        #expect(completed.nextChange == nil)
    }

    @Test func olderRecordsAreIgnoredAndAGapAsksForARead() throws {
        var written = WorkspaceState.empty
        let first = try commit(create("a", at: 1_000), to: &written)
        let second = try commit(create("b", at: 1_001), to: &written)
        let third = try commit(create("c", at: 1_002), to: &written)

        var feed = WorkspaceFeed(state: .empty)
        #expect(feed.apply(first, machine: machine) == .applied)
        #expect(feed.apply(first, machine: machine) == .ignored)
        #expect(feed.apply(third, machine: machine) == .needsReread)
        #expect(feed.state.sequence == 1)

        feed.replace(with: written)
        #expect(feed.apply(second, machine: machine) == .ignored)
        #expect(feed.apply(third, machine: machine) == .ignored)
        #expect(feed.state == written)
    }

    @Test func aRecordThatDoesNotApplyAsksForARead() throws {
        var feed = WorkspaceFeed(state: .empty)
        let deleteMissing = ChangeRecord(
            sequence: 1, key: key, change: .delete(try #require(TaskID(rawValue: 9)), at: Timestamp(rawValue: 1)))
        #expect(feed.apply(deleteMissing, machine: machine) == .needsReread)
    }

    @Test func listsNeverGoBackInTimeWhenTheClockDoes() throws {
        var written = WorkspaceState.empty
        var feed = WorkspaceFeed(state: written)
        _ = try commit(create("a", at: 1_000), to: &written)
        feed.replace(with: written)
        let running = feed.refresh(at: Timestamp(rawValue: 1_050), machine: machine)
        #expect(text(running.changed)?.contains("running") == true)
        // The wall clock stepped back: the list stays as it was.
        #expect(feed.refresh(at: Timestamp(rawValue: 900), machine: machine).changed == nil)
    }
}
