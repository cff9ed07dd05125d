import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import TaskCore
import TaskStore
import Testing

@testable import TaskdWebSocket

/// `WebSocketConnection` on an embedded channel, behind a stand-in socket that can stop taking writes: what it writes
/// and whether it reads when the client floods it, stops reading, or breaks a frame rule.
struct WebSocketConnectionTests {
    /// The socket end of the pipeline: counts reads, and holds writes (with their promises) while it is "full".
    final class StandInSocket: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer

        var isTaking = true
        var reads = 0
        private var held: [(NIOAny, EventLoopPromise<Void>?)] = []

        var heldCount: Int { held.count }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if isTaking {
                context.write(data, promise: promise)
            } else {
                held.append((data, promise))
            }
        }

        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }

        /// Takes every held write, and everything after it.
        func release(context: ChannelHandlerContext) {
            isTaking = true
            let writes = held
            held = []
            for (data, promise) in writes { context.write(data, promise: promise) }
            context.flush()
        }
    }

    final class NoHub: WorkspaceSubscriptions {
        func subscribe(_ subscriber: any WorkspaceSubscriber, to key: WorkspaceKey) {}
        func unsubscribe(_ subscriber: any WorkspaceSubscriber, from key: WorkspaceKey) {}
    }

    struct Fixture {
        let channel = EmbeddedChannel()
        let socket = StandInSocket()
        let connection: WebSocketConnection

        init() throws {
            let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
            let keys = KeyRing(path: "/nonexistent/keys.json", openMode: true, logger: logger)
            let apiKey = try #require(APIKey("a-key"))
            let grant = try #require(keys.grant(for: apiKey))
            let key = WorkspaceKey(tenant: grant.tenant, workspace: try WorkspaceID(parsing: "default"))
            let writer = FrameWriter()
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(socket)
            try sync.addHandler(writer)
            connection = WebSocketConnection(
                channel: channel, ticket: UpgradeGate.Ticket(key: key, grant: grant, generation: 0), writer: writer,
                hub: NoHub(), logger: logger)
            try sync.addHandler(connection)
        }

        func send(_ opcode: WebSocketOpcode, _ payload: String = "", fin: Bool = true) throws {
            let mask = WebSocketMaskingKey.random()
            var data = ByteBuffer(string: payload)
            data.webSocketMask(mask)
            try channel.writeInbound(WebSocketFrame(fin: fin, opcode: opcode, maskKey: mask, data: data))
        }

        func setWritable(_ isWritable: Bool) {
            channel.isWritable = isWritable
            channel.pipeline.fireChannelWritabilityChanged()
        }

        func releaseSocket() throws {
            let context = try channel.pipeline.syncOperations.context(handler: socket)
            socket.release(context: context)
        }

        /// Every frame written so far, as (opcode byte, payload).
        func written() throws -> [(opcode: UInt8, payload: [UInt8])] {
            var frames: [(UInt8, [UInt8])] = []
            while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
                while let first = buffer.readInteger(as: UInt8.self), let second = buffer.readInteger(as: UInt8.self) {
                    var length = Int(second & 0x7F)
                    if length == 126 { length = Int(buffer.readInteger(as: UInt16.self) ?? 0) }
                    if length == 127 { length = Int(buffer.readInteger(as: UInt64.self) ?? 0) }
                    frames.append((first & 0x0F, buffer.readBytes(length: length) ?? []))
                }
            }
            return frames
        }
    }

    static let pong: UInt8 = 0xA
    static let close: UInt8 = 0x8
    static let text: UInt8 = 0x1

    @Test func aPingFloodWhileThePongWaitsGetsOnePongNowAndOneForTheNewestPingLater() throws {
        let fixture = try Fixture()
        fixture.socket.isTaking = false
        for index in 1...50 { try fixture.send(.ping, "\(index)") }
        #expect(fixture.socket.heldCount == 1, "one pong waits for the socket; the others were not written")
        fixture.channel.read()
        #expect(fixture.socket.reads == 0, "nothing is read while a pong waits")

        try fixture.releaseSocket()
        let frames = try fixture.written()
        #expect(frames.map(\.opcode) == [Self.pong, Self.pong])
        #expect(frames.map { String(decoding: $0.payload, as: UTF8.self) } == ["1", "50"])
        #expect(fixture.socket.reads == 1, "the held read goes on once the pongs are out")
    }

    @Test func nothingIsReadOrAnsweredWhileTheChannelIsNotWritable() throws {
        let fixture = try Fixture()
        fixture.setWritable(false)
        try fixture.send(.ping, "a")
        fixture.channel.read()
        #expect(try fixture.written().isEmpty)
        #expect(fixture.socket.reads == 0)

        fixture.setWritable(true)
        let frames = try fixture.written()
        #expect(frames.map(\.opcode) == [Self.pong])
        #expect(frames.first?.payload == Array("a".utf8))
        #expect(fixture.socket.reads == 1)
        fixture.channel.read()
        #expect(fixture.socket.reads == 2)
    }

    @Test func aSlowReaderGetsOnlyTheNewestListWhenItCatchesUp() throws {
        let fixture = try Fixture()
        fixture.setWritable(false)
        for index in 1...20 { fixture.connection.receive(ServerFrame.text(Array("[\(index)]".utf8))) }
        #expect(try fixture.written().isEmpty)
        fixture.setWritable(true)
        let frames = try fixture.written()
        #expect(frames.map(\.opcode) == [Self.text])
        #expect(frames.first?.payload == Array("[20]".utf8))
    }

    @Test func aFloodOfFramesIsClosedWithPolicyViolationAfterTheBurst() throws {
        let fixture = try Fixture()
        for _ in 0..<(ClientFramePolicy.frameBurst + 50) { try fixture.send(.ping) }
        let frames = try fixture.written()
        // The burst, and at most one more frame per 50 ms that passed while the test sent them.
        let pongs = frames.filter { $0.opcode == Self.pong }.count
        #expect(pongs >= ClientFramePolicy.frameBurst && pongs < ClientFramePolicy.frameBurst + 20, "\(pongs) pongs")
        let close = try #require(frames.last)
        #expect(close.opcode == Self.close)
        #expect(Array(close.payload.prefix(2)) == [0x03, 0xF0])  // 1008
        fixture.channel.read()
        #expect(fixture.socket.reads == 0, "nothing more is read from a client that broke a rule")
    }

    @Test func aFragmentedMessageOverTheLimitIsClosedWithMessageTooBig() throws {
        let fixture = try Fixture()
        try fixture.send(.text, String(repeating: "x", count: 4_000), fin: false)
        try fixture.send(.continuation, String(repeating: "x", count: 96), fin: false)
        #expect(try fixture.written().isEmpty, "a message within the limit is ignored")
        try fixture.send(.continuation, "x")
        let frames = try fixture.written()
        #expect(frames.map(\.opcode) == [Self.close])
        #expect(Array(frames.first?.payload.prefix(2) ?? []) == [0x03, 0xF1])  // 1009
    }

    @Test func anInvalidCloseCodeIsAnsweredWithProtocolErrorAndAValidOneIsEchoed() throws {
        let invalid = try Fixture()
        try invalid.channel.writeInbound(
            WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: nil, data: ByteBuffer(bytes: [0x03, 0xE8])))
        #expect(try invalid.written().map { Array($0.payload.prefix(2)) } == [[0x03, 0xEA]])  // unmasked: 1002

        let valid = try Fixture()
        let mask = WebSocketMaskingKey.random()
        var payload = ByteBuffer(bytes: [0x0F, 0xA0])  // 4000, an application's code
        payload.webSocketMask(mask)
        try valid.channel.writeInbound(
            WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: mask, data: payload))
        #expect(try valid.written().map { Array($0.payload.prefix(2)) } == [[0x0F, 0xA0]])
    }
}
