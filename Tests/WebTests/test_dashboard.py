"""The dashboard at `/` in a real headless Chromium against a real stack: the live view, creating, deleting and
flushing through the page, readable errors, reconnection after taskd-ws restarts, and the accessibility basics.
A failing test leaves a screenshot and the page's HTML in .build-web/<test>/."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request

from browser import console_errors, poll
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select
from stack import free_port

# Records every status each row shows, in order, as the page draws it.
RECORDER = """
window.__history = {};
const record = (row) => {
  if (!row.dataset || !row.dataset.status) return;
  const seen = (window.__history[row.dataset.id] ||= []);
  if (seen[seen.length - 1] !== row.dataset.status) seen.push(row.dataset.status);
};
new MutationObserver((mutations) => {
  for (const mutation of mutations) {
    if (mutation.type === "attributes") record(mutation.target);
    else mutation.addedNodes.forEach(record);
  }
}).observe(document.getElementById("task-rows"), {subtree: true, childList: true, attributes: true,
  attributeFilter: ["data-status"]});
"""

STATE = "document.getElementById('connection').dataset.state"
TEXT = "return document.getElementById(arguments[0]).textContent"


def open_dashboard(driver, base: str, key: str, workspace: str):
    driver.get(f"{base}/#api_key={key}&workspace_id={workspace}")
    poll(driver, "the page to connect", f"return {STATE} === 'open'")
    poll(driver, "the first frame", "return document.getElementById('last-frame').textContent !== 'never'")


def create_through_page(driver, name: str, task_type: str) -> int:
    driver.execute_script("document.getElementById('notice').textContent = ''")  # so that only the new one counts
    field = driver.find_element(By.ID, "task-name")
    field.clear()
    Select(driver.find_element(By.ID, "task-type")).select_by_value(task_type)
    field.send_keys(name, Keys.ENTER)  # the keyboard submits the form
    notice = poll(driver, f"the page to confirm {name!r}", "const t = arguments[0]; const n = "
                  "document.getElementById('notice').textContent; return n.includes(t) && n", f"({task_type})")
    return int(re.search(r"Task (\d+) created", notice).group(1))


def row_status(driver, task_id: int):
    return driver.execute_script(
        "const row = document.querySelector(`tr[data-id='${arguments[0]}']`); return row && row.dataset.status",
        task_id,
    )


def test_dashboard_shows_and_changes_a_workspace_live(make_stack, browser, artifacts):
    # One slot, so that a task waits (queued) behind another; durations × 0.3 (gx.tiny runs 0.45–1.35 s).
    stack = make_stack(slots=1, time_scale=0.3)
    key = stack.issue_key("web")
    workspace = "board"
    driver = browser
    open_dashboard(driver, stack.base, key, workspace)
    assert driver.execute_script(TEXT, "connection-text") == f"Live: workspace {workspace}"
    driver.execute_script(RECORDER)

    # Created through the page, a task is seen queued, then running, then completed.
    first = create_through_page(driver, "Render thumbnails", "gx.small")  # 1.5–4.5 s: the next one waits behind it
    second = create_through_page(driver, "Send the digest e-mail", "gx.tiny")
    poll(driver, "the second task to complete", "const h = window.__history[arguments[0]]; "
         "return h && h[h.length - 1] === 'completed'", second, timeout=20)
    assert driver.execute_script("return window.__history[arguments[0]]", second) == ["queued", "running", "completed"]
    assert row_status(driver, first) == "completed"
    assert driver.execute_script(TEXT, "count-completed") == "2"
    assert driver.execute_script(TEXT, "count-total") == "2"
    assert re.fullmatch(r"just now|\d+ s ago", driver.execute_script(TEXT, "last-frame"))

    # Each status has its own colour, and its name is written out too.
    colours = driver.execute_script(
        "return ['queued','running','completed'].map(s => getComputedStyle("
        "document.querySelector(`.counts .pill[data-status='${s}']`)).backgroundColor)"
    )
    assert len(set(colours)) == 3, colours

    # A queued task (behind a long one) can be deleted from its row; a running one offers no delete button.
    long = stack.create(key, workspace, "Rebuild the search index", "gx.heavy")
    poll(driver, "the long task to run", "return document.querySelector(`tr[data-id='${arguments[0]}']`)"
         "?.dataset.status === 'running'", long["id"])
    waiting = create_through_page(driver, "Export March invoices", "gx.tiny")
    assert row_status(driver, waiting) == "queued"
    assert not driver.find_element(By.CSS_SELECTOR, f"tr[data-id='{long['id']}'] button.delete").is_displayed()
    # Every status on screen at once: the picture in the README (docs/dashboard.png) is this one.
    driver.execute_script("window.scrollTo(0, 0); document.activeElement.blur()")
    driver.save_screenshot(str(artifacts / "dashboard.png"))
    driver.find_element(By.CSS_SELECTOR, f"tr[data-id='{waiting}'] button.delete").click()
    poll(driver, "the deleted row to go", "return !document.querySelector(`tr[data-id='${arguments[0]}']`)", waiting)
    assert waiting not in [task["id"] for task in stack.tasks(key, workspace)]
    assert driver.execute_script(TEXT, "notice") == f"Task {waiting} deleted."

    # The API's JSON errors are shown as sentences.
    driver.find_element(By.ID, "task-name").send_keys("   ", Keys.ENTER)
    error = poll(driver, "the error", "const e = document.getElementById('error'); return !e.hidden && "
                 "document.getElementById('error-text').textContent")
    assert error == "Could not create the task: Field 'name' must not be only white space. (400 invalid_request)"
    driver.find_element(By.ID, "error-dismiss").click()
    assert not driver.find_element(By.ID, "error").is_displayed()

    # Flush removes the completed and the running tasks.
    assert console_errors(driver) == []
    driver.find_element(By.ID, "flush-button").click()
    poll(driver, "the flushed rows to go", "return document.getElementById('count-total').textContent === '0'")
    assert stack.tasks(key, workspace) == []
    assert driver.find_element(By.ID, "empty").is_displayed()

    # taskd-ws stops (close 1001) and comes back: the page shows the outage and reconnects by itself.
    stack.stop_websocket()
    poll(driver, "the page to notice the outage", f"return {STATE} !== 'open'")
    assert "Connection lost" in driver.execute_script(TEXT, "connection-text") or \
        driver.execute_script(f"return {STATE}") == "connecting"
    stack.start_websocket()
    stack.wait_for_websocket()
    poll(driver, "the page to reconnect", f"return {STATE} === 'open'", timeout=30)
    after = stack.create(key, workspace, "After the restart", "gx.heavy")
    poll(driver, "the new connection's frame", "return !!document.querySelector(`tr[data-id='${arguments[0]}']`)",
         after["id"])

    # The page counts a name's characters as the API does (Unicode code points): 200 emoji, 400 UTF-16 units, make a
    # valid name; 257 letters are refused by the page itself, and nothing is sent.
    emoji = "\U0001F680" * 200
    set_name = (
        "const f = document.getElementById('task-name'); f.value = arguments[0]; f.dispatchEvent(new Event('input'))"
    )
    driver.execute_script(set_name, emoji)
    driver.execute_script("document.getElementById('create-form').requestSubmit()")
    poll(driver, "the page to clear the name after the create",
         "return document.getElementById('task-name').value === ''")
    assert emoji in [task["name"] for task in stack.tasks(key, workspace)]
    count = len(stack.tasks(key, workspace))
    driver.execute_script(set_name, "a" * 257)
    assert "at most 256 characters" in driver.execute_script(
        "return document.getElementById('task-name').validationMessage")
    # requestSubmit() fires the form's submit event synchronously when the form is valid, and not at all when not.
    submitted = driver.execute_script(
        "const form = document.getElementById('create-form'); let submitted = false;"
        "const seen = () => { submitted = true; }; form.addEventListener('submit', seen);"
        "form.requestSubmit(); form.removeEventListener('submit', seen); return submitted")
    assert submitted is False
    assert len(stack.tasks(key, workspace)) == count

    # The key came in the fragment, which the browser never sends: nginx's log has the paths only.
    assert key not in (stack.prefix / "logs" / "access.log").read_text()


def test_dashboard_explains_a_refused_key_and_stops_retrying(make_stack, browser):
    stack = make_stack()
    driver = browser
    driver.get(f"{stack.base}/#api_key=not-a-key&workspace_id=default")
    poll(driver, "the page to give up", f"return {STATE} === 'failed'")
    text = driver.execute_script(TEXT, "error-text")
    assert text.startswith("Cannot watch the workspace: "), text
    assert text.endswith("(401 unauthorized)"), text


def test_dashboard_is_usable_by_keyboard_at_phone_width_with_readable_contrast(make_stack, browser, artifacts):
    stack = make_stack()
    key = stack.issue_key("phone")
    driver = browser
    driver.set_window_size(390, 844)
    driver.get(f"{stack.base}/")
    # Typed in rather than passed in the address: the key field, then the workspace field, then Connect.
    driver.find_element(By.ID, "api-key").send_keys(key, Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("id") == "workspace-id"
    driver.switch_to.active_element.send_keys(Keys.CONTROL, "a")
    driver.switch_to.active_element.send_keys("phone", Keys.ENTER)
    poll(driver, "the page to connect", f"return {STATE} === 'open'")
    stack.create(key, "phone", "A task with a rather long name that has to wrap on a narrow screen", "gx.heavy")
    poll(driver, "the task", "return document.getElementById('count-total').textContent === '1'")

    # Nothing scrolls sideways at 390 px.
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")

    # Every control has a label or an accessible name.
    unnamed = driver.execute_script(
        "return [...document.querySelectorAll('input, select, button')].filter(e => !e.hidden && "
        "!(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())"
        ".map(e => e.outerHTML)"
    )
    assert unnamed == []

    # Tab walks the creation form in order.
    driver.find_element(By.ID, "task-name").click()
    order = []
    for _ in range(2):
        driver.switch_to.active_element.send_keys(Keys.TAB)
        order.append(driver.switch_to.active_element.get_attribute("id"))
    assert order == ["task-type", "create-button"]

    # Text against its background: at least 4.5:1 (WCAG AA) for the page, the pills, the buttons and the notices,
    # in the light scheme and in the dark one.
    for scheme in ["light", "dark"]:
        driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]}
        )
        assert driver.execute_script(f"return matchMedia('(prefers-color-scheme: {scheme})').matches")
        ratios = driver.execute_script(CONTRAST)
        low = {selector: ratio for selector, ratio in ratios.items() if ratio < 4.5}
        assert low == {}, (scheme, ratios)
        driver.save_screenshot(str(artifacts / f"phone-{scheme}.png"))


CONTRAST = """
const rgb = (text) => text.match(/[\\d.]+/g).slice(0, 3).map(Number);
const luminance = (colour) => {
  const [r, g, b] = rgb(colour).map((v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const background = (element) => {
  for (let e = element; e; e = e.parentElement) {
    const colour = getComputedStyle(e).backgroundColor;
    if (!/rgba\\(.*, 0\\)$/.test(colour) && colour !== "transparent") return colour;
  }
  return "rgb(255, 255, 255)";
};
const ratios = {};
for (const selector of ["body", "h1", ".card h2", "label", ".field small", ".last-frame", "#connection-text",
    ".pill[data-status='queued']", ".pill[data-status='running']", ".pill[data-status='completed']",
    "#create-button", "#flush-button", ".tasks td.name", ".tasks th", "footer", "footer a"]) {
  const element = document.querySelector(selector);
  if (!element) { ratios[selector] = 0; continue; }
  const [a, b] = [luminance(getComputedStyle(element).color), luminance(background(element))];
  ratios[selector] = Math.round(((Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)) * 100) / 100;
}
return ratios;
"""


def test_reference_client_backs_off_with_jitter_and_reads_errors(make_stack, browser):
    """taskd-client.js's pure parts, run in the browser as the page loads them."""
    stack = make_stack()
    driver = browser
    driver.get(f"{stack.base}/")
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        import("/taskd-client.js").then((m) => {
          const delays = (random) => [0, 1, 2, 3, 6, 7, 40].map((n) => m.backoffDelay(n, { random: () => random }));
          done({
            low: delays(0), high: delays(0.999999),
            fragment: m.parseFragment("#api_key=tk_a%2Bb&workspace_id=demo"),
            json: String(m.errorFromAnswer(409, "Conflict", '{"code":"conflict","message":"Task 3 is running."}')),
            html: String(m.errorFromAnswer(502, "Bad Gateway", "<html><body>Bad gateway</body></html>")),
            empty: String(m.errorFromAnswer(503, "Service Unavailable", "")),
          });
        });
        """
    )
    ceilings = [500, 1000, 2000, 4000, 30000, 30000, 30000]  # 0.5 s × 2^n, capped at 30 s
    assert result["low"] == [ceiling / 2 for ceiling in ceilings]
    highs = zip(result["high"], ceilings, strict=True)
    assert all(ceiling * 0.999 < high <= ceiling for high, ceiling in highs), result["high"]
    assert result["fragment"] == {"apiKey": "tk_a+b", "workspaceID": "demo"}
    assert result["json"] == "Task 3 is running. (409 conflict)"
    assert result["html"] == "The server answered 502: <html><body>Bad gateway</body></html>"
    assert result["empty"] == "The server answered 503: Service Unavailable"


def test_a_page_of_another_origin_can_use_the_reference_client(make_stack, browser, tmp_path):
    """A front-end engineer's own page, on another origin, imports taskd-client.js from the server and lists tasks."""
    stack = make_stack()
    key = stack.issue_key("elsewhere")
    stack.create(key, "elsewhere", "Made by curl", "gx.heavy")
    page = tmp_path / "index.html"
    page.write_text("<!doctype html><title>elsewhere</title><p>another origin</p>")
    with subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port := free_port())],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    ) as server:
        try:
            wait_for_page(f"http://127.0.0.1:{port}/index.html")
            browser.get(f"http://127.0.0.1:{port}/index.html")
            names = browser.execute_async_script(
                """
                const [base, key, done] = arguments;
                import(base + "/taskd-client.js")
                  .then((m) => new m.TaskdClient({ baseURL: base, apiKey: key, workspaceID: "elsewhere" }).listTasks())
                  .then((tasks) => done(tasks.map((t) => t.name)), (error) => done(String(error)));
                """,
                stack.base,
                key,
            )
            assert names == ["Made by curl"]
        finally:
            server.terminate()


def wait_for_page(url: str, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            assert time.monotonic() < deadline, f"{url} did not answer"
            time.sleep(0.05)
