import HTTPTypes
import NIOCore
import NIOHTTP1
import TaskAPI
import TaskCore

/// Holds the connection's one request until it is decided, in front of NIO's upgrade handler: a refused request is
/// answered here with its JSON error and the connection closed; an accepted one is passed on, whole, to the upgrader,
/// and this handler leaves the pipeline.
///
/// The decision is made once, from the request head, and completes `decided`, which the upgrader's `shouldUpgrade`
/// and the stream it starts read. A request NIO's parser cannot read is answered 400 here too. If the connection ends
/// before a head arrives, `decided` fails.
final class AdmissionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Decides a request from its head (on the channel's event loop, or completing there).
    typealias Decide = @Sendable (HTTPRequestHead, any Channel) -> EventLoopFuture<UpgradeGate.Admission>

    private let api: APIHandler
    private let decide: Decide
    private let decided: EventLoopPromise<UpgradeGate.Admission>
    /// The request's parts read so far, passed on once it is accepted.
    private var parts: [HTTPServerRequestPart] = []
    private var admission: UpgradeGate.Admission?
    private var hasHead = false
    private var hasEnd = false
    private var isDone = false
    private var isRemoved = false

    init(api: APIHandler, decided: EventLoopPromise<UpgradeGate.Admission>, decide: @escaping Decide) {
        self.api = api
        self.decided = decided
        self.decide = decide
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isDone else { return }
        let part = unwrapInboundIn(data)
        parts.append(part)
        switch part {
        case .head(let head):
            guard !hasHead else { return }
            hasHead = true
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
        case .body:
            break
        case .end:
            hasEnd = true
            proceedIfComplete(context: context)
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
            for part in parts { context.fireChannelRead(wrapInboundOut(part)) }
            parts = []
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        isRemoved = true
        if !hasHead { decided.fail(ChannelError.eof) }
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
