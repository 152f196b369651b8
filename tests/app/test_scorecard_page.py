"""AppTest: the Scorecard page shows the core's numbers, statuses and summary, on the sample data
and on a small hand-made workspace whose figures are worked out below."""
from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kpi import analysis, catalog, store
from kpi.compute import compute
from kpi.formatting import format_change, format_value
from kpi.goals import GoalsDoc, Target, summary_line
from kpi.scorecard import kpi_label, needs_attention, scorecard
from kpi.workspace import Workspace
from kpi.workspaces import load_sample, new_workspace_id, open_workspace, workspace_path
from app_helpers import copy_in, load_mrr_and_tickets, sample_file

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 120

SAMPLE_GOALS = GoalsDoc(targets=[
    Target("mrr", 450000, date(2027, 3, 31), baseline=300000, baseline_date=date(2026, 3, 31), id="t1"),
    Target("customer_churn_rate", 0.015, date(2027, 3, 31), baseline=0.03, baseline_date=date(2026, 3, 31), id="t2"),
    Target("escalation_rate", 0.04, date(2027, 3, 31), baseline=0.08, baseline_date=date(2026, 3, 31),
           alert_above=0.07, id="t3"),
    Target("nps", 40, date(2027, 3, 31), baseline=25, baseline_date=date(2026, 3, 31), id="t4"),
    Target("cac", 900, date(2027, 3, 31), baseline=1000, baseline_date=date(2026, 3, 31), id="t5"),
])


