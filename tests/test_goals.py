"""Goals: statuses, SMART bands, projections and the goals file, each against a hand-worked answer."""
from __future__ import annotations

import json
import math
from datetime import date

import pandas as pd
import numpy as np
import pytest

from kpi.errors import InputError
from kpi.goals import (
    COLOUR_HEX, STATUS_STYLE, GoalsDoc, Objective, Review, Target, achievable_band,
    default_baseline, dumps, evaluate, load_goals_file, loads, next_review_date, past_changes,
    period_end, period_index, period_start, projection, smart_check, suggest_target, summary_line,
)


def monthly(values, start=date(2025, 1, 1), as_of=None):
    """A month-grain series as the engine gives it, one value per month from ``start``."""
    periods, day = [], start
    for _ in values:
        periods.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    as_of = as_of or period_end(periods[-1], "month")
    return pd.DataFrame({"period": periods, "value": [float("nan") if v is None else float(v) for v in values],
                         "partial": [period_end(p, "month") > as_of for p in periods]})


# The running example of goals.md, both directions:
# B at D0 = 2025-01-31, T at D = 2025-12-31, as-of A = 2025-07-01 (July is the partial current month).
# A - D0 = 151 days (Feb 28 + Mar 31 + Apr 30 + May 31 + Jun 30 + 1), D - D0 = 334 days,
# so expected = 151/334 = 0.45209..., and at risk down to 0.35209...
A = date(2025, 7, 1)
D0 = date(2025, 1, 31)
D = date(2025, 12, 31)
EXPECTED = 151 / 334


def higher_series(v):
    # Jan..Jun complete, July (the current, partial month) holds V.
    return monthly([100, 110, 120, 125, 130, 135, v], as_of=A)


def lower_series(v):
    return monthly([50, 48, 47, 46, 45, 44, v], as_of=A)


@pytest.mark.parametrize("v, progress, status", [
    (160, 0.6, "on_track"),    # (160-100)/(200-100) = 0.6 >= 0.452
    (140, 0.4, "at_risk"),     # 0.4 < 0.452 but >= 0.352
    (120, 0.2, "off_track"),   # 0.2 < 0.352
    (200, 1.0, "achieved"),    # V >= T
    (215, 1.15, "achieved"),
])
def test_status_higher_is_better(v, progress, status):
    target = Target("mrr", 200, D, baseline=100, baseline_date=D0)
    s = evaluate(target, higher_series(v), A, "higher")
    assert s.expected == pytest.approx(EXPECTED)
    assert s.progress == pytest.approx(progress)
    assert s.status == status
    assert s.period == date(2025, 7, 1) and s.partial
    assert s.value == v and s.previous == 135 and s.change == v - 135


@pytest.mark.parametrize("v, progress, status", [
    (38, 0.6, "on_track"),     # (38-50)/(30-50) = -12/-20 = 0.6
    (42, 0.4, "at_risk"),      # -8/-20 = 0.4
    (46, 0.2, "off_track"),    # -4/-20 = 0.2
    (30, 1.0, "achieved"),     # V <= T
    (25, 1.25, "achieved"),
])
def test_status_lower_is_better(v, progress, status):
    target = Target("customer_churn_rate", 30, D, baseline=50, baseline_date=D0)
    s = evaluate(target, lower_series(v), A, "lower")
    assert s.expected == pytest.approx(EXPECTED)
    assert s.progress == pytest.approx(progress)
    assert s.status == status


def test_at_risk_boundary_is_inclusive():
    # D0 = 2025-01-01, D = 2025-01-11 (10 days), A = 2025-01-06: expected = 5/10 = 0.5.
    # V = 140 with B = 100, T = 200: progress 0.4 = 0.5 - 0.10 exactly -> at risk, not off track.
    series = pd.DataFrame({"period": [date(2025, 1, 6)], "value": [140.0], "partial": [False]})
    target = Target("dau", 200, date(2025, 1, 11), baseline=100, baseline_date=date(2025, 1, 1), grain="day")
    s = evaluate(target, series, date(2025, 1, 6), "higher")
    assert s.expected == pytest.approx(0.5)
    assert s.status == "at_risk"


def test_baseline_defaults_to_the_complete_period_at_the_baseline_date():
    # No baseline value: B = January's value (the latest complete month ending by 2025-01-31) = 100.
    target = Target("mrr", 200, D, baseline_date=D0)
    s = evaluate(target, higher_series(140), A, "higher")
    assert s.baseline == 100 and s.baseline_date == D0
    assert s.status == "at_risk"


