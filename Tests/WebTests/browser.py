"""Headless Chromium from Debian's `chromium` package, driven through Debian's `chromedriver` with Selenium. Missing
either is a failure with a message that says how to install it, never a skip."""

from __future__ import annotations

import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def require(path: str, package: str) -> str:
    found = shutil.which(Path(path).name) or (path if Path(path).exists() else None)
    assert found, f"{path} is missing: install Debian's {package} package (scripts/install-deps.sh does)"
    return found


@contextmanager
def chromium(width: int = 1280, height: int = 900):
    """A headless Chromium window of the given size, closed afterwards."""
    binary = require(CHROMIUM, "chromium")
    driver_binary = require(CHROMEDRIVER, "chromium-driver")
    profile = tempfile.mkdtemp(prefix="taskd-chromium-")
    options = Options()
    options.binary_location = binary
    for argument in [
        "--headless=new",
        "--no-sandbox",  # tests run as root in CI, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_binary))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def poll(driver, what: str, script: str, *arguments, timeout: float = 10.0, interval: float = 0.05):
    """Runs `script` in the page until it returns a true value, which is returned; fails with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = driver.execute_script(script, *arguments)
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last value: {last!r})")


def console_errors(driver) -> list[str]:
    """Errors the page's scripts raised or logged. Chromium also logs every answer of status 400 and above as
    "Failed to load resource"; the page handles those itself, so they are left out."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "Failed to load resource: the server responded" not in entry["message"]
    ]
