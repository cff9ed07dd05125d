import HTTPTypes
import Testing

@testable import TaskAPI

@Suite struct CORSPolicyTests {
    @Test func starAnywhereAllowsAnyOrigin() {
        #expect(CORSPolicy(origins: ["https://a.example", "*"]).allowsAnyOrigin)
        #expect(CORSPolicy(origins: []).allowsAnyOrigin)
        #expect(!CORSPolicy(origins: ["https://a.example"]).allowsAnyOrigin)
    }

    @Test(arguments: ["content-type", "Content-Type, X-Requested-With", "a,b"])
    func headerNameListsAreEchoed(value: String) {
        #expect(CORSPolicy.isHeaderNameList(value))
    }

    @Test(arguments: ["", " , ", "a;b", "a\r\nb", String(repeating: "a", count: 2_000)])
    func otherValuesAreNot(value: String) {
        #expect(!CORSPolicy.isHeaderNameList(value))
    }
}
