"""A newcomer in a real browser: on the sample data with a few targets, the scorecard says what is
off track, a card opens that KPI in Trends, and Trends shows the spike, the release near it and the
segment that drove it. Screenshots (laptop 1400 px and phone 390 px wide) go to tests/artifacts/:
scorecard.png, scorecard-team.png, scorecard-phone.png, trends.png, trends-phone.png.
"""
from __future__ import annotations

import re
import shutil
import time
from datetime import date
from pathlib import Path

import pytest

from conftest import sample_workspace_in, screenshot
from kpi import store
from kpi.goals import GoalsDoc, Target
from kpi.workspace import Workspace
from kpi.workspaces import load_sample, new_workspace_id

GOALS = GoalsDoc(targets=[
    Target("mrr", 450000, date(2027, 3, 31), baseline=300000, baseline_date=date(2026, 3, 31)),
    Target("customer_churn_rate", 0.015, date(2027, 3, 31), baseline=0.03, baseline_date=date(2026, 3, 31)),
    Target("escalation_rate", 0.04, date(2027, 3, 31), baseline=0.08, baseline_date=date(2026, 3, 31),
           alert_above=0.07),
    Target("nps", 40, date(2027, 3, 31), baseline=25, baseline_date=date(2026, 3, 31)),
    Target("cac", 900, date(2027, 3, 31), baseline=1000, baseline_date=date(2026, 3, 31)),
])

IDLE = """() => {
    const w = document.querySelector('[data-testid="stStatusWidget"]');
    if (w && /Running|Stop/.test(w.innerText)) return false;
    if (document.querySelector('[data-testid="stSpinner"]')) return false;
    return [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].every(e => e.querySelector('canvas, svg'));
}"""


def settle(page, timeout: int = 120_000) -> None:
    """Wait until the script has finished (1.67 shows "Stop" while running) and charts are drawn."""
    page.wait_for_selector("[data-testid='stApp']")
    page.wait_for_timeout(400)
    page.wait_for_function(IDLE, timeout=timeout)
    page.wait_for_timeout(300)


def shot(page, name: str) -> Path:
    """The whole page: Streamlit scrolls inside its main area, so the window is made as tall as it."""
    size = page.viewport_size
    height = page.evaluate("() => { const b = document.querySelector('[data-testid=\"stMainBlockContainer\"]');"
                           " return b ? b.getBoundingClientRect().height + 250 : 2000; }")
    page.set_viewport_size({"width": size["width"], "height": int(max(size["height"], min(height, 9000)))})
    page.wait_for_timeout(1200)
    path = screenshot(page, name)
    page.set_viewport_size(size)
    return path


@pytest.fixture(scope="module")
def workspace_id(app_server, tmp_path_factory) -> str:
    """The sample data with its targets, placed in the served app's data folder."""
    return sample_workspace_in(app_server, tmp_path_factory, GOALS)


def open_app(page, url: str) -> None:
    """Open the app and wait for its own sidebar: until app.py has run, Streamlit shows a plain
    list of the pages folder, whose links skip the app's router."""
    page.goto(url)
    page.get_by_text("Loaded data").wait_for(timeout=120_000)
    settle(page)


def test_scorecard_to_trends(app_server, workspace_id, page, browser):
    open_app(page, f"{app_server.url}/?ws={workspace_id}")
    page.get_by_test_id("stSidebarNavLink").filter(has_text=re.compile(r"Scorecard$")).click()
    started = time.monotonic()
    page.get_by_text("Needs attention").wait_for(timeout=120_000)
    # The cards are drawn after the attention list; "settle" can come between the two on a busy machine.
    page.get_by_test_id("stMetric").nth(5).wait_for(timeout=120_000)
    settle(page)
    first_view = time.monotonic() - started
    # on a busy machine the cards can land a moment after "Needs attention": wait for them, then count
    page.get_by_test_id("stMetric").nth(5).wait_for(timeout=120_000)
    assert page.get_by_test_id("stMetric").count() >= 6
    assert page.get_by_text("off track").first.is_visible()
    assert not page.get_by_test_id("stException").count()
    shot(page, "scorecard")

    # Switching the view re-renders from the caches.
    started = time.monotonic()
    page.get_by_test_id("stButtonGroup").get_by_text("Team", exact=True).click()
    page.get_by_text("of the time gone").first.wait_for()
    settle(page)
    team_view = time.monotonic() - started
    shot(page, "scorecard-team")
    page.get_by_test_id("stButtonGroup").get_by_text("Executive", exact=True).click()
    settle(page)

    # The first KPI needing attention opens in Trends, on that KPI.
    page.get_by_test_id("stPageLink").filter(has_text="Open in Trends").first.click()
    started = time.monotonic()
    page.get_by_text("What changed in").wait_for(timeout=120_000)
    settle(page)
    trends_view = time.monotonic() - started
    assert "kpi=" in page.url
    assert page.get_by_text("Unusual months").count() + page.get_by_text("Latest,").count() >= 1
    # Charts draw after the text: wait for them rather than count too early on a busy machine.
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]').length >= 2",
                           timeout=60_000)
    assert not page.get_by_test_id("stException").count()
    shot(page, "trends")
    print(f"browser: scorecard first view {first_view:.1f} s, Team view {team_view:.1f} s, "
          f"Trends {trends_view:.1f} s")

    # A phone.
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    small = phone.new_page()
    small.set_default_timeout(60_000)
    open_app(small, f"{app_server.url}/scorecard?ws={workspace_id}")
    small.get_by_text("Needs attention").wait_for(timeout=120_000)
    shot(small, "scorecard-phone")
    open_app(small, f"{app_server.url}/trends?ws={workspace_id}&kpi=escalation_rate")
    small.get_by_text("What changed in").wait_for(timeout=120_000)
    settle(small)
    assert small.get_by_text("Data pipeline 3.0", exact=False).count() >= 1
    shot(small, "trends-phone")
    phone.close()


def test_escalations_tell_the_bad_release_story(app_server, workspace_id, page):
    open_app(page, f"{app_server.url}/trends?ws={workspace_id}&kpi=escalation_rate")
    page.get_by_text("drove it most").wait_for(timeout=120_000)
    settle(page)
    assert page.get_by_text("Data pipeline 3.0", exact=False).count() >= 1   # the release next to the spike
    assert page.get_by_text("Unusual months").count() == 1
