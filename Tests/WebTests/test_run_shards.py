"""`make run-shards` as a person runs it: three complete stacks behind the front nginx, one demo key per shard on lines
that start with "Demo key", each key answered by its own shard through the front, every command it prints working,
and Ctrl-C stopping everything."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest
from shell_examples import Session, is_stream, stop_group
from stack import ROOT, binary_directory, free_port

SHARDS = 3


def ports_free(first: int, count: int) -> bool:
    for port in range(first, first + count):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def front_port() -> int:
    """A free port followed by SHARDS free ones (shard N listens on the front's port + N)."""
    for _ in range(50):
        port = free_port()
        if port + SHARDS < 65536 and ports_free(port, SHARDS + 1):
            return port
    raise AssertionError("no run of free ports")


@pytest.fixture(scope="module")
def run_shards():
    port = front_port()
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TASKD_") and key not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    }
    environment.update(
        TASKD_HTTP_PORT=str(port), TASKD_SHARDS=str(SHARDS), TASKD_SKIP_BUILD="1",
        TASKD_BIN_DIR=str(binary_directory()),
    )
    process = subprocess.Popen(
        ["make", "run-shards"], cwd=ROOT, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
    )
    output = b""
    try:
        deadline = time.monotonic() + 120
        while not re.search(rb"\nLogs: [^\n]*\n", output):
            assert process.poll() is None, f"make run-shards exited:\n{output.decode(errors='replace')}"
            assert time.monotonic() < deadline, f"make run-shards printed nothing:\n{output.decode(errors='replace')}"
            ready, _, _ = select.select([process.stdout], [], [], 1)
            if ready:
                output += os.read(process.stdout.fileno(), 65536)
        yield port, output.decode(), process
    finally:
        stop_group(process)
        directories = [ROOT / f"var/state-{port}", ROOT / f"var/run-{port}"]
        directories += [ROOT / f"var/state-{port + n}" for n in range(1, SHARDS + 1)]
        directories += [ROOT / f"var/run-{port + n}" for n in range(1, SHARDS + 1)]
        for directory in directories:
            shutil.rmtree(directory, ignore_errors=True)


def demo_keys(text: str) -> dict[int, str]:
    found = re.findall(r"^Demo key \(shard (\d+), tenant \"demo-\1\"\): (tk_s\1_\S+)$", text, re.MULTILINE)
    return {int(shard): key for shard, key in found}


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, dict(answer.headers), answer.read()


def test_each_demo_key_reaches_its_own_shard_through_the_front(run_shards):
    port, text, _ = run_shards
    keys = demo_keys(text)
    assert sorted(keys) == list(range(1, SHARDS + 1)), text
    for shard, key in keys.items():
        status, headers, body = get(f"http://127.0.0.1:{port}/tasks?api_key={key}&workspace_id=demo")
        assert status == 200, headers
        assert headers["X-Taskd-Shard"] == str(shard), headers
        assert isinstance(json.loads(body)["tasks"], list)
        # Each shard's state directory is its own, under the front's.
        assert (ROOT / f"var/state-{port}/shard-{shard}/keys.json").exists()


def test_every_command_make_run_shards_prints_works(run_shards):
    _, text, _ = run_shards
    commands = [line[2:] for line in text.splitlines() if line.startswith("  ") and not line.startswith("   ")]
    assert len(commands) >= 4, text
    session = Session(ROOT, {key: value for key, value in os.environ.items() if not key.startswith("TASKD_")})
    try:
        for command in commands:
            if is_stream(command):
                assert isinstance(session.stream(command), list), command
                continue
            status, output = session.run(command)
            assert status == 0, f"exit status {status}: {command}\n{output}"
            if "grep -i '^x-taskd-shard'" in command:
                assert output.strip().lower() == "x-taskd-shard: 1", output
            if "-X POST" in command:
                assert json.loads(output)["task"]["status"] == "queued", output
        status, output = session.run("taskctl key list")
        assert status == 0, output
        assert " demo-1 " in output, output
    finally:
        session.close()


def test_ctrl_c_stops_every_stack_and_the_front(run_shards):
    port, _, process = run_shards
    stop_group(process)
    assert process.wait(timeout=10) is not None
    for listening in range(port, port + SHARDS + 1):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", listening)) != 0, f"port {listening} still answers"
