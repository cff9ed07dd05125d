"""A newcomer's first five minutes: `make run` on a free port, then every command it prints, and every shell example
of README.md and docs/api.md, pasted into one terminal against that stack. A curl command passes when every request
it made was answered 2xx (or, in the documents, the status the comment under it promises); the stream command when
it prints a JSON array within a few seconds. Each command runs exactly as written; in the documents, the example
key `tk_…` and port 8080 are replaced by the stack's."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from shell_examples import AccessLog, Example, Session, examples_in, is_stream, stop_group
from stack import ROOT, binary_directory, free_port

# The README's two commands are what this test runs; they are not run again inside it.
README_COMMANDS = {"make run", "make test"}


@dataclass
class Run:
    port: int
    key: str
    dashboard: str
    commands: list[str]
    access_log: Path
    output: str


@pytest.fixture(scope="module")
def make_run():
    port = free_port()
    # As from a fresh shell: no TASKD_ settings, and not inside the `make test` that runs this.
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TASKD_") and key not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    }
    # The binaries `make test` already built (a debug build), instead of a release build of its own.
    environment.update(TASKD_HTTP_PORT=str(port), TASKD_SKIP_BUILD="1", TASKD_BIN_DIR=str(binary_directory()))
    process = subprocess.Popen(
        ["make", "run"], cwd=ROOT, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
    )
    output = b""
    try:
        deadline = time.monotonic() + 60
        while b"\nLogs: " not in output:
            assert process.poll() is None, f"make run exited:\n{output.decode(errors='replace')}"
            assert time.monotonic() < deadline, f"make run printed no commands:\n{output.decode(errors='replace')}"
            ready, _, _ = select.select([process.stdout], [], [], 1)
            if ready:
                output += os.read(process.stdout.fileno(), 65536)
        # The rest of the "Logs:" line.
        while not output.rstrip(b" ").endswith(b"\n"):
            output += os.read(process.stdout.fileno(), 65536)
        run = parse(output.decode(), port)
        yield run
    finally:
        stop_group(process)  # Ctrl-C, as a person would stop it
        # make run's state and runtime directories (the latter under /tmp when the checkout's path is long).
        directories = [ROOT / f"var/state-{port}", ROOT / f"var/run-{port}"]
        match = re.search(rb"access log is (\S+)/logs/access\.log;", output)
        if match:
            directories.append(Path(match.group(1).decode()))
        for directory in directories:
            shutil.rmtree(directory, ignore_errors=True)


def parse(text: str, port: int) -> Run:
    key = re.search(r"The demo key \(tenant \"demo\"\) is (\S+)", text).group(1)
    lines = [line[2:] for line in text.splitlines() if line.startswith("  ") and not line.startswith("   ")]
    dashboard = next(line for line in lines if line.startswith("http://"))
    commands = [line for line in lines if line != dashboard]
    access_log = Path(re.search(r"access log is (\S+);", text).group(1))
    return Run(port, key, dashboard, commands, access_log, text)


def new_session() -> Session:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TASKD_")}
    return Session(ROOT, environment)


def test_make_run_prints_a_dashboard_link_with_the_demo_key(make_run):
    url = urllib.parse.urlsplit(make_run.dashboard)
    assert (url.hostname, url.port, url.path, url.query) == ("127.0.0.1", make_run.port, "/", "")
    fragment = urllib.parse.parse_qs(url.fragment)
    assert fragment == {"api_key": [make_run.key], "workspace_id": ["demo"]}
    with urllib.request.urlopen(make_run.dashboard, timeout=5) as page:
        assert page.status == 200
        assert page.headers["Content-Type"].startswith("text/html")
        assert b'<script type="module" src="/dashboard.js">' in page.read()


def test_every_command_make_run_prints_works(make_run):
    assert len(make_run.commands) >= 8, make_run.output
    log = AccessLog(make_run.access_log, f"http://127.0.0.1:{make_run.port}")
    session = new_session()
    outputs = {}
    try:
        for command in make_run.commands:
            if is_stream(command):
                frame = session.stream(command)
                assert isinstance(frame, list), command
                log.requests_since_last_call()
                continue
            status, output = session.run(command)
            outputs[command] = output
            assert status == 0, f"exit status {status}: {command}\n{output}"
            requests = log.requests_since_last_call()
            if "curl " in command:
                assert requests, f"no request reached nginx: {command}"
                failed = [request for request in requests if not 200 <= request[2] < 300]
                assert failed == [], f"{command}\n{output}"
            if command.startswith("curl -s '") and "/tasks" in command and "-w" not in command:
                json.loads(output)  # the answer is printed as it came: JSON
        # The delete sequence deleted a task that was waiting for a slot; taskctl sees the demo key.
        delete = next(command for command in make_run.commands if "-X DELETE" in command)
        assert outputs[delete].splitlines()[-1] == "204", outputs[delete]
        assert " demo " in outputs["taskctl key list"], outputs["taskctl key list"]
    finally:
        session.close()


@pytest.mark.parametrize("document", ["README.md", "docs/api.md"])
def test_every_shell_example_of_the_documents_works(make_run, document):
    examples = examples_in(ROOT / document, skip=README_COMMANDS)
    assert len(examples) >= 5, document
    log = AccessLog(make_run.access_log, f"http://127.0.0.1:{make_run.port}")
    session = new_session()
    try:
        # What `make run` printed for taskctl (PATH and state directory) comes first, as for a person.
        exports = [command for command in make_run.commands if command.startswith("export ")]
        assert session.run(exports[0])[0] == 0
        for example in examples:
            check(session, log, localize(example, make_run))
    finally:
        session.close()


def localize(example: Example, run: Run) -> Example:
    command = example.command.replace("tk_…", run.key).replace("127.0.0.1:8080", f"127.0.0.1:{run.port}")
    return Example(command, example.source, example.expected_status, example.expected_json, example.expected_text,
                   example.commented)


def check(session: Session, log: AccessLog, example: Example):
    where = f"{example.source}: {example.command}"
    if is_stream(example.command):
        assert isinstance(session.stream(example.command), list), where
        log.requests_since_last_call()
        return
    status, output = session.run(example.command)
    requests = log.requests_since_last_call()
    assert status == 0, f"exit status {status}: {where}\n{output}"
    if "curl " in example.command:
        assert requests, f"no request reached nginx: {where}"
        expected = example.expected_status
        wrong = [r for r in requests if (r[2] != expected if expected else not 200 <= r[2] < 300)]
        assert wrong == [], f"{where}\nexpected {expected or '2xx'}, got {requests}\n{output}"
    if example.expected_json is not None:
        answer = json.loads(output.strip().splitlines()[-1])
        assert set(answer) == set(example.expected_json), f"{where}\n{output}"
        if "code" in example.expected_json:
            assert answer["code"] == example.expected_json["code"], f"{where}\n{output}"
    if example.expected_text is not None:
        assert example.expected_text.lower() in output.lower(), f"{where}\n{output}"
