import NIOCore

/// Stops accepting while the sidecar holds `socketCap` accepted sockets, and starts again when one closes, so that
/// connections can never use the descriptors kept for the change log, workspace reads and the keys file: an
/// `accept` that failed with EMFILE would leave a read failing the same way.
///
/// Sits on the server channel in front of NIO's accept handler: it counts every accepted socket until it closes, and
/// holds back the `read` (the next round of accepts) while the count is at the cap. Connections meanwhile wait in the
/// listen backlog. One round of reads accepts at most `maxMessagesPerRead` sockets, so the count can pass the cap by
/// that much; `DescriptorBudget` keeps room for it.
final class AcceptLimiter: ChannelDuplexHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel
    typealias OutboundIn = Never

    let socketCap: Int
    /// Sockets accepted and not yet closed. Used only on the server channel's event loop.
    private(set) var open = 0
    private var isReadHeldBack = false

    init(socketCap: Int) {
        self.socketCap = socketCap
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        open += 1
        let serverLoop = context.eventLoop
        let limiter = NIOLoopBound((handler: self, context: context), eventLoop: serverLoop)
        child.closeFuture.whenComplete { _ in
            serverLoop.execute { limiter.value.handler.closed(context: limiter.value.context) }
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        if open >= socketCap {
            isReadHeldBack = true
        } else {
            context.read()
        }
    }

    private func closed(context: ChannelHandlerContext) {
        open -= 1
        if isReadHeldBack, open < socketCap {
            isReadHeldBack = false
            context.read()
        }
    }
}
