import TaskCore

/// Where a connection subscribes to its workspace's lists: the hub, or a stand-in in tests. A connection only
/// subscribes and unsubscribes; the lists come back through `WorkspaceSubscriber`.
protocol WorkspaceSubscriptions: Sendable {
    func subscribe(_ subscriber: any WorkspaceSubscriber, to key: WorkspaceKey)
    func unsubscribe(_ subscriber: any WorkspaceSubscriber, from key: WorkspaceKey)
}

extension WorkspaceHub: WorkspaceSubscriptions {}
