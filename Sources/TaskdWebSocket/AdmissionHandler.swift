import HTTPTypes
import NIOCore
import NIOHTTP1
import TaskAPI
import TaskCore

/// Holds the connection's one request until it is decided, in front of NIO's upgrade handler: a refused request is
/// answered here with its JSON error and the connection closed; an accepted one is passed on to the upgrader, and this
/// handler leaves the pipeline.
///
/// The decision is made once, from the request head, and completes `decided`, which the upgrader's `shouldUpgrade`
/// and the stream it starts read. A request NIO's parser cannot read is answered 400 here too. If the connection ends
/// before a head arrives, `decided` fails.
///
/// It holds a bounded amount whatever the client sends: the head (NIO's parser limits it to 80 KiB), never a body
/// (a handshake has none: up to `maximumBodyBytes` is read and dropped, more is answered 413), nothing after the
/// request (pipelined requests are dropped); and once the request is complete it reads nothing more until the request
/// is decided, so bytes sent meanwhile wait in the client's socket, not in the server.
final class AdmissionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Decides a request from its head (on the channel's event loop, or completing there).
    typealias Decide = @Sendable (HTTPRequestHead, any Channel) -> EventLoopFuture<UpgradeGate.Admission>

    /// The most body bytes read (and dropped) before the request is answered 413.
    static let maximumBodyBytes = 65_536

    private let api: APIHandler
    private let decide: Decide
    private let decided: EventLoopPromise<UpgradeGate.Admission>
    /// The request's head, passed on once it is accepted.
    private var head: HTTPRequestHead?
    private var admission: UpgradeGate.Admission?
    private var bodyBytes = 0
    private var hasEnd = false
    private var isDone = false
    private var isRemoved = false
    /// A read the pipeline asked for while the complete request waits for its decision.
    private var isReadHeld = false

    init(api: APIHandler, decided: EventLoopPromise<UpgradeGate.Admission>, decide: @escaping Decide) {
        self.api = api
        self.decided = decided
        self.decide = decide
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isDone, !hasEnd else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard self.head == nil else { return }
            self.head = head
            decide(head, context.channel).hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
                guard !self.isRemoved else {
                    self.decided.completeWith(result)
                    return
                }
                switch result {
                case .success(let admission):
                    self.admission = admission
                    self.decided.succeed(admission)
                    self.proceedIfComplete(context: context)
                case .failure(let error):
                    // The thread pool is gone: the server is stopping.
                    self.decided.fail(error)
                    self.isDone = true
                    context.close(promise: nil)
                }
            }
        case .body(let part):
            bodyBytes += part.readableBytes
            if bodyBytes > Self.maximumBodyBytes {
                isDone = true
                refuseBody(context: context)
            }
        case .end:
            hasEnd = true
            proceedIfComplete(context: context)
        }
    }

    /// Answers 413 to a request whose body is over the limit (whatever the gate decides), and closes.
    private func refuseBody(context: ChannelHandlerContext) {
        guard let head, let request = try? Request(head: head) else {
            context.close(promise: nil)
            return
        }
        respond(api.errorResponse(for: BodyError.tooLarge(limit: Self.maximumBodyBytes), to: request), context: context)
    }

    func read(context: ChannelHandlerContext) {
        if hasEnd, !isDone {
            isReadHeld = true
        } else {
            context.read()
        }
    }

    /// Once the request is read to its end and decided: answer a refusal, or hand the request to the upgrader.
    private func proceedIfComplete(context: ChannelHandlerContext) {
        guard hasEnd, let admission, !isDone else { return }
        isDone = true
        switch admission {
        case .rejected(let response):
            respond(response, context: context)
        case .accepted:
            if let head { context.fireChannelRead(wrapInboundOut(.head(head))) }
            context.fireChannelRead(wrapInboundOut(.end(nil)))
            if isReadHeld {
                isReadHeld = false
                context.read()
            }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        isRemoved = true
        if head == nil { decided.fail(ChannelError.eof) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, !isDone else {
            context.close(promise: nil)
            return
        }
        isDone = true
        let message =
            parserError == .invalidMethod
            ? "The request method is not a valid HTTP method." : "The request could not be parsed as HTTP/1.1."
        respond(
            api.errorResponse(forUnreadableRequest: ValidationError(parameter: "request", message: message)),
            context: context)
    }

    private func respond(_ response: Response, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        for field in response.headerFields { headers.add(name: field.name.rawName, value: field.value) }
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        headers.replaceOrAdd(name: "Connection", value: "close")
        let status = HTTPResponseStatus(
            statusCode: Int(response.status.code), reasonPhrase: response.status.reasonPhrase)
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
