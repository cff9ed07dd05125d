import TaskCore

/// The body of `POST /tasks`: a JSON object with a string `name` and a string `type`; other keys are ignored.
struct CreateTaskBody: Sendable, Equatable {
    let name: TaskName
    let type: TaskType

    /// Parses and validates a body already checked for size and media type. Every failure names what was wrong.
    init(parsing body: [UInt8]) throws(ValidationError) {
        guard body.contains(where: { !Self.isJSONWhitespace($0) }) else {
            throw ValidationError(
                parameter: "body",
                message: #"The request body is empty; send a JSON object such as {"name":"build","type":"gx.tiny"}."#)
        }
        let raw: RawBody
        do {
            raw = try WireFormat.decode(RawBody.self, from: body)
        } catch DecodingError.typeMismatch {
            throw ValidationError(
                parameter: "body",
                message: #"The request body must be a JSON object such as {"name":"build","type":"gx.tiny"}."#)
        } catch {
            throw ValidationError(
                parameter: "body", message: "The request body is not valid JSON (UTF-8, at most 512 levels deep).")
        }
        guard case .string(let nameText) = raw.name else {
            throw ValidationError(parameter: "name", message: "Field 'name' is required and must be a string.")
        }
        guard case .string(let typeText) = raw.type else {
            throw ValidationError(
                parameter: "type",
                message: "Field 'type' is required and must be one of \(TaskType.allowedValuesText).")
        }
        self.name = try TaskName(parsing: nameText)
        self.type = try TaskType(parsing: typeText)
    }

    private static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// The two fields as sent, whatever their JSON type, so that the messages can tell "missing" from "wrong type".
    private struct RawBody: Decodable {
        let name: Field?
        let type: Field?
    }

    private enum Field: Decodable {
        case string(String)
        case other

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .string(text)
            } else {
                self = .other
            }
        }
    }
}
