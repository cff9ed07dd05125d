import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP answer as the tests look at it.
struct HTTPAnswer: Sendable, CustomStringConvertible {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    /// When the answer's last byte was read, on the client's event loop (not when the awaiting task resumed).
    var receivedAt: ContinuousClock.Instant?

    /// The first value of a header, case-insensitively.
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body parsed as a JSON object; throws when it is not one.
    func jsonObject() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw HarnessError("Expected a JSON object, got: \(text.prefix(300))")
        }
        return object
    }

    /// The `code` of an error answer.
    var errorCode: String? { (try? jsonObject())?["code"] as? String }

    var description: String {
        "HTTP \(status) \(headers.map { "\($0.name): \($0.value)" }.joined(separator: "; ")) \(text.prefix(400))"
    }
}

/// A small HTTP/1.1 client on SwiftNIO: one connection per request, a deadline on every request.
struct HTTPClient: Sendable {
    let host: String
    let port: Int
    let timeout: TimeAmount
    let group: any EventLoopGroup

    init(
        host: String = "127.0.0.1", port: Int, timeout: TimeAmount = .seconds(10),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.host = host
        self.port = port
        self.timeout = timeout
        self.group = group
    }

    func get(_ target: String, headers: [(String, String)] = []) async throws -> HTTPAnswer {
        try await request("GET", target, headers: headers)
    }

    func post(_ target: String, json: String, headers: [(String, String)] = []) async throws -> HTTPAnswer {
        try await request(
            "POST", target, headers: [("Content-Type", "application/json")] + headers, body: Array(json.utf8))
    }

    func delete(_ target: String, headers: [(String, String)] = []) async throws -> HTTPAnswer {
        try await request("DELETE", target, headers: headers)
    }

    /// Sends one request; `body` (when given) is sent with a Content-Length.
    func request(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws -> HTTPAnswer {
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: target)
        head.headers.add(name: "Host", value: "\(host):\(port)")
        if !headers.contains(where: { $0.0.lowercased() == "connection" }) {
            head.headers.add(name: "Connection", value: "close")
        }
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if let body { head.headers.replaceOrAdd(name: "Content-Length", value: "\(body.count)") }
        let requestHead = head

        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: HTTPAnswer.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(AnswerCollector(promise: promise))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            promise.fail(error)
            throw HarnessError("Cannot connect to \(host):\(port): \(error)")
        }
        let timeoutTask = eventLoop.scheduleTask(in: timeout) {
            promise.fail(HarnessError("No complete answer to \(method) \(target.prefix(120)) within \(self.timeout)"))
            channel.close(promise: nil)
        }
        channel.write(HTTPClientRequestPart.head(requestHead), promise: nil)
        if let body {
            channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
        }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        do {
            let answer = try await promise.futureResult.get()
            timeoutTask.cancel()
            return answer
        } catch {
            timeoutTask.cancel()
            channel.close(promise: nil)
            throw error
        }
    }

    /// Sends raw bytes and returns everything the server sends until it closes the connection (for requests no
    /// well-behaved client would build, such as a malformed request line).
    func exchangeRaw(_ bytes: [UInt8]) async throws -> String {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = eventLoop.makePromise(of: [UInt8].self)
        let channel = try await ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RawCollector(promise: promise))
                }
            }
            .connect(host: host, port: port).get()
        let timeoutTask = eventLoop.scheduleTask(in: timeout) {
            promise.fail(HarnessError("The server did not close the connection within \(self.timeout)"))
            channel.close(promise: nil)
        }
        channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
        defer { timeoutTask.cancel() }
        return String(decoding: try await promise.futureResult.get(), as: UTF8.self)
    }
}

private final class AnswerCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<HTTPAnswer>
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []

    init(promise: EventLoopPromise<HTTPAnswer>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body(var buffer):
            body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
        case .end:
            if let head {
                promise.succeed(
                    HTTPAnswer(
                        status: Int(head.status.code), headers: head.headers.map { (name: $0.name, value: $0.value) },
                        body: body, receivedAt: .now))
            } else {
                promise.fail(HarnessError("The answer ended before its head"))
            }
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(HarnessError("The server closed the connection before a complete answer"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}

private final class RawCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let promise: EventLoopPromise<[UInt8]>
    private var received: [UInt8] = []

    init(promise: EventLoopPromise<[UInt8]>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(received)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.succeed(received)
        context.close(promise: nil)
    }
}
