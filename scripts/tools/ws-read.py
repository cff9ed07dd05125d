#!/usr/bin/env python3
"""Opens a WebSocket (RFC 6455) and prints the payload of the first text frame the server sends, then closes.

    scripts/tools/ws-read.py HOST PORT PATH [HOST_HEADER]

Used by `make deploy-check`, which runs it in a container's network namespace, where no WebSocket client is
installed: the standard library is enough for one unmasked server frame. Exits 1 if the upgrade is refused or no text
frame arrives within 10 s.
"""
import base64
import os
import socket
import struct
import sys


def read_exactly(connection, count):
    data = b""
    while len(data) < count:
        chunk = connection.recv(count - len(data))
        if not chunk:
            raise EOFError("the server closed the connection")
        data += chunk
    return data


def main():
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    host_header = sys.argv[4] if len(sys.argv) > 4 else host
    key = base64.b64encode(os.urandom(16)).decode()
    connection = socket.create_connection((host, port), timeout=10)
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    connection.sendall(request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += read_exactly(connection, 1)
    status = head.split(b"\r\n", 1)[0].decode()
    if " 101 " not in status + " ":
        print(f"upgrade refused: {status}", file=sys.stderr)
        return 1
    while True:
        first, second = read_exactly(connection, 2)
        opcode, length = first & 0x0F, second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", read_exactly(connection, 2))
        elif length == 127:
            (length,) = struct.unpack("!Q", read_exactly(connection, 8))
        payload = read_exactly(connection, length)
        if opcode == 0x1:
            print(payload.decode())
            # A masked close frame with code 1000 (normal closure), as a client must send.
            mask = os.urandom(4)
            body = bytes(b ^ mask[i % 4] for i, b in enumerate(struct.pack("!H", 1000)))
            connection.sendall(bytes([0x88, 0x80 | len(body)]) + mask + body)
            connection.close()
            return 0
        if opcode == 0x8:
            print("the server closed the WebSocket before sending a list", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
