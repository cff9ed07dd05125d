/// A binary min-heap of integers: the end times of running tasks while a schedule is computed.
struct MinHeap {
    private var storage: [Int64] = []

    init(reservingCapacity capacity: Int = 0) { storage.reserveCapacity(capacity) }

    var count: Int { storage.count }

    mutating func push(_ value: Int64) {
        storage.append(value)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard storage[child] < storage[parent] else { break }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the smallest value; `nil` when empty.
    mutating func popMin() -> Int64? {
        guard let last = storage.popLast() else { return nil }
        guard !storage.isEmpty else { return last }
        let minimum = storage[0]
        storage[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < storage.count, storage[left] < storage[smallest] { smallest = left }
            if right < storage.count, storage[right] < storage[smallest] { smallest = right }
            guard smallest != parent else { break }
            storage.swapAt(parent, smallest)
            parent = smallest
        }
        return minimum
    }
}
