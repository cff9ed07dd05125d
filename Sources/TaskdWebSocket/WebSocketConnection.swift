import Logging
import NIOCore
import NIOWebSocket
import TaskCore

/// One upgraded connection watching one workspace.
///
/// It writes each list the hub gives it while the channel is writable; while it is not (a slow reader), it keeps only
/// the newest list and writes that one when the channel becomes writable again, so a slow reader costs at most the
/// channel's write buffer plus one list. Frames from the client are ignored, except for the protocol's own: a ping is
/// answered, a close is echoed. A connection silent for one ping interval is pinged; silent for another, it is closed.
final class WebSocketConnection: ChannelInboundHandler, WorkspaceSubscriber, @unchecked Sendable {
    // @unchecked Sendable: the hub and the registry only call `receive`, `workspaceUnavailable` and `goAway` on
    // `eventLoop`, the channel's loop, where every mutable property is used; `eventLoop`, `key` and `closeFuture`
    // are immutable.
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let eventLoop: any EventLoop
    let key: WorkspaceKey
    /// Completes when the connection has ended.
    let closeFuture: EventLoopFuture<Void>
    private let hub: WorkspaceHub
    private let registry: ConnectionRegistry
    private let logger: Logger
    private var context: ChannelHandlerContext?
    /// The newest list not yet written because the channel was not writable.
    private var pending: ByteBuffer?
    private var isAwaitingPong = false
    private var isClosing = false

    /// How long a close handshake may take before the connection is closed anyway.
    static let closeTimeout: TimeAmount = .seconds(1)

    init(channel: any Channel, key: WorkspaceKey, hub: WorkspaceHub, registry: ConnectionRegistry, logger: Logger) {
        self.eventLoop = channel.eventLoop
        self.closeFuture = channel.closeFuture
        self.key = key
        self.hub = hub
        self.registry = registry
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let registered = registry.add(self)
        hub.subscribe(self, to: key)
        closeFuture.whenComplete { [hub, registry, key] _ in
            hub.unsubscribe(self, from: key)
            registry.remove(self)
        }
        if !registered { goAway() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Lists from the hub

    func receive(_ list: ByteBuffer) {
        guard let context, !isClosing else { return }
        if context.channel.isWritable {
            pending = nil
            write(list, context: context)
        } else {
            pending = list
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let list = pending, !isClosing {
            pending = nil
            write(list, context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    private func write(_ list: ByteBuffer, context: ChannelHandlerContext) {
        let frame = WebSocketFrame(fin: true, opcode: .text, data: list)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    // MARK: Frames from the client

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        isAwaitingPong = false
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .connectionClose:
            if isClosing {
                // The answer to our close frame: the handshake is complete.
                context.close(promise: nil)
            } else {
                // Echo the peer's status code, as RFC 6455 §5.5.1 suggests, then close.
                var payload = frame.unmaskedData
                let code = payload.readWebSocketErrorCode() ?? .normalClosure
                let channel = context.channel
                sendClose(code: code, context: context).whenComplete { _ in channel.close(promise: nil) }
            }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        default:
            break  // Messages from clients are ignored.
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        if isAwaitingPong {
            logger.debug("No pong; closing", metadata: ["workspace": "\(key)"])
            context.close(promise: nil)
        } else {
            isAwaitingPong = true
            let ping = WebSocketFrame(fin: true, opcode: .ping, data: context.channel.allocator.buffer(capacity: 0))
            context.writeAndFlush(wrapOutboundOut(ping), promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? NIOWebSocketError {
            // A frame the protocol forbids, or one over the size limit: close with the code RFC 6455 §7.4.1 gives.
            logger.debug("Protocol error; closing", metadata: ["error": "\(error)"])
            close(code: Self.closeCode(for: error), context: context)
            return
        }
        if isClosing, error is ByteToMessageDecoderError {
            return  // The rest of a rejected frame, dropped while the close handshake ends.
        }
        logger.debug("Connection failed", metadata: ["error": "\(error)"])
        isClosing = true
        pending = nil
        context.close(promise: nil)
    }

    static func closeCode(for error: NIOWebSocketError) -> WebSocketErrorCode {
        switch error {
        case .invalidFrameLength: .messageTooLarge
        case .fragmentedControlFrame, .multiByteControlFrameLength: .protocolError
        }
    }

    // MARK: Ending

    /// The server is shutting down: close 1001 (going away).
    func goAway() {
        guard let context else { return }
        close(code: .goingAway, context: context)
    }

    func workspaceUnavailable() {
        guard let context else { return }
        close(code: .unexpectedServerError, context: context)
    }

    /// Starts the closing handshake: sends a close frame, then waits for the client's (which ends the connection in
    /// `channelRead`) or for `closeTimeout`. Closing the socket at once could reset the connection, through nginx too,
    /// while the client has not yet read our close frame (for instance when it is still sending an oversized one).
    private func close(code: WebSocketErrorCode, context: ChannelHandlerContext) {
        guard !isClosing else { return }
        sendClose(code: code, context: context).whenComplete { _ in }
        let channel = context.channel
        channel.eventLoop.scheduleTask(in: Self.closeTimeout) { channel.close(promise: nil) }
    }

    private func sendClose(code: WebSocketErrorCode, context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        isClosing = true
        pending = nil
        var payload = context.channel.allocator.buffer(capacity: 2)
        payload.write(webSocketErrorCode: code)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)
        return context.writeAndFlush(wrapOutboundOut(frame))
    }
}
