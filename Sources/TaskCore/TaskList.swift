/// A workspace's tasks, by ascending id: an array kept in chunks of 512, each its own copy-on-write buffer.
///
/// Every change to a workspace makes a new version of its state while readers may still hold the previous one, so
/// with one flat array every change would copy every task (about 10,000 for a full workspace). Split in chunks, a
/// new version shares every chunk it does not touch: a create copies the last chunk and the chunks where starts were
/// learned, and two versions are compared chunk by chunk, skipping the chunks they share.
///
/// Invariant: every chunk but the last holds exactly `chunkSize` tasks, and no chunk is empty, so position `i` is
/// element `i % chunkSize` of chunk `i / chunkSize`.
public struct TaskList: RandomAccessCollection, MutableCollection, RangeReplaceableCollection, Sendable {
    static let chunkSize = 512

    private var chunks: [[StoredTask]]
    public private(set) var count: Int

    public init() {
        chunks = []
        count = 0
    }

    public init(_ tasks: some Sequence<StoredTask>) {
        self.init()
        append(contentsOf: tasks)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> StoredTask {
        get {
            precondition(position >= 0 && position < count, "TaskList index out of range")
            return chunks[position / Self.chunkSize][position % Self.chunkSize]
        }
        _modify {
            precondition(position >= 0 && position < count, "TaskList index out of range")
            yield &chunks[position / Self.chunkSize][position % Self.chunkSize]
        }
    }

    public mutating func append(_ task: StoredTask) {
        if count % Self.chunkSize == 0 {
            var chunk: [StoredTask] = []
            chunk.reserveCapacity(Self.chunkSize)
            chunk.append(task)
            chunks.append(chunk)
        } else {
            chunks[chunks.count - 1].append(task)
        }
        count += 1
    }

    public mutating func append(contentsOf tasks: some Sequence<StoredTask>) {
        for task in tasks { append(task) }
    }

    /// Rebuilds from the first chunk the range touches: appends are `append`'s business, and removals or inserts
    /// in the middle are rarer and cost the rest of the list anyway.
    public mutating func replaceSubrange<C: Collection<StoredTask>>(_ range: Range<Int>, with tasks: C) {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "TaskList range out of bounds")
        let firstChunk = range.lowerBound / Self.chunkSize
        let kept = firstChunk * Self.chunkSize
        let rest = Array(self[kept..<range.lowerBound]) + Array(tasks) + Array(self[range.upperBound...])
        chunks.removeSubrange(firstChunk...)
        count = kept
        append(contentsOf: rest)
    }

    public mutating func reserveCapacity(_ capacity: Int) {
        chunks.reserveCapacity((capacity + Self.chunkSize - 1) / Self.chunkSize)
    }

    /// Whether the chunk starting at `position` is the same buffer in both lists (so the same tasks): the chunks a
    /// change did not touch.
    func sharesChunk(with other: TaskList, at position: Int) -> Bool {
        guard position % Self.chunkSize == 0 else { return false }
        let chunk = position / Self.chunkSize
        guard chunk < chunks.count, chunk < other.chunks.count else { return false }
        let mine = chunks[chunk]
        let theirs = other.chunks[chunk]
        guard mine.count == theirs.count else { return false }
        return mine.withUnsafeBufferPointer { lhs in
            theirs.withUnsafeBufferPointer { rhs in lhs.baseAddress == rhs.baseAddress }
        }
    }
}

extension TaskList: Hashable {
    public static func == (lhs: TaskList, rhs: TaskList) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var position = 0
        while position < lhs.count {
            if lhs.sharesChunk(with: rhs, at: position) {
                position += chunkSize
                continue
            }
            guard lhs[position] == rhs[position] else { return false }
            position += 1
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for task in self { hasher.combine(task) }
    }
}

extension TaskList: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(try [StoredTask](from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try Array(self).encode(to: encoder)
    }
}

extension TaskList: CustomStringConvertible {
    public var description: String { Array(self).description }
}
