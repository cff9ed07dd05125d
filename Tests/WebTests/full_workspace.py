"""The dashboard on a full workspace: 10,000 tasks, of which a few start and complete every second, so the stream sends
a few frames a second, each the whole list (750 KB). test_dashboard_full_workspace.py asserts the targets with
these functions, and `make bench-ws` prints the same figures (this file run as a script).

The workspace is written the way an operator restores one: a tenant export (docs/scaling.md) holding one workspace of
finished tasks followed by a queue, imported with `taskctl tenant import`. Stored durations are real milliseconds, so
the queue moves `SLOTS` tasks a second whatever the time scale.

Run as a script, it starts its own stack (the binaries in TASKD_BIN_DIR, else the debug build), opens the page, and
prints the time to the list, then the main thread's busy share over `--seconds` with every task shown and with the
queued ones only (each frame then moves the rows in view). `--trace FILE` also records a DevTools trace and a
JavaScript profile of each window and prints where the page's main thread spent its time (see BENCHMARKS.md)."""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import websocket  # websocket-client, pinned in requirements.txt: the DevTools socket of Tracer

sys.path.insert(0, str(Path(__file__).parent))

from browser import chromium, poll
from stack import Stack

TASKS = 10_000
QUEUED = 2_000  # enough queue for minutes: `SLOTS` tasks finish each second
SLOTS = 3
DURATION_MS = (700, 1300)  # uniform, so that starts and completions fall at different moments (one frame each)
TYPES = ["gx.tiny", "gx.micro", "gx.small", "gx.medium", "gx.large", "gx.heavy"]
WORDS = ["Render", "Export", "Index", "Resize", "Encode", "Archive", "Reconcile", "Notify", "Backup", "Train"]
OBJECTS = ["thumbnails", "invoices", "the catalogue", "audio", "logs", "ledgers", "mailbox", "photos", "reports"]

# Installed before the page's own scripts: counts the stream's frames, and notes when the first task rows are in the
# document and when the frame after them has been painted (time from navigation, ms).
WATCHER = """
{
  window.__frames = 0;
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", () => { window.__frames += 1; });
    }
  };
  const rowsWatch = new MutationObserver(() => {
    if (window.__rowsAt !== undefined || !document.querySelector("#task-rows tr[data-id]")) return;
    window.__rowsAt = performance.now();
    rowsWatch.disconnect();
    requestAnimationFrame(() => requestAnimationFrame(() => { window.__listShownAt = performance.now(); }));
  });
  rowsWatch.observe(document, { childList: true, subtree: true });
}
"""

COUNT_NODES = """
let nodes = 0;
const walker = document.createTreeWalker(document, NodeFilter.SHOW_ALL);
while (walker.nextNode()) nodes += 1;
return nodes;
"""

COUNTS = (
    "return Object.fromEntries(['queued','running','completed','total'].map(s => "
    "[s, Number(document.getElementById('count-' + s).textContent.replace(/\\D/g, ''))]))"
)


def export_document(tenant: str, workspace: str, now_ms: int, tasks: int = TASKS, queued: int = QUEUED,
                    seed: int = 21) -> dict:
    """A tenant export with one workspace: `tasks - queued` tasks that completed an hour ago, then `queued` tasks
    that run from now on, `SLOTS` at a time, in id order."""
    rng = random.Random(seed)
    stored = []
    finished = tasks - queued
    for number in range(1, tasks + 1):
        name = f"{rng.choice(WORDS)} {rng.choice(OBJECTS)}"
        task = {"id": number, "name": name, "type": TYPES[number % len(TYPES)]}
        if number <= finished:
            task.update(created_at=now_ms - 3_600_000, started_at=now_ms - 3_600_000, duration_ms=1_000)
        else:
            task.update(created_at=now_ms - 1_000, duration_ms=rng.randint(*DURATION_MS))
        stored.append(task)
    state = {"as_of": now_ms, "chain": "00000000", "format": 2, "next_id": tasks + 1, "seq": tasks,
             "tasks": stored}
    return {"exported_at": now_ms, "format": "taskd-tenant", "frozen": False, "keys": [], "tenant": tenant,
            "version": 1, "workspaces": [{"id": workspace, "state": state}]}


