import TaskCore

/// What the body of `WorkspaceStore.update` decided: the change to commit (nil: write nothing) and what to return.
public struct StoreUpdate<Result> {
    /// The change the body applied to the state; the store writes the state and logs this change.
    public var change: TaskChange?
    public var result: Result

    public init(change: TaskChange?, result: Result) {
        self.change = change
        self.result = result
    }
}

extension StoreUpdate: Sendable where Result: Sendable {}
