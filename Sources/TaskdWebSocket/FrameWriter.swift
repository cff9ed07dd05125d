import NIOCore

/// Writes complete frames (`ServerFrame`) straight to the socket: it sits first in the pipeline, next to the socket,
/// so a frame written here passes no other handler (NIO's `WebSocketFrameEncoder`, which the upgrader adds and which
/// would encode a header per connection, is left without anything to do).
///
/// `WebSocketConnection`, at the other end of the pipeline, sends through it. Used only on the channel's event loop.
final class FrameWriter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Writes and flushes `frame`: the same buffer may go to many connections, each write shares its storage.
    /// `promise` completes once the socket has taken the frame (or failed).
    func send(_ frame: ByteBuffer, promise: EventLoopPromise<Void>? = nil) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.writeAndFlush(wrapOutboundOut(frame), promise: promise)
    }

    /// Writes and flushes `frame`; the future completes once it is written (or failed).
    func sendAndWait(_ frame: ByteBuffer, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        guard let context else { return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        return context.writeAndFlush(wrapOutboundOut(frame))
    }
}
