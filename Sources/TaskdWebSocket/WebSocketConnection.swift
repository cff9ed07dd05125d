import Logging
import NIOCore
import NIOWebSocket
import TaskCore
import TaskStore

/// One upgraded connection watching one workspace.
///
/// It writes each frame the hub gives it while the channel is writable; while it is not (a slow reader), it keeps
/// only the newest and writes that one when the channel becomes writable again, so a slow reader costs at most the
/// channel's write buffer plus one frame. Frames from the client are ignored, except for the protocol's own: a ping is
/// answered, a close is echoed. A connection silent for one ping interval is pinged; silent for another, it is closed.
///
/// Everything it writes is a complete frame (`ServerFrame`) written as bytes by `FrameWriter`, next to the socket: the
/// hub's frames go out as the one shared buffer, with no per-connection encoding and no other handler on the way.
final class WebSocketConnection: ChannelInboundHandler, WorkspaceSubscriber, @unchecked Sendable {
    // @unchecked Sendable: the hub, the registry and the key watch only call `receive`, `workspaceUnavailable`,
    // `goAway` and `revoke` on `eventLoop`, the channel's loop, where every mutable property is used; the other
    // stored properties are immutable and Sendable.
    typealias InboundIn = WebSocketFrame

    let eventLoop: any EventLoop
    let key: WorkspaceKey
    /// What the key granted at the handshake; the key watch closes the connection when it no longer does.
    let grant: KeyGrant
    /// Completes when the connection has ended.
    let closeFuture: EventLoopFuture<Void>
    private let hub: WorkspaceHub
    private let writer: FrameWriter
    private let logger: Logger
    private var context: ChannelHandlerContext?
    /// The newest frame not yet written because the channel was not writable.
    private var pending: ByteBuffer?
    /// The channel's writability, as its events tell it: kept here so that each frame costs no look at the channel.
    private var isWritable = true
    private var isAwaitingPong = false
    private var isClosing = false

    /// How long a close handshake may take before the connection is closed anyway.
    static let closeTimeout: TimeAmount = .seconds(1)
    /// The reason sent with close code 1008 when the key that opened the stream is revoked.
    static let revokedReason = "The API key was revoked."

    init(channel: any Channel, ticket: UpgradeGate.Ticket, writer: FrameWriter, hub: WorkspaceHub, logger: Logger) {
        self.eventLoop = channel.eventLoop
        self.writer = writer
        self.closeFuture = channel.closeFuture
        self.key = ticket.key
        self.grant = ticket.grant
        self.hub = hub
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        isWritable = context.channel.isWritable
        hub.subscribe(self, to: key)
        closeFuture.whenComplete { [hub, key] _ in hub.unsubscribe(self, from: key) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Frames from the hub

    func receive(_ frame: ByteBuffer) {
        guard context != nil, !isClosing else { return }
        if isWritable {
            writer.send(frame)
        } else {
            pending = frame
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        if isWritable, let frame = pending, !isClosing {
            pending = nil
            writer.send(frame)
        }
        context.fireChannelWritabilityChanged()
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
                sendClose(code: code, reason: "", context: context).whenComplete { _ in channel.close(promise: nil) }
            }
        case .ping:
            writer.send(ServerFrame.make(.pong, payload: frame.unmaskedData.readableBytesView))
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
            writer.send(ServerFrame.make(.ping, payload: EmptyCollection()))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? NIOWebSocketError {
            // A frame the protocol forbids, or one over the size limit: close with the code RFC 6455 §7.4.1 gives.
            logger.debug("Protocol error; closing", metadata: ["error": "\(error)"])
            close(code: Self.closeCode(for: error), reason: "", context: context)
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
        close(code: .goingAway, reason: "", context: context)
    }

    /// The key that opened the stream no longer grants it: close 1008 (policy violation) with a reason, and send
    /// nothing more.
    func revoke() {
        guard let context, !isClosing else { return }
        logger.info("Key revoked; closing its stream", metadata: ["workspace": "\(key)", "key": "\(grant)"])
        close(code: .policyViolation, reason: Self.revokedReason, context: context)
    }

    func workspaceUnavailable() {
        guard let context else { return }
        close(code: .unexpectedServerError, reason: "", context: context)
    }

    /// Starts the closing handshake: sends a close frame, then waits for the client's (which ends the connection in
    /// `channelRead`) or for `closeTimeout`. Closing the socket at once could reset the connection, through nginx too,
    /// while the client has not yet read our close frame (for instance when it is still sending an oversized one).
    private func close(code: WebSocketErrorCode, reason: String, context: ChannelHandlerContext) {
        guard !isClosing else { return }
        sendClose(code: code, reason: reason, context: context).whenComplete { _ in }
        let channel = context.channel
        channel.eventLoop.scheduleTask(in: Self.closeTimeout) { channel.close(promise: nil) }
    }

    private func sendClose(code: WebSocketErrorCode, reason: String, context: ChannelHandlerContext)
        -> EventLoopFuture<Void>
    {
        isClosing = true
        pending = nil
        return writer.sendAndWait(ServerFrame.close(code, reason: reason), on: context.eventLoop)
    }
}
