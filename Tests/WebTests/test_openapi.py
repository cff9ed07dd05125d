"""openapi/openapi.yaml against the running stack: schemathesis (pinned in requirements.txt) with every check and
every phase, stateful included, must find nothing; and every method a declared path does not declare, the ones
nginx answers itself included, is a 405 with an `Allow` header."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from stack import ROOT

HERE = Path(__file__).parent
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"]


def document() -> dict:
    return yaml.safe_load((ROOT / "openapi" / "openapi.yaml").read_text())


def test_schemathesis_finds_no_failure(make_stack, artifacts):
    # Real durations with one slot, so that tasks created by the stateful phase are often still queued when the link
    # to DELETE follows them (204), and sometimes not (409). The fuzzer invents many workspaces.
    stack = make_stack(slots=1, time_scale=1, environment={"TASKD_MAX_WORKSPACES": "1000000"})
    environment = dict(os.environ, TASKD_FUZZ_KEY=stack.issue_key("fuzz"), NO_COLOR="1")
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file", str(HERE / "schemathesis.toml"),
        "--no-color",
        "run",
        f"{stack.base}/openapi.yaml",
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--report", "junit,har",
        "--report-dir", str(artifacts),
    ]
    result = subprocess.run(command, cwd=artifacts, env=environment, capture_output=True, text=True, timeout=900,
                            check=False)
    output = result.stdout + result.stderr
    (artifacts / "schemathesis.txt").write_text(output)
    assert result.returncode == 0, f"schemathesis failed (report in {artifacts}):\n{output[-12000:]}"
    # Every phase ran and passed, the stateful one with its scenarios (chains along the document's links).
    for phase in ["Examples", "Coverage", "Fuzzing", "Stateful"]:
        assert re.search(rf"✅\s+{phase} \(in ", output), (phase, output[-4000:])
    scenarios = re.search(r"Scenarios:\s+(\d+)", output)
    assert scenarios, output[-4000:]
    assert int(scenarios.group(1)) >= 10, output[-4000:]
    assert "Warnings:" not in output, output[-4000:]


def test_undeclared_methods_answer_405_with_allow_everywhere(make_stack):
    stack = make_stack()
    key = stack.issue_key("methods")
    paths = document()["paths"]
    for path, item in paths.items():
        declared = {method.upper() for method in item if method.upper() in METHODS}
        if path.startswith("/tasks"):
            declared.add("OPTIONS")  # the CORS preflight, which the document describes but does not list
        concrete = path.replace("{id}", "1")
        for method in METHODS:
            if method in declared:
                continue
            status, headers, body = raw_request(stack.port, method, stack.target(concrete, key))
            assert status == 405, (method, path, status, body)
            allow = {m.strip() for m in headers.get("allow", "").split(",") if m.strip()}
            assert allow == declared, (method, path, headers.get("allow"))
            if method != "HEAD":
                assert b'"code":"method_not_allowed"' in body, (method, path, body)


def raw_request(port: int, method: str, target: str) -> tuple[int, dict[str, str], bytes]:
    """One request with any method (CONNECT and TRACE included), as a client would send it."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_served_document_is_the_repository_file(make_stack):
    stack = make_stack()
    answer = stack.get("/openapi.yaml")
    assert answer.status == 200
    assert answer.body == (ROOT / "openapi" / "openapi.yaml").read_bytes()
