import Testing

@testable import TaskCore

struct WorkspaceIDTests {
    @Test(arguments: ["default", "a", "A-z_09", "[", "\\", "]", "^", "`", String(repeating: "w", count: 64)])
    func acceptsThePatternAsWritten(_ text: String) throws {
        #expect(try WorkspaceID(parsing: text).rawValue == text)
    }

    @Test(arguments: [
        "", " ", "a b", "a.b", "a/b", "..", "é", "a\u{0}", "{", "@", "~", String(repeating: "w", count: 65),
    ])
    func rejectsEverythingElse(_ text: String) {
        #expect(throws: ValidationError.self) { try WorkspaceID(parsing: text) }
    }

    @Test func errorNamesTheParameter() {
        do {
            _ = try WorkspaceID(parsing: "a.b")
            Issue.record("accepted a.b")
        } catch {
            #expect(error.parameter == "workspace_id")
            #expect(error.message.contains("workspace_id"))
        }
    }
}

struct TaskNameTests {
    @Test(arguments: ["abc", " padded ", "a\nb", "日本語", "👩‍👩‍👧", "\"quoted\" \\ /", String(repeating: "x", count: 256)])
    func keepsValidNamesExactly(_ text: String) throws {
        #expect(try TaskName(parsing: text).rawValue == text)
    }

    @Test(arguments: ["", " ", "\t\n ", "\u{3000}", String(repeating: "x", count: 257)])
    func rejectsEmptyBlankAndLongNames(_ text: String) {
        #expect(throws: ValidationError.self) { try TaskName(parsing: text) }
    }

    @Test func countsCodePointsNotBytes() throws {
        let emoji = String(repeating: "👍", count: 256)
        #expect(try TaskName(parsing: emoji).rawValue.unicodeScalars.count == 256)
        #expect(emoji.utf8.count == 1024)
        #expect(throws: ValidationError.self) { try TaskName(parsing: emoji + "a") }
    }

    @Test func countsCodePointsAsJSONSchemaDoesNotGraphemes() throws {
        // One user-perceived character made of 257 code points (513 bytes): JSON Schema's maxLength counts 257.
        let piled = "a" + String(repeating: "\u{301}", count: 256)
        #expect(piled.count == 1 && piled.unicodeScalars.count == 257)
        let error = #expect(throws: ValidationError.self) { try TaskName(parsing: piled) }
        #expect(error?.message.contains("256 characters") == true)
        #expect(try TaskName(parsing: String(piled.unicodeScalars.dropLast().map(Character.init))).rawValue.count == 1)
        // A name stored by an older version, which counted graphemes, still reads back.
        #expect(try TaskName(stored: piled).rawValue == piled)
    }

    @Test func isAtMostOneKibibyteOfUTF8WhateverItsCharacters() throws {
        // One character: "a" and 30,000 combining marks, 60 KB.
        let heavy = "a" + String(repeating: "\u{301}", count: 30_000)
        #expect(heavy.count == 1)
        let error = #expect(throws: ValidationError.self) { try TaskName(parsing: heavy) }
        #expect(error?.parameter == "name")
        #expect(error?.message.contains("1024 bytes") == true)
        // A name stored by an older version, before the byte limit, still reads back.
        #expect(try TaskName(stored: heavy).rawValue == heavy)
        #expect(throws: ValidationError.self) { try TaskName(stored: String(repeating: "x", count: 257)) }
    }
}

struct TaskIDTests {
    @Test(arguments: [("1", Int64(1)), ("42", 42), ("007", 7), ("999999999999999999", 999_999_999_999_999_999)])
    func parsesPositiveDecimals(_ text: String, _ value: Int64) throws {
        #expect(try TaskID(parsing: text).rawValue == value)
    }

    @Test(arguments: ["", "0", "-1", "+1", "1.0", "1e3", " 1", "1 ", "0x10", "abc", "١", "9999999999999999999"])
    func rejectsAnythingElse(_ text: String) {
        #expect(throws: ValidationError.self) { try TaskID(parsing: text) }
    }

    @Test func rawValueMustBePositive() {
        #expect(TaskID(rawValue: 0) == nil)
        #expect(TaskID(rawValue: -5) == nil)
        #expect(TaskID(rawValue: 5)?.rawValue == 5)
    }
}

struct TaskTypeTests {
    @Test func baseDurationsAreTheContractsOnes() {
        let bases = Dictionary(
            uniqueKeysWithValues: TaskType.allCases.map { ($0.rawValue, $0.baseDurationMilliseconds) })
        #expect(
            bases == [
                "gx.tiny": 3_000, "gx.micro": 5_000, "gx.small": 10_000, "gx.medium": 30_000, "gx.large": 120_000,
                "gx.heavy": 300_000,
            ])
    }

    @Test func unknownTypeMessageListsTheAllowedOnes() {
        do {
            _ = try TaskType(parsing: "gx.huge")
            Issue.record("accepted gx.huge")
        } catch {
            #expect(error.parameter == "type")
            for type in TaskType.allCases { #expect(error.message.contains(type.rawValue)) }
        }
    }

    @Test func typeNamesAreCaseSensitive() {
        #expect(throws: ValidationError.self) { try TaskType(parsing: "GX.TINY") }
    }
}

struct TenantIDTests {
    @Test(arguments: ["acme", "a", "team-1.prod_x", String(repeating: "t", count: 64)])
    func acceptsAdminNames(_ text: String) throws {
        #expect(try TenantID(parsing: text).rawValue == text)
    }

    @Test(arguments: ["", "-a", ".a", "A", "a/b", "a b", "..", String(repeating: "t", count: 65)])
    func rejectsOthers(_ text: String) {
        #expect(throws: ValidationError.self) { try TenantID(parsing: text) }
    }
}

struct APIKeyTests {
    @Test func neverPrintsTheSecret() throws {
        let key = try #require(APIKey("tk_secret"))
        #expect(!"\(key)".contains("secret"))
        #expect(!String(reflecting: key).contains("secret"))
    }

    @Test func missingOrEmptyIsNoKey() {
        #expect(APIKey(nil) == nil)
        #expect(APIKey("") == nil)
        #expect(APIKey(String(repeating: "k", count: 257)) == nil)
    }
}

struct SchedulePolicyTests {
    @Test func durationsStayWithinHalfToOneAndAHalfTimesTheBase() throws {
        let policy = try SchedulePolicy(slots: 6, timeScale: 1)
        var generator = SeededGenerator(seed: 7)
        for type in TaskType.allCases {
            for _ in 0..<2_000 {
                let duration = policy.drawDuration(for: type, using: &generator)
                #expect(duration >= type.baseDurationMilliseconds / 2)
                #expect(duration < type.baseDurationMilliseconds * 3 / 2)
            }
        }
    }

    @Test func timeScaleShrinksDurationsButNeverBelowTheMinimum() throws {
        let policy = try SchedulePolicy(slots: 6, timeScale: 0.000_001)
        var generator = SeededGenerator(seed: 1)
        #expect(policy.drawDuration(for: .heavy, using: &generator) == SchedulePolicy.minimumDurationMilliseconds)
    }

    @Test(arguments: [(0, 1.0), (6, 0.0), (6, -1.0), (6, Double.nan), (6, Double.infinity)])
    func rejectsUnusableSettings(_ slots: Int, _ scale: Double) {
        #expect(throws: ValidationError.self) { try SchedulePolicy(slots: slots, timeScale: scale) }
    }
}
