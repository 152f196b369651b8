"""AppTest: the Trends page draws the core's numbers — latest value, projection, anomalies with the
releases near them, what changed by segment — and its analysis tabs, on the sample data and on a
small hand-made workspace whose figures are worked out below."""
from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kpi import analysis, store
from kpi.compute import compute
from kpi.formatting import format_change, format_value
from kpi.goals import GoalsDoc, Target
from kpi.workspace import Workspace
from kpi.workspaces import load_sample, new_workspace_id, open_workspace, workspace_path
from app_helpers import sample_file, copy_in

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 120


def open_trends(wid: str, tab: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["ws"] = wid
    for k, v in query.items():
        at.query_params[k] = v
    if tab:
        at.session_state["trends_tab"] = tab
    at.run()
    at.switch_page("pages/trends.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]


def charts(at: AppTest):
    return at.get("vega_lite_chart")


# ------------------------------------------------------------------------------------------ sample data
def test_sample_escalations_show_the_spike_the_release_and_the_segment(sample):
    wid = copy_in(sample)
    with open_workspace(wid) as ws:
        frame = compute(ws, ["escalation_rate"], grain="month")
        series = analysis.series_of(frame, "escalation_rate")
        judged = analysis.anomalies(series, unit="rate")
        rel = analysis.releases(ws)
    at = open_trends(wid, kpi="escalation_rate")
    body = texts(at)
    latest = series.iloc[-1]      # the sample's data end on 31 Oct: October is complete
    assert any(t.startswith(f"Latest complete month, {analysis.period_label(latest['period'], 'month')}: "
                            f"**{format_value(latest['value'], 'rate')}**") for t in body)
    # Every unusual month the core finds is listed with its value and the releases shipped near it.
    odd = judged[judged["anomaly"]]
    assert len(odd) >= 1
    for r in odd.tail(5).itertuples():
        line = next(t for t in body if t.startswith(f"- {analysis.period_label(r.period, 'month')}: "))
        assert f"**{format_value(r.value, 'rate')}**" in line
        for label in analysis.releases_near(rel, r.period, "month")["label"]:
            assert label in line
    assert any("Data pipeline 3.0" in t for t in body)       # the sample's bad release
    # What changed: from the month before the latest unusual run to its first month, by the
    # breakdown that explains it best.
    before, after = analysis.change_periods(series, judged)
    tb, ta = series.set_index("period")["value"][before], series.set_index("period")["value"][after]
    assert any(f"from **{format_value(tb, 'rate')}** ({analysis.period_label(before, 'month')}) to "
               f"**{format_value(ta, 'rate')}** ({analysis.period_label(after, 'month')}): "
               f"{format_change(ta - tb, 'rate')}." in t for t in body)
    assert any("drove it most" in t for t in body)
    assert len(charts(at)) >= 3       # the trend, the contributions, the lines by segment


def test_a_link_from_the_scorecard_opens_that_kpi_and_rerenders_fast(sample):
    wid = copy_in(sample)
    at = open_trends(wid, kpi="mrr,active_users")
    assert at.multiselect(key="trends_kpis").value == ["mrr", "active_users"]
    assert any("Monthly recurring revenue" in t for t in texts(at))
    at.run()                                  # a rerun from the caches (timed by bench/pages.py)
    assert not at.exception
    # Options redraw from the caches: comparison and moving average.
    at.selectbox(key="trends_compare").select("Same period a year before").run()
    at.selectbox(key="trends_ma").select(3).run()
    assert not at.exception


def test_analysis_tabs_on_the_sample(sample):
    wid = copy_in(sample)
    with open_workspace(wid) as ws:
        as_of = date(2026, 10, 31) if ws.has("events") else None
        funnel = analysis.funnel(ws, ["login", "dashboard_viewed", "report_created"], 7, as_of=as_of)
    at = open_trends(wid, tab="Funnel")
    table = at.dataframe[0].value
    assert list(table["Users"]) == [format_value(u, "count") for u in funnel["users"]]
    assert list(table["Of step 1"]) == [format_value(x, "rate") for x in funnel["of_first"]]
    for tab in ("Cohorts", "MRR movements", "Active users"):
        at = open_trends(wid, tab=tab)
        assert charts(at), tab


# ------------------------------------------------------------------------------------------ hand-made data
@pytest.fixture
def small_id() -> str:
    """Tickets Jan-Aug 2025, 10 a month; escalated 1 a month except 5 in July (all 'bug' tickets)
    and 1 in August. Escalation rate 0.1 for six months, then 0.5: the median of the six before
    July is 0.1 and their MAD 0, floored at 1 % of 0.1, so July lies 0.4 / 0.001 = 400 MADs above.
    A release shipped on 3 Jul 2025. In July the 4 extra escalations are all 'bug' tickets:
    bug 1/5 -> 5/5, other 0/5 -> 0/5; the rate goes 0.1 -> 0.5, all of it from bug."""
    wid = new_workspace_id()
    rows = []
    for month in range(1, 9):
        esc = 5 if month == 7 else 1
        for i in range(10):
            rows.append({"ticket_id": f"t{month}-{i}", "created_at": f"2025-{month:02d}-{i + 10:02d} 09:00:00",
                         "escalated": i < esc, "topic": "bug" if i < 5 else "other"})
    with open_workspace(wid) as ws:
        ws.load_frame("tickets", pd.DataFrame(rows))
        ws.load_frame("releases", pd.DataFrame({"feature": ["Pipeline 3.0"], "released_date": ["2025-07-03"]}))
        store.save_goals(ws, GoalsDoc(targets=[Target("escalation_rate", 0.05, date(2025, 12, 31), baseline=0.1,
                                                      baseline_date=date(2025, 6, 30))]))
    return wid


def test_small_workspace_spike_release_and_driver(small_id):
    at = open_trends(small_id, kpi="escalation_rate")
    body = texts(at)
    # August runs to the 19th, the last ticket: the headline is July, the latest complete month,
    # and August is "so far" — never 19 days compared with a whole July.
    assert ("Latest complete month, Jul 2025: **50.0 %**, +40.0 pp on the month before · Aug 2025 so far "
            "(19 of 31 days): 10.0 %") in body
    assert ("- Jul 2025: **50.0 %**, 400.0 × the usual month-to-month spread above the median (10.0 %); "
            "released in this or the previous month: Pipeline 3.0 (03 Jul)") in body
    assert "Ticket escalation rate rose from **10.0 %** (Jun 2025) to **50.0 %** (Jul 2025): +40.0 pp." in body
    # bug: (5 - 0.1 * 5) / 10 - (1 - 0.1 * 5) / 10 = 0.4, all of the change, with half of June's tickets.
    assert "**topic = bug** drove it most: +40.0 pp of the +40.0 pp while holding 50 % of the Jun 2025 base." in body
    # The target: 0.05 by December from 0.10 on 30 Jun. Judged on July (50 %), the latest complete month:
    # progress (0.5 - 0.1) / (0.05 - 0.1) = -8, far behind with 50 / 184 = 27 % of the time gone; from
    # July to December (5 months) it needs (0.05 - 0.5) / 5 = -9 pp a month.
    assert (f"Target 5.0 % by 31 Dec 2025: **Off track** — behind pace: far behind with 27 % of the time gone; "
            f"needs {format_change(-0.09, 'rate')} a month for 5 more months") in body, [t for t in body if "Target" in t]


def test_notes_are_saved_in_the_workspace_and_listed(small_id):
    at = open_trends(small_id, kpi="escalation_rate")
    at.text_input(key="trends_note_text").input("Support rota changed")
    at.button[[b.label for b in at.button].index("Save note")].click().run()
    assert not at.exception
    with open_workspace(small_id) as ws:
        notes = store.load_annotations(ws)
    assert [{k: v for k, v in n.items() if k != "id"} for n in notes] == [
        {"date": "2025-08-19", "text": "Support rota changed", "kpi": "escalation_rate"}]
    assert any("Support rota changed" in t.value for t in at.text)
    # Delete names the note by its id
    at.button(key=f"trends_note_del_{notes[0]['id']}").click().run()
    assert not at.exception
    with open_workspace(small_id) as ws:
        assert store.load_annotations(ws) == []


def test_every_chart_is_valid_vega_lite():
    """Pages draw cached specs built without validation (for speed); here each chart is validated."""
    from ui import charts as ch
    months = [date(2025, m, 1) for m in range(1, 9)]
    series = pd.DataFrame({"period": months, "value": [.1, .1, .12, .1, .11, .1, .5, .1],
                           "partial": [False] * 7 + [True]})
    status = None
    rel = pd.DataFrame({"date": [date(2025, 7, 3)], "label": ["Pipeline 3.0"], "kind": ["release"]})
    specs = [
        ch.trend_chart(series, name="Rate", unit="rate", grain="month", status=status,
                       band=analysis.projection_band(series, "month", until=date(2025, 12, 31), unit="rate"),
                       compare=analysis.comparison(series, "month", "previous"), compare_label="Previous period",
                       moving=analysis.moving_average(series, 3), moving_label="3-month average",
                       judged=analysis.anomalies(series), annotations=rel),
        ch.segment_chart(pd.DataFrame({"period": months * 2, "segment": ["a"] * 8 + [None] * 8,
                                       "value": [1.0] * 16, "partial": [False] * 16}),
                         name="Rate", unit="rate", grain="month", segment_column="topic"),
        ch.cohort_heatmap(pd.DataFrame({"cohort": [date(2025, 1, 1)] * 2, "age": [0, 1], "members": [2, 2],
                                        "size": [2.0, 2.0], "value": [2.0, 1.0], "share": [1.0, .5],
                                        "partial": [False, False]}), measure="users"),
        ch.funnel_chart(pd.DataFrame({"step": [1, 2], "event": ["a", "b"], "users": [4, 1], "of_first": [1, .25],
                                      "of_previous": [1, .25], "dropped": [0, 3]})),
        ch.active_users_chart(pd.DataFrame({"period": months[:2], "dau": [1.0, 2.0], "wau": [2.0, 3.0],
                                            "mau": [3.0, 4.0], "stickiness": [.3, .5], "partial": [False, True]}),
                              "month"),
    ]
    seg = pd.DataFrame([{"kpi": "escalated_tickets", "period": p, "segment": s, "value": v, "numerator": None,
                         "denominator": None, "partial": False}
                        for p, s, v in ((months[0], "x", 1.0), (months[1], "x", 3.0))])
    tot = seg.assign(segment=None)
    specs.append(ch.contribution_chart(analysis.contribution(seg, tot, "escalated_tickets", months[0], months[1]),
                                       name="Escalated tickets", unit="count", direction="lower",
                                       segment_column="topic", before_label="Jan", after_label="Feb"))
    moves = analysis.mrr_movements(pd.DataFrame([{"kpi": k, "period": months[0], "segment": None, "value": 10.0,
                                                  "partial": False} for k, _, _ in analysis.MRR_MOVEMENTS]))
    specs.append(ch.mrr_movements_chart(moves, "month"))
    for chart in specs:
        chart.to_dict()      # raises on a schema error


def test_the_tab_and_chart_options_come_from_the_url_so_a_link_reopens_them(sample):
    wid = copy_in(sample)
    at = open_trends(wid, kpi="mrr", trends_compare="Previous period", trends_ma="3 months", trends_goal="false")
    assert at.selectbox(key="trends_compare").value == "Previous period"
    assert at.selectbox(key="trends_ma").value == 3
    assert at.toggle(key="trends_goal").value is False

    at = open_trends(wid, trends_tab="Cohorts", cohort_measure="Revenue (MRR)", cohort_rows="6")
    assert at.segmented_control(key="cohort_measure").value == "revenue"
    assert at.slider(key="cohort_rows").value == 6 and charts(at)
    at = open_trends(wid, trends_tab="Funnel", funnel_window="14")
    assert at.number_input(key="funnel_window").value == 14


def test_the_sidebar_filter_from_a_link_gives_the_filtered_numbers(sample):
    """?only=channel&only_is=organic: Trends shows MRR of the organic customers only and says so."""
    wid = copy_in(sample)
    with open_workspace(wid) as ws:
        only = analysis.series_of(compute(ws, ["mrr"], grain="month", filters={"channel": ["organic"]}), "mrr")
        whole = analysis.series_of(compute(ws, ["mrr"], grain="month"), "mrr")
    assert only["value"].iloc[-1] < whole["value"].iloc[-1]
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["ws"] = wid
    at.query_params["kpi"] = "mrr"
    at.query_params["only"] = "channel"
    at.query_params["only_is"] = ["organic"]
    at.run()
    assert at.sidebar.selectbox(key="filter_col").value == "channel"
    assert at.sidebar.multiselect(key="filter_vals").value == ["organic"]
    at.switch_page("pages/trends.py").run()
    assert not at.exception, [e.value for e in at.exception]
    body = texts(at)
    latest = only.iloc[-1]
    assert any(t.startswith(f"Now, {analysis.period_label(latest['period'], 'month')}: "      # MRR: a level
                            f"**{format_value(latest['value'], 'currency')}**") for t in body), body[:20]
    assert any("Only the rows where channel is organic" in t for t in body)


# ------------------------------------------------------------------------------------------ a short Stripe upload
@pytest.fixture
def stripe_id(tmp_path) -> str:
    """The four-month Stripe-like export of tests/stripe_like.py, ingested into a new workspace."""
    from kpi.ingest import ingest_file
    from stripe_like import write_stripe_like_export
    wid = new_workspace_id()
    with open_workspace(wid) as ws:
        for path in write_stripe_like_export(tmp_path / "stripe").values():
            ingest_file(ws, path)
    return wid


def test_the_sidebar_breakdown_splits_mrr_by_plan_and_says_why_revenue_cannot_be(stripe_id):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["ws"] = stripe_id
    at.query_params["kpi"] = "mrr,revenue"
    at.query_params["segment"] = "plan"        # a link with the sidebar's breakdown
    at.run()
    assert "plan" in at.sidebar.selectbox(key="segment").options
    assert "Cancel At Period End" not in at.sidebar.selectbox(key="segment").options
    assert at.sidebar.selectbox(key="segment").value == "plan"
    at.switch_page("pages/trends.py").run()
    assert not at.exception, [e.value for e in at.exception]
    # MRR: its trend, then one line per plan; Revenue: its trend, then why it has no plan lines.
    specs = [json.loads(c.spec) for c in charts(at)]
    assert [s["title"]["text"] for s in specs][:3] == [
        "Monthly recurring revenue", "Monthly recurring revenue by plan", "Revenue"]
    assert specs[1]["layer"][0]["encoding"]["color"]["sort"] == ["Team", "Business", "Starter"]  # by size
    assert ("Revenue cannot be split by plan: its rows of payments have no plan (plan is a column of "
            "subscriptions), and no customers dataset is loaded to look it up through the customer id."
            ) in [i.value for i in at.info]
    # What changed in MRR follows the sidebar's plan, each plan with its size.
    assert at.selectbox(key="trends_by_mrr").value == "plan"
    table = at.dataframe[0].value
    assert list(table.columns) == ["plan", "Size (Feb 2024)", "Feb 2024", "Mar 2024", "Own change", "Contribution"]
    assert dict(zip(table["plan"], table["Size (Feb 2024)"])) == {
        "Business": format_value(82.5 / 286.5, "rate"), "Team": format_value(147 / 286.5, "rate"),
        "Starter": format_value(57 / 286.5, "rate")}
    # MRR by plan at the ends of February and March, as worked out in tests/stripe_like.py.
    assert [tuple(r) for r in table[["plan", "Feb 2024", "Mar 2024"]].values] == [
        (plan, format_value(feb, "currency"), format_value(mar, "currency"))
        for plan, feb, mar in [("Business", 82.5, 165), ("Team", 147, 196), ("Starter", 57, 76)]]
    assert table["Mar 2024"].iloc[0] == "$165"      # money shows cents only below $100
    # "Find the one that explains most" compares only what MRR's data holds, and says so.
    at.selectbox(key="trends_by_mrr").select("Find the one that explains most").run()
    assert not at.exception
    compared = next(c.value for c in at.caption if c.value.startswith("Compared "))
    assert compared.startswith("Compared Status (")
    assert "plan (3 values)" in compared and "Not comparable: Card Brand, Description" in compared
    # A column Revenue's data does not hold, chosen by hand, gets the sentence too.
    at.selectbox(key="trends_focus").select("revenue").run()
    at.selectbox(key="trends_by_revenue").select("plan").run()
    assert any(i.value.startswith("Revenue cannot be split by plan") for i in at.info)
