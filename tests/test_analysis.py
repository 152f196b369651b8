"""kpi/analysis.py on tiny hand-made tables: every expected number is worked out in the comments."""
from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from kpi import analysis as an
from kpi.compute import compute
from kpi.goals import projection
from kpi.workspace import Workspace


def monthly(values, start=date(2025, 1, 1), partial_last=False):
    periods = []
    p = start
    for _ in values:
        periods.append(p)
        p = date(p.year + (p.month == 12), p.month % 12 + 1, 1)
    return pd.DataFrame({"period": periods, "value": [float("nan") if v is None else float(v) for v in values],
                         "partial": [partial_last and i == len(values) - 1 for i in range(len(values))]})


# ------------------------------------------------------------------------------------------ headline
def test_headline_compares_with_the_period_before_and_a_year_before():
    # 13 months Jan 2025 .. Jan 2026: 100, 101, ..., 112.
    s = monthly(range(100, 113))
    h = an.headline(s, "month")
    assert h.period == date(2026, 1, 1) and h.value == 112
    assert h.previous_period == date(2025, 12, 1) and h.change == 1      # 112 - 111
    assert h.year_ago_period == date(2025, 1, 1) and h.year_change == 12  # 112 - 100
    assert len(h.spark) == 12 and h.spark[-1] == 112
    assert h.trend == pytest.approx(11)      # the spark's line rises 1 a month over 11 steps
    assert h.periods == 13 and not h.partial


def test_headline_compares_like_for_like():
    # Jan 10, Feb 20 (complete), Mar 5 after 10 days. A flow KPI's headline is February against
    # January (+10), never the running March against a whole February; March is "so far".
    s = monthly([10, 20, 5], partial_last=True)
    h = an.headline(s, "month", as_of=date(2025, 3, 10))
    assert (h.period, h.value, h.change, h.partial) == (date(2025, 2, 1), 20, 10, False)
    assert (h.so_far_period, h.so_far, h.so_far_days, h.period_days) == (date(2025, 3, 1), 5, 10, 31)
    assert h.last_complete_period == date(2025, 2, 1) and h.last_complete == 20
    assert h.year_ago is None and h.year_change is None and h.spark == (10, 20)
    # A stock (a level, such as MRR) is read now, against the level at the end of February.
    st = an.headline(s, "month", kind="stock", as_of=date(2025, 3, 10))
    assert (st.period, st.value, st.change, st.partial, st.so_far) == (date(2025, 3, 1), 5, -15, True, None)
    assert an.latest_sentence(h, "count", "month") == ("Latest complete month, Feb 2025: **20**, +10 on the month "
                                                       "before · Mar 2025 so far (10 of 31 days): 5")


def test_period_labels_and_the_year_before_a_week():
    assert an.period_label(date(2026, 10, 1), "month") == "Oct 2026"
    assert an.period_label(date(2026, 10, 1), "quarter") == "Q4 2026"
    assert an.period_label(date(2026, 10, 12), "week") == "week of 12 Oct 2026"
    assert an.year_before(date(2026, 10, 12), "week") == date(2025, 10, 13)   # 52 weeks, still a Monday
    assert an.year_before(date(2024, 2, 29), "day") == date(2023, 2, 28)


# ------------------------------------------------------------------------------------------ projection
def test_projection_band_is_the_goals_projection_with_a_t_interval():
    # x = 0..3 (Jan-Apr), y = 1, 3, 2, 4: slope 0.8, mean y 2.5 at mean x 1.5.
    # Residuals -0.3, 0.9, -0.9, 0.3 -> SSE 1.8, s = sqrt(1.8 / 2) = 0.9487; Sxx = 5; t(2) = 1.8856.
    # At Jun (x = 5, 3.5 from the mean): centre 2.5 + 0.8 * 3.5 = 5.3,
    # half-width 1.8856 * 0.9487 * sqrt(1 + 1/4 + 3.5^2 / 5) = 3.4409.
    s = monthly([1, 3, 2, 4])
    band = an.projection_band(s, "month", until=date(2025, 6, 30))
    assert list(band.points["period"]) == [date(2025, 4, 1), date(2025, 5, 1), date(2025, 6, 1)]
    assert band.at_end == pytest.approx(5.3)
    assert band.low == pytest.approx(5.3 - 3.4409, abs=1e-3)
    assert band.high == pytest.approx(5.3 + 3.4409, abs=1e-3)
    assert band.slope == pytest.approx(0.8) and band.fitted == 4
    # The centre is exactly what goals.md's projection reads off at the deadline.
    assert band.at_end == pytest.approx(projection(s, date(2025, 4, 30), date(2025, 6, 30), "month"))


