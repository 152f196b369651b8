"""Goals: statuses (every path of goals.md, both directions), projections, SMART bands, suggested
targets and the goals file — each against an answer worked out by hand in the comments."""
from __future__ import annotations

import json
import math
from datetime import date

import pandas as pd
import pytest

from kpi.analysis import headline, projection_band
from kpi.colours import COLOUR_HEX
from kpi.errors import InputError
from kpi.goals import (
    STATUS_STYLE, GoalsDoc, Objective, Review, Target, achievable_band, check_targets, default_baseline,
    dumps, evaluate, load_goals_file, loads, next_review_date, past_changes, period_end, period_index,
    period_start, projection, projection_range, smart_check, suggest_target, suggested_target, summary_line,
    target_kind, tolerance, value_bounds,
)
from kpi.scorecard import needs_attention


def monthly(values, start=date(2025, 1, 1), as_of=None):
    """A month-grain series as the engine gives it, one value per month from ``start``."""
    periods, day = [], start
    for _ in values:
        periods.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    as_of = as_of or period_end(periods[-1], "month")
    return pd.DataFrame({"period": periods, "value": [float("nan") if v is None else float(v) for v in values],
                         "partial": [period_end(p, "month") > as_of for p in periods]})


# The running example of goals.md, both directions: B at D0 = 2025-01-31, T at D = 2025-12-31.
# D - D0 = 334 days. At A = 2025-07-15 (July the running month, 15 of 31 days) A - D0 = 165 days:
# time gone e = 165 / 334 = 0.49401, at risk down to 0.39401. At A = 2025-06-30 (June complete,
# nothing running): e = 150 / 334 = 0.44910.
D0 = date(2025, 1, 31)
D = date(2025, 12, 31)
A = date(2025, 7, 15)
E = 165 / 334
A_JUNE = date(2025, 6, 30)
E_JUNE = 150 / 334


def pace_only(v, so_far=5.0, first=100.0):
    """May (complete), June = V (complete), July running: two complete values, so no projection
    (at least 3 are needed) and only the pace reading decides."""
    return monthly([first, v, so_far], start=date(2025, 5, 1), as_of=A)


def six(values):
    """Jan..Jun 2025, all complete at A_JUNE: the projection's six periods (x = 0..5, December x = 11)."""
    return monthly(values, as_of=A_JUNE)


# ----------------------------------------------------------------------------- pace (improvement targets)

@pytest.mark.parametrize("v, progress, status", [
    (150, 0.5, "on_track"),    # (150-100)/(200-100) = 0.5 >= e = 0.494
    (140, 0.4, "at_risk"),     # 0.4 < 0.494 but >= 0.394
    (130, 0.3, "off_track"),   # 0.3 < 0.394
])
def test_pace_higher_is_better(v, progress, status):
    s = evaluate(Target("signups", 200, D, baseline=100, baseline_date=D0), pace_only(v), A, "higher", unit="count")
    assert s.expected == pytest.approx(E) and s.progress == pytest.approx(progress)
    assert (s.status, s.decided_by, s.pace, s.forecast, s.target_kind) == (status, "pace", status, None, "improvement")
    # The flow KPI's current value is June, the latest complete month; July is "so far".
    assert s.period == date(2025, 6, 1) and not s.partial and s.value == v
    assert (s.previous, s.change) == (100, v - 100)
    assert (s.so_far, s.so_far_period, s.so_far_days, s.period_days) == (5.0, date(2025, 7, 1), 15, 31)
    # June to December: 6 months left; (200 - V) / 6 still needed each month.
    assert s.periods_left == 6 and s.needed_per_period == pytest.approx((200 - v) / 6)


@pytest.mark.parametrize("v, progress, status", [
    (40, 0.5, "on_track"),     # (40-50)/(30-50) = 0.5
    (42, 0.4, "at_risk"),      # -8/-20 = 0.4
    (44, 0.3, "off_track"),    # -6/-20 = 0.3
])
def test_pace_lower_is_better(v, progress, status):
    s = evaluate(Target("cac", 30, D, baseline=50, baseline_date=D0), pace_only(v, first=50), A, "lower",
                 unit="currency")
    assert s.progress == pytest.approx(progress) and s.status == status and s.decided_by == "pace"


def test_met_early_both_directions():
    up = evaluate(Target("signups", 200, D, baseline=100, baseline_date=D0), pace_only(205), A, "higher", unit="count")
    assert (up.status, up.decided_by, up.reason()) == ("achieved", "pace", "met early")
    assert up.needed_per_period == 0.0 and up.progress == pytest.approx(1.05)
    down = evaluate(Target("cac", 30, D, baseline=50, baseline_date=D0), pace_only(30, first=50), A, "lower",
                    unit="currency")
    assert down.status == "achieved"


def test_at_risk_boundary_is_inclusive():
    # D0 = 2025-01-01, D = 2025-01-11 (10 days), A = 2025-01-06: e = 5/10 = 0.5. V = 140 with
    # B = 100, T = 200: progress 0.4 = 0.5 - 0.10 exactly -> at risk, not off track.
    series = pd.DataFrame({"period": [date(2025, 1, 5), date(2025, 1, 6)], "value": [130.0, 140.0],
                           "partial": [False, False]})
    target = Target("dau", 200, date(2025, 1, 11), baseline=100, baseline_date=date(2025, 1, 1), grain="day")
    s = evaluate(target, series, date(2025, 1, 6), "higher")
    assert s.expected == pytest.approx(0.5) and s.status == "at_risk"


