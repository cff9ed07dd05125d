import NIOCore
import NIOWebSocket

/// What taskd-ws accepts from a client once the connection is upgraded, frame by frame.
///
/// The stream never needs anything from a client beyond the protocol's own control frames, so the rules are strict
/// and every one of them has a bound:
///
/// - every frame is masked, sets no reserved bit and carries a known opcode, and a message's fragments come in order
///   (RFC 6455 §5.1, §5.2, §5.4): otherwise close 1002 (protocol error);
/// - a close frame's payload is empty or a valid status code (§7.4): otherwise 1002;
/// - a message (text or binary, all its fragments together) is at most `maximumMessageBytes`: beyond, 1009 (message
///   too big). A single frame over the limit is refused by NIO's decoder before its payload is read;
/// - a client sends at most `frameBurst` frames at once and `framesPerSecond` on average, control frames included:
///   beyond, 1008 (policy violation). A ping flood thus ends after a burst, whether the client reads or not.
///
/// Messages that keep the rules are read and dropped; nothing of them is kept but their running size.
struct ClientFramePolicy {
    /// The largest message (all fragments) and, through NIO's decoder, the largest frame a client may send.
    static let maximumMessageBytes = 4_096
    /// Frames a client may send back to back before the average rate applies.
    static let frameBurst = 100
    /// Frames a client may send per second on average. Browsers send a pong per ping and nothing else unless the page
    /// sends messages; a page that sends a message every 50 ms stays within it.
    static let framesPerSecond = 20

    /// A broken rule: the connection is closed with `code`, and `reason` in the close frame.
    enum Violation: Equatable, Sendable, CaseIterable {
        case unmaskedFrame
        case reservedBits
        case unknownOpcode
        case continuationWithoutMessage
        case messageInsideMessage
        case invalidClosePayload
        case messageTooBig
        case tooManyFrames

        var code: WebSocketErrorCode {
            switch self {
            case .unmaskedFrame, .reservedBits, .unknownOpcode, .continuationWithoutMessage, .messageInsideMessage,
                .invalidClosePayload:
                .protocolError
            case .messageTooBig: .messageTooLarge
            case .tooManyFrames: .policyViolation
            }
        }

        /// The close frame's reason: short (a close frame holds 123 bytes of it), and the same for every client.
        var reason: String {
            switch self {
            case .unmaskedFrame: "Client frames must be masked."
            case .reservedBits: "No extension was negotiated; reserved bits must be 0."
            case .unknownOpcode: "Unknown opcode."
            case .continuationWithoutMessage: "A continuation frame without a message to continue."
            case .messageInsideMessage: "A new message before the previous one ended."
            case .invalidClosePayload: "A close frame must hold nothing or a valid status code."
            case .messageTooBig: "Client messages are limited to 4 KiB (the server ignores them)."
            case .tooManyFrames: "Too many frames; the server needs none from clients."
            }
        }
    }

    /// Bytes of the message being received, or nil between messages.
    private var messageBytes: Int?
    /// The frame rate, as the generic cell rate algorithm: the moment the next frame is due at the average rate. A
    /// frame may come `burstAllowance` earlier than due; one that comes earlier still breaks the rule.
    private var nextFrameDue: NIODeadline
    private static let frameInterval = TimeAmount.nanoseconds(1_000_000_000 / Int64(framesPerSecond))
    private static let burstAllowance = TimeAmount.nanoseconds(
        frameInterval.nanoseconds * Int64(frameBurst - 1))

    init(now: NIODeadline) {
        nextFrameDue = now
    }

    /// Checks `frame`, received at `now`; `nil` when it keeps every rule.
    mutating func inspect(_ frame: WebSocketFrame, at now: NIODeadline) -> Violation? {
        if now + Self.burstAllowance < nextFrameDue { return .tooManyFrames }
        nextFrameDue = max(nextFrameDue, now) + Self.frameInterval
        guard frame.maskKey != nil else { return .unmaskedFrame }
        guard !frame.rsv1, !frame.rsv2, !frame.rsv3 else { return .reservedBits }
        switch frame.opcode {
        case .ping, .pong:
            return nil
        case .connectionClose:
            return Self.isValidClosePayload(frame.unmaskedData) ? nil : .invalidClosePayload
        case .text, .binary:
            guard messageBytes == nil else { return .messageInsideMessage }
            return add(frame)
        case .continuation:
            guard messageBytes != nil else { return .continuationWithoutMessage }
            return add(frame)
        default:
            return .unknownOpcode
        }
    }

    private mutating func add(_ frame: WebSocketFrame) -> Violation? {
        let total = (messageBytes ?? 0) + frame.length
        guard total <= Self.maximumMessageBytes else { return .messageTooBig }
        messageBytes = frame.fin ? nil : total
        return nil
    }

    /// Empty, or a status code a peer may send (RFC 6455 §7.4.1–2: 1000–1003, 1007–1011 and 3000–4999; never
    /// 1004–1006 or 1015, which only name local conditions) followed by an optional reason.
    static func isValidClosePayload(_ payload: ByteBuffer) -> Bool {
        guard payload.readableBytes > 0 else { return true }
        guard let code = payload.getInteger(at: payload.readerIndex, as: UInt16.self) else { return false }
        return isSendableCloseCode(code)
    }

    /// Whether a peer may put `code` in a close frame.
    static func isSendableCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: true
        default: false
        }
    }
}