def open_page(wid: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["ws"] = wid
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/scorecard.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(text: str) -> str:
    """Markdown as the user reads it: our sentences escape $ (LaTeX) and other markdown marks."""
    return re.sub(r"\\(.)", r"\1", text)


def texts(at: AppTest) -> list[str]:
    return [shown(m.value) for m in at.markdown] + [shown(c.value) for c in at.caption] + [i.value for i in at.info]


def strip_tags(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)


def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def latest_values(ws: Workspace, kpis, grain="month", as_of=None) -> dict[str, str]:
    """What each card must show: the core's like-for-like headline (a flow KPI's latest complete
    period, a stock's level now), formatted by its unit."""
    frame = compute(ws, kpis, grain=grain, as_of=as_of)
    out = {}
    for k in kpis:
        label = kpi_label(k)
        head = analysis.headline(analysis.series_of(frame, k), grain, kind=label.kind)
        out[label.name] = format_value(head.value, label.unit)
    return out


# ------------------------------------------------------------------------------------------ sample data
def test_sample_scorecard_matches_the_core(sample):
    wid = copy_in(sample)
    with open_workspace(wid) as ws:
        store.save_goals(ws, SAMPLE_GOALS)
        statuses = scorecard(ws, SAMPLE_GOALS)
        computable = {k for k, a in catalog.availability(ws).items() if a.computable}
        kpis = analysis.default_kpi_set(computable)
        kpis += [t.kpi for t in SAMPLE_GOALS.targets if t.kpi not in kpis]
        expected = latest_values(ws, kpis)
    at = open_page(wid)
    shown = metrics(at)
    assert {name: value for name, (value, _) in shown.items()} == expected
    # The summary line of goals.md, each part in its status colour.
    summary = next(strip_tags(m.value) for m in at.markdown if "font-size:1.7rem" in m.value)
    assert summary == summary_line(statuses)
    # No KPI set saved yet: the nudge to the wizard, and a card per perspective present.
    assert any("starting set picked from your data" in t for t in texts(at))
    assert [h.value for h in at.subheader] == ["Financial", "Customer", "Internal process", "Learning and growth"]
    # What is off track is named first, with its numbers in its unit.
    off = needs_attention(statuses)
    attention = " ".join(t for t in texts(at))
    for s in off:
        label = kpi_label(s.kpi)
        assert f"**{label.name}** — {format_value(s.value, label.unit)}; " in attention
        assert s.reason() in attention


def test_team_view_adds_progress_projection_and_year_changes(sample):
    wid = copy_in(sample)
    with open_workspace(wid) as ws:
        store.save_goals(ws, SAMPLE_GOALS)
        statuses = {s.kpi: s for s in scorecard(ws, SAMPLE_GOALS)}
        frame = compute(ws, ["mrr"], grain="month")
    at = open_page(wid)
    at.segmented_control(key="scorecard_mode").set_value("Team").run()
    assert not at.exception
    body = texts(at)
    mrr = statuses["mrr"]
    bars = [p.proto.text for p in at.get("progress")]
    assert f"Progress **{mrr.progress * 100:.0f} %** of the way · {mrr.expected * 100:.0f} % of the time gone" in bars
    head = analysis.headline(analysis.series_of(frame, "mrr"), "month", kind="stock")
    year = format_change(head.year_change, "currency")
    assert any(year in t and "on Oct 2025" in t for t in body)
    esc = statuses["escalation_rate"]
    if esc.alert:   # the escalation rate is above its 7 % alert level in the sample's last month
        assert any(f"Alert: {format_value(esc.value, 'rate')} is above the alert level of 7.0 %" in t for t in body)
    else:
        assert not any("Alert: " in t for t in body)
    # A rerun draws the same page from the caches (its speed is measured by bench/pages.py).
    at.run()
    assert not at.exception


# ------------------------------------------------------------------------------------------ hand-made data
@pytest.fixture
def small_id() -> str:
    """app_helpers.load_mrr_and_tickets, with its KPI set and two targets."""
    wid = new_workspace_id()
    with open_workspace(wid) as ws:
        load_mrr_and_tickets(ws)
        store.save_kpi_set(ws, ["mrr", "escalation_rate", "escalated_tickets"], ["quality"], "growth")
        store.save_goals(ws, GoalsDoc(targets=[
            Target("mrr", 500, date(2025, 12, 31), baseline=100, baseline_date=date(2025, 1, 31)),
            Target("escalation_rate", 0.05, date(2025, 12, 31), baseline=0.1, baseline_date=date(2025, 4, 30),
                   alert_above=0.3)]))
    return wid


def test_small_workspace_cards_show_hand_computed_numbers(small_id):
    at = open_page(small_id)
    shown_metrics = metrics(at)
    # MRR is a stock: its level on 13 Jun (the as-of date), 150, against the end of May's 350.
    assert shown_metrics["Monthly recurring revenue"] == ("$150", "-$200")
    # The tickets are flows: May, the latest complete month, against April — never the 20 days of
    # June against a whole May. Escalation rate 5 of 10 = 50 % (+40 pp); escalated tickets 5 (+4).
    assert shown_metrics["Ticket escalation rate"] == ("50.0 %", "+40.0 pp")
    assert shown_metrics["Escalated tickets"] == ("5", "+4")
    assert len(shown_metrics) == 3                                   # the saved set, nothing more
    assert not any("starting set" in t for t in texts(at))
    # June so far is a chip beside the value: 2 escalated of 4 tickets, 13 of 30 days.
    assert any("Jun 2025 so far (13 of 30 days)" in m.value for m in at.markdown)
    # MRR: progress (150 - 100) / (500 - 100) = 12.5 % with 133 / 334 = 40 % of the time gone: off
    # track by pace (the line through Jan..May, +70 a month, reaches 860 by December: on track).
    # Escalation rate 0.5 moved away from its 0.05 target (progress -8, "far behind" with 44 / 245
    # = 18 % of the time gone): off track, and above its 0.3 alert level.
    summary = next(strip_tags(m.value) for m in at.markdown if "font-size:1.7rem" in m.value)
    assert summary == "2 off track"
    assert any("**Ticket escalation rate** — 50.0 %; target **5.0 %** by 31 Dec 2025: behind pace: "
               "far behind with 18 % of the time gone; alert: 50.0 % is above the alert level of 30.0 %" in t
               for t in texts(at))
    assert any("**Monthly recurring revenue** — $150; target **$500** by 31 Dec 2025: behind pace: "
               "12 % of the way with 40 % of the time gone" in t for t in texts(at))


def test_small_workspace_at_week_grain(small_id):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["ws"] = small_id
    at.session_state["grain"] = "week"   # the sidebar's shared control (AppTest drops the sidebar on a page switch)
    at.run()
    at.switch_page("pages/scorecard.py").run()
    assert not at.exception
    with open_workspace(small_id) as ws:
        expected = latest_values(ws, ["mrr", "escalation_rate", "escalated_tickets"], grain="week")
    assert {name: value for name, (value, _) in metrics(at).items()} == expected


def test_empty_workspace_says_what_to_do():
    wid = new_workspace_id()
    open_workspace(wid).close()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["ws"] = wid
    at.session_state["welcome_done"] = True
    at.run()
    at.switch_page("pages/scorecard.py").run()
    assert not at.exception
    assert any("Load some data first" in i.value for i in at.info)


def test_the_to_date_looks_back_at_an_earlier_period(small_id):
    # "To" 10 Apr 2025: the whole app is viewed as of that day. MRR (a stock) on 10 Apr: 300, as at
    # the end of March (± 0). The tickets' latest complete month is March: 1 of 10 escalated, as in
    # February.
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["ws"] = small_id
    at.session_state["end"] = date(2025, 4, 10)
    at.run()
    at.switch_page("pages/scorecard.py").run()
    assert not at.exception
    shown_metrics = metrics(at)
    assert shown_metrics["Monthly recurring revenue"][0] == "$300"
    assert shown_metrics["Ticket escalation rate"] == ("10.0 %", "±0.0 pp")
    assert shown_metrics["Escalated tickets"] == ("1", "±0")
    assert any("as of 10 Apr 2025 (the sidebar's To date)" in c.value for c in at.caption)
    # The statuses of that day: the escalation target was set on 30 Apr, after it (not started); MRR
    # 300 is (300 - 100) / 400 = 50 % of the way with 69 / 334 = 21 % of the time gone: on track.
    with open_workspace(small_id) as ws:
        then = scorecard(ws, store.load_goals(ws), date(2025, 4, 10))
    assert [s.status for s in then] == ["on_track", "not_started"]
    summary = next(strip_tags(m.value) for m in at.markdown if "font-size:1.7rem" in m.value)
    assert summary == summary_line(then) == "1 on track · 1 not started"