# ----------------------------------------------------------------------------- forecast and the worse reading

def test_forecast_decides_when_it_is_worse_than_the_pace():
    target = Target("signups", 200, D, baseline=100, baseline_date=D0)
    # Jan..Jun 190, 185, ..., 165: the line is 177.5 - 5 (x - 2.5), at December (x = 11) 135.
    # Pace: (165 - 100) / 100 = 0.65 >= e = 0.449 -> on track. Forecast: 200 - 135 = 65 short,
    # more than 10 % of |T - B| = 10 -> off track, and it stands.
    s = evaluate(target, six([190, 185, 180, 175, 170, 165]), A_JUNE, "higher", unit="count")
    assert s.projection == pytest.approx(135) and s.expected == pytest.approx(E_JUNE)
    assert (s.pace, s.forecast, s.status, s.decided_by) == ("on_track", "off_track", "off_track", "forecast")
    assert s.reason() == "heading for 135 by 31 Dec 2025"
    # 155, 159, ..., 175: the line reaches 165 + 4 * 8.5 = 199, 1 short (<= 10) -> at risk.
    r = evaluate(target, six([155, 159, 163, 167, 171, 175]), A_JUNE, "higher", unit="count")
    assert r.projection == pytest.approx(199) and (r.status, r.decided_by) == ("at_risk", "forecast")
    # 100, 110, ..., 150: the line reaches 125 + 10 * 8.5 = 210 -> both readings on track; pace names it.
    ok = evaluate(target, six([100, 110, 120, 130, 140, 150]), A_JUNE, "higher", unit="count")
    assert ok.projection == pytest.approx(210) and (ok.status, ok.decided_by) == ("on_track", "pace")


def test_forecast_decides_lower_is_better():
    # T = 30 from B = 50, flat at 40: pace (40-50)/(30-50) = 0.5 >= 0.449, but the flat line stays at
    # 40, 10 above the target: more than 10 % of 20 -> off track by the forecast.
    s = evaluate(Target("cac", 30, D, baseline=50, baseline_date=D0), six([40] * 6), A_JUNE, "lower", unit="currency")
    assert (s.pace, s.forecast, s.status, s.decided_by) == ("on_track", "off_track", "off_track", "forecast")


def test_met_now_but_heading_below_the_target():
    target = Target("signups", 200, D, baseline=100, baseline_date=D0)
    # 260, 250, ..., 210: June meets 200 but the line falls to 235 - 10 * 8.5 = 150 by December.
    s = evaluate(target, six([260, 250, 240, 230, 220, 210]), A_JUNE, "higher", unit="count")
    assert s.met_now and (s.status, s.decided_by) == ("off_track", "forecast")
    assert s.reason().startswith("met now, heading below the target by the deadline")
    # 150, 160, ..., 200: met, and the line keeps rising (260): achieved, met early.
    e = evaluate(target, six([150, 160, 170, 180, 190, 200]), A_JUNE, "higher", unit="count")
    assert (e.status, e.decided_by, e.reason()) == ("achieved", "pace", "met early")


# ----------------------------------------------------------------------------- hold targets

@pytest.mark.parametrize("target, baseline, direction, unit, kind", [
    (0.21782178217821785, 0.21782178217821782, "higher", "rate", "hold"),  # the 3e-17 target of the issue
    (201.0, 200.0, "higher", "currency", "hold"),        # eps = max(1/2, 0.5 % of 200 = 1.0) = 1.0
    (201.5, 200.0, "higher", "currency", "improvement"),
    (199.0, 200.0, "lower", "currency", "hold"),
    (198.5, 200.0, "lower", "currency", "improvement"),
    (0.0504, 0.05, "higher", "rate", "hold"),            # eps = max(0.0005, 0.00025) = 0.0005
    (0.0506, 0.05, "higher", "rate", "improvement"),
    (180.0, 200.0, "higher", "currency", "hold"),        # a floor below the level: keep it above
    (0.03, 0.021, "lower", "rate", "hold"),              # a ceiling above the level
])
def test_target_kind_and_tolerance(target, baseline, direction, unit, kind):
    assert target_kind(target, baseline, direction, unit) == kind


def test_tolerance_is_half_the_shown_precision_and_at_least_half_a_percent():
    assert tolerance(200.0, "currency") == pytest.approx(1.0)      # 0.5 % of 200 beats half a dollar
    assert tolerance(50.0, "currency") == pytest.approx(0.25)      # 0.5 % of 50; half a cent is less
    assert tolerance(0.021, "rate") == pytest.approx(0.0005)       # half of 0.1 percentage point
    assert tolerance(7.55, "score") == pytest.approx(0.05)         # half of 0.1
    assert tolerance(None, "rate") == 0.0


def test_hold_lower_is_better_pace():
    # Keep churn at or below 2.1 % (B = T = 0.021). eps = 0.0005; at risk up to eps + 10 % of T = 0.0026.
    target = Target("customer_churn_rate", 0.021, D, baseline=0.021, baseline_date=D0)
    cases = {0.020: "on_track", 0.023: "at_risk", 0.025: "off_track"}   # 0.002 <= 0.0026 < 0.004
    for v, status in cases.items():
        s = evaluate(target, pace_only(v, so_far=0.01, first=0.02), A, "lower", unit="rate")
        assert (s.target_kind, s.status, s.decided_by, s.progress) == ("hold", status, "pace", None)
        assert s.to_record()["progress"] is None
    assert "hold" in s.progress_words() and s.target_words() == "Hold at or below 2.1 % until 31 Dec 2025"


