import Foundation
import Testing

/// Open mode, where every new key is a new tenant: the state directory's tenants and workspaces are bounded as a
/// whole, answered 429 with a message an honest user can act on, while everything that exists goes on.
@Suite(.timeLimit(.minutes(1)))
struct RESTOpenModeTests {
    @Test func newTenantsAndWorkspacesBeyondTheOpenModeBoundsAre429AndExistingOnesGoOn() async throws {
        var options = TaskdHarness.Options()
        options.openMode = true
        options.startWebSocket = false
        options.environment["TASKD_OPEN_MAX_TENANTS"] = "2"
        options.environment["TASKD_OPEN_MAX_WORKSPACES"] = "3"
        try await TaskdHarness.with(options) { harness in
            _ = try await harness.createTask(key: "sandbox-one")
            _ = try await harness.createTask(key: "sandbox-two")
            let newTenant = try await harness.client.post(
                harness.target("/tasks", key: "sandbox-three"), json: TaskdHarness.taskBody(name: "x", type: "gx.tiny"))
            expectError(newTenant, status: 429, code: "limit_exceeded")
            let tenantMessage = try newTenant.jsonObject()["message"] as? String ?? ""
            #expect(
                tenantMessage.contains("2 tenants") && tenantMessage.contains("keep using a key"), "\(tenantMessage)")
            #expect(!tenantMessage.contains(harness.stateDirectory.path))
            // Reading creates nothing and is answered.
            #expect(try await harness.listTasks(key: "sandbox-three").isEmpty)

            _ = try await harness.createTask(key: "sandbox-one", workspace: "second")
            let newWorkspace = try await harness.client.post(
                harness.target("/tasks", key: "sandbox-two", workspace: "second"),
                json: TaskdHarness.taskBody(name: "x", type: "gx.tiny"))
            expectError(newWorkspace, status: 429, code: "limit_exceeded")
            let workspaceMessage = try newWorkspace.jsonObject()["message"] as? String ?? ""
            #expect(workspaceMessage.contains("3 workspaces") && workspaceMessage.contains("workspace_id"))

            // Existing tenants and workspaces are written as before.
            #expect(try await harness.createTask(key: "sandbox-two").id == 2)
            #expect(try await harness.createTask(key: "sandbox-one", workspace: "second").id == 2)
            let usage = try String(
                contentsOf: harness.stateDirectory.appendingPathComponent("workspaces/.usage"), encoding: .utf8)
            #expect(usage == "tenants 2\nworkspaces 3\n")
        }
    }
}