def test_projection_band_uses_the_last_six_complete_periods_and_stays_within_a_rate():
    # A falling rate: 0.60, 0.50, ... fitted through the last 6 complete months (the first is left out).
    s = monthly([0.9, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05], partial_last=True)
    band = an.projection_band(s, "month", until=date(2026, 1, 31), unit="rate")
    assert band.fitted == 6
    assert band.points["value"].min() >= 0.0 and band.at_end == 0.0   # kept within 0-100 %
    assert an.projection_band(monthly([5]), "month") is None


def test_t_quantiles():
    assert an.t_quantile_80(4) == pytest.approx(1.5332)
    assert an.t_quantile_80(11) == pytest.approx(1.3640, abs=2e-3)   # between 10 and 12
    assert an.t_quantile_80(1000) == pytest.approx(1.2816)


# ------------------------------------------------------------------------------------------ anomalies
def test_anomaly_rule_on_hand_computed_medians():
    # The 6 months before the 7th: 10, 12, 11, 9, 10, 13 -> median 10.5;
    # distances .5, 1.5, .5, 1.5, .5, 2.5 -> MAD 1.0. 16 is 5.5 MADs above: unusual; 15 is 4.5: not.
    judged = an.anomalies(monthly([10, 12, 11, 9, 10, 13, 16]))
    last = judged.iloc[-1]
    assert last["median"] == 10.5 and last["mad"] == 1.0
    assert last["deviation"] == pytest.approx(5.5) and bool(last["anomaly"]) and last["direction"] == "above"
    assert not an.anomalies(monthly([10, 12, 11, 9, 10, 13, 15]))["anomaly"].iloc[-1]
    # Fewer than 4 earlier values: not judged.
    assert judged["median"].iloc[:4].isna().all() and not judged["anomaly"].iloc[:4].any()


def test_partial_periods_are_not_judged_and_counts_allow_for_chance():
    assert not an.anomalies(monthly([10, 12, 11, 9, 10, 13, 1], partial_last=True))["anomaly"].iloc[-1]
    # Counts 7, 7, 7, 8, 6, 7: MAD 0 -> the floor 0.6745 * sqrt(7) = 1.785; 13 is 3.4 of those: not unusual.
    counts = monthly([7, 7, 7, 8, 6, 7, 13])
    assert not an.anomalies(counts, unit="count")["anomaly"].iloc[-1]
    # Without the count floor the MAD floor is 1 % of the median (0.07): 6 / 0.07 = 86 MADs.
    assert an.anomalies(counts)["deviation"].iloc[-1] == pytest.approx(6 / 0.07)


def test_default_periods_of_what_changed_start_at_the_latest_unusual_run():
    s = monthly([10, 12, 11, 9, 10, 13, 30, 31, 12])   # Jul and Aug unusual
    assert an.change_periods(s) == (date(2025, 6, 1), date(2025, 7, 1))
    # Nothing unusual: the last complete month against the one before (the partial one is skipped).
    assert an.change_periods(monthly([1, 2, 3, 4], partial_last=True)) == (date(2025, 2, 1), date(2025, 3, 1))