def test_hold_higher_is_better_is_never_achieved_before_the_deadline():
    # Employee satisfaction 7.55 kept: eps = 0.05, at risk down to 7.55 - (0.05 + 0.755) = 6.745.
    target = Target("employee_satisfaction", 7.55, D, baseline=7.55, baseline_date=D0)
    assert evaluate(target, pace_only(8.0, first=7.5), A, "higher", unit="score").status == "on_track"
    assert evaluate(target, pace_only(7.0, first=7.5), A, "higher", unit="score").status == "at_risk"
    assert evaluate(target, pace_only(6.5, first=7.5), A, "higher", unit="score").status == "off_track"
    flat = evaluate(target, six([7.6] * 6), A_JUNE, "higher", unit="score")
    assert flat.status == "on_track" and flat.reason() == "holding: 7.6"


def test_hold_forecast_decides():
    target = Target("customer_churn_rate", 0.021, D, baseline=0.021, baseline_date=D0)
    # 0.015 .. 0.020 rising 0.001 a month: the line reaches 0.0175 + 0.001 * 8.5 = 0.026 by December,
    # 0.005 above the ceiling: more than 10 % of T (0.0021) -> off track, though June (2.0 %) holds.
    s = evaluate(target, six([0.015, 0.016, 0.017, 0.018, 0.019, 0.020]), A_JUNE, "lower", unit="rate")
    assert s.projection == pytest.approx(0.026)
    assert (s.pace, s.forecast, s.status, s.decided_by) == ("on_track", "off_track", "off_track", "forecast")
    # 0.0180 .. 0.0200 rising 0.0004: 0.019 + 0.0004 * 8.5 = 0.0224, 0.0014 over (<= 0.0021) -> at risk.
    r = evaluate(target, six([0.0180, 0.0184, 0.0188, 0.0192, 0.0196, 0.0200]), A_JUNE, "lower", unit="rate")
    assert r.projection == pytest.approx(0.0224) and (r.status, r.decided_by) == ("at_risk", "forecast")


def test_a_tiny_difference_is_a_hold_target_with_no_progress_figure():
    # The issue: target 0.21782178217821785 against a baseline of 0.21782178217821782 gave
    # "338692939079582528 % of the way". It is a hold target: no progress, never that number.
    target = Target("trial_conversion_rate", 0.21782178217821785, D, baseline=0.21782178217821782,
                    baseline_date=D0)
    s = evaluate(target, pace_only(0.30, so_far=0.1, first=0.25), A, "higher", unit="rate")
    assert s.target_kind == "hold" and s.progress is None and s.status == "on_track"
    assert s.to_record()["progress"] is None and s.progress_words() == "hold: no progress figure"


# ----------------------------------------------------------------------------- at and after the deadline

def test_the_deadline_period_is_judged_once():
    target = Target("signups", 200, date(2025, 6, 30), baseline=100, baseline_date=D0, alert_above=250)
    after = date(2025, 9, 15)
    # June 180 misses 200; July and August (250, 260) would meet it, too late: missed, judged on June.
    series = monthly([100, 120, 140, 160, 170, 180, 250, 260, 30], as_of=after)
    s = evaluate(target, series, after, "higher", unit="count")
    assert (s.status, s.decided_by, s.period, s.value) == ("missed", "deadline", date(2025, 6, 1), 180)
    assert s.progress == pytest.approx(0.8) and s.expected == 1.0 and s.projection is None
    assert s.reason() == "180 in Jun 2025, judged at the deadline"
    assert s.needed_per_period is None and s.run_rate_words() == ""
    # Alerts still read the value now (August's 260 > 250), whatever the judged status.
    assert s.alert and "260" in s.alert_reason
    # The series as of the deadline is what is judged (June counted up to 30 Jun: 205 -> achieved).
    at_deadline = monthly([100, 120, 140, 160, 170, 205], as_of=date(2025, 6, 30))
    met = evaluate(target, series, after, "higher", unit="count", deadline_series=at_deadline)
    assert (met.status, met.value, met.decided_by) == ("achieved", 205, "deadline")


def test_deadline_lower_is_better_and_on_the_day_itself():
    target = Target("cac", 30, date(2025, 6, 30), baseline=50, baseline_date=D0)
    assert evaluate(target, monthly([50, 45, 40, 35, 32, 28]), date(2025, 6, 30), "lower").status == "achieved"
    assert evaluate(target, monthly([50, 45, 40, 35, 30, 32]), date(2025, 6, 30), "lower").status == "missed"


def test_a_stock_is_judged_on_its_level_at_the_deadline():
    # MRR (a stock) with a deadline mid-June: the series as of 15 Jun 2025 holds June's level on
    # that day (195, partial): 195 < 200 -> missed, whatever the level at the end of June.
    target = Target("mrr", 200, date(2025, 6, 15), baseline=100, baseline_date=D0)
    at_deadline = monthly([100, 120, 140, 160, 180, 195], as_of=date(2025, 6, 15))
    later = monthly([100, 120, 140, 160, 180, 210, 220], as_of=date(2025, 7, 20))
    s = evaluate(target, later, date(2025, 7, 20), "higher", kind="stock", unit="currency",
                 deadline_series=at_deadline)
    assert (s.status, s.value, s.period) == ("missed", 195, date(2025, 6, 1))


