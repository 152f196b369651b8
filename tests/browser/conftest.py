"""Real-browser fixtures: serve the app with `streamlit run` and drive Debian's Chromium with Playwright.

On a laptop without Chromium the browser tests skip with a message; with CI=true they must run.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _need_browser():
    exe = _chromium()
    try:
        import playwright  # noqa: F401
    except ImportError:
        exe = None
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but Chromium or Playwright is missing: .ci/run must install them")
        pytest.skip("browser tests need Debian's Chromium (apt-get install -y chromium) and playwright")
    return exe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    def __init__(self, home: Path):
        self.home = home
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, KPI_EXPLORER_HOME=str(home))
        self.log = open(home / "streamlit.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("the app did not start within 60 s: see " + str(home / "streamlit.log"))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    _need_browser()
    server = AppServer(tmp_path_factory.mktemp("browser_home"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    exe = _need_browser()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser context and page; on failure, a screenshot of the page as it was."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def screenshot(page, name: str) -> Path:
    """Keep a screenshot of a step as a CI artifact (tests/artifacts/)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_app(page):
    """Wait until Streamlit has finished running the script (no 'Running…' status)."""
    page.wait_for_selector("[data-testid='stApp']")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]') || "
        "!document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=60_000)
    page.wait_for_timeout(300)


def sample_workspace_in(app_server, tmp_path_factory, goals=None) -> str:
    """A copy of the sample workspace (loaded once per run) in the served app's data folder, with
    ``goals`` saved in it; returns its id."""
    import shutil
    from kpi import store
    from kpi.workspace import Workspace
    from kpi.workspaces import load_sample, new_workspace_id
    sample = tmp_path_factory.getbasetemp() / "browser_sample.duckdb"
    if not sample.exists():
        partial = sample.with_suffix(".loading")
        with Workspace(partial) as ws:
            load_sample(ws)
        partial.rename(sample)
    wid = new_workspace_id()
    target = app_server.home / "workspaces" / f"{wid}.duckdb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(sample, target)
    if goals is not None:
        with Workspace(target) as ws:
            store.save_goals(ws, goals)
    return wid