def test_moving_average_and_comparison_lines():
    s = monthly([1, 2, 3, 4, 100], partial_last=True)
    ma = an.moving_average(s, 2)
    assert list(ma["value"]) == [1.5, 2.5, 3.5]          # the partial month is left out
    prev = an.comparison(s, "month", "previous")
    assert list(prev["value"]) == [1, 2, 3, 4] and list(prev["change"]) == [1, 1, 1, 96]
    year = an.comparison(monthly(range(14)), "month", "year")
    assert list(year["period"]) == [date(2026, 1, 1), date(2026, 2, 1)] and list(year["change"]) == [12, 12]


# ------------------------------------------------------------------------------------------ contributions
def frame(kpi, rows):
    """rows: (period, segment, value, numerator, denominator)"""
    return pd.DataFrame([{"kpi": kpi, "grain": "month", "period": p, "segment": s, "value": v, "numerator": n,
                          "denominator": d, "partial": False} for p, s, v, n, d in rows])


A, B = date(2025, 1, 1), date(2025, 2, 1)


def test_contribution_of_a_sum_is_each_segments_own_change():
    # Escalated tickets: web 10 -> 15, mobile 20 -> 18; total 30 -> 33.
    seg = frame("escalated_tickets", [(A, "web", 10, None, None), (B, "web", 15, None, None),
                                      (A, "mobile", 20, None, None), (B, "mobile", 18, None, None)])
    tot = frame("escalated_tickets", [(A, None, 30, None, None), (B, None, 33, None, None)])
    c = an.contribution(seg, tot, "escalated_tickets", A, B)
    assert c.attrs["method"] == "sum" and c.attrs["total_change"] == 3 and c.attrs["remainder"] == 0
    assert list(c["segment"]) == ["web", "mobile"] and list(c["contribution"]) == [5, -2]
    assert list(c["weight"]) == pytest.approx([10 / 30, 20 / 30])
    d = an.driver(c)
    assert d["segment"] == "web" and d["share"] == pytest.approx(5 / 3)


def test_contribution_of_a_ratio_adds_up_to_the_change():
    # Escalation rate. A: 1/10 -> 4/10, B: 2/20 -> 2/20. Total 3/30 = 0.1 -> 6/30 = 0.2.
    # c_A = (4 - 0.1*10)/30 - (1 - 0.1*10)/30 = 0.1; c_B = (2 - 0.1*20)/30 - (2 - 0.1*20)/30 = 0.
    seg = frame("escalation_rate", [(A, "A", .1, 1, 10), (B, "A", .4, 4, 10), (A, "B", .1, 2, 20), (B, "B", .1, 2, 20)])
    tot = frame("escalation_rate", [(A, None, .1, 3, 30), (B, None, .2, 6, 30)])
    c = an.contribution(seg, tot, "escalation_rate", A, B)
    assert c.attrs["method"] == "ratio"
    assert c.set_index("segment")["contribution"].to_dict() == pytest.approx({"A": 0.1, "B": 0.0})
    assert c.attrs["total_change"] == pytest.approx(0.1) and c.attrs["remainder"] == 0
    assert an.driver(c)["segment"] == "A"


def test_a_pure_mix_shift_is_attributed_to_the_segments_that_moved_weight():
    # A: 1/10 -> 1/10, B: 2/20 -> 4/40. Both keep the rate 0.1 while B doubles its tickets:
    # R_a = 3/30 = 0.1, R_b = 5/50 = 0.1, no change, and each contribution is 0 because every
    # segment's rate equals the old total rate.
    seg = frame("escalation_rate", [(A, "A", .1, 1, 10), (B, "A", .1, 1, 10), (A, "B", .1, 2, 20), (B, "B", .1, 4, 40)])
    tot = frame("escalation_rate", [(A, None, .1, 3, 30), (B, None, .1, 5, 50)])
    c = an.contribution(seg, tot, "escalation_rate", A, B)
    assert list(c["contribution"]) == pytest.approx([0, 0]) and an.driver(c) is None


