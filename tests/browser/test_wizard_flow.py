"""A newcomer in a real browser: load the sample, "we want to boost revenue, we're in growth",
click through the wizard to a saved, balanced set with targets, and land on the scorecard.

Screenshots of every step go to tests/artifacts/ (wizard-1-goals.png … goals-page.png).
"""
from __future__ import annotations

import re
import time

from conftest import screenshot, wait_for_app


def shot(page, name: str):
    """A screenshot of the whole page: Streamlit scrolls inside its main area, so the window is
    made as tall as that area for the picture, then put back."""
    height = page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]'); "
                           "return m ? m.scrollHeight : document.body.scrollHeight; }")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height) + 40, 6000))})
    page.wait_for_timeout(1500)
    screenshot(page, name)
    page.set_viewport_size(size)


def _next(page):
    page.get_by_role("button", name="Next →").click()
    wait_for_app(page)


def test_newcomer_goes_from_goal_to_saved_balanced_set(app_server, page):
    page.goto(app_server.url)
    wait_for_app(page)
    page.get_by_role("button", name="Load the sample data").click()
    page.get_by_test_id("stSidebarNavLink").first.wait_for(timeout=90_000)
    wait_for_app(page)

    started = time.monotonic()
    page.get_by_test_id("stSidebarNavLink").filter(has_text="KPI wizard").click()
    wait_for_app(page)
    page.get_by_text("What do you want to achieve?").wait_for()

    # 1. Goals
    page.get_by_text("Boost revenue", exact=True).click()
    wait_for_app(page)
    shot(page, "wizard-1-goals")
    _next(page)

    # 2. Stage: the data says growth, and the wizard preselects it.
    page.get_by_text("Looks like growth").wait_for()
    assert page.get_by_role("radio", name=re.compile("Growth stage")).is_checked()
    shot(page, "wizard-2-stage")
    _next(page)

    # 3. Recommended KPIs, with their values and what the data can compute.
    page.get_by_text("The KPIs that fit your goals and stage").wait_for()
    page.get_by_text("Your data can compute it").nth(5).wait_for()
    shot(page, "wizard-3-kpis")
    _next(page)

    # 4. Balance: problems with one-click fixes, then "Balance it for me".
    page.get_by_text("Is the set balanced?").wait_for()
    page.get_by_text("No input KPI").wait_for()
    shot(page, "wizard-4-balance-before")
    page.get_by_role("button", name="Balance it for me").click()
    wait_for_app(page)
    page.get_by_text("Balanced: 7 KPIs that pass every rule.").wait_for()
    shot(page, "wizard-4-balance-after")
    _next(page)

    # 5. Targets with their SMART check.
    page.get_by_text("Targets: where should each KPI be, and by when?").wait_for()
    page.get_by_test_id("stMarkdown").filter(has_text=re.compile(r"^SMART")).nth(6).wait_for()
    shot(page, "wizard-5-targets")
    _next(page)

    # 6. Review and save.
    page.get_by_role("button", name="Save my KPI set and targets").click()
    wait_for_app(page)
    page.get_by_text(re.compile("Saved 7 KPIs and 7 targets")).wait_for()
    elapsed = time.monotonic() - started
    page.get_by_text("Your KPI set is saved").wait_for()
    wait_for_app(page)
    shot(page, "wizard-6-saved")
    print(f"wizard: from the first page to a saved set in {elapsed:.0f} s")

    # A reload finds the wizard where it was left.
    page.reload()
    wait_for_app(page)
    page.get_by_text("Your KPI set is saved").wait_for()

    # The Goals page shows the objective and its key results.
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Goals").click()
    wait_for_app(page)
    page.get_by_role("heading", name="Boost revenue").wait_for()
    assert page.get_by_text(re.compile(r"7 key results")).count() >= 1
    shot(page, "goals-page")
    page.get_by_role("tab", name="Reviews").click()
    page.get_by_label("Notes").fill("First review: ARPU dipped in October; call the accounts on the old plan.")
    page.get_by_role("button", name="Record review").click()
    wait_for_app(page)
    page.get_by_text(re.compile(r"Review of .* recorded\.")).wait_for()
    page.get_by_role("tab", name="Reviews").click()
    page.get_by_text(re.compile(r"— \d+ (achieved|on track|at risk|off track|missed)")).first.click()
    page.wait_for_timeout(500)
    shot(page, "goals-reviews")
    page.get_by_role("tab", name="Custom KPIs").click()
    page.wait_for_timeout(500)
    shot(page, "goals-custom-kpis")

    # And the scorecard shows the saved set.
    page.get_by_test_id("stSidebarNavLink").filter(has_text="KPI wizard").click()
    wait_for_app(page)
    page.get_by_text("Open the scorecard").click()
    wait_for_app(page)
    page.get_by_role("heading", name="Scorecard").wait_for()
    page.get_by_text("Average revenue per user").first.wait_for()
    shot(page, "wizard-then-scorecard")
