import NIOCore

/// The subscribers of one workspace, grouped by event loop so that a list reaches each loop with one hop.
struct SubscriberGroups {
    private struct Group {
        let loop: any EventLoop
        var members: [ObjectIdentifier: any WorkspaceSubscriber]
    }

    private var groups: [ObjectIdentifier: Group] = [:]

    var isEmpty: Bool { groups.isEmpty }

    var count: Int { groups.values.reduce(0) { $0 + $1.members.count } }

    mutating func insert(_ subscriber: any WorkspaceSubscriber) {
        let loopID = ObjectIdentifier(subscriber.eventLoop)
        groups[loopID, default: Group(loop: subscriber.eventLoop, members: [:])]
            .members[ObjectIdentifier(subscriber)] = subscriber
    }

    mutating func remove(_ subscriber: any WorkspaceSubscriber) {
        let loopID = ObjectIdentifier(subscriber.eventLoop)
        groups[loopID]?.members[ObjectIdentifier(subscriber)] = nil
        if groups[loopID]?.members.isEmpty == true { groups[loopID] = nil }
    }

    /// Runs `body` once per event loop, on that loop, with that loop's subscribers. Calls for one loop run in the
    /// order they were made (an event loop runs what it is given in order), so lists never overtake each other.
    /// Other loops are handed their share first, so that they write while the calling loop writes its own.
    func forEachLoop(_ body: @escaping @Sendable ([any WorkspaceSubscriber]) -> Void) {
        var local: [any WorkspaceSubscriber] = []
        for group in groups.values {
            let members = Array(group.members.values)
            if group.loop.inEventLoop {
                local = members
            } else {
                group.loop.execute { body(members) }
            }
        }
        if !local.isEmpty { body(local) }
    }
}