# ----------------------------------------------------------------------------- not started, no data, alerts

def test_not_started_when_the_baseline_date_is_after_the_as_of_date():
    target = Target("signups", 200, D, baseline=100, baseline_date=date(2025, 9, 30))
    s = evaluate(target, pace_only(150), A, "higher", unit="count")
    assert (s.status, s.decided_by, s.progress, s.expected) == ("not_started", None, None, 0.0)
    assert s.reason() == "starts on 30 Sep 2025, its baseline date"
    assert STATUS_STYLE["not_started"] == ("Not started", "grey") and not needs_attention([s])


def test_no_data_and_no_baseline_need_attention_before_the_deadline():
    target = Target("signups", 200, D, baseline=100, baseline_date=D0)
    empty = pd.DataFrame({"period": [], "value": [], "partial": []})
    e = evaluate(target, empty, A, "higher")
    assert (e.status, e.period, e.projection, e.decided_by) == ("no_data", None, None, None)
    assert e.to_record()["value"] is None
    # No baseline value anywhere (only the running month exists) -> no data, with the reason.
    only_running = monthly([150], start=date(2025, 7, 1), as_of=A)
    n = evaluate(Target("signups", 200, D), only_running, A, "higher")
    assert n.status == "no_data" and n.baseline is None and "no value" in n.reason()
    assert needs_attention([e, n]) == [e, n]


def test_alerts_below_and_above_whatever_the_status():
    below = evaluate(Target("signups", 200, D, baseline=100, baseline_date=D0, alert_below=135),
                     pace_only(130), A, "higher", unit="count")
    assert below.alert and below.alert_reason == "130 is below the alert level of 135" and below.status == "off_track"
    green = evaluate(Target("signups", 200, D, baseline=100, baseline_date=D0, alert_above=145),
                     pace_only(150), A, "higher", unit="count")
    assert green.status == "on_track" and green.alert and needs_attention([green]) == [green]
    quiet = evaluate(Target("signups", 200, D, baseline=100, baseline_date=D0, alert_below=130, alert_above=150),
                     pace_only(140), A, "higher", unit="count")
    assert not quiet.alert and quiet.alert_reason is None


def test_a_deadline_not_after_the_baseline_date_is_refused():
    doc = GoalsDoc(targets=[Target("mrr", 200, date(2025, 1, 31), baseline_date=date(2025, 1, 31))])
    with pytest.raises(InputError, match=r"goal 1 \(mrr\).*not after the baseline date"):
        check_targets(doc, "g.json")
    check_targets(GoalsDoc(targets=[Target("mrr", 200, date(2025, 2, 1), baseline_date=date(2025, 1, 31))]))


# ----------------------------------------------------------------------------- flow and stock, week grain

def test_flow_and_stock_at_week_grain_with_a_running_week():
    # Weeks from Monday 2 Jun 2025; as of Wednesday 25 Jun the week of 23 Jun has run 3 of 7 days.
    weeks = [date(2025, 6, 2), date(2025, 6, 9), date(2025, 6, 16), date(2025, 6, 23)]
    series = pd.DataFrame({"period": weeks, "value": [10.0, 20.0, 30.0, 4.0],
                           "partial": [False, False, False, True]})
    as_of = date(2025, 6, 25)
    target = Target("signups", 100, date(2025, 9, 28), baseline=10, baseline_date=date(2025, 6, 8), grain="week")
    flow = evaluate(target, series, as_of, "higher", unit="count")
    assert (flow.period, flow.value, flow.previous, flow.partial) == (date(2025, 6, 16), 30, 20, False)
    assert (flow.so_far, flow.so_far_days, flow.period_days) == (4, 3, 7)
    assert flow.so_far_words() == "week of 23 Jun 2025 so far (3 of 7 days): 4"
    stock = evaluate(target, series, as_of, "higher", kind="stock", unit="count")
    assert (stock.period, stock.value, stock.previous, stock.partial, stock.so_far) == (weeks[3], 4, 30, True, None)
    # The card's headline follows the same rule: a flow compares whole weeks, a stock its level now.
    h = headline(series, "week", kind="flow", as_of=as_of)
    assert (h.period, h.value, h.change, h.so_far, h.so_far_days) == (weeks[2], 30, 10, 4, 3)
    hs = headline(series, "week", kind="stock", as_of=as_of)
    assert (hs.period, hs.value, hs.change, hs.partial) == (weeks[3], 4, -26, True)


def test_a_partial_quarter_is_never_compared_with_a_whole_one():
    # Quarters Q2 (complete), Q3 (complete), Q4 (one month run): the headline is Q3 against Q2.
    series = pd.DataFrame({"period": [date(2026, 4, 1), date(2026, 7, 1), date(2026, 10, 1)],
                           "value": [9000.0, 9500.0, 1600.0], "partial": [False, False, True]})
    h = headline(series, "quarter", as_of=date(2026, 10, 31))
    assert (h.period, h.value, h.change) == (date(2026, 7, 1), 9500, 500)
    assert (h.so_far_period, h.so_far, h.so_far_days, h.period_days) == (date(2026, 10, 1), 1600, 31, 92)
    # A 4-day upload has no complete month: no headline value, only "so far".
    short = pd.DataFrame({"period": [date(2026, 10, 1)], "value": [12.0], "partial": [True]})
    h = headline(short, "month", as_of=date(2026, 10, 4))
    assert h.value is None and h.change is None and (h.so_far, h.so_far_days) == (12, 4)


