"""AppTest: the Goals page on a tiny workspace — objectives, key results, reviews and custom KPIs.

payments: one payment on the 10th of each month, Jan 100, Feb 200, Mar 300, Apr 400, May 500, and
June so far (as of 2026-06-05) 50. So revenue's baseline is May's 500 (its last complete month).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kpi import custom, store
from kpi.formatting import format_date
from kpi.goals import GoalsDoc, Objective, Target
from kpi.workspaces import new_workspace_id, open_workspace

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAYMENTS = pd.DataFrame({"customer_id": ["a", "b", "a", "b", "a", "b"],
                         "date": ["2026-01-10", "2026-02-10", "2026-03-10", "2026-04-10", "2026-05-10", "2026-06-05"],
                         "amount": [100.0, 200.0, 300.0, 400.0, 500.0, 50.0]})


@pytest.fixture
def workspace_id() -> str:
    wid = new_workspace_id()
    ws = open_workspace(wid)
    ws.load_frame("payments", PAYMENTS)
    ws.close()
    return wid


def open_goals(wid: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["ws"] = wid
    at.run()
    at.switch_page("pages/goals.py").run()
    assert not at.exception, at.exception
    return at


def doc_of(wid: str) -> GoalsDoc:
    return store.load_goals(open_workspace(wid))


def shown(text: str) -> str:
    """Markdown as the user reads it: our sentences escape $ (LaTeX) and other markdown marks."""
    import re
    return re.sub(r"\\(.)", r"\1", text)


def captions(at: AppTest) -> list[str]:
    return [shown(c.value) for c in at.caption]


def submit(at: AppTest, form: str, label: str) -> None:
    at.button(key=f"FormSubmitter:{form}-{label}").click().run()
    assert not at.exception, at.exception


def test_objective_key_result_link_and_review(workspace_id):
    at = open_goals(workspace_id)
    assert any("No goals yet" in i.value for i in at.info)
    assert [e.label for e in at.expander][0] == "Metric, KPI, OKR — what's the difference?"

    # Create an objective.
    at.text_input(key="no_title").input("Grow revenue")
    at.text_input(key="no_why").input("Fund the next hires")
    at.text_input(key="no_owner").input("Dana")
    submit(at, "new_objective", "Add objective")
    assert "Objective “Grow revenue” added." in [s.value for s in at.success]
    assert [s.value for s in at.subheader][0] == "Grow revenue"
    assert [(o.id, o.title, o.why, o.owner) for o in doc_of(workspace_id).objectives] == [
        ("o1", "Grow revenue", "Fund the next hires", "Dana")]

    # A key result, first without an objective.
    at.selectbox(key="kr_kpi_new").select("revenue").run()
    # The editor starts from the core's suggestion, never silently from the baseline: revenue grew
    # +100 every month (the strong pace), 4 months from May to the default deadline (30 Sep, the end
    # of the next quarter): 500 + 400 = 900.
    assert any(c.startswith("Baseline: $500 on 31 May 2026 (the latest complete period). Suggested target "
                            "$900: Keeps up a strong pace: +$100 a month") for c in captions(at)), captions(at)
    assert at.number_input(key="kr_target_new_revenue_month").value == 900.0
    at.number_input(key="kr_target_new_revenue_month").set_value(800.0)
    at.date_input(key="kr_deadline_new_revenue_month").set_value(dt.date(2026, 12, 31))
    at.selectbox(key="kr_obj_new_revenue_month").select(None)
    submit(at, "kr_form_new_revenue_month", "Save key result")
    [t] = doc_of(workspace_id).targets
    assert (t.kpi, t.target, t.baseline, t.baseline_date, t.objective) == (
        "revenue", 800.0, 500.0, dt.date(2026, 5, 31), None)
    assert "Key results without an objective" in [s.value for s in at.subheader]

    # Link it to the objective by editing it.
    at.selectbox(key="kr_pick").select("t1").run()
    at.selectbox(key="kr_obj_t1_revenue_month").select("o1")
    submit(at, "kr_form_t1_revenue_month", "Save key result")
    assert doc_of(workspace_id).targets[0].objective == "o1"
    # Revenue is judged on May, the latest complete month (June's 50 is "so far"): 500, the baseline,
    # so progress 0 with 5 of 214 days gone (e = 0.023): at risk by pace (0 >= 0.023 - 0.10); the
    # line through Jan..May (+100 a month) reaches 1,200 by December: the forecast is on track.
    assert [p.proto.text for p in at.get("progress")] == ["0 % of the way · 1 key result: 1 at risk"]
    assert any(c.startswith("Now $500 (May 2026) → target $800 by 31 Dec 2026 · 0 % of the way")
               for c in captions(at))
    assert "Behind pace: 0 % of the way with 2 % of the time gone" in captions(at)

    # Record a review and see it listed.
    at.text_area(key="review_notes").input("June started slowly; call the two biggest accounts.")
    submit(at, "record_review", "Record review")
    today = dt.date.today()
    assert f"Review of {format_date(today)} recorded." in [s.value for s in at.success]
    [review] = doc_of(workspace_id).reviews
    assert review.date == today and review.notes.startswith("June started slowly")
    assert [(s["kpi"], s["status"], s["value"]) for s in review.statuses] == [("revenue", "at_risk", 500.0)]
    assert f"{format_date(today)} — 1 at risk" in [e.label for e in at.expander]
    assert "June started slowly; call the two biggest accounts." in [t.value for t in at.text]

    # The rhythm sets the next review: a week after today's review.
    at.selectbox(key="review_cadence").select("weekly").run()
    assert not at.exception
    assert doc_of(workspace_id).cadence == "weekly"
    next_review = [m.value for m in at.metric if m.label == "Next review"][0]
    assert next_review == format_date(today + dt.timedelta(days=7))


def test_edit_and_delete_an_objective(workspace_id):
    ws = open_workspace(workspace_id)
    store.save_goals(ws, GoalsDoc(objectives=(Objective("o1", "Old title"),),
                                  targets=(Target("revenue", 800, dt.date(2026, 12, 31), objective="o1", id="t1"),)))
    ws.close()
    at = open_goals(workspace_id)
    at.text_input(key="eo_title_o1").input("New title")
    submit(at, "edit_obj_o1", "Save")
    assert [o.title for o in doc_of(workspace_id).objectives] == ["New title"]
    at.button(key="del_obj_keep_o1").click().run()
    doc = doc_of(workspace_id)
    assert doc.objectives == () and doc.targets[0].objective is None
    at.selectbox(key="kr_pick").select("t1").run()
    at.button(key="kr_delete_t1").click().run()
    assert doc_of(workspace_id).targets == ()


def test_custom_kpi_builder_on_the_goals_page(workspace_id):
    at = open_goals(workspace_id)
    at.selectbox(key="goals_custom_num_dataset").select("payments").run()
    at.selectbox(key="goals_custom_num_agg").select("sum").run()
    at.selectbox(key="goals_custom_num_column").select("amount").run()
    at.text_input(key="goals_custom_name").input("Cash in").run()
    assert any(c.value == "Formula: Sum of amount in payments, per period of date" for c in at.caption)
    assert any("May 2026: 500.00" in c.value or "May 2026: 500" in c.value for c in at.caption)
    at.button(key="goals_custom_save").click().run()
    assert not at.exception
    mine = custom.load_custom_kpis(open_workspace(workspace_id))
    assert list(mine) == ["cash_in"] and mine["cash_in"].numerator.column == "amount"
    assert any(m.value.startswith("**Cash in** · `cash_in`") for m in at.markdown)
    # It can be a key result straight away.
    at.selectbox(key="kr_kpi_new").select("cash_in").run()
    assert any(c.startswith("Baseline: 500") for c in captions(at))


def test_an_objective_added_in_another_session_meanwhile_is_kept(workspace_id):
    """Two editors on the Goals page: B adds an objective while A's page is open; A adds one too.
    Both stay (the page saves on top of the goals it read in the run that saves)."""
    at = open_goals(workspace_id)
    with open_workspace(workspace_id) as ws:            # B, in another session
        doc, version = store.load_goals_entry(ws)
        store.save_goals(ws, doc.add_objective(Objective("o1", "B's objective")), expect=version)
    at.text_input(key="no_title").input("A's objective")
    submit(at, "new_objective", "Add objective")
    assert [o.title for o in doc_of(workspace_id).objectives] == ["B's objective", "A's objective"]
    assert len({o.id for o in doc_of(workspace_id).objectives}) == 2


def test_a_viewer_cannot_press_delete_on_a_custom_kpi(workspace_id):
    from kpi import access
    with open_workspace(workspace_id) as ws:
        custom.save_custom_kpi(ws, custom.CustomKpi("cash_in", "Cash in", custom.Measure("payments", "sum", "amount")))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["share"] = access.create_share(workspace_id, "viewer")
    at.run()
    at.switch_page("pages/goals.py").run()
    assert not at.exception
    assert at.button(key="del_custom_cash_in").disabled
    assert list(custom.load_custom_kpis(open_workspace(workspace_id))) == ["cash_in"]
