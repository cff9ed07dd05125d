"""A private taskd for one test: nginx on a free port of 127.0.0.1, rendered from nginx/local.conf.template with the
production locations, taskd-fcgi and taskd-ws on unix sockets, all in a temporary prefix with its own state
directory. The Python twin of Tests/IntegrationTests/Support/TaskdHarness.swift, for the tests that need Python
tools (a browser driver, a JSON Schema validator, schemathesis)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def binary_directory() -> Path:
    """Where taskd-fcgi, taskd-ws and taskctl are: TASKD_BIN_DIR (scripts/test-web.sh sets it), else the debug build."""
    configured = os.environ.get("TASKD_BIN_DIR")
    if configured:
        return Path(configured)
    output = subprocess.run(
        ["swift", "build", "--show-bin-path"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    return Path(output.strip())


def nginx_binary() -> str:
    for candidate in [shutil.which("nginx"), "/usr/sbin/nginx", "/usr/local/sbin/nginx"]:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise AssertionError("nginx is not installed; run scripts/install-deps.sh (make test does)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(what: str, condition, timeout: float = 10.0, interval: float = 0.05):
    """Polls `condition` until it returns a true value (which is returned), failing with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except Exception as error:  # noqa: BLE001 - the last error goes into the failure message
            last_error = error
        time.sleep(interval)
    suffix = f" (last error: {last_error!r})" if last_error else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}{suffix}")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class Child:
    """A started process with its output in a log file."""

    def __init__(self, name: str, arguments: list[str], environment: dict[str, str], log_directory: Path):
        self.name = name
        self.log = log_directory / f"{name}.log"
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                arguments, env=environment, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
            )

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 2.0):
        """SIGTERM, then SIGKILL after `grace` seconds."""
        if not self.running:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def tail(self, limit: int = 4000) -> str:
        try:
            return self.log.read_bytes()[-limit:].decode("utf-8", "replace")
        except OSError:
            return ""


class Stack:
    def __init__(self, *, slots: int = 6, time_scale: float = 0.001, environment: dict[str, str] | None = None):
        self.prefix = Path(tempfile.mkdtemp(prefix="taskd-web-", dir="/tmp"))
        self.state = self.prefix / "state"
        for directory in ["state", "logs", "tmp"]:
            (self.prefix / directory).mkdir()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.bin = binary_directory()
        self.environment = {key: value for key, value in os.environ.items() if not key.startswith("TASKD_")}
        self.environment.update(
            {
                "TASKD_STATE_DIR": str(self.state),
                "TASKD_KEYS_FILE": str(self.state / "keys.json"),
                "TASKD_SLOTS": str(slots),
                "TASKD_TIME_SCALE": str(time_scale),
                "TASKD_FCGI_SOCKET": str(self.prefix / "fcgi.sock"),
                "TASKD_FCGI_THREADS": "4",
                "TASKD_WS_LISTEN": f"unix:{self.prefix / 'ws.sock'}",
                "TASKD_LOG_LEVEL": "info",
            }
        )
        self.environment.update(environment or {})
        self.children: list[Child] = []
        self.responder: Child | None = None
        self.websocket: Child | None = None
        self.nginx: Child | None = None

    # ---- lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> Stack:
        self.render_nginx()
        self.responder = self.spawn("taskd-fcgi", [str(self.bin / "taskd-fcgi")])
        self.start_websocket()
        conf = str(self.prefix / "nginx.conf")
        self.nginx = self.spawn("nginx", [nginx_binary(), "-p", f"{self.prefix}/", "-c", conf])
        wait_until(f"nginx on port {self.port} and taskd-fcgi behind it", lambda: self.get("/tasks").status == 401)
        self.wait_for_websocket()
        return self

    def spawn(self, name: str, arguments: list[str]) -> Child:
        child = Child(f"{name}-{len(self.children)}", arguments, self.environment, self.prefix / "logs")
        self.children.append(child)
        return child

    def start_websocket(self):
        self.websocket = self.spawn("taskd-ws", [str(self.bin / "taskd-ws")])

    def wait_for_websocket(self):
        # Without the handshake, taskd-ws answers 401 (no key); nginx alone answers 502.
        wait_until("taskd-ws behind nginx", lambda: self.get("/ws/tasks").status == 401)

    def stop_websocket(self):
        assert self.websocket is not None
        self.websocket.stop()

    def stop(self):
        for child in reversed(self.children):
            child.stop()
        shutil.rmtree(self.prefix, ignore_errors=True)

    def logs(self) -> str:
        parts = []
        for child in self.children:
            status = "running" if child.running else f"exited {child.process.returncode}"
            parts.append(f"--- {child.name} ({status}) ---\n{child.tail()}")
        return "\n".join(parts)

    def render_nginx(self):
        user = "user root root;" if os.geteuid() == 0 else ""
        values = {
            "USER_DIRECTIVE": user,
            "WORKER_PROCESSES": "1",
            "PREFIX": str(self.prefix),
            "ERROR_LOG": "stderr",
            "ACCESS_LOG": f"{self.prefix}/logs/access.log taskd",
            "FCGI_SOCKET": str(self.prefix / "fcgi.sock"),
            "WS_UPSTREAM": f"unix:{self.prefix / 'ws.sock'}",
            "RATE_LIMIT": "10000r/s",
            "RATE_BURST": "10000",
            "WS_CONNECTIONS_PER_ADDRESS": "65535",
            "HTTP_PORT": str(self.port),
            "OPENAPI_DIR": str(ROOT / "openapi"),
            "WEB_DIR": str(ROOT / "web"),
            "LOCATIONS_FILE": str(ROOT / "nginx" / "taskd-locations.conf"),
        }
        rendered = subprocess.run(
            [str(ROOT / "scripts" / "tools" / "render-nginx.sh"),
             *[f"{name}={value}" for name, value in values.items()]],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (self.prefix / "nginx.conf").write_text(rendered)

    # ---- keys and requests --------------------------------------------------------------------------------------

    def issue_key(self, tenant: str = "acme") -> str:
        output = subprocess.run(
            [str(self.bin / "taskctl"), "key", "add", tenant],
            env=self.environment,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return output.strip().splitlines()[-1]

    def target(self, path: str, key: str | None = None, workspace: str | None = None) -> str:
        query = {}
        if key is not None:
            query["api_key"] = key
        if workspace is not None:
            query["workspace_id"] = workspace
        return path + ("?" + urllib.parse.urlencode(query) if query else "")

    def request(self, method: str, target: str, body=None, headers: dict[str, str] | None = None) -> Answer:
        data = None
        headers = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode() if not isinstance(body, bytes) else body
            headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(self.base + target, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Answer(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers.items()), error.read())

    def get(self, target: str) -> Answer:
        return self.request("GET", target)

    def tasks(self, key: str, workspace: str) -> list[dict]:
        answer = self.get(self.target("/tasks", key, workspace))
        assert answer.status == 200, answer
        return answer.json()["tasks"]

    def create(self, key: str, workspace: str, name: str = "task", task_type: str = "gx.tiny") -> dict:
        answer = self.request("POST", self.target("/tasks", key, workspace), {"name": name, "type": task_type})
        assert answer.status == 201, answer
        return answer.json()["task"]