def test_baseline_defaults_to_the_latest_complete_period():
    # No baseline at all: B = June's 135, D0 = 2025-06-30. A - D0 = 1 day, D - D0 = 184 days.
    target = Target("mrr", 200, D)
    s = evaluate(target, higher_series(141.5), A, "higher")
    assert (s.baseline, s.baseline_date) == (135, date(2025, 6, 30))
    assert s.expected == pytest.approx(1 / 184)
    assert s.progress == pytest.approx(6.5 / 65)  # 0.1 >= 0.0054 -> on track
    assert s.status == "on_track"
    assert default_baseline(higher_series(141.5), A) == (135, date(2025, 6, 30))


def test_baseline_value_without_date_starts_at_the_latest_complete_period_end():
    target = Target("mrr", 200, D, baseline=100)
    s = evaluate(target, higher_series(140), A, "higher")
    assert s.baseline_date == date(2025, 6, 30)
    assert s.expected == pytest.approx(1 / 184)


def test_baseline_skips_a_null_month_and_engine_dtypes_are_read():
    # Timestamps, nullable Float64 and boolean as DuckDB hands them over. February is null, so
    # the default baseline is January's 100 (D0 = 2025-01-31); March (partial) holds V = 130.
    series = pd.DataFrame({"period": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
                           "value": pd.array([100.0, None, 130.0], dtype="Float64"),
                           "partial": pd.array([False, False, True], dtype="boolean")})
    s = evaluate(Target("time_to_market", 200, D), series, date(2025, 3, 5), "higher")
    assert (s.baseline, s.baseline_date) == (100, D0)
    assert s.previous is None and s.change is None and s.progress == pytest.approx(0.3)


def test_target_equal_to_baseline():
    # T = B: progress is 1 when met, 0 otherwise; not met with time gone -> off track.
    met = evaluate(Target("mrr", 135, D, baseline=135, baseline_date=D0), higher_series(135), A, "higher")
    assert met.status == "achieved" and met.progress == 1.0
    missed = evaluate(Target("mrr", 135, D, baseline=135, baseline_date=D0), higher_series(130), A, "higher")
    assert missed.progress == 0.0 and missed.status == "off_track"
    lower = evaluate(Target("cac", 44, D, baseline=44, baseline_date=D0), lower_series(45), A, "lower")
    assert lower.progress == 0.0 and lower.status == "off_track"


def test_after_the_deadline_missed_unless_met():
    # A = 2026-01-15 is after D = 2025-12-31: expected clamps to 1.
    after = date(2026, 1, 15)
    up = monthly([100, 120, 140, 160, 170, 175, 180, 185, 186, 187, 188, 189, 190], as_of=after)
    s = evaluate(Target("mrr", 200, D, baseline=100, baseline_date=D0), up, after, "higher")
    assert s.status == "missed" and s.expected == 1.0 and s.periods_left == 1
    assert s.needed_per_period == pytest.approx(10)   # (200 - 190) / 1
    up_met = monthly([100] * 12 + [205], as_of=after)
    assert evaluate(Target("mrr", 200, D, baseline=100, baseline_date=D0), up_met, after, "higher").status == "achieved"
    down = monthly([50] * 12 + [32], as_of=after)
    assert evaluate(Target("cac", 30, D, baseline=50, baseline_date=D0), down, after, "lower").status == "missed"
    down_met = monthly([50] * 12 + [28], as_of=after)
    assert evaluate(Target("cac", 30, D, baseline=50, baseline_date=D0), down_met, after, "lower").status == "achieved"


def test_no_data():
    target = Target("mrr", 200, D, baseline=100, baseline_date=D0)
    s = evaluate(target, higher_series(None), A, "higher")
    assert s.status == "no_data" and s.value is None and s.progress is None and not s.alert
    empty = pd.DataFrame({"period": [], "value": [], "partial": []})
    e = evaluate(target, empty, A, "higher")
    assert e.status == "no_data" and e.period is None and e.projection is None
    # No baseline value anywhere (only the partial month exists) -> no data.
    only_current = monthly([150], start=date(2025, 7, 1), as_of=A)
    assert evaluate(Target("mrr", 200, D), only_current, A, "higher").status == "no_data"
    rec = e.to_record()
    assert rec["value"] is None and rec["status"] == "no_data"


