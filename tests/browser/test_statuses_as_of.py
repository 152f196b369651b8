"""A PM's first look after the wizard, in a real browser: the sample data with the plan the wizard
makes for "boost revenue" at the growth stage. The Scorecard shows a mix of statuses that matches
the trends (trial conversion, heading for about 4.7 %, is not green), the Goals page shows the same
statuses, no number on either page is absurd, and the sidebar's To date moves both pages to the
same earlier day. Screenshots go to tests/artifacts/: revenue-scorecard.png,
revenue-scorecard-team.png, revenue-goals.png, revenue-scorecard-june.png.
"""
from __future__ import annotations

import re

import pytest

from conftest import sample_workspace_in
from kpi.workspace import Workspace
from kpi.workspaces import plan_sample
from test_scorecard_trends import open_app, settle, shot

SUMMARY = "div[style*='1.7rem']"


@pytest.fixture(scope="module")
def workspace_id(app_server, tmp_path_factory) -> str:
    wid = sample_workspace_in(app_server, tmp_path_factory)
    with Workspace(app_server.home / "workspaces" / f"{wid}.duckdb") as ws:
        plan_sample(ws, ("revenue",), "growth")       # the wizard's "boost revenue", growth stage
    return wid


def no_absurd_number(text: str) -> None:
    """No number a PM would not believe: no run of 10 digits, no progress beyond −100 %..200 %."""
    digits = re.findall(r"\d[\d,]{9,}", text)
    assert not [d for d in digits if len(d.replace(",", "")) >= 10], digits
    for shown in re.findall(r"([−-]?\d+) % of the way", text):
        assert -100 <= int(shown.replace("−", "-")) <= 200, shown
    assert "nan" not in text.lower().split() and "None" not in text.split()


def test_the_scorecard_after_the_wizard_matches_the_trends(app_server, workspace_id, page):
    open_app(page, f"{app_server.url}/scorecard?ws={workspace_id}")
    page.locator(SUMMARY).first.wait_for()
    settle(page)
    summary = page.locator(SUMMARY).first.inner_text()
    assert "off track" in summary and "on track" in summary          # a mix, not all green
    trial = page.locator("[class*='st-key-card_customer_trial_conversion_rate']")
    assert "Off track" in trial.inner_text() or "At risk" in trial.inner_text()
    assert not page.get_by_test_id("stException").count()
    no_absurd_number(page.locator("[data-testid='stMain']").inner_text())
    shot(page, "revenue-scorecard")
    page.get_by_test_id("stButtonGroup").get_by_text("Team", exact=True).click()
    page.get_by_text("of the time gone").first.wait_for()
    settle(page)
    assert "heading for 4.7 % by 31 Mar 2027" in trial.inner_text()
    no_absurd_number(page.locator("[data-testid='stMain']").inner_text())
    shot(page, "revenue-scorecard-team")

    # The Goals page shows the very same statuses.
    open_app(page, f"{app_server.url}/goals?ws={workspace_id}")
    page.locator(SUMMARY).first.wait_for()
    settle(page)
    assert page.locator(SUMMARY).first.inner_text() == summary
    assert not page.get_by_test_id("stException").count()
    no_absurd_number(page.locator("[data-testid='stMain']").inner_text())
    shot(page, "revenue-goals")


def test_the_to_date_moves_scorecard_goals_and_banner_together(app_server, workspace_id, page):
    # The targets were set with the data of 31 Oct 2026: viewed as of 30 Jun they have not started.
    open_app(page, f"{app_server.url}/scorecard?ws={workspace_id}&end=2026-06-30")
    page.locator(SUMMARY).first.wait_for()
    settle(page)
    june = page.locator(SUMMARY).first.inner_text()
    assert re.fullmatch(r"\d+ not started", june), june
    assert page.get_by_text("Viewed as of").count() == 1 and page.get_by_text("30 Jun 2026").count() >= 1
    shot(page, "revenue-scorecard-june")
    page.get_by_test_id("stSidebarNavLink").filter(has_text=re.compile(r"Goals$")).click()
    page.get_by_text("Statuses as of 30 Jun 2026").wait_for()
    settle(page)
    assert page.locator(SUMMARY).first.inner_text() == june
    assert not page.get_by_text("Needs attention as of").count()       # no banner: nothing started
