import Foundation
import TaskCore
import Testing

@testable import TaskStore

/// Keys carry their shard and public id; the front nginx reads both with regular expressions that must accept
/// exactly what `KeyFormat.route(of:)` accepts.
@Suite struct KeyFormatTests {
    /// The front template's two key expressions, as nginx sees them: (shard expression, id expression).
    static func frontExpressions() throws -> (shard: NSRegularExpression, id: NSRegularExpression) {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let template = try String(
            contentsOf: root.appendingPathComponent("nginx/front.conf.template"), encoding: .utf8)
        let patterns = template.split(separator: "\n").compactMap { line -> String? in
            guard let start = line.range(of: "\"~^tk_s"), let end = line.range(of: "$\" ") else { return nil }
            return String(line[line.index(after: start.lowerBound)..<line.index(after: end.lowerBound)].dropFirst())
        }
        try #require(patterns.count == 2, "the front template should have two key expressions: \(patterns)")
        return (try NSRegularExpression(pattern: patterns[0]), try NSRegularExpression(pattern: patterns[1]))
    }

    /// What nginx would route: the named group of the first expression that matches the whole key.
    static func nginxRoute(of key: String, _ expressions: (shard: NSRegularExpression, id: NSRegularExpression))
        -> (shard: Int, id: String)?
    {
        let range = NSRange(key.startIndex..., in: key)
        guard let shardMatch = expressions.shard.firstMatch(in: key, range: range),
            let idMatch = expressions.id.firstMatch(in: key, range: range),
            let shardRange = Range(shardMatch.range(withName: "shard"), in: key),
            let idRange = Range(idMatch.range(withName: "id"), in: key), let shard = Int(key[shardRange])
        else { return nil }
        return (shard, "k_" + key[idRange])
    }

    @Test(arguments: [1, 2, 17, 9_999])
    func issuedKeysNameTheirShardAndID(shard: Int) throws {
        let directory = try TemporaryDirectory()
        let issued = try KeysFile.issue(tenant: TenantID(parsing: "acme"), shard: shard, path: directory.path + "/k")
        let route = try #require(KeyFormat.route(of: issued.key))
        #expect(route.shard == shard && route.id == issued.entry.id)
        #expect(issued.entry.shard == shard)
        #expect(issued.key.hasPrefix("tk_s\(shard)_") && issued.key.count == 6 + "\(shard)".count + 12 + 43)
        #expect(KeyFormat.routedID(ofEntryID: issued.entry.id) == String(issued.entry.id.dropFirst(2)))
        let nginx = try #require(Self.nginxRoute(of: issued.key, try Self.frontExpressions()))
        #expect(nginx.shard == shard && nginx.id == issued.entry.id)
    }

    @Test func keysWithoutAShardAreNotRouted() throws {
        let expressions = try Self.frontExpressions()
        let secret = String(repeating: "A", count: 43)
        let refused = [
            "tk_" + secret,  // issued before shards existed
            "tk_s0_0123456789ab_" + secret, "tk_s01_0123456789ab_" + secret, "tk_s10000_0123456789ab_" + secret,
            "tk_s1_0123456789AB_" + secret, "tk_s1_0123456789a_" + secret, "tk_s1_0123456789ab_" + secret + "A",
            "tk_s1_0123456789ab_" + secret.dropLast(), "tk_s1_0123456789ab_" + secret.dropLast() + "=",
            "tk_s1_0123456789ab" + secret, "tk_s_0123456789ab_" + secret, "", "tk_s1_",
            "x" + "tk_s1_0123456789ab_" + secret,
        ]
        for key in refused {
            #expect(KeyFormat.route(of: key) == nil, "\(key)")
            #expect(Self.nginxRoute(of: key, expressions) == nil, "\(key)")
        }
        #expect(KeyFormat.routedID(ofEntryID: "k_0123456789AB") == nil)
        #expect(KeyFormat.routedID(ofEntryID: "0123456789ab") == nil)
    }

    /// Random near-keys (a valid key with a few characters changed, dropped or added) are routed alike by the parser
    /// and by the front's expressions.
    @Test func theParserAndTheFrontAgreeOnRandomNearKeys() throws {
        let expressions = try Self.frontExpressions()
        var generator = SplitMix(state: 0x5EED_0013)
        let alphabet = Array("tks_0123456789abcdefABCDEFXYZxyz-=.%")
        var routed = 0
        for _ in 0..<4_000 {
            var key = Array(
                KeyFormat.key(
                    shard: Int.random(in: 1...12_000, using: &generator) % 9_999 + 1,
                    id: "k_" + String(format: "%012llx", UInt64.random(in: 0..<(1 << 48), using: &generator)),
                    secret: (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }))
            for _ in 0..<Int.random(in: 0...2, using: &generator) {
                let position = Int.random(in: 0..<key.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: key[position] = alphabet.randomElement(using: &generator) ?? "x"
                case 1: key.remove(at: position)
                default: key.insert(alphabet.randomElement(using: &generator) ?? "x", at: position)
                }
            }
            let text = String(key)
            let parsed = KeyFormat.route(of: text)
            let nginx = Self.nginxRoute(of: text, expressions)
            #expect(parsed?.shard == nginx?.shard && parsed?.id == nginx?.id, "\(text)")
            if parsed != nil { routed += 1 }
        }
        #expect(routed > 1_000, "too few valid keys among the samples to mean anything: \(routed)")
    }

    /// SplitMix64: deterministic, so that a failing sample can be replayed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