def fill(stack: Stack, tenant: str = "full", workspace: str = "full", **options) -> str:
    """Imports the full workspace into `stack` (started with `slots=SLOTS`) as a new tenant, then issues a key of that
    tenant and returns it (an import refuses a tenant that exists already)."""
    path = stack.prefix / "tmp" / "full-workspace.json"
    path.write_text(json.dumps(export_document(tenant, workspace, int(time.time() * 1000), **options)))
    result = subprocess.run([str(stack.bin / "taskctl"), "tenant", "import", str(path)], env=stack.environment,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"taskctl tenant import failed: {result.stdout}{result.stderr}"
    return stack.issue_key(tenant)


@dataclass
class Window:
    """What `watch` saw over its window: the main thread's busy share, the frames and completions, the DOM's size and
    the page's counts at its end, with `view` the status filter it was taken under."""

    view: str
    busy_share: float
    seconds: float
    frames: int
    completed: int
    dom_nodes: int
    counts: dict

    def line(self) -> str:
        return (f"view={self.view} busy={self.busy_share * 100:.1f}% window={self.seconds:.1f}s "
                f"frames={self.frames} completed={self.completed} dom_nodes={self.dom_nodes} "
                f"tasks={self.counts['total']}")


def task_duration(driver) -> float:
    metrics = driver.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]
    return next(metric["value"] for metric in metrics if metric["name"] == "TaskDuration")


def open_page(driver, base: str, key: str, workspace: str, timeout: float = 30) -> float:
    """Opens the dashboard on the workspace; returns the seconds from navigation to the first rows on screen (the
    frame after they entered the document)."""
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCHER})
    driver.execute_cdp_cmd("Performance.enable", {"timeDomain": "timeTicks"})
    driver.get(f"{base}/#api_key={key}&workspace_id={workspace}")
    return poll(driver, "the list to be shown", "return window.__listShownAt", timeout=timeout) / 1000


def show_status(driver, status: str):
    """Chooses the status filter (`all`, `queued`, ...) as a user does, and waits for its rows."""
    driver.execute_script("document.querySelector(`input[name='status'][value='${arguments[0]}']`).click()", status)
    poll(driver, f"the {status} rows", "const rows = [...document.querySelectorAll('#task-rows tr[data-id]')];"
         "return rows.length > 0"
         " && (arguments[0] === 'all' || rows.every((row) => row.dataset.status === arguments[0]))",
         status)


def watch(driver, seconds: float = 10, during=None) -> Window:
    """Keeps still for `seconds` while the stream runs, and measures the main thread's busy time over them (Chrome's
    TaskDuration: the time of the renderer main thread's tasks). `during(driver)`, if given, starts with the window
    (a tracer, say) and returns a function called at its end."""
    view = driver.execute_script("return document.querySelector('input[name=status]:checked').value")
    finish = during(driver) if during else None
    frames_before = driver.execute_script("return window.__frames")
    completed_before = driver.execute_script(COUNTS)["completed"]
    busy_before, started = task_duration(driver), time.monotonic()
    time.sleep(seconds)  # the measured window: the page works on its own
    busy_after, ended = task_duration(driver), time.monotonic()
    frames = driver.execute_script("return window.__frames") - frames_before
    counts = driver.execute_script(COUNTS)
    if finish:
        finish()
    return Window(
        view=view,
        busy_share=(busy_after - busy_before) / (ended - started),
        seconds=ended - started,
        frames=frames,
        completed=counts["completed"] - completed_before,
        dom_nodes=driver.execute_script(COUNT_NODES),
        counts=counts,
    )


# ---- tracing (for BENCHMARKS.md; not part of the test) -------------------------------------------------------------

class Tracer:
    """A DevTools trace of the page's renderer, taken over the browser's own DevTools socket (beside chromedriver's)."""

    CATEGORIES = ("devtools.timeline", "disabled-by-default-devtools.timeline", "v8", "v8.execute", "blink",
                  "blink.user_timing", "disabled-by-default-v8.gc", "toplevel")

    def __init__(self, driver, path: Path):
        address = driver.capabilities["goog:chromeOptions"]["debuggerAddress"]
        with urllib.request.urlopen(f"http://{address}/json/version", timeout=5) as answer:
            endpoint = json.load(answer)["webSocketDebuggerUrl"]
        self.socket = websocket.create_connection(endpoint, suppress_origin=True, timeout=60)
        self.driver = driver
        self.path = path
        self.next_id = 0
        self.events: list[dict] = []
        self.profile: dict = {}
        self.send("Tracing.start", {"traceConfig": {"includedCategories": list(self.CATEGORIES)},
                                    "transferMode": "ReportEvents"})
        # The page's JavaScript, sampled every 100 µs: which functions (JSON.parse among them) the scripting time is.
        driver.execute_cdp_cmd("Profiler.enable", {})
        driver.execute_cdp_cmd("Profiler.setSamplingInterval", {"interval": 100})
        driver.execute_cdp_cmd("Profiler.start", {})

    def send(self, method: str, params: dict):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))

    def __call__(self):
        self.profile = self.driver.execute_cdp_cmd("Profiler.stop", {})["profile"]
        self.send("Tracing.end", {})
        while True:
            message = json.loads(self.socket.recv())
            if message.get("method") == "Tracing.dataCollected":
                self.events += message["params"]["value"]
            elif message.get("method") == "Tracing.tracingComplete":
                break
        self.socket.close()
        self.path.write_text(json.dumps({"traceEvents": self.events}))
        self.path.with_suffix(".cpuprofile").write_text(json.dumps(self.profile))