def test_overlapping_segments_leave_a_remainder_and_medians_are_not_added():
    # Active users by platform: a user on web and mobile counts in both. Segments 25+15 -> 28+17,
    # the whole 30 -> 33: contributions 3 + 2 = 5, remainder 3 - 5 = -2.
    seg = frame("active_users", [(A, "web", 25, None, None), (B, "web", 28, None, None),
                                 (A, "mobile", 15, None, None), (B, "mobile", 17, None, None)])
    tot = frame("active_users", [(A, None, 30, None, None), (B, None, 33, None, None)])
    c = an.contribution(seg, tot, "active_users", A, B)
    assert c.attrs["remainder"] == pytest.approx(-2) and "remainder" in c.attrs["note"]
    med = frame("time_to_market", [(A, "x", 10, None, None), (B, "x", 14, None, None)])
    c = an.contribution(med, frame("time_to_market", [(A, None, 10, None, None), (B, None, 14, None, None)]),
                        "time_to_market", A, B)
    assert c.attrs["method"] == "none" and c["contribution"].isna().all() and list(c["change"]) == [4]


# ------------------------------------------------------------------------------------------ MRR movements
def test_mrr_movements_are_signed_and_net_to_net_new_mrr():
    rows = []
    for kpi, v in (("new_mrr", 100), ("expansion_mrr", 30), ("reactivation_mrr", 5),
                   ("contraction_mrr", 10), ("churned_mrr", 40)):
        rows.append({"kpi": kpi, "period": A, "segment": None, "value": float(v), "partial": False})
    moves = an.mrr_movements(pd.DataFrame(rows))
    assert moves.set_index("movement")["amount"].to_dict() == {"New": 100, "Expansion": 30, "Reactivation": 5,
                                                               "Contraction": -10, "Churned": -40}
    assert moves.attrs["net"]["net"].tolist() == [85]     # 100 + 30 + 5 - 10 - 40


# ------------------------------------------------------------------------------------------ SQL analyses
@pytest.fixture
def tiny():
    ws = Workspace(None)
    ws.load_frame("customers", pd.DataFrame({
        "customer_id": ["c1", "c2", "c3"], "signup_date": ["2025-01-03", "2025-01-20", "2025-02-02"]}))
    ws.load_frame("events", pd.DataFrame({
        "user_id": ["c1", "c1", "c2", "c3", "c1", "c1"],
        "timestamp": ["2025-01-05 10:00:00", "2025-01-06 10:00:00", "2025-02-10 09:00:00",
                      "2025-02-11 12:00:00", "2025-03-01 08:00:00", "2025-03-31 08:00:00"],
        "event": ["login", "report_created", "login", "login", "login", "login"]}))
    ws.load_frame("subscriptions", pd.DataFrame({
        "customer_id": ["c1", "c2", "c3", "c1", "c9"],
        "start_date": ["2025-01-05", "2025-01-10", "2025-02-03", "2025-03-01", "2025-01-01"],
        "end_date": ["2025-03-01", "2025-02-20", None, None, "2024-12-01"],
        "mrr": [100, 50, 200, 150, 999]}))
    yield ws
    ws.close()


def test_user_cohorts_by_signup_month(tiny):
    # Jan cohort: c1, c2 (2 members). Active in Jan: c1; Feb: c2; Mar: c1 -> 1, 1, 1 of 2.
    # Feb cohort: c3. Feb: c3; Mar: nobody -> 1, 0 of 1.
    m = an.cohort_matrix(tiny, date(2025, 3, 31), "users")
    jan = m[m["cohort"] == date(2025, 1, 1)]
    assert list(jan["age"]) == [0, 1, 2] and list(jan["value"]) == [1, 1, 1] and set(jan["members"]) == {2}
    assert list(jan["share"]) == [0.5, 0.5, 0.5]
    feb = m[m["cohort"] == date(2025, 2, 1)]
    assert list(feb["value"]) == [1, 0] and list(feb["share"]) == [1.0, 0.0]
    assert not m["partial"].any()


