"""AppTest: one as-of date everywhere. The Scorecard, the Goals page, the alerts banner, Trends and
the sidebar caption show the same statuses for the same day; the sidebar's "To" date moves all of
them together. Also: the stakeholder view survives page switches, and the key-result editor
refuses a deadline that is not after the baseline date.

MRR: c1 100 from 1 Jan 2025; c2 200 from 1 Mar to 1 Jun; c3 50 from 10 May. Tickets: 10 a month,
1 escalated Jan-Apr, 5 in May; 4 in June (10th to 13th), 2 escalated. The data end on 13 Jun 2025.
Targets: MRR 500 by 31 Dec 2025 from 100 on 31 Jan; escalation rate 5 % by 31 Dec from 10 % on
30 Apr, alert above 30 %.

As of 13 Jun: MRR 150 (a stock, read that day) is 12.5 % of the way with 40 % of the time gone: off
track; the escalation rate (May, 50 %) moved away from its target: off track, with an alert.
As of 10 Apr: MRR 300 is 50 % of the way with 21 % of the time gone: on track; the escalation
target was set on 30 Apr, after that day: not started. Nothing needs attention.
"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpi import store
from kpi.goals import GoalsDoc, Target
from kpi.workspaces import new_workspace_id, open_workspace
from app_helpers import load_mrr_and_tickets

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 120


@pytest.fixture
def small_id() -> str:
    wid = new_workspace_id()
    with open_workspace(wid) as ws:
        load_mrr_and_tickets(ws)
        store.save_kpi_set(ws, ["mrr", "escalation_rate"], ["quality"], "growth")
        store.save_goals(ws, GoalsDoc(targets=[
            Target("mrr", 500, date(2025, 12, 31), baseline=100, baseline_date=date(2025, 1, 31), id="t1"),
            Target("escalation_rate", 0.05, date(2025, 12, 31), baseline=0.1, baseline_date=date(2025, 4, 30),
                   alert_above=0.3, id="t2")]))
    return wid


def strip_tags(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)


def summary(at: AppTest) -> str:
    return next(strip_tags(m.value) for m in at.markdown if "font-size:1.7rem" in m.value)


def pills(at: AppTest) -> list[str]:
    """The status pills of the key results (Goals) or the cards (Scorecard), in page order."""
    return [strip_tags(m.value).split(" · ")[0] for m in at.markdown
            if "border-radius:999px" in m.value and "background:" in m.value and "⚠" not in strip_tags(m.value)]


def banner(at: AppTest) -> list[str]:
    return [e.value for e in list(at.error) + list(at.info) if e.value.startswith("Needs attention")]


def sidebar_caption(at: AppTest) -> str:
    return next(c.value for c in at.sidebar.caption if "as of" in c.value)


def open_app(wid: str, to: date | None = None) -> AppTest:
    """The app as a browser opens it (app.py routes to the Data page, with the sidebar and the
    banner), with the sidebar's To date set when given. AppTest runs a page switched to on its own,
    without app.py's sidebar and banner: those are read on this first page."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["ws"] = wid
    if to is not None:
        at.session_state["end"] = to
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def visit(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_every_page_shows_the_statuses_of_the_datas_as_of_date(small_id):
    at = open_app(small_id)
    assert sidebar_caption(at) == "Data as of **13 Jun 2025**"
    assert banner(at) == ["Needs attention as of 13 Jun 2025: Monthly recurring revenue :red[(off track)], "
                          "Ticket escalation rate :red[(off track, alert)]. The Scorecard has the details."]
    visit(at, "pages/scorecard.py")
    assert summary(at) == "2 off track" and pills(at)[-2:] == ["Off track", "Off track"]
    assert any("as of 13 Jun 2025 · cards show" in c.value for c in at.caption)
    visit(at, "pages/goals.py")
    assert summary(at) == "2 off track" and pills(at) == ["Off track", "Off track"]
    assert any(c.value.startswith("Statuses as of 13 Jun 2025.") for c in at.caption)


def test_the_to_date_moves_every_page_the_banner_and_the_caption_together(small_id):
    at = open_app(small_id, to=date(2025, 4, 10))
    assert sidebar_caption(at) == "Viewed as of **10 Apr 2025** (the To date) · data up to 13 Jun 2025"
    assert banner(at) == []                       # nothing needed attention on 10 Apr
    visit(at, "pages/scorecard.py")
    assert summary(at) == "1 on track · 1 not started"
    assert any("as of 10 Apr 2025 (the sidebar's To date)" in c.value for c in at.caption)
    visit(at, "pages/goals.py")
    assert summary(at) == "1 on track · 1 not started" and pills(at) == ["On track", "Not started"]
    assert any(c.value.startswith("Statuses as of 10 Apr 2025 (the sidebar's To date).") for c in at.caption)
    # Recording a review saves today's statuses: not while the app is viewed as of another day.
    assert at.button(key="FormSubmitter:record_review-Record review").disabled


def test_the_stakeholder_view_survives_page_switches(small_id):
    at = visit(open_app(small_id), "pages/scorecard.py")
    assert at.segmented_control(key="scorecard_mode").value == "Executive"
    at.segmented_control(key="scorecard_mode").set_value("Team").run()
    visit(at, "pages/goals.py")
    visit(at, "pages/scorecard.py")
    assert at.segmented_control(key="scorecard_mode").value == "Team"
    assert at.get("progress")               # the Team view's progress bars are drawn again


def test_a_deadline_not_after_the_baseline_date_is_refused_in_the_editor(small_id):
    at = visit(open_app(small_id), "pages/goals.py")
    at.selectbox(key="kr_kpi_new").select("mrr").run()
    # MRR's baseline: the latest complete month, May (350 on 31 May 2025).
    at.number_input(key="kr_target_new_mrr_month").set_value(400.0)
    at.date_input(key="kr_deadline_new_mrr_month").set_value(date(2025, 5, 31))
    at.button(key="FormSubmitter:kr_form_new_mrr_month-Save key result").click().run()
    assert not at.exception
    assert [e.value for e in at.error if "deadline" in e.value] == [
        "The deadline 31 May 2025 is not after the baseline date 31 May 2025: pick a later deadline."]
    with open_workspace(small_id) as ws:
        assert [t.id for t in store.load_goals(ws).targets] == ["t1", "t2"]     # nothing saved
