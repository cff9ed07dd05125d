import NIOCore

/// The subscribers of one workspace, grouped by event loop so that a list reaches each loop with one hop.
///
/// Each loop's subscribers are kept in an array (with an index for removal), so that handing them to their loop on
/// every change shares the array instead of building one.
struct SubscriberGroups {
    private struct Group {
        let loop: any EventLoop
        var members: [any WorkspaceSubscriber] = []
        var positions: [ObjectIdentifier: Int] = [:]
    }

    private var groups: [ObjectIdentifier: Group] = [:]

    var isEmpty: Bool { groups.isEmpty }

    var count: Int { groups.values.reduce(0) { $0 + $1.members.count } }

    mutating func insert(_ subscriber: any WorkspaceSubscriber) {
        let loopID = ObjectIdentifier(subscriber.eventLoop)
        let id = ObjectIdentifier(subscriber)
        var group = groups.removeValue(forKey: loopID) ?? Group(loop: subscriber.eventLoop)
        if group.positions[id] == nil {
            group.positions[id] = group.members.count
            group.members.append(subscriber)
        }
        groups[loopID] = group
    }

    mutating func remove(_ subscriber: any WorkspaceSubscriber) {
        let loopID = ObjectIdentifier(subscriber.eventLoop)
        guard groups[loopID]?.positions[ObjectIdentifier(subscriber)] != nil,
            var group = groups.removeValue(forKey: loopID),
            let position = group.positions.removeValue(forKey: ObjectIdentifier(subscriber))
        else { return }
        // The last member takes the removed one's place.
        let last = group.members.removeLast()
        if position < group.members.count {
            group.members[position] = last
            group.positions[ObjectIdentifier(last)] = position
        }
        if !group.members.isEmpty { groups[loopID] = group }
    }

    /// Runs `body` once per event loop, on that loop, with that loop's subscribers. Calls for one loop run in the
    /// order they were made (an event loop runs what it is given in order), so lists never overtake each other.
    /// Other loops are handed their share first, so that they write while the calling loop writes its own.
    func forEachLoop(_ body: @escaping @Sendable ([any WorkspaceSubscriber]) -> Void) {
        var local: [any WorkspaceSubscriber]?
        for group in groups.values {
            let members = group.members
            if group.loop.inEventLoop {
                local = members
            } else {
                group.loop.execute { body(members) }
            }
        }
        if let local { body(local) }
    }
}
