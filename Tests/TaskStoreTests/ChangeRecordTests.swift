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
}
