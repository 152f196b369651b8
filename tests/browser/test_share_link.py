"""A real browser: the owner presses Share on the Scorecard and makes a view-only link; a stakeholder
opens it in a fresh browser context and sees the same page with the same numbers, marked View only,
without a working upload. Screenshots: share-popover.png, share-viewer.png."""
from __future__ import annotations

import re
import shutil
from datetime import date

import pytest

from conftest import sample_workspace_in, screenshot, wait_for_app
from kpi import store
from kpi.goals import GoalsDoc, Target
from kpi.workspace import Workspace
from kpi.workspaces import load_sample, new_workspace_id

GOALS = GoalsDoc(targets=[
    Target("mrr", 450000, date(2027, 3, 31), baseline=300000, baseline_date=date(2026, 3, 31)),
    Target("nps", 40, date(2027, 3, 31), baseline=25, baseline_date=date(2026, 3, 31)),
])


@pytest.fixture(scope="module")
def workspace_id(app_server, tmp_path_factory) -> str:
    """The sample data with its targets, placed in the served app's data folder."""
    return sample_workspace_in(app_server, tmp_path_factory, GOALS)


def settle(page) -> None:
    wait_for_app(page)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSpinner\"]')", timeout=120_000)
    wait_for_app(page)


def metric_values(page) -> list[str]:
    page.get_by_test_id("stMetricValue").nth(3).wait_for(timeout=120_000)
    settle(page)
    return page.get_by_test_id("stMetricValue").all_inner_texts()


def test_a_view_only_link_shows_the_same_scorecard_read_only(app_server, workspace_id, page, browser):
    page.goto(f"{app_server.url}/?ws={workspace_id}&grain=quarter")
    page.get_by_text("Loaded data").wait_for(timeout=120_000)
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Scorecard").click()
    page.get_by_role("heading", name="Scorecard").wait_for(timeout=120_000)
    settle(page)
    owner_numbers = metric_values(page)
    assert len(owner_numbers) >= 4
    assert "grain=quarter" in page.url

    page.get_by_test_id("stPopover").get_by_role("button", name=re.compile("Share")).click()
    page.get_by_role("button", name="Create a view-only link").click()
    code = page.get_by_test_id("stCode").first
    code.wait_for()
    link = code.inner_text().strip()
    screenshot(page, "share-popover")
    assert link.startswith(f"{app_server.url}/scorecard?") and "share=" in link, link
    assert "grain=quarter" in link and workspace_id not in link

    stakeholder = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        viewer = stakeholder.new_page()
        viewer.set_default_timeout(30_000)
        viewer.goto(link)
        viewer.get_by_text("View only").first.wait_for(timeout=120_000)
        viewer.get_by_role("heading", name="Scorecard").wait_for(timeout=120_000)
        settle(viewer)
        assert metric_values(viewer) == owner_numbers
        assert workspace_id not in viewer.url
        assert not viewer.get_by_test_id("stException").count()
        assert not viewer.get_by_role("button", name="Create a view-only link").count()
        assert viewer.get_by_role("button", name="CSV", exact=True).count() == 1
        with viewer.expect_download() as got:        # the stakeholder takes the report with them
            viewer.get_by_role("button", name="Report (PDF)").click()
        pdf = got.value.path().read_bytes()
        assert pdf.startswith(b"%PDF") and got.value.suggested_filename.endswith(".pdf")
        screenshot(viewer, "share-viewer")

        # The stakeholder changes the view for themselves: the sidebar's grain (typed, then Enter).
        grain = viewer.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Grain")
        grain.locator("input").click()
        viewer.keyboard.type("Month")
        viewer.get_by_role("option", name="Month").wait_for()
        viewer.keyboard.press("Enter")
        viewer.wait_for_url(re.compile(r"^(?!.*grain=quarter)"), timeout=60_000)
        settle(viewer)
        metric_values(viewer)
        text = viewer.locator("body").inner_text()
        assert "monthly values" in text and "vs Sep 2026" in text and "vs Q3 2026" not in text

        # ... and the date range: From 1 Jan 2026, typed into the sidebar's date input.
        viewer.get_by_test_id("stSidebar").get_by_role("spinbutton", name="year, From").click()
        viewer.keyboard.type("2026")                  # the field moves on to month and day by itself
        viewer.keyboard.type("01")
        viewer.keyboard.type("01")
        viewer.get_by_role("heading", name="Scorecard").click()   # leaving the field commits the date
        viewer.wait_for_url(re.compile(r"start=2026-01-01"), timeout=60_000)
        settle(viewer)
        assert not viewer.get_by_test_id("stException").count()

        viewer.get_by_test_id("stSidebarNavLink").filter(has_text=re.compile(r"Data$")).click()
        viewer.get_by_role("heading", name="Your data").wait_for(timeout=120_000)
        settle(viewer)
        assert viewer.get_by_text("You opened a view-only link").first.is_visible()
        dropzone = viewer.get_by_test_id("stFileUploaderDropzoneInput")
        assert dropzone.count() == 0 or dropzone.is_disabled()
        assert not viewer.get_by_test_id("stException").count()
    finally:
        stakeholder.close()


def test_a_trends_link_reopens_the_same_tab_and_chart_options(app_server, workspace_id, page, browser):
    page.goto(f"{app_server.url}/trends?ws={workspace_id}&kpi=mrr")
    page.get_by_role("heading", name="Trends").wait_for(timeout=120_000)
    settle(page)
    page.get_by_role("tab", name="Cohorts").click()
    page.wait_for_url(re.compile(r"trends_tab=Cohorts"), timeout=60_000)
    settle(page)
    page.get_by_test_id("stPopover").get_by_role("button", name=re.compile("Share")).click()
    page.get_by_role("button", name="Create a view-only link").click()
    code = page.get_by_test_id("stCode").first
    code.wait_for()
    link = code.inner_text().strip()
    assert "trends_tab=Cohorts" in link and workspace_id not in link, link

    stakeholder = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        viewer = stakeholder.new_page()
        viewer.goto(link)
        viewer.get_by_text("View only").first.wait_for(timeout=120_000)
        settle(viewer)
        tab = viewer.get_by_role("tab", name="Cohorts")
        tab.wait_for(timeout=60_000)
        assert tab.get_attribute("aria-selected") == "true"
        viewer.get_by_text("Cohorts shown (latest)").wait_for(timeout=60_000)
        screenshot(viewer, "share-trends-cohorts")
        assert not viewer.get_by_test_id("stException").count()
    finally:
        stakeholder.close()