# ----------------------------------------------------------------------------- projections, clipped

@pytest.mark.parametrize("kpi, values, raw, clipped", [
    # Jan..Jun, December is x = 11: value = mean + slope * (11 - 2.5).
    ("customer_churn_rate", [0.06, 0.05, 0.04, 0.03, 0.02, 0.01], 0.035 - 0.085, 0.0),
    ("uptime", [0.95, 0.96, 0.97, 0.98, 0.99, 1.0], 0.975 + 0.085, 1.0),
    ("support_cost", [600, 500, 400, 300, 200, 100], 350 - 850, 0.0),
    ("nps", [50, 60, 70, 80, 90, 100], 75 + 85, 100.0),
    ("nps", [-50, -60, -70, -80, -90, -100], -75 - 85, -100.0),
    ("employee_satisfaction", [8.0, 8.4, 8.8, 9.2, 9.6, 10.0], 9.0 + 3.4, 10.0),
    ("net_new_mrr", [-100, -200, -300, -400, -500, -600], -350 - 850, -350 - 850),   # may be negative
    ("mrr_growth_rate", [0.2, 0.1, 0.0, -0.1, -0.2, -0.3], -0.05 - 0.85, -0.9),       # above -100 %
])
def test_projections_are_clipped_to_what_the_kpi_can_take(kpi, values, raw, clipped):
    series = six(values)
    assert projection(series, A_JUNE, D) == pytest.approx(raw)            # the straight line itself
    bounds = value_bounds(kpi, None)
    f, low, high = projection_range(series, A_JUNE, D, "month", bounds)
    assert f == pytest.approx(clipped)
    lo, hi = bounds
    for x in (f, low, high):
        assert x is None or ((lo is None or x >= lo - 1e-12) and (hi is None or x <= hi + 1e-12))
    # The status reads the clipped line, and Trends draws the very same line and end point.
    s = evaluate(Target(kpi, values[-1], D, baseline=values[0], baseline_date=D0), series, A_JUNE, "higher")
    assert s.projection == pytest.approx(clipped)
    band = projection_band(series, "month", until=D, kpi=kpi)
    assert band.at_end == pytest.approx(clipped) and band.fitted == 6


def test_projection_band_matches_the_status_and_needs_three_values():
    # A noisy line: the band's ends are the line's value plus or minus t * s * sqrt(...), clipped.
    series = six([0.05, 0.03, 0.04, 0.02, 0.03, 0.01])
    f, low, high = projection_range(series, A_JUNE, D, "month", value_bounds("customer_churn_rate", None))
    band = projection_band(series, "month", until=D, kpi="customer_churn_rate")
    assert (band.at_end, band.low, band.high) == pytest.approx((f, low, high))
    assert low == 0.0 and high > 0.0          # the lower edge runs below 0 % and is clipped
    # Two complete values are not a trend: no projection anywhere.
    two = monthly([100, 200, 50], as_of=date(2025, 3, 10))
    assert projection(two, date(2025, 3, 10), D) is None and projection_band(two, "month") is None


def test_projection_at_week_grain():
    # A lower-is-better line 50 - 2k over weeks from Monday 2025-06-02; the deadline 2025-08-13 is
    # in the week of 2025-08-11, k = 10 -> 30.
    weeks = pd.date_range("2025-06-02", periods=6, freq="7D").date
    weekly = pd.DataFrame({"period": weeks, "value": [50 - 2 * k for k in range(6)], "partial": False})
    assert projection(weekly, date(2025, 7, 13), date(2025, 8, 13), "week") == pytest.approx(30)


def test_scorecard_record_has_the_fields_of_cli_md():
    s = evaluate(Target("signups", 200, D, baseline=100, baseline_date=D0), pace_only(140), A, "higher", unit="count")
    rec = s.to_record()
    assert list(rec) == ["kpi", "grain", "period", "value", "previous", "change", "target", "deadline",
                         "baseline", "progress", "expected", "status", "alert", "projection", "target_kind",
                         "decided_by"]
    assert (rec["period"], rec["deadline"], rec["status"], rec["target_kind"], rec["decided_by"]) == \
        ("2025-06-01", "2025-12-31", "at_risk", "improvement", "pace")
    json.dumps(rec)  # no dates, numpy numbers or NaN left
    assert all(not (isinstance(v, float) and math.isnan(v)) for v in rec.values())


def test_status_words_and_colours():
    assert {k: v for k, v in STATUS_STYLE.items()} == {
        "achieved": ("Achieved", "green"), "on_track": ("On track", "green"), "at_risk": ("At risk", "amber"),
        "off_track": ("Off track", "red"), "missed": ("Missed", "red"), "not_started": ("Not started", "grey"),
        "no_data": ("No data", "grey")}
    assert COLOUR_HEX == {"green": "#1a7f37", "amber": "#b7791f", "red": "#cf222e", "grey": "#6e7781"}