def test_alerts_below_and_above_whatever_the_status():
    below = evaluate(Target("mrr", 200, D, baseline=100, baseline_date=D0, alert_below=130),
                     higher_series(120), A, "higher")
    assert below.alert and "below" in below.alert_reason and below.status == "off_track"
    above = evaluate(Target("cac", 30, D, baseline=50, baseline_date=D0, alert_above=45),
                     lower_series(46), A, "lower")
    assert above.alert and "above" in above.alert_reason
    green = evaluate(Target("mrr", 200, D, baseline=100, baseline_date=D0, alert_above=150),
                     higher_series(160), A, "higher")
    assert green.status == "on_track" and green.alert
    quiet = evaluate(Target("mrr", 200, D, baseline=100, baseline_date=D0, alert_below=130, alert_above=150),
                     higher_series(140), A, "higher")
    assert not quiet.alert and quiet.alert_reason is None


def test_projection_through_exact_linear_data():
    # Last 6 complete months Jan..Jun 2025 lie on 100 + 10·k; the partial July (999) and the
    # older, wild months of 2024 are ignored. December is k = 11: 100 + 110 = 210.
    series = monthly([0, 500, -3, 100, 110, 120, 130, 140, 150, 999], start=date(2024, 10, 1), as_of=A)
    assert projection(series, A, D, "month") == pytest.approx(210)
    s = evaluate(Target("mrr", 300, D, baseline=100, baseline_date=D0), series, A, "higher")
    assert s.projection == pytest.approx(210)
    # A lower-is-better line at week grain: 50 - 2·k over weeks from Monday 2025-06-02;
    # the deadline 2025-08-13 is in the week of 2025-08-11, k = 10 -> 30.
    weeks = pd.date_range("2025-06-02", periods=6, freq="7D").date
    weekly = pd.DataFrame({"period": weeks, "value": [50 - 2 * k for k in range(6)], "partial": False})
    assert projection(weekly, date(2025, 7, 13), date(2025, 8, 13), "week") == pytest.approx(30)
    # Fewer than two complete values: no line.
    assert projection(monthly([100, 200], as_of=date(2025, 2, 10)), date(2025, 2, 10), D) is None


def test_run_rate_needed():
    # Current period July, deadline December: 5 periods left; (200 - 140) / 5 = 12 a month.
    s = evaluate(Target("mrr", 200, D, baseline=100, baseline_date=D0), higher_series(140), A, "higher")
    assert s.periods_left == 5 and s.needed_per_period == pytest.approx(12)
    low = evaluate(Target("cac", 30, D, baseline=50, baseline_date=D0), lower_series(40), A, "lower")
    assert low.needed_per_period == pytest.approx(-2)   # (30 - 40) / 5
    met = evaluate(Target("mrr", 200, D, baseline=100, baseline_date=D0), higher_series(210), A, "higher")
    assert met.needed_per_period == 0.0


def test_scorecard_record_is_plain_json():
    s = evaluate(Target("mrr", 200, D, baseline=100, baseline_date=D0), higher_series(140), A, "higher")
    rec = s.to_record()
    assert list(rec) == ["kpi", "grain", "period", "value", "previous", "change", "target", "deadline",
                         "baseline", "progress", "expected", "status", "alert", "projection"]
    assert rec["period"] == "2025-07-01" and rec["deadline"] == "2025-12-31" and rec["status"] == "at_risk"
    json.dumps(rec)  # no dates, numpy numbers or NaN left
    assert all(not (isinstance(v, float) and math.isnan(v)) for v in rec.values())


def test_status_style():
    assert {k: v[0] for k, v in STATUS_STYLE.items()} == {
        "achieved": "Achieved", "on_track": "On track", "at_risk": "At risk",
        "off_track": "Off track", "missed": "Missed", "no_data": "No data"}
    assert [STATUS_STYLE[k][1] for k in ("achieved", "on_track", "at_risk", "off_track", "missed", "no_data")] == \
        ["green", "green", "amber", "red", "red", "grey"]
    assert COLOUR_HEX == {"green": "#1a7f37", "amber": "#b7791f", "red": "#cf222e", "grey": "#6e7781"}


# ----------------------------------------------------------------------------- SMART and suggestions
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


def band(target, series, direction):
    return smart_check(target, series, AS_OF, direction, has_definition=True, computable=True, missing=[]).achievable_band


def test_past_changes_window():
    assert past_changes(climbing(), AS_OF) == [float(k) for k in range(1, 13)]


@pytest.mark.parametrize("target, expected", [
    (268, "realistic"),      # needs (268 - 178) / 10 = 9 <= 9.25
    (270.5, "realistic"),    # 9.25, on the line
    (288, "stretch"),        # 11: above 9.25, within the best 12
    (298, "stretch"),        # 12, the best itself
    (308, "unrealistic"),    # 13
    (170, "realistic"),      # already met at the baseline
])
def test_achievable_higher(target, expected):
    assert band(Target("mrr", target, DEADLINE), climbing(), "higher") == expected


