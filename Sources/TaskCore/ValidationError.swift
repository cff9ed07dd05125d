/// Input that breaks one of the API's rules, naming the parameter and what was expected.
public struct ValidationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The parameter or body field at fault, as the client spells it (`workspace_id`, `name`, `type`, `id`, `body`).
    public let parameter: String
    /// A sentence a person can act on.
    public let message: String

    public init(parameter: String, message: String) {
        self.parameter = parameter
        self.message = message
    }

    public var description: String { message }
}