def test_summary_line():
    statuses = ["on_track"] * 5 + ["off_track", "at_risk"]
    assert summary_line(statuses) == "5 on track · 1 at risk · 1 off track"
    every = ["no_data", "missed", "off_track", "at_risk", "on_track", "achieved", "not_started"]
    assert summary_line(every) == ("1 achieved · 1 on track · 1 at risk · 1 off track · 1 missed · 1 not started"
                                   " · 1 no data")
    assert summary_line([]) == "No targets set yet"


def test_baseline_defaults():
    # No baseline value: B = the latest complete month ending by the baseline date (January's 100).
    series = monthly([100, 110, 120, 125, 130, 135, 5], as_of=A)
    s = evaluate(Target("signups", 200, D, baseline_date=D0), series, A, "higher")
    assert (s.baseline, s.baseline_date) == (100, D0)
    # No baseline at all: June's 135 at 2025-06-30.
    assert default_baseline(series, A) == (135, date(2025, 6, 30))
    # A null month does not blank the baseline, and engine dtypes are read.
    engine = pd.DataFrame({"period": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
                           "value": pd.array([100.0, None, 130.0], dtype="Float64"),
                           "partial": pd.array([False, False, True], dtype="boolean")})
    assert default_baseline(engine, date(2025, 3, 5)) == (100, D0)


# ----------------------------------------------------------------------------- SMART check
# 14 complete months Dec 2023 .. Jan 2025, as-of 2025-02-10 (February partial).
# Dec 2023 -> Jan 2024 jumps by 1000, outside the last 12 changes. The last 12 changes
# (Feb 2024 .. Jan 2025, each against the month before) are +1, +2, ..., +12, so:
#   75th percentile (linear) = 9 + 0.25 * (10 - 9) = 9.25, best = 12.
# Baseline = Jan 2025 = 100 + (1 + ... + 12) = 178 at 2025-01-31; deadline 2025-11-30 is 10 months on.
AS_OF = date(2025, 2, 10)
DEADLINE = date(2025, 11, 30)


def climbing(sign=1, base=100.0):
    values, v = [base - sign * 1000, base], base
    for k in range(1, 13):
        v += sign * k
        values.append(v)
    values.append(v)  # February 2025, partial
    return monthly(values, start=date(2023, 12, 1), as_of=AS_OF)


def band(target, series, direction, unit=None):
    return smart_check(target, series, AS_OF, direction, has_definition=True, computable=True, missing=[],
                       unit=unit).achievable_band


def test_past_changes_window():
    assert past_changes(climbing(), AS_OF) == [float(k) for k in range(1, 13)]


@pytest.mark.parametrize("target, expected", [
    (268, "realistic"),      # needs (268 - 178) / 10 = 9 <= 9.25
    (270.5, "realistic"),    # 9.25, on the line
    (288, "stretch"),        # 11: above 9.25, within the best 12
    (298, "stretch"),        # 12, the best itself
    (308, "unrealistic"),    # 13
])
def test_achievable_higher(target, expected):
    assert band(Target("mrr", target, DEADLINE), climbing(), "higher") == expected


@pytest.mark.parametrize("target, expected", [
    # Mirror image from 500: baseline 500 - 78 = 422 at 2025-01-31; the good changes are falls of 1..12.
    (332, "realistic"),      # needs -9 a month
    (312, "stretch"),        # -11
    (292, "unrealistic"),    # -13
])
def test_achievable_lower(target, expected):
    assert band(Target("cac", target, DEADLINE), climbing(-1, 500.0), "lower") == expected


def test_a_hold_target_is_realistic_when_met_in_half_of_the_last_12_periods():
    # The last 12 complete months are 100 + k(k+1)/2 for k = 1..12: 101, 103, 106, 110, 115, ..., 178.
    # Holding 178 (the baseline): met once in 12 -> stretch. A floor of 110: met by k = 4..12, 9 of 12.
    held = smart_check(Target("mrr", 178, DEADLINE), climbing(), AS_OF, "higher", has_definition=True,
                       computable=True, unit="count")
    assert (held.target_kind, held.achievable_band) == ("hold", "stretch")
    assert "met 178 in 1 of the last 12 months" in held.checks[2].reason
    floor = smart_check(Target("mrr", 110, DEADLINE), climbing(), AS_OF, "higher", has_definition=True,
                        computable=True, unit="count")
    assert (floor.target_kind, floor.achievable_band) == ("hold", "realistic")


def test_achievable_unknown_with_little_history():
    # Three complete months give two changes: too few to judge.
    short = monthly([100, 110, 120, 125], start=date(2024, 11, 1), as_of=AS_OF)
    report = smart_check(Target("mrr", 200, DEADLINE), short, AS_OF, "higher",
                         has_definition=True, computable=True, missing=[])
    assert report.achievable_band == "unknown"
    assert report.checks[2].ok is None and not report.ok
    assert achievable_band(5, [1, 2], "higher") == "unknown"
    assert achievable_band(-5, [1, 2], "higher") == "realistic"   # nothing needed


