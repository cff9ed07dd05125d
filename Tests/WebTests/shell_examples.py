"""Runs shell commands the way a person pastes them into one terminal, and tells what each did to a taskd stack:
its exit status, its output, and the status of every HTTP request it made (read from nginx's access log, so that
the command runs exactly as written)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import select
import signal
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

ANSI = re.compile(rb"\x1b(?:\[[0-9;]*[A-Za-z]|[78])")
LOG_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) ')


def is_stream(command: str) -> bool:
    """A command that opens the WebSocket stream and prints frames until stopped."""
    return "-m websockets" in command or command.lstrip().startswith("websocat ")


@dataclass
class Example:
    """A command from a document, with what its first following comment line promises (`# 201 {...}`)."""

    command: str
    source: str
    expected_status: int | None = None
    expected_json: dict | None = None
    expected_text: str | None = None
    commented: bool = False


def examples_in(markdown: Path, skip: set[str]) -> list[Example]:
    """Every command of the document's ```shell and ```sh blocks except those in `skip`, in order; a command's
    continuation lines (ending in a backslash) are joined, and a comment line right after it is its expectation."""
    examples: list[Example] = []
    block: list[str] | None = None
    for number, line in enumerate(markdown.read_text().splitlines(), start=1):
        if block is None:
            if line.strip() in ("```shell", "```sh"):
                block = []
            continue
        if line.strip() == "```":
            examples += commands_of(block, f"{markdown.name}:{number - len(block)}", skip)
            block = None
        else:
            block.append(line)
    return examples


def commands_of(lines: list[str], source: str, skip: set[str]) -> list[Example]:
    examples: list[Example] = []
    pending = ""
    for line in lines:
        if pending:
            pending += "\n" + line
        elif line.startswith("#"):
            if examples and not examples[-1].commented:
                examples[-1].commented = True
                expect(examples[-1], line.lstrip("# ").strip())
            continue
        elif line.strip():
            pending = line
        if pending and not pending.endswith("\\"):
            if pending.split("#")[0].strip() not in skip:
                examples.append(Example(pending, source))
            pending = ""
    return examples


def expect(example: Example, comment: str):
    """`# 201 {...}`: the status, and the keys (and error code) of the JSON printed; `# 405 Allow: GET, ...`: the
    status, and a header line the output must contain. Any other comment is prose."""
    match = re.match(r"(\d{3})\b[,:]?\s*(.*)", comment)
    rest = comment
    if match:
        example.expected_status = int(match.group(1))
        rest = match.group(2)
    if rest.startswith("{"):
        with contextlib.suppress(json.JSONDecodeError):
            example.expected_json = json.JSONDecoder().raw_decode(rest)[0]
    elif re.match(r"[A-Z][A-Za-z-]+: \S", rest):
        example.expected_text = rest.split(";")[0].strip()


class AccessLog:
    """nginx's access log of the stack, read from where the last call stopped."""

    def __init__(self, path: Path, base: str):
        self.path = path
        self.base = base
        self.offset = path.stat().st_size if path.exists() else 0

    def requests_since_last_call(self) -> list[tuple[str, str, int]]:
        # A request of our own, sent after the command ended: once it is logged, everything before it is too. The
        # log has paths without queries (keys stay out), so the probe is told apart by its User-Agent.
        probe = f"first-run-probe-{uuid.uuid4().hex}"
        request = urllib.request.Request(self.base + "/", method="HEAD", headers={"User-Agent": probe})
        urllib.request.urlopen(request, timeout=5).close()
        deadline = time.monotonic() + 5
        while True:
            text = self.path.read_text(errors="replace")[self.offset :] if self.path.exists() else ""
            if probe in text or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert probe in text, f"nginx did not log {probe} in {self.path}"
        self.offset += len(text.encode())
        entries = []
        for line in text.splitlines():
            match = LOG_LINE.search(line)
            if match and "first-run-probe-" not in line:
                entries.append((match.group("method"), match.group("path"), int(match.group("status"))))
        return entries


class Session:
    """One bash, fed commands one at a time like a terminal, with every variable exported (`set -a`) so that a
    stream command run on its own sees the session's variables."""

    def __init__(self, cwd: Path, environment: dict[str, str]):
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.cwd = cwd
        self.run("set -a")

    def run(self, command: str, timeout: float = 60) -> tuple[int, str]:
        marker = f"__done_{uuid.uuid4().hex}__"
        self.process.stdin.write(f"{command}\nprintf '\\n{marker} %s\\n' \"$?\"\n".encode())
        self.process.stdin.flush()
        output = b""
        deadline = time.monotonic() + timeout
        while marker.encode() not in output:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out after {timeout} s running: {command}\n{output.decode(errors='replace')}"
            ready, _, _ = select.select([self.process.stdout], [], [], remaining)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                assert chunk, f"bash exited while running: {command}\n{output.decode(errors='replace')}"
                output += chunk
        text = output.decode(errors="replace")
        before, _, after = text.partition(marker)
        return int(after.split()[0]), before.rstrip("\n")

    def environment(self) -> dict[str, str]:
        _, output = self.run("env -0 | base64 -w0")
        pairs = base64.b64decode(output.strip().splitlines()[-1]).split(b"\0")
        return dict(pair.decode().split("=", 1) for pair in pairs if b"=" in pair)

    def stream(self, command: str, timeout: float = 5) -> list:
        """Runs a stream command apart (it never ends by itself) and returns the first JSON array it prints."""
        process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=self.cwd,
            env=self.environment(),
            stdin=subprocess.PIPE,  # kept open: the interactive client ends at end of input
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        output = b""
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                ready, _, _ = select.select([process.stdout], [], [], max(0, deadline - time.monotonic()))
                if not ready:
                    continue
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    break
                output += chunk
                for line in ANSI.sub(b"", output).decode(errors="replace").splitlines():
                    candidate = line.strip().removeprefix("<").strip()
                    if candidate.startswith("["):
                        try:
                            frame = json.loads(candidate)
                        except json.JSONDecodeError:
                            continue
                        if isinstance(frame, list):
                            return frame
            raise AssertionError(f"no JSON array within {timeout} s from: {command}\n{output.decode(errors='replace')}")
        finally:
            stop_group(process)

    def close(self):
        stop_group(self.process)


def stop_group(process: subprocess.Popen):
    """Ctrl-C for the process group the command started (as a terminal would send), then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    for sig, grace in [(signal.SIGINT, 3), (signal.SIGKILL, 5)]:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
        return
