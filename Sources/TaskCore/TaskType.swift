/// The six kinds of task; a type sets how long its tasks run.
public enum TaskType: String, Sendable, Codable, CaseIterable {
    case tiny = "gx.tiny"
    case micro = "gx.micro"
    case small = "gx.small"
    case medium = "gx.medium"
    case large = "gx.large"
    case heavy = "gx.heavy"

    /// The base duration in milliseconds, before the random factor and the deployment's time scale.
    public var baseDurationMilliseconds: Int64 {
        switch self {
        case .tiny: 3_000
        case .micro: 5_000
        case .small: 10_000
        case .medium: 30_000
        case .large: 120_000
        case .heavy: 300_000
        }
    }

    /// Every type's name, in order, for messages that list the allowed values.
    public static let allowedValuesText = allCases.map(\.rawValue).joined(separator: ", ")

    /// Parses the `type` field of a create.
    public init(parsing text: String) throws(ValidationError) {
        guard let type = TaskType(rawValue: text) else {
            throw ValidationError(
                parameter: "type",
                message: "Field 'type' must be one of \(TaskType.allowedValuesText); got '\(text.prefix(40))'.")
        }
        self = type
    }
}
