"""Fixtures for the web tests: a private taskd stack per test, torn down afterwards, whose process logs are printed
when the test fails."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from browser import chromium
from stack import ROOT, Stack

# Where failing tests leave what they saw (browser screenshots, schemathesis reports); kept between runs.
ARTIFACTS = ROOT / ".build-web"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def failed(request) -> bool:
    report = getattr(request.node, "report_call", None)
    return report is None or report.failed


@pytest.fixture
def make_stack(request):
    """`make_stack(slots=…, time_scale=…, environment={…})` starts a stack; each is stopped after the test."""
    stacks: list[Stack] = []

    def start(**options) -> Stack:
        stack = Stack(**options)
        stacks.append(stack)
        try:
            return stack.start()
        except BaseException:
            print(stack.logs())
            raise

    yield start
    for stack in stacks:
        if failed(request):
            print(f"\n=== taskd processes of {request.node.name} ===\n{stack.logs()}")
        stack.stop()


@pytest.fixture
def artifacts(request) -> Path:
    """A directory for this test's artifacts, under .build-web/."""
    directory = ARTIFACTS / request.node.name
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def browser(artifacts, request):
    """A headless Chromium; a failing test leaves its screenshot and the page's HTML in its artifacts."""
    with chromium() as driver:
        yield driver
        if failed(request):
            driver.save_screenshot(str(artifacts / "failure.png"))
            (artifacts / "failure.html").write_text(driver.page_source)
            print(f"screenshot and page kept in {artifacts}")
