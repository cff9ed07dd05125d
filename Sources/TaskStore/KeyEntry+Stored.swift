import TaskCore

extension KeyEntry {
    /// One element of a `keys` array as written, before `KeyEntry.validated` checks its rules. Reading one never
    /// fails: a field of the wrong JSON type, or an element that is not an object, becomes `flaw`, so that one
    /// damaged entry is reported by itself while the others still count.
    struct Stored: Decodable {
        var id: String?
        var tenant: String?
        var sha256: String?
        var createdAt: Int64?
        var shard: Int64?
        /// The first field (in the file's key order) whose JSON type is wrong, or the element itself (an empty
        /// field) when it is not an object.
        var flaw: Flaw?

        init(from decoder: any Decoder) {
            guard let container = try? decoder.container(keyedBy: CodingKeys.self) else {
                flaw = Flaw(field: "", message: "not an object")
                return
            }
            var firstFlaw: Flaw?
            func read<Value: Decodable>(_ key: CodingKeys, _ type: Value.Type, _ expected: String) -> Value? {
                do {
                    return try container.decodeIfPresent(type, forKey: key)
                } catch {
                    if firstFlaw == nil { firstFlaw = Flaw(field: key.stringValue, message: "not \(expected)") }
                    return nil
                }
            }
            createdAt = read(.createdAt, Int64.self, "an integer")
            id = read(.id, String.self, "a string")
            sha256 = read(.sha256, String.self, "a string")
            shard = read(.shard, Int64.self, "an integer")
            tenant = read(.tenant, String.self, "a string")
            flaw = firstFlaw
        }
    }
}
