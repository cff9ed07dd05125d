import NIOCore
import NIOWebSocket

/// A complete server-to-client WebSocket frame as bytes on the wire: header and payload in one buffer.
///
/// Frames a server sends are never masked (RFC 6455 §5.1), so a frame's bytes are the same for every client: the hub
/// builds each list's frame once and every connection writes that same buffer, sharing its storage. NIO's
/// `WebSocketFrameEncoder` would write a fresh header buffer per connection beside the payload (two buffers, a
/// `writev` per socket); taskd-ws does not use it, so every frame, control frames included, is built here.
enum ServerFrame {
    /// A final, unfragmented frame of `opcode` carrying `payload`.
    static func make(_ opcode: WebSocketOpcode, payload: some Collection<UInt8>) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(payload.count + 10)
        buffer.writeInteger(0x80 | UInt8(webSocketOpcode: opcode))
        // Server frames are unmasked: the mask bit stays 0; the length takes 7 bits, or 126 + 16 bits, or 127 + 64.
        switch payload.count {
        case ..<126:
            buffer.writeInteger(UInt8(payload.count))
        case ..<65_536:
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(payload.count))
        default:
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(payload.count))
        }
        buffer.writeBytes(payload)
        return buffer
    }

    /// A text frame holding a task list.
    static func text(_ bytes: [UInt8]) -> ByteBuffer {
        make(.text, payload: bytes)
    }

    /// A close frame: the status code, then a reason of at most 123 bytes of UTF-8 (control frames carry at most 125).
    static func close(_ code: WebSocketErrorCode, reason: String = "") -> ByteBuffer {
        var payload = ByteBuffer()
        payload.write(webSocketErrorCode: code)
        payload.writeBytes(Self.truncatedUTF8(reason, limit: 123))
        return make(.connectionClose, payload: payload.readableBytesView)
    }

    /// The longest prefix of `text` within `limit` bytes that ends on a character boundary.
    static func truncatedUTF8(_ text: String, limit: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        for character in text {
            let encoded = Array(character.utf8)
            guard bytes.count + encoded.count <= limit else { break }
            bytes += encoded
        }
        return bytes
    }
}