def test_revenue_cohorts_follow_first_month_mrr(tiny):
    # c9's row ends before it starts: left out, as every MRR KPI does.
    # Jan cohort (c1, c2): end of Jan 100 + 50 = 150; end of Feb c1 100 (c2 ended 20 Feb);
    # 15 Mar (the as-of date, a partial month): c1's new row 150 -> 150 / 150 = 1.
    m = an.cohort_matrix(tiny, date(2025, 3, 15), "revenue")
    jan = m[m["cohort"] == date(2025, 1, 1)]
    assert list(jan["value"]) == [150, 100, 150] and set(jan["size"]) == {150} and set(jan["members"]) == {2}
    assert list(jan["share"]) == pytest.approx([1, 2 / 3, 1])
    assert list(jan["partial"]) == [False, False, True]
    feb = m[m["cohort"] == date(2025, 2, 1)]
    assert list(feb["value"]) == [200, 200]


def test_funnel_counts_ordered_steps_within_the_window():
    ws = Workspace(None)
    t = "2025-01-01 10:00:00"
    rows = [("u1", t, "a"), ("u1", "2025-01-02 10:00:00", "b"), ("u1", "2025-01-03 10:00:00", "c"),
            ("u2", t, "a"), ("u2", "2025-01-02 10:00:00", "c"),                 # skips b
            ("u3", t, "a"), ("u3", "2025-01-11 10:00:00", "b"),                 # b after the 7-day window
            ("u4", "2024-12-31 10:00:00", "b"), ("u4", t, "a"),                  # b before a
            ("u5", t, "it's"), ("u5", "2025-01-01 11:00:00", "it's")]           # a name with a quote
    ws.load_frame("events", pd.DataFrame(rows, columns=["user_id", "timestamp", "event"]))
    f = an.funnel(ws, ["a", "b", "c"], window_days=7)
    assert list(f["users"]) == [4, 1, 1]
    assert list(f["of_first"]) == [1.0, 0.25, 0.25] and list(f["of_previous"]) == [1.0, 0.25, 1.0]
    assert list(f["dropped"]) == [0, 3, 0]
    assert list(an.funnel(ws, ["a", "b"], window_days=10)["users"]) == [4, 2]   # u3's b now counts
    # The same event twice needs a second, later occurrence; names are bound, not spliced.
    assert list(an.funnel(ws, ["it's", "it's"], window_days=1)["users"]) == [1, 1]
    assert list(an.funnel(ws, ["a", "a"], window_days=1)["users"]) == [4, 0]
    # Entry limited to a date range.
    assert list(an.funnel(ws, ["a", "b"], 7, start=date(2025, 1, 2))["users"]) == [0, 0]


def test_daily_active_users_match_the_catalog_dau_and_mau():
    ws = Workspace(None)
    days = ["2025-01-01", "2025-01-01", "2025-01-03", "2025-01-20", "2025-02-05", "2025-02-06"]
    users = ["a", "b", "a", "c", "a", "b"]
    ws.load_frame("events", pd.DataFrame({"user_id": users, "timestamp": [d + " 12:00:00" for d in days],
                                          "event": "x"}))
    daily = an.active_users_daily(ws, date(2025, 2, 10)).set_index("day")
    # 3 Jan: DAU a = 1; WAU (28 Dec - 3 Jan) a, b = 2; MAU a, b = 2.
    assert daily.loc[date(2025, 1, 3)].tolist() == [1, 2, 2]
    # 5 Feb: DAU a; WAU (30 Jan - 5 Feb) a; MAU (7 Jan - 5 Feb) a, c = 2.
    assert daily.loc[date(2025, 2, 5)].tolist() == [1, 1, 2]
    # 10 Feb: WAU (4-10 Feb) a, b; MAU (12 Jan - 10 Feb) a, b, c.
    assert daily.loc[date(2025, 2, 10)].tolist() == [0, 2, 3]
    periods = an.active_users_by_period(daily.reset_index(), "month", date(2025, 2, 10))
    engine = compute(ws, ["dau", "mau", "stickiness"], grain="month", as_of=date(2025, 2, 10))
    for k in ("dau", "mau", "stickiness"):
        assert list(periods[k]) == pytest.approx(list(an.series_of(engine, k)["value"]))
    assert list(periods["partial"]) == [False, True]


