import HTTPTypes
import TaskCore
import Testing

@testable import TaskAPI

@Suite struct RouteTests {
    @Test(arguments: [
        ("/tasks", Route.Endpoint.tasks),
        ("/tasks/flush", .flush),
        ("/tasks/12", .task(rawID: "12")),
        ("/tasks/abc", .task(rawID: "abc")),
    ])
    func knownPathsResolve(path: String, endpoint: Route.Endpoint) {
        #expect(Route.Endpoint(path: path) == endpoint)
    }

    @Test(arguments: [
        "/", "", "/task", "/tasks/", "/tasks/1/", "/tasks/1/x", "/Tasks", "/tasksx", "//tasks", "/ws/tasks",
    ])
    func unknownPathsDoNotResolve(path: String) {
        #expect(Route.Endpoint(path: path) == nil)
    }

    @Test func methodsSelectTheOperation() throws {
        #expect(try Route.Endpoint.tasks.route(for: .get) == .listTasks)
        #expect(try Route.Endpoint.tasks.route(for: .post) == .createTask)
        #expect(try Route.Endpoint.flush.route(for: .post) == .flushTasks)
        #expect(try Route.Endpoint.task(rawID: "7").route(for: .delete) == .deleteTask(#require(TaskID(rawValue: 7))))
        #expect(try Route.Endpoint.tasks.route(for: .delete) == nil)
        #expect(try Route.Endpoint.flush.route(for: .get) == nil)
    }

    @Test func oneStepResolution() throws {
        #expect(try Route(method: .get, path: "/tasks") == .listTasks)
        #expect(try Route(method: .delete, path: "/tasks/3") == .deleteTask(#require(TaskID(rawValue: 3))))
        #expect(try Route(method: .options, path: "/tasks") == nil)
        #expect(try Route(method: .get, path: "/elsewhere") == nil)
        #expect(throws: ValidationError.self) { try Route(method: .delete, path: "/tasks/x") }
    }

    @Test(arguments: ["0", "-1", "abc", "1.5", "+3", " 3", "99999999999999999999", "0x10"])
    func malformedIDsAreRejected(rawID: String) {
        #expect(throws: ValidationError.self) { try Route.Endpoint.task(rawID: rawID[...]).route(for: .delete) }
    }

    @Test func allowedMethodsIncludeOptions() {
        #expect(Route.Endpoint.tasks.allowedMethods == [.get, .post, .options])
        #expect(Route.Endpoint.flush.allowedMethods == [.post, .options])
        #expect(Route.Endpoint.task(rawID: "1").allowedMethods == [.delete, .options])
    }
}
