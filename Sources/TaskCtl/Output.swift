import Foundation
import TaskCore

/// Where a command's results go: text lines for people or one JSON document for scripts, on stdout.
/// Errors go to stderr, one line each.
struct Output {
    let json: Bool

    /// Prints `lines` as text, or `value` as JSON when `--json` was given.
    func emit(_ value: some Encodable, text lines: @autoclosure () -> [String]) throws {
        if json {
            let bytes: [UInt8]
            do {
                bytes = try WireFormat.encode(value)
            } catch {
                throw CommandFailure(.io, "Could not encode the JSON output: \(error)")
            }
            Self.write(bytes + [UInt8(ascii: "\n")], to: FileHandle.standardOutput)
        } else {
            for line in lines() {
                Self.write(Array((line + "\n").utf8), to: FileHandle.standardOutput)
            }
        }
    }

    /// A remark for the person at the terminal, on stderr (when stdout carries a document, as for `tenant export`).
    static func printNote(_ message: String) {
        write(Array((message + "\n").utf8), to: FileHandle.standardError)
    }

    static func printError(_ message: String) {
        write(Array(("taskctl: " + message + "\n").utf8), to: FileHandle.standardError)
    }

    private static func write(_ bytes: [UInt8], to handle: FileHandle) {
        handle.write(Data(bytes))
    }

    /// A moment as people read it: `2026-11-29T07:02:50.123Z`.
    static func format(_ time: Timestamp) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(time.rawValue) / 1000))
    }
}
