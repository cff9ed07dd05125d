import NIOCore
import NIOWebSocket
import Testing

@testable import TaskdWebSocket

/// `ClientFramePolicy`: what a client may send after the upgrade, and the close code of each broken rule.
struct ClientFramePolicyTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func frame(
        _ opcode: WebSocketOpcode, fin: Bool = true, bytes: Int = 0, masked: Bool = true, rsv1: Bool = false
    ) -> WebSocketFrame {
        WebSocketFrame(
            fin: fin, rsv1: rsv1, opcode: opcode, maskKey: masked ? .random() : nil,
            data: ByteBuffer(repeating: 0x61, count: bytes))
    }

    /// A masked close frame whose unmasked payload is `payload`.
    static func close(_ payload: [UInt8]) -> WebSocketFrame {
        let mask = WebSocketMaskingKey.random()
        var data = ByteBuffer(bytes: payload)
        data.webSocketMask(mask)
        return WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: mask, data: data)
    }

    @Test func controlFramesAndSmallMessagesKeepTheRules() {
        var policy = ClientFramePolicy(now: Self.start)
        for frame in [
            Self.frame(.ping, bytes: 125), Self.frame(.pong), Self.frame(.text, bytes: 4_096),
            Self.frame(.binary, fin: false, bytes: 1_000), Self.frame(.ping), Self.frame(.continuation, bytes: 3_096),
            Self.close([0x03, 0xE8]), Self.close([]), Self.close([0x0F, 0xA0, 0x6F, 0x6B]),
        ] {
            #expect(policy.inspect(frame, at: Self.start) == nil, "\(frame)")
        }
    }

    @Test func aFragmentedMessageOverFourKiBIsTooBig() {
        var policy = ClientFramePolicy(now: Self.start)
        #expect(policy.inspect(Self.frame(.text, fin: false, bytes: 4_000), at: Self.start) == nil)
        #expect(policy.inspect(Self.frame(.continuation, fin: false, bytes: 96), at: Self.start) == nil)
        let violation = policy.inspect(Self.frame(.continuation, bytes: 1), at: Self.start)
        #expect(violation == .messageTooBig)
        #expect(violation?.code == .messageTooLarge)
    }

    @Test func fragmentsOutOfOrderAreProtocolErrors() {
        var policy = ClientFramePolicy(now: Self.start)
        #expect(policy.inspect(Self.frame(.continuation), at: Self.start) == .continuationWithoutMessage)
        var interleaved = ClientFramePolicy(now: Self.start)
        #expect(interleaved.inspect(Self.frame(.text, fin: false, bytes: 10), at: Self.start) == nil)
        #expect(interleaved.inspect(Self.frame(.binary, bytes: 10), at: Self.start) == .messageInsideMessage)
    }

    @Test func unmaskedFramesReservedBitsAndUnknownOpcodesAreProtocolErrors() {
        let cases: [(WebSocketFrame, ClientFramePolicy.Violation)] = [
            (Self.frame(.text, masked: false), .unmaskedFrame),
            (Self.frame(.ping, rsv1: true), .reservedBits),
            (Self.frame(WebSocketOpcode(encodedWebSocketOpcode: 0x3)!), .unknownOpcode),
            (Self.close([0x03]), .invalidClosePayload),
            (Self.close([0x03, 0xED]), .invalidClosePayload),  // 1005 names a local condition
            (Self.close([0x0B, 0xB7]), .invalidClosePayload),  // 2999 is reserved
        ]
        for (frame, expected) in cases {
            var policy = ClientFramePolicy(now: Self.start)
            let violation = policy.inspect(frame, at: Self.start)
            #expect(violation == expected, "\(frame)")
            #expect(violation?.code == .protocolError)
        }
    }

    @Test func aBurstOfFramesBeyondTheAllowanceIsAPolicyViolation() {
        var policy = ClientFramePolicy(now: Self.start)
        for index in 0..<ClientFramePolicy.frameBurst {
            #expect(policy.inspect(Self.frame(.ping), at: Self.start) == nil, "frame \(index)")
        }
        let violation = policy.inspect(Self.frame(.ping), at: Self.start)
        #expect(violation == .tooManyFrames)
        #expect(violation?.code == .policyViolation)
    }

    @Test func framesAtTheAverageRateAreAllowedForever() {
        var policy = ClientFramePolicy(now: Self.start)
        let interval = Int64(1_000_000_000 / ClientFramePolicy.framesPerSecond)
        for index in 0..<(10 * ClientFramePolicy.frameBurst) {
            let now = Self.start + .nanoseconds(Int64(index) * interval)
            #expect(policy.inspect(Self.frame(.pong), at: now) == nil, "frame \(index)")
        }
    }

    @Test func theAllowanceRefillsWithTime() {
        var policy = ClientFramePolicy(now: Self.start)
        for _ in 0..<ClientFramePolicy.frameBurst { _ = policy.inspect(Self.frame(.ping), at: Self.start) }
        #expect(policy.inspect(Self.frame(.ping), at: Self.start) == .tooManyFrames)
        var rested = ClientFramePolicy(now: Self.start)
        for _ in 0..<ClientFramePolicy.frameBurst { _ = rested.inspect(Self.frame(.ping), at: Self.start) }
        let later = Self.start + .seconds(1)
        for index in 0..<ClientFramePolicy.framesPerSecond {
            #expect(rested.inspect(Self.frame(.ping), at: later) == nil, "frame \(index) a second later")
        }
    }

    @Test func everyReasonFitsAControlFrame() {
        for violation in ClientFramePolicy.Violation.allCases {
            #expect(violation.reason.utf8.count <= 123, "\(violation)")
        }
    }
}
