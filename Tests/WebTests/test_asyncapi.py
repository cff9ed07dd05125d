"""openapi/asyncapi.yaml, served at /asyncapi.yaml: the structure AsyncAPI 3.0 requires, and real frames and close
codes of the stream checked against it with a JSON Schema validator."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from contextlib import contextmanager

import pytest
import yaml
from asyncapi_structure import ASYNCAPI_3_STRUCTURE, resolve, unresolved_references
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from stack import ROOT
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / "openapi" / name).read_text())


@pytest.fixture(scope="module")
def document() -> dict:
    return load("asyncapi.yaml")


def payload_validator(document: dict) -> Draft7Validator:
    """A validator of the task-list message's payload, with the document's own `$ref`s resolvable."""
    registry = Registry().with_resource("urn:taskd:asyncapi", Resource.from_contents(document, DRAFT7))
    schema = {"$ref": "urn:taskd:asyncapi#/components/messages/taskList/payload"}
    return Draft7Validator(schema, registry=registry)


def test_document_has_the_structure_asyncapi_3_requires(document):
    errors = sorted(Draft7Validator(ASYNCAPI_3_STRUCTURE).iter_errors(document), key=lambda e: list(e.path))
    assert [f"{list(error.path)}: {error.message}" for error in errors] == []
    assert unresolved_references(document) == []
    # Each operation's channel is one of the document's channels, and its messages are that channel's.
    for name, operation in document["operations"].items():
        channel_ref = operation["channel"]["$ref"]
        assert channel_ref.startswith("#/channels/"), name
        for message in operation.get("messages", []):
            assert message["$ref"].startswith(channel_ref + "/messages/"), (name, message)
    # Every message payload is a valid schema, and every example fits it.
    for message in document["components"]["messages"].values():
        Draft7Validator.check_schema(resolve(document, message["payload"]))
        for example in message.get("examples", []):
            payload_validator(document).validate(example["payload"])


def test_document_agrees_with_the_openapi_document_and_the_sidecar(document):
    openapi = load("openapi.yaml")
    for name in ["Task", "TaskType"]:
        assert document["components"]["schemas"][name] == openapi["components"]["schemas"][name], name
    channel = document["channels"]["workspaceTasks"]
    assert channel["address"] == "/ws/tasks"
    assert channel["bindings"]["ws"]["method"] == "GET"
    scheme = document["components"]["securitySchemes"]["apiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("httpApiKey", "query", "api_key")
    codes = {entry["code"] for entry in channel["x-close-codes"]}
    assert {1000, 1001, 1002, 1008, 1009, 1011} <= codes


def test_served_document_is_the_repository_file(make_stack):
    stack = make_stack()
    answer = stack.get("/asyncapi.yaml")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/yaml")
    assert answer.body == (ROOT / "openapi" / "asyncapi.yaml").read_bytes()


def test_real_frames_and_close_codes_match_the_document(make_stack, document):
    stack = make_stack(slots=2, time_scale=0.05)  # gx.tiny runs 75–225 ms
    key = stack.issue_key("frames")
    workspace = "frames"
    validator = payload_validator(document)
    documented_codes = {entry["code"] for entry in document["channels"]["workspaceTasks"]["x-close-codes"]}
    url = f"ws://127.0.0.1:{stack.port}" + stack.target("/ws/tasks", key, workspace)

    frames = []
    with connect(url, open_timeout=5) as socket:
        frames.append(json.loads(socket.recv(timeout=5)))
        for index in range(4):
            stack.create(key, workspace, f'frame {index} \u00e9\u6f22"\\', ["gx.tiny", "gx.micro"][index % 2])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            frames.append(json.loads(socket.recv(timeout=5)))
            if len(frames[-1]) == 4 and all(task["status"] == "completed" for task in frames[-1]):
                break
        assert stack.request("POST", stack.target("/tasks/flush", key, workspace)).status == 204
        frames.append(json.loads(socket.recv(timeout=5)))
        assert frames[-1] == stack.tasks(key, workspace) == []

        # A client frame over 4 KiB ends the stream with a documented code (1009).
        socket.send("x" * 5000)
        with pytest.raises(ConnectionClosed) as closed:
            receive_until_closed(socket)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code in documented_codes

    assert len(frames) >= 6, frames
    for frame in frames:
        validator.validate(frame)
    # Frames never go back in time: a task's status only moves forward.
    order = {"queued": 0, "running": 1, "completed": 2}
    last_seen: dict[int, int] = {}
    for frame in frames:
        for task in frame:
            assert order[task["status"]] >= last_seen.get(task["id"], 0), frames
            last_seen[task["id"]] = order[task["status"]]

    # Shutting taskd-ws down closes streams with a documented code (1001, going away).
    with connect(url, open_timeout=5) as socket:
        socket.recv(timeout=5)
        stack.stop_websocket()
        with pytest.raises(ConnectionClosed) as closed:
            receive_until_closed(socket)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1001
        assert 1001 in documented_codes


def receive_until_closed(socket):
    """Reads frames until the server closes the stream (ConnectionClosed), each within 5 s."""
    while True:
        socket.recv(timeout=5)


def test_refused_handshake_is_the_documented_json_error(make_stack):
    stack = make_stack()
    with pytest.raises(InvalidStatus) as refused:
        connect(f"ws://127.0.0.1:{stack.port}/ws/tasks?api_key=wrong", open_timeout=5)
    response = refused.value.response
    assert response.status_code == 401
    assert json.loads(response.body)["code"] == "unauthorized"


def test_pings_are_as_documented(make_stack, document):
    """After a ping interval of silence the server pings; a client that still says nothing for another interval is
    disconnected, without a close frame (1006 on the client's side), as the document's description says."""
    assert "Pings." in document["info"]["description"]
    stack = make_stack(environment={"TASKD_WS_PING_INTERVAL": "1"})
    key = stack.issue_key("pings")
    with raw_websocket(stack.port, stack.target("/ws/tasks", key, "pings")) as connection:
        opcode, payload = read_frame(connection, timeout=5)
        assert opcode == 0x1
        assert json.loads(payload) == []
        opcode, _ = read_frame(connection, timeout=5)
        assert opcode == 0x9, "a ping after one silent interval"
        # Not answering: the connection ends within another interval or so, with no close frame first.
        connection.settimeout(5)
        assert connection.recv(1) == b"", "the server ends the connection"


@contextmanager
def raw_websocket(port: int, target: str):
    """A WebSocket opened by hand, so that pings reach the test instead of being answered by a library."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        connection.sendall(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = connection.recv(1)
            assert chunk, f"the server closed during the handshake: {head!r}"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head
        yield connection
    finally:
        connection.close()


def read_frame(connection: socket.socket, timeout: float) -> tuple[int, bytes]:
    """One unmasked server frame: (opcode, payload)."""
    connection.settimeout(timeout)

    def exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = connection.recv(count - len(data))
            assert chunk, "the connection ended mid-frame"
            data += chunk
        return data

    first, second = exactly(2)
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(exactly(2), "big")
    elif length == 127:
        length = int.from_bytes(exactly(8), "big")
    return first & 0x0F, exactly(length)