def test_releases_and_those_near_a_period():
    ws = Workspace(None)
    ws.load_frame("releases", pd.DataFrame({"feature": ["Old", "Pipeline 3.0", "Late"],
                                            "released_date": ["2025-01-15", "2025-03-12", "2025-06-01"]}))
    rel = an.releases(ws, date(2025, 4, 30))
    assert list(rel["label"]) == ["Old", "Pipeline 3.0"]
    near = an.releases_near(rel, date(2025, 4, 1), "month")   # March and April
    assert list(near["label"]) == ["Pipeline 3.0"]


# ------------------------------------------------------------------------------------------ the KPI set
def test_default_kpi_set_takes_one_or_two_per_perspective():
    can = {"mrr", "revenue", "arpa", "nps", "signups", "uptime", "velocity"}
    assert an.default_kpi_set(can) == ["mrr", "revenue", "nps", "signups", "uptime", "velocity"]
    # Nothing preferred in a perspective: the first computable one of the catalog's.
    assert an.default_kpi_set({"compliance_rate"}) == ["compliance_rate"]
    # With fewer than three, the workspace's own (custom or imported) KPIs come after, two at most.
    assert an.default_kpi_set({"mrr"}, extra=["csat", "mqls", "third"]) == ["mrr", "csat", "mqls"]
    assert "csat" not in an.default_kpi_set(can, extra=["csat"])
    groups = an.group_by_perspective(["uptime", "my_custom", "mrr", "nps"])
    assert [g for g, _ in groups] == ["financial", "customer", "internal process", "other"]


def test_quality_flags_name_partial_periods_short_history_and_a_fresh_anomaly():
    s = monthly([1, 2, 3], partial_last=True)
    flags = an.quality_flags(s, "month", date(2025, 3, 10))
    assert flags[0] == "The current month is partial: 10 of 31 days, up to 10 Mar 2025."
    assert any("Only 3 months" in f for f in flags)
    odd = an.quality_flags(monthly([10, 12, 11, 9, 10, 13, 16]), "month", date(2025, 7, 31))
    assert odd == ["Jul 2025 is unusual: 5.5 MADs above the median of the previous 6 months."]


def test_clamp_to_unit():
    assert an.clamp_to_unit(-0.2, "rate") == 0 and an.clamp_to_unit(1.3, "rate") == 1
    assert an.clamp_to_unit(-5, "count") == 0 and an.clamp_to_unit(-5, "currency") == 0      # money >= 0
    assert an.clamp_to_unit(-5, "currency", kpi="net_new_mrr") == -5                         # but this may fall
    assert an.clamp_to_unit(140, "score", kpi="nps") == 100 and an.clamp_to_unit(-5, "score") == -5
    assert an.clamp_to_unit(None, "rate") is None
    assert math.isclose(an.clamp_to_unit(0.5, "rate"), 0.5)


def test_the_core_never_imports_streamlit():
    import ast
    import pathlib
    tree = ast.parse(pathlib.Path(an.__file__).read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not any(str(n).startswith("streamlit") for n in names)


def test_charts_download_as_png_and_svg():
    """Every chart of the Trends page can be saved as an image (vl-convert, no browser)."""
    import datetime as dt

    import pandas as pd
    from ui import charts
    series = pd.DataFrame({"period": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"]).date,
                           "value": [10.0, 12.0, 11.0], "partial": [False, False, True]})
    spec = charts._spec.__wrapped__("trend_chart", dict(series=series, name="MRR", unit="currency", grain="month"))
    spec["datasets"] = {**spec.get("datasets", {}), "dates": [{"day": dt.date(2026, 1, 1)}]}  # as pages pass them
    png = charts.chart_png(spec)
    svg = charts.chart_svg(spec)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert svg.lstrip().startswith("<svg") and "MRR" in svg
