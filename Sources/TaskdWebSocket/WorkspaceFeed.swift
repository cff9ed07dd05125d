import TaskCore
import TaskStore

/// One watched workspace as the sidecar follows it: the stored state it holds, kept current by applying each logged
/// change, and the list it last sent. Pure: the caller passes `now` and decides when to re-read.
struct WorkspaceFeed: Sendable {
    /// What became of one change record.
    enum Application: Equatable, Sendable {
        /// The record was the next one and is now part of the held state.
        case applied
        /// The record is already part of the held state (an older record, or one seen before a re-read).
        case ignored
        /// A record is missing before this one, or it did not apply: the workspace must be read again.
        case needsReread
    }

    private(set) var state: WorkspaceState
    /// The bytes of the last list sent, `nil` before the first.
    private(set) var lastSent: [UInt8]?
    /// The latest moment a list was computed for; lists never go back before it, even if the clock does.
    private(set) var lastMoment: Timestamp

    init(state: WorkspaceState) {
        self.state = state
        self.lastSent = nil
        self.lastMoment = state.asOf
    }

    /// Applies `record` when it is the next change of the held state; the writer applied the same change to the same
    /// state, so the result is the same document.
    mutating func apply(_ record: ChangeRecord, machine: TaskStateMachine) -> Application {
        if record.sequence <= state.sequence { return .ignored }
        guard record.sequence == state.sequence + 1 else { return .needsReread }
        var next = state
        do {
            _ = try machine.apply(record.change, to: &next)
        } catch {
            return .needsReread
        }
        guard next.sequence == record.sequence else { return .needsReread }
        state = next
        return .applied
    }

    /// Replaces the held state with one read from the store: the document is the truth.
    mutating func replace(with read: WorkspaceState) {
        state = read
    }

    /// The list as of `now`: its bytes when they differ from the last list sent (which they then become), and the
    /// next moment the list changes by itself.
    mutating func refresh(at now: Timestamp, machine: TaskStateMachine) -> (changed: [UInt8]?, nextChange: Timestamp?) {
        let moment = max(now, lastMoment)
        lastMoment = moment
        let view = machine.view(of: state, at: moment)
        let bytes = WireFormat.taskList(view.tasks)
        if bytes == lastSent { return (nil, view.nextChange) }
        lastSent = bytes
        return (bytes, view.nextChange)
    }
}
