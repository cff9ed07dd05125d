import Logging
import NIOCore
import NIOWebSocket
import TaskCore
import TaskStore

/// One upgraded connection watching one workspace.
///
/// Whatever the client does, the connection holds a fixed amount: the channel's write buffer (up to its high-water
/// mark, then nothing more is written), one pending list, one pending pong and the running size of one message.
///
/// - Lists from the hub are written while the channel is writable; while it is not (a slow reader), only the newest
///   is kept and written when the channel becomes writable again.
/// - A ping is answered with one pong at a time: while a pong waits to be written, a newer ping only replaces its
///   payload (RFC 6455 §5.5.3 lets a server answer the most recent ping only).
/// - Nothing is read from the socket while the channel is not writable or a pong waits: a client that does not read
///   cannot make the server read, so its own sends back up to it (through nginx too).
/// - Every client frame goes through `ClientFramePolicy` (masking, order, message size, frame rate); a broken rule
///   closes the connection with its code. Messages are otherwise ignored; a close is echoed.
/// - A connection silent for one ping interval is pinged; silent for another, it is dropped without a close frame.
///
/// Everything it writes is a complete frame (`ServerFrame`) written as bytes by `FrameWriter`, next to the socket: the
/// hub's frames go out as the one shared buffer, with no per-connection encoding and no other handler on the way.
final class WebSocketConnection: ChannelDuplexHandler, WorkspaceSubscriber, @unchecked Sendable {
    // @unchecked Sendable: the hub, the registry and the key watch only call `receive`, `workspaceUnavailable`,
    // `goAway` and `revoke` on `eventLoop`, the channel's loop, where every mutable property is used; the other
    // stored properties are immutable and Sendable.
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = Never

    let eventLoop: any EventLoop
    let key: WorkspaceKey
    /// What the key granted at the handshake; the key watch closes the connection when it no longer does.
    let grant: KeyGrant
    /// Completes when the connection has ended.
    let closeFuture: EventLoopFuture<Void>
    private let hub: any WorkspaceSubscriptions
    private let writer: FrameWriter
    private let logger: Logger
    private var context: ChannelHandlerContext?
    /// The newest frame not yet written because the channel was not writable.
    private var pending: ByteBuffer?
    /// The pong answering the newest ping, not yet written.
    private var pendingPong: ByteBuffer?
    /// A pong has been written and the socket has not taken it yet.
    private var isPongInFlight = false
    /// The pipeline asked to read while reading was paused; the read is passed on when the pause ends.
    private var isReadHeld = false
    /// The client broke a rule: nothing more is read from it while the close frame goes out.
    private var isReadingStopped = false
    /// The channel's writability, as its events tell it: kept here so that each frame costs no look at the channel.
    private var isWritable = true
    private var isAwaitingPong = false
    private var isClosing = false
    private var policy: ClientFramePolicy

    /// How long a close handshake may take before the connection is closed anyway.
    static let closeTimeout: TimeAmount = .seconds(1)
    /// The reason sent with close code 1008 when the key that opened the stream is revoked.
    static let revokedReason = "The API key was revoked."

    init(
        channel: any Channel, ticket: UpgradeGate.Ticket, writer: FrameWriter, hub: any WorkspaceSubscriptions,
        logger: Logger
    ) {
        self.eventLoop = channel.eventLoop
        self.writer = writer
        self.closeFuture = channel.closeFuture
        self.key = ticket.key
        self.grant = ticket.grant
        self.hub = hub
        self.logger = logger
        self.policy = ClientFramePolicy(now: .now())
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
        sendPendingPong(context: context)
        resumeReadingIfHeld(context: context)
        context.fireChannelWritabilityChanged()
    }

    // MARK: Reading only while the client reads

    func read(context: ChannelHandlerContext) {
        if isBackedUp {
            isReadHeld = true
        } else {
            context.read()
        }
    }

    /// Whether what the server owes the client is waiting on the client to read.
    private var isBackedUp: Bool { !isWritable || isPongInFlight || pendingPong != nil || isReadingStopped }

    private func resumeReadingIfHeld(context: ChannelHandlerContext) {
        guard isReadHeld, !isBackedUp else { return }
        isReadHeld = false
        context.read()
    }

    // MARK: Frames from the client

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        isAwaitingPong = false
        let frame = unwrapInboundIn(data)
        if isClosing {
            // Only the answer to our close frame matters now: the handshake is complete.
            if frame.opcode == .connectionClose { context.close(promise: nil) }
            return
        }
        if let violation = policy.inspect(frame, at: .now()) {
            logger.debug(
                "Client broke a frame rule; closing",
                metadata: ["workspace": "\(key)", "violation": "\(violation)"])
            // A client flooding frames would otherwise keep the loop decoding them until the close timeout.
            isReadingStopped = true
            close(code: violation.code, reason: violation.reason, context: context)
            return
        }
        switch frame.opcode {
        case .connectionClose:
            // Echo the peer's status code, as RFC 6455 §5.5.1 suggests, then close.
            var payload = frame.unmaskedData
            let code = payload.readWebSocketErrorCode() ?? .normalClosure
            let channel = context.channel
            sendClose(code: code, reason: "", context: context).whenComplete { _ in channel.close(promise: nil) }
        case .ping:
            pendingPong = ServerFrame.make(.pong, payload: frame.unmaskedData.readableBytesView)
            sendPendingPong(context: context)
        default:
            break  // Messages from clients are ignored (within the policy's bounds).
        }
    }

    /// Writes the pending pong unless one is still on its way or the channel is full; once the socket has taken it,
    /// the next one (if a newer ping came meanwhile) follows, and reading resumes.
    private func sendPendingPong(context: ChannelHandlerContext) {
        guard !isPongInFlight, isWritable, !isClosing, let pong = pendingPong else { return }
        pendingPong = nil
        isPongInFlight = true
        let written = context.eventLoop.makePromise(of: Void.self)
        writer.send(pong, promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in
            self.isPongInFlight = false
            guard let context = self.context else { return }
            self.sendPendingPong(context: context)
            self.resumeReadingIfHeld(context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        if isAwaitingPong {
            // A client that answers nothing (gone, or not reading: then our frames could not reach it anyway).
            logger.debug("No pong; closing", metadata: ["workspace": "\(key)"])
            isClosing = true
            pending = nil
            pendingPong = nil
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
            close(code: Self.closeCode(for: error), reason: Self.reason(for: error), context: context)
            return
        }
        if isClosing, error is ByteToMessageDecoderError {
            return  // The rest of a rejected frame, dropped while the close handshake ends.
        }
        logger.debug("Connection failed", metadata: ["error": "\(error)"])
        isClosing = true
        pending = nil
        pendingPong = nil
        context.close(promise: nil)
    }

    static func closeCode(for error: NIOWebSocketError) -> WebSocketErrorCode {
        switch error {
        case .invalidFrameLength: .messageTooLarge
        case .fragmentedControlFrame, .multiByteControlFrameLength: .protocolError
        }
    }

    static func reason(for error: NIOWebSocketError) -> String {
        switch error {
        case .invalidFrameLength: ClientFramePolicy.Violation.messageTooBig.reason
        case .fragmentedControlFrame: "Control frames must not be fragmented."
        case .multiByteControlFrameLength: "Control frames carry at most 125 bytes."
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
        pendingPong = nil
        return writer.sendAndWait(ServerFrame.close(code, reason: reason), on: context.eventLoop)
    }
}
