import TaskCore
import Testing

@testable import TaskStore

@Suite struct ChangeRecordTests {
    @Test func aRecordIsOneSortedJSONLineAsDocumented() throws {
        let record = ChangeRecord(
            sequence: 5, key: try Fixtures.key("acme", "default"),
            change: .create(
                name: try TaskName(parsing: "train"), type: .small, durationMilliseconds: 11873,
                at: Timestamp(milliseconds: 1_764_403_199_000)))
        let text = String(decoding: try WireFormat.encode(record), as: UTF8.self)
        #expect(
            text == #"{"change":{"create":{"at":1764403199000,"durationMilliseconds":11873,"name":"train","#
                + #""type":"gx.small"}},"key":{"tenant":"acme","workspace":"default"},"seq":5}"#)
        #expect(try WireFormat.decode(ChangeRecord.self, from: Array(text.utf8)) == record)
        let taskID = try #require(TaskID(rawValue: 3))
        for change in [
            TaskChange.delete(taskID, at: Timestamp(milliseconds: 9)), .flush(at: Timestamp(milliseconds: 9)),
        ] {
            let line = try WireFormat.encode(ChangeRecord(sequence: 1, key: record.key, change: change))
            #expect(!line.contains(UInt8(ascii: "\n")))
            #expect(try WireFormat.decode(ChangeRecord.self, from: line).change == change)
        }
    }

    /// The log is read as untrusted input: every number is range-checked like the journal's (`StoredLimits`).
    @Test(arguments: [
        #"{"change":{"flush":{"at":1}},"key":{"tenant":"acme","workspace":"default"},"seq":0}"#,
        #"{"change":{"flush":{"at":1}},"key":{"tenant":"acme","workspace":"default"},"seq":9007199254740992}"#,
        #"{"change":{"flush":{"at":-1}},"key":{"tenant":"acme","workspace":"default"},"seq":1}"#,
        #"{"change":{"flush":{"at":253402300800000}},"key":{"tenant":"acme","workspace":"default"},"seq":1}"#,
        #"{"change":{"delete":{"_0":9007199254740991,"at":1}},"key":{"tenant":"acme","workspace":"default"},"seq":1}"#,
        #"{"change":{"delete":{"_0":0,"at":1}},"key":{"tenant":"acme","workspace":"default"},"seq":1}"#,
        #"{"change":{"create":{"at":1,"durationMilliseconds":9223372036854775807,"name":"a","type":"gx.tiny"}},"#
            + #""key":{"tenant":"acme","workspace":"default"},"seq":1}"#,
        #"{"change":{"create":{"at":1,"durationMilliseconds":0,"name":"a","type":"gx.tiny"}},"#
            + #""key":{"tenant":"acme","workspace":"default"},"seq":1}"#,
        #"{"change":{"create":{"at":1,"durationMilliseconds":5,"name":" ","type":"gx.tiny"}},"#
            + #""key":{"tenant":"acme","workspace":"default"},"seq":1}"#,
        #"{"change":{"flush":{"at":1}},"key":{"tenant":"acme","workspace":"a b"},"seq":1}"#,
        #"{"change":{"flush":{"at":1}},"key":{"tenant":"ACME","workspace":"default"},"seq":1}"#,
    ])
    func aRecordWithAValueOutOfItsRangeDoesNotDecode(_ text: String) {
        #expect(throws: (any Error).self) { try WireFormat.decode(ChangeRecord.self, from: Array(text.utf8)) }
    }

    @Test func recordsAtTheEdgesOfTheRangesDecode() throws {
        let text =
            #"{"change":{"create":{"at":253402300799999,"durationMilliseconds":450000000,"name":"a","type":"gx.heavy"}},"#
            + #""key":{"tenant":"acme","workspace":"default"},"seq":9007199254740991}"#
        let record = try WireFormat.decode(ChangeRecord.self, from: Array(text.utf8))
        #expect(record.sequence == 9_007_199_254_740_991)
    }
}