@pytest.mark.parametrize("target, expected", [
    # Mirror image from 500: baseline 500 - 78 = 422 at 2025-01-31; the good changes are falls of 1..12.
    (332, "realistic"),      # needs -9 a month
    (312, "stretch"),        # -11
    (292, "unrealistic"),    # -13
    (430, "realistic"),      # already met (lower is better)
])
def test_achievable_lower(target, expected):
    assert band(Target("cac", target, DEADLINE), climbing(-1, 500.0), "lower") == expected


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
    bad = smart_check(Target("mystery", 268, date(2025, 1, 15), baseline_date=date(2025, 1, 31)),
                      pd.DataFrame({"period": [], "value": [], "partial": []}), AS_OF, "higher",
                      has_definition=False, computable=False, missing=["subscriptions.mrr"])
    letters = {c.letter: c for c in bad.checks}
    assert not letters["S"].ok and not letters["M"].ok and not letters["R"].ok and not letters["T"].ok
    assert "subscriptions.mrr" in letters["M"].reason
    assert bad.achievable_band == "unknown"
    assert all(c.reason.endswith(".") for c in ok.checks + bad.checks)


def test_suggested_target_is_realistic():
    # The last 13 complete months are 100 + k(k+1)/2 for k = 0..12 (100, 101, 103, ..., 178).
    # Trend: least-squares slope = sum((k-6) * y) / sum((k-6)^2) = 1183 / 182 = 6.5 a month,
    # below the 75th-percentile change (9.25), so the pace is 6.5: 178 + 10 months * 6.5 = 243.
    up = suggest_target(climbing(), AS_OF, "higher", DEADLINE, "month")
    assert up == pytest.approx(243.0)
    assert band(Target("mrr", up, DEADLINE), climbing(), "higher") == "realistic"
    down = suggest_target(climbing(-1, 500.0), AS_OF, "lower", DEADLINE, "month")
    assert down == pytest.approx(422 - 65.0)  # 422 - 10 months * 6.5
    assert band(Target("cac", down, DEADLINE), climbing(-1, 500.0), "lower") == "realistic"


def test_suggested_target_clamps_and_needs_history():
    # A rate climbing 0.05 a month from 0.60 (Jan..Jun complete, as-of 2025-07-01): 0.85 at June;
    # 6 months to December at +0.05 would be 1.15 -> clamped to 1.
    rates = monthly([0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.86], as_of=A)
    assert suggest_target(rates, A, "higher", D, "month", unit="rate") == 1.0
    # A falling KPI (higher is better) is asked to hold its level.
    falling = monthly([10, 9, 8, 7, 6, 5, 5], as_of=A)
    assert suggest_target(falling, A, "higher", D, "month") == 5
    assert suggest_target(monthly([1, 2, 3], as_of=A), A, "higher", D, "month") is None


def test_suggested_target_ignores_noise_without_a_trend():
    # 100, 120, 100, 120, ... : big swings but almost no trend. The 75th-percentile change is
    # +20 a month, which would ask for +200 by the deadline; the least-squares slope of the last
    # 13 complete months (computed below from the same numbers) is what is continued instead.
    values = [100.0 + 20 * (k % 2) for k in range(14)] + [110.0]
    noisy = monthly(values, start=date(2023, 12, 1), as_of=AS_OF)
    x = np.arange(13)
    y = np.array(values[1:14])
    slope = float(((x - 6) * y).sum() / ((x - 6) ** 2).sum())  # the last 13 complete months
    suggested = suggest_target(noisy, AS_OF, "higher", DEADLINE, "month")
    assert suggested == pytest.approx(values[13] + 10 * max(slope, 0.0))
    assert suggested < values[13] + 10 * 20


def test_summary_line():
    statuses = ["on_track"] * 5 + ["off_track", "at_risk"]
    assert summary_line(statuses) == "5 on track · 1 at risk · 1 off track"
    every = ["no_data", "missed", "off_track", "at_risk", "on_track", "achieved"]
    assert summary_line(every) == "1 achieved · 1 on track · 1 at risk · 1 off track · 1 missed · 1 no data"
    s = evaluate(Target("mrr", 200, D, baseline=100, baseline_date=D0), higher_series(140), A, "higher")
    assert summary_line([s]) == "1 at risk"
    assert summary_line([]) == "No targets set yet"


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