def test_smart_letters():
    ok = smart_check(Target("mrr", 268, DEADLINE, objective="grow"), climbing(), AS_OF, "higher",
                     has_definition=True, computable=True, missing=[])
    assert [c.letter for c in ok.checks] == list("SMART")
    assert all(c.ok for c in ok.checks) and ok.ok
    assert ok.needed_per_period == pytest.approx(9) and ok.strong_change == pytest.approx(9.25)
    assert ok.best_change == pytest.approx(12)
    assert "30 Nov 2025" in ok.checks[4].reason          # one date format, in the words too
    bad = smart_check(Target("mystery", 268, date(2025, 1, 15), baseline_date=date(2025, 1, 31)),
                      pd.DataFrame({"period": [], "value": [], "partial": []}), AS_OF, "higher",
                      has_definition=False, computable=False, missing=["subscriptions.mrr"])
    letters = {c.letter: c for c in bad.checks}
    assert not letters["S"].ok and not letters["M"].ok and not letters["R"].ok and not letters["T"].ok
    assert "subscriptions.mrr" in letters["M"].reason
    assert bad.achievable_band == "unknown"
    assert all(c.reason.endswith(".") for c in ok.checks + bad.checks)


# ----------------------------------------------------------------------------- suggested targets
# 13 complete months Jan 2025 .. Jan 2026 (12 changes), as of 2026-01-31; the deadline 2026-06-30
# is 5 months after the baseline's month (January 2026).
S_AS_OF = date(2026, 1, 31)
S_DEADLINE = date(2026, 6, 30)


def thirteen(first, step):
    return monthly([first + step * k for k in range(13)], as_of=S_AS_OF)


def test_suggestion_keeps_a_strong_pace_rounded_the_better_way():
    # +1.5 users every month: s = 1.5; 118 + 1.5 * 5 = 125.5, rounded up (better) to a whole 126.
    up = suggested_target(thirteen(100, 1.5), S_AS_OF, "higher", S_DEADLINE, unit="count", name="Sign-ups")
    assert (up.kind, up.value, up.baseline, up.baseline_date) == ("pace", 126, 118, S_AS_OF)
    assert up.sentence.startswith("Keeps up a strong pace: +1.5 a month")
    # Its SMART check: needs (126 - 118) / 5 = 1.6 a month; the strong pace is 1.5 and rounding to a
    # whole user may add up to 1 / 5 a month -> still realistic.
    assert band_of(Target("signups", up.value, S_DEADLINE), thirteen(100, 1.5), "higher", "count") == "realistic"
    # Churn falling 0.05 pp a month from 3.6 %: 3.0 % - 0.05 pp * 5 = 2.75 %, rounded down to 2.7 %.
    down = suggested_target(thirteen(0.036, -0.0005), S_AS_OF, "lower", S_DEADLINE, unit="rate",
                            kpi="customer_churn_rate")
    assert down.kind == "pace" and down.value == pytest.approx(0.027)
    # A rate climbing 5 pp a month from 30 % to 90 %: 90 % + 25 pp is clipped to 100 %.
    capped = suggested_target(thirteen(0.30, 0.05), S_AS_OF, "higher", S_DEADLINE, unit="rate", kpi="uptime")
    assert capped.kind == "pace" and capped.value == 1.0
    assert suggest_target(thirteen(100, 1.5), S_AS_OF, "higher", S_DEADLINE, unit="count") == 126


def band_of(target, series, direction, unit):
    return smart_check(target, series, S_AS_OF, direction, has_definition=True, computable=True,
                       unit=unit).achievable_band


def test_suggestion_recovers_a_level_reached_when_the_kpi_got_worse():
    # Falling 2 a month from 50 to 26: no strong pace (every change is -2). The last 12 levels are
    # 48, 46, ..., 26; their 75th percentile is 26 + 2 * 8.25 = 42.5, rounded towards B to 42.
    s = suggested_target(thirteen(50, -2), S_AS_OF, "higher", S_DEADLINE, unit="count", name="Sign-ups")
    assert (s.kind, s.value, s.baseline) == ("recover", 42, 26)
    assert "Sign-ups has mostly got worse lately, so: recover to 42" in s.sentence
    # Lower is better, rising 2 a month from 26 to 50: the 25th percentile of 28..50 is 33.5 -> 34.
    c = suggested_target(thirteen(26, 2), S_AS_OF, "lower", S_DEADLINE, unit="count")
    assert (c.kind, c.value) == ("recover", 34)


def test_suggestion_holds_the_level_explicitly_never_silently():
    flat = suggested_target(thirteen(100, 0), S_AS_OF, "higher", S_DEADLINE, unit="count", name="Sign-ups")
    assert (flat.kind, flat.value) == ("hold", 100)
    assert flat.sentence.endswith("so: hold the level — keep it at or above 100.")
    short = suggested_target(monthly([10, 12, 3], start=date(2025, 11, 1), as_of=date(2026, 1, 20)),
                             date(2026, 1, 20), "lower", S_DEADLINE, unit="count")
    assert short.kind == "hold" and short.value == 12 and "too few complete months (2)" in short.sentence
    assert "at or below 12" in short.sentence
    assert suggested_target(monthly([5], start=date(2026, 1, 1), as_of=date(2026, 1, 20)),
                            date(2026, 1, 20), "higher", S_DEADLINE) is None     # no baseline: no suggestion
    # Whatever the history, a suggestion equal to its baseline says "hold the level".
    for series in (thirteen(100, 0), thirteen(100, 1.5), thirteen(50, -2), thirteen(26, 2)):
        for direction in ("higher", "lower"):
            s = suggested_target(series, S_AS_OF, direction, S_DEADLINE, unit="count")
            assert (s.value == s.baseline) == (s.kind == "hold")
            assert s.kind != "hold" or "hold the level" in s.sentence


# ----------------------------------------------------------------------------- goals file