def summarise_profile(profile: dict, seconds: float) -> list[str]:
    """Self time of the page's JavaScript functions (ms per second), from a V8 CPU profile."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    self_time: dict[str, float] = defaultdict(float)
    for node_id, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        frame = nodes[node_id]["callFrame"]
        where = f" ({Path(frame['url']).name}:{frame['lineNumber'] + 1})" if frame["url"] else ""
        self_time[(frame["functionName"] or "(anonymous)") + where] += delta
    busy = {name: micros for name, micros in self_time.items() if name not in ("(idle)", "(program)")}
    lines = [f"JavaScript: {sum(busy.values()) / 1000 / seconds:.1f} ms per second, by function (self time):"]
    for name, micros in sorted(busy.items(), key=lambda item: -item[1])[:10]:
        lines.append(f"  {name}: {micros / 1000 / seconds:.2f} ms/s")
    return lines


def summarise(events: list[dict], seconds: float, origin: str) -> list[str]:
    """Where the page's renderer main thread (the one running scripts of `origin`) spent its time: self time (ms per
    second) of each event name, nested events subtracted from their parents."""
    threads = {(event["pid"], event["tid"]): event["args"]["name"] for event in events
               if event.get("ph") == "M" and event.get("name") == "thread_name"}
    main = [key for key, name in threads.items() if name == "CrRendererMain"]
    by_thread = defaultdict(list)
    ours: dict[tuple, int] = defaultdict(int)
    for event in events:
        key = (event.get("pid"), event.get("tid"))
        if key in main and event.get("ph") == "X" and "dur" in event:
            by_thread[key].append(event)
            data = event.get("args", {}).get("data", {})
            ours[key] += isinstance(data, dict) and str(data.get("url", "")).startswith(origin)
    if not by_thread:
        return ["(no renderer main thread in the trace)"]
    page = by_thread[max(by_thread, key=lambda key: ours[key])]
    page.sort(key=lambda e: (e["ts"], -e["dur"]))
    self_time: dict[str, float] = defaultdict(float)
    stack: list[list] = []  # [event, child time]
    top = 0.0
    for event in page:
        while stack and event["ts"] >= stack[-1][0]["ts"] + stack[-1][0]["dur"]:
            done, children = stack.pop()
            self_time[done["name"]] += done["dur"] - children
        if stack:
            stack[-1][1] += event["dur"]
        else:
            top += event["dur"]
        stack.append([event, 0.0])
    for done, children in stack:
        self_time[done["name"]] += done["dur"] - children
    lines = [f"renderer main thread: {top / 1000 / seconds:.1f} ms busy per second (top-level events)"]
    for name, micros in sorted(self_time.items(), key=lambda item: -item[1])[:15]:
        lines.append(f"  {name}: {micros / 1000 / seconds:.2f} ms/s ({micros / max(top, 1) * 100:.1f} %)")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--trace", type=Path, help="also trace each window into FILE-<view>.json and summarise it")
    arguments = parser.parse_args()
    stack = Stack(slots=SLOTS).start()
    try:
        key = fill(stack)
        with chromium() as driver:
            shown = open_page(driver, stack.base, key, "full")
            print(f"dashboard list_shown={shown:.2f}s")
            for view in ["all", "queued"]:
                show_status(driver, view)
                path = arguments.trace.with_name(f"{arguments.trace.stem}-{view}.json") if arguments.trace else None
                window = watch(driver, arguments.seconds, (lambda d, path=path: Tracer(d, path)) if path else None)
                print(f"dashboard {window.line()}")
                if path:
                    events = json.loads(path.read_text())["traceEvents"]
                    print("\n".join(summarise(events, window.seconds, stack.base)))
                    profile = json.loads(path.with_suffix(".cpuprofile").read_text())
                    print("\n".join(summarise_profile(profile, window.seconds)))
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
