import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import TaskdWebSocket

/// `ServerFrame` writes exactly the bytes NIO's own encoder writes, and NIO's decoder reads them back.
struct ServerFrameTests {
    /// The payload of a final, unmasked text frame as `ServerFrame` builds it, or nil for anything else.
    static func decodedText(_ frame: ByteBuffer) -> String? {
        var frame = frame
        guard frame.readInteger(as: UInt8.self) == 0x81, let second = frame.readInteger(as: UInt8.self),
            second & 0x80 == 0
        else { return nil }
        let length: Int?
        switch second {
        case 126: length = frame.readInteger(as: UInt16.self).map(Int.init)
        case 127: length = frame.readInteger(as: UInt64.self).map(Int.init)
        default: length = Int(second)
        }
        guard let length, frame.readableBytes == length else { return nil }
        return frame.readString(length: length)
    }

    static func payload(_ length: Int) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    }

    @Test(arguments: [0, 1, 125, 126, 127, 65_535, 65_536, 200_000])
    func textFramesAreTheBytesNIOsEncoderWrites(length: Int) throws {
        let channel = EmbeddedChannel(handler: WebSocketFrameEncoder())
        try channel.writeOutbound(
            WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: Self.payload(length))))
        var expected = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { expected.writeBuffer(&part) }
        #expect(ServerFrame.text(Self.payload(length)) == expected)
        _ = try channel.finish()
    }

    @Test(arguments: [WebSocketOpcode.text, .ping, .pong, .connectionClose])
    func nioReadsEveryFrameBack(opcode: WebSocketOpcode) throws {
        let length = opcode.isControlOpcode ? 125 : 70_000
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)))
        try channel.writeInbound(ServerFrame.make(opcode, payload: Self.payload(length)))
        let frame = try #require(try channel.readInbound(as: WebSocketFrame.self))
        #expect(frame.fin && frame.opcode == opcode && frame.maskKey == nil)
        #expect(Array(frame.data.readableBytesView) == Self.payload(length))
        _ = try channel.finish()
    }

    @Test func closeFramesCarryTheCodeAndAReasonCutOnACharacterBoundary() throws {
        var frame = ServerFrame.close(.policyViolation, reason: "The API key was revoked.")
        #expect(frame.readBytes(length: 2) == [0x88, 26])
        #expect(frame.readWebSocketErrorCode() == .policyViolation)
        #expect(frame.readString(length: frame.readableBytes) == "The API key was revoked.")

        let long = String(repeating: "é", count: 100)  // 200 bytes of UTF-8
        var cut = ServerFrame.close(.goingAway, reason: long)
        #expect(cut.readBytes(length: 2) == [0x88, 2 + 122])
        _ = cut.readWebSocketErrorCode()
        #expect(cut.readString(length: cut.readableBytes) == String(repeating: "é", count: 61))
        #expect(ServerFrame.close(.normalClosure).readableBytes == 4)
    }
}
