import NIOCore
import NIOEmbedded
import Testing

@testable import TaskdWebSocket

/// `AcceptLimiter` holds back the server channel's reads (the next accepts) while `socketCap` sockets are open, and
/// lets them through again when one closes.
struct AcceptLimiterTests {
    /// Counts the reads that get past the limiter, towards the socket.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Never
        var reads = 0

        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    @Test func readsAreHeldAtTheCapAndResumeWhenASocketCloses() throws {
        let server = EmbeddedChannel()
        let counter = ReadCounter()
        let limiter = AcceptLimiter(socketCap: 2)
        try server.pipeline.syncOperations.addHandler(counter)
        try server.pipeline.syncOperations.addHandler(limiter)

        server.read()
        #expect(counter.reads == 1)
        let children = (0..<3).map { _ in EmbeddedChannel(loop: server.embeddedEventLoop) }
        try server.writeInbound(children[0] as any Channel)
        server.read()
        #expect(counter.reads == 2 && limiter.open == 1)

        try server.writeInbound(children[1] as any Channel)
        server.read()
        #expect(counter.reads == 2, "at the cap, no more accepts")
        #expect(limiter.open == 2)

        _ = try children[0].finish()
        server.embeddedEventLoop.run()
        #expect(limiter.open == 1)
        #expect(counter.reads == 3, "the held read goes out once a socket has closed")

        try server.writeInbound(children[2] as any Channel)
        server.read()
        #expect(counter.reads == 3 && limiter.open == 2)
        for child in children.dropFirst() { _ = try child.finish() }
        server.embeddedEventLoop.run()
        #expect(limiter.open == 0)
        _ = try server.finish(acceptAlreadyClosed: true)
    }
}