def test_goals_file_example_of_cli_md(tmp_path):
    path = tmp_path / "goals.json"
    path.write_text('{"goals": [{"kpi": "mrr", "target": 50000, "deadline": "2026-06-30", "baseline": 30000,'
                    ' "baseline_date": "2025-12-31", "grain": "month", "alert_below": 25000}]}')
    doc = load_goals_file(path)
    assert doc.targets == (Target("mrr", 50000.0, date(2026, 6, 30), 30000.0, date(2025, 12, 31),
                                  "month", alert_below=25000.0),)
    assert doc.cadence == "monthly"
    assert Target.from_dict({"kpi": "nps", "target": 40, "deadline": "2026-03-31"}).grain == "month"


def test_goals_doc_round_trip():
    doc = GoalsDoc(
        objectives=[Objective("grow", "Grow revenue", why="Runway", owner="Ana",
                              start=date(2025, 1, 1), end=date(2025, 12, 31))],
        targets=[Target("mrr", 50000, date(2026, 6, 30), 30000, date(2025, 12, 31), "quarter",
                        alert_below=25000, alert_above=90000, objective="grow", id="t1")],
        reviews=[Review(date(2025, 7, 1), [{"kpi": "mrr", "status": "at_risk"}], "Pricing change lands in Q3")],
        cadence="biweekly")
    assert loads(dumps(doc)) == doc
    assert Target.from_dict(doc.targets[0].to_dict()) == doc.targets[0]
    added = GoalsDoc().add_target(Target("nps", 40, D)).add_target(Target("dau", 100, D))
    assert [t.id for t in added.targets] == ["t1", "t2"]
    assert [t.kpi for t in added.remove_target("t1").targets] == ["dau"]


@pytest.mark.parametrize("text, words", [
    ('{"goals": [{"kpi": "mrr", "target": 5', ["line 1", "not valid JSON"]),
    ('{"goals": [{"kpi": "mrr", "target": 5}]}', ["goal 1 (mrr)", "deadline", "missing"]),
    ('{"goals": [{"target": 5, "deadline": "2026-01-01"}]}', ["goal 1", "kpi", "missing"]),
    ('{"goals": [{"kpi": "mrr", "deadline": "2026-01-01"}]}', ["target", "missing"]),
    ('{"goals": [{"kpi": "mrr", "target": "lots", "deadline": "2026-01-01"}]}', ["target", "'lots' is not a number"]),
    ('{"goals": [{"kpi": "mrr", "target": 5, "deadline": "2026-13-01"}]}', ["deadline", "not a date", "YYYY-MM-DD"]),
    ('{"goals": [{"kpi": "mrr", "target": 5, "deadline": "2026-01-01", "baseline_date": "soon"}]}', ["baseline_date"]),
    ('{"goals": [{"kpi": "mrr", "target": 5, "deadline": "2026-01-01", "grain": "fortnight"}]}', ["grain", "fortnight"]),
    ('{"goals": [{"kpi": "mrr", "target": 5, "deadline": "2026-01-01", "dealine": "x"}]}', ["dealine"]),
    ('{"goals": [{"kpi": "a", "target": 1, "deadline": "2026-01-01"}, {"kpi": "b", "target": true, "deadline": "2026-01-01"}]}',
     ["goal 2 (b)", "target"]),
    ('"mrr"', ["goals"]),
])
def test_goals_file_errors_name_the_file_and_field(tmp_path, text, words):
    path = tmp_path / "team-goals.json"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_goals_file(path)
    message = str(err.value)
    assert str(path) in message
    for word in words:
        assert word in message


def test_missing_goals_file(tmp_path):
    with pytest.raises(InputError, match="no such goals file"):
        load_goals_file(tmp_path / "nope.json")


@pytest.mark.parametrize("last, cadence, due", [
    (None, "monthly", date(2025, 3, 5)),                  # never reviewed: due today
    (date(2025, 1, 1), "weekly", date(2025, 1, 8)),
    (date(2025, 1, 1), "biweekly", date(2025, 1, 15)),
    (date(2025, 1, 31), "monthly", date(2025, 2, 28)),    # kept to the month's last day
    (date(2024, 1, 31), "monthly", date(2024, 2, 29)),
    (date(2025, 11, 30), "quarterly", date(2026, 2, 28)),
])
def test_next_review_date(last, cadence, due):
    assert next_review_date(last, cadence, date(2025, 3, 5)) == due


def test_next_review_from_the_document():
    doc = GoalsDoc(cadence="weekly").add_review(Review(date(2025, 3, 3))).add_review(Review(date(2025, 2, 24)))
    assert doc.next_review(date(2025, 3, 5)) == date(2025, 3, 10)
    with pytest.raises(InputError):
        next_review_date(None, "daily", date(2025, 3, 5))


def test_period_helpers():
    assert period_start(date(2025, 8, 14), "week") == date(2025, 8, 11)
    assert period_start(date(2025, 8, 14), "quarter") == date(2025, 7, 1)
    assert period_end(date(2025, 7, 1), "quarter") == date(2025, 9, 30)
    assert period_end(date(2024, 2, 1), "month") == date(2024, 2, 29)
    assert period_index(date(2026, 1, 1), "month") - period_index(date(2025, 12, 31), "month") == 1
    assert period_index(date(2025, 8, 11), "week") - period_index(date(2025, 8, 10), "week") == 1
