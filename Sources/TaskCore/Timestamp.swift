/// A moment, in whole milliseconds since the Unix epoch. The core never reads a clock: callers pass `now` in.
public struct Timestamp: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: Int64

    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(milliseconds: Int64) { self.rawValue = milliseconds }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.rawValue < rhs.rawValue }

    public static func + (lhs: Timestamp, milliseconds: Int64) -> Timestamp {
        Timestamp(rawValue: lhs.rawValue &+ milliseconds)
    }

    public var description: String { "\(rawValue)ms" }

    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
