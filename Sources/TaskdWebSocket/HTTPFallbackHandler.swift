import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOWebSocket
import TaskAPI
import TaskCore

/// Answers every request that is not upgraded, with the JSON error `UpgradeGate` chose (404, 405, 400, 401, 429, or
/// 426 for a plain GET), then closes the connection. Leaves the pipeline once an upgrade completes.
final class HTTPFallbackHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let gate: UpgradeGate
    private let decision: UpgradeDecision
    private var head: HTTPRequestHead?

    init(gate: UpgradeGate, decision: UpgradeDecision) {
        self.gate = gate
        self.decision = decision
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            if let response = decision.rejection {
                respond(response, context: context)
                return
            }
            gate.admit(head, isUpgrade: false, channel: context.channel)
                .assumeIsolated()
                .whenComplete { result in
                    switch result {
                    case .success(.rejected(let response)): self.respond(response, context: context)
                    // `.accepted` cannot happen (a request that is not an upgrade is always refused); a failure
                    // means the thread pool is gone, i.e. the server is stopping.
                    case .success(.accepted), .failure: context.close(promise: nil)
                    }
                }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .upgradeComplete = event as? HTTPServerUpgradeEvents {
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A request that asked for an upgrade with bad WebSocket headers arrives here as an error first, then as a
        // plain request, which is answered 426. Anything else ends the connection.
        if error is NIOWebSocketUpgradeError { return }
        context.close(promise: nil)
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
