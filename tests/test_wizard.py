"""The planning core (kpi/wizard.py): stage hint, objective roll-up, balance fixes, targets and saving.

Every expected number is worked out by hand in the test.
"""
from __future__ import annotations

import math
from datetime import date, datetime

import pandas as pd
import pytest

from kpi import catalog, lifecycle, store, wizard
from kpi.custom import CustomKpi, Measure, save_custom_kpi
from kpi.goals import GoalsDoc, Objective, Status, Target
from kpi.wizard import WizardState
from kpi_helpers import make_ws


# ---------------------------------------------------------------------------------------------
# stage hint
# ---------------------------------------------------------------------------------------------
def month_frame(**series) -> pd.DataFrame:
    """A compute-like month frame: kpi -> list of values for Jan..; the last month is partial."""
    rows = []
    for kpi, values in series.items():
        for i, v in enumerate(values):
            rows.append({"kpi": kpi, "grain": "month", "period": date(2026, 1 + i, 1), "segment": None,
                         "value": float(v) if v is not None else math.nan, "partial": i == len(values) - 1})
    return pd.DataFrame(rows)


def test_stage_hint_growth_from_paying_customers_and_mrr_growth():
    # Complete months Jan..Jul: MRR grows 5 % a month from 10,000; August is partial and ignored.
    mrr = [10_000 * 1.05 ** i for i in range(7)] + [1.0]
    frame = month_frame(mrr=mrr, paying_customers=[1000, 1050, 1100, 1150, 1200, 1220, 1240, 5])
    hint = wizard.stage_hint(frame, date(2026, 8, 15))
    assert hint.stage == "growth"
    assert hint.message == ("Looks like growth: 1,240 paying customers, MRR +5.0 %/month over the last "
                            "6 months.")
    assert hint.figures["growth"] == pytest.approx(0.05)


def test_stage_hint_mature_when_growth_is_slow_and_early_when_few_customers():
    slow = [10_000 * 1.01 ** i for i in range(7)] + [0]
    assert wizard.stage_hint(month_frame(mrr=slow, paying_customers=[500] * 8), date(2026, 8, 15)).stage == "mature"
    fast = [1_000 * 1.30 ** i for i in range(7)] + [0]
    early = wizard.stage_hint(month_frame(mrr=fast, paying_customers=[10, 20, 30, 40, 50, 60, 70, 80]),
                              date(2026, 8, 15))
    assert early.stage == "early"
    assert early.message.startswith("Looks like early: 70 paying customers, MRR +30.0 %/month")


def test_stage_hint_falls_back_to_active_users_and_says_when_it_cannot_tell():
    users = [800, 820, 840, 860, 880, 900, 918, 10]   # 918 / 800 over 6 months: +2.3 %/month
    hint = wizard.stage_hint(month_frame(active_users=users), date(2026, 8, 15))
    assert hint.stage == "mature"
    assert "918 active users a month, active users +2.3 %/month" in hint.message
    assert wizard.stage_hint(month_frame(dau=[1, 2]), date(2026, 8, 15)) is None
    short = wizard.stage_hint(month_frame(mrr=[100, 110, 0], paying_customers=[300, 310, 0]), date(2026, 3, 15))
    assert short.message.startswith("Can't tell yet: 310 paying customers")


def test_monthly_growth_is_compound_over_at_most_six_months():
    values = [(date(2026, m, 1), v) for m, v in enumerate([100, 200, 121, 133.1, 146.41, 161.051, 177.1561, 194.87171], 1)]
    # The last 6 steps: 110 % of each previous from 121 -> 10 % a month (the first 100 -> 200 is older).
    assert wizard.monthly_growth(values[1:]) == pytest.approx((194.87171 / 200) ** (1 / 6) - 1)
    assert wizard.monthly_growth(values[2:]) == pytest.approx(0.10)
    assert wizard.monthly_growth(values[:2]) is None


# ---------------------------------------------------------------------------------------------
# objective roll-up
# ---------------------------------------------------------------------------------------------
def status(kpi: str, state: str, progress: float | None) -> Status:
    return Status(kpi=kpi, grain="month", period=date(2026, 10, 1), value=1.0, previous=None, change=None,
                  target=2.0, deadline=date(2027, 3, 31), baseline=0.0, baseline_date=None, progress=progress,
                  expected=0.5, status=state, alert=False, alert_reason=None, projection=None,
                  needed_per_period=None, periods_left=5, partial=False)


def test_objective_progress_is_the_mean_of_clamped_key_result_progress():
    doc = GoalsDoc(
        objectives=(Objective("o1", "Boost revenue"), Objective("o2", "Ship faster"), Objective("o3", "Empty")),
        targets=(Target("arpu", 1, date(2027, 3, 31), objective="o1", id="t1"),
                 Target("mrr", 1, date(2027, 3, 31), objective="o1", id="t2"),
                 Target("customer_churn_rate", 1, date(2027, 3, 31), objective="o1", id="t3"),
                 Target("clv", 1, date(2027, 3, 31), objective="o1", id="t4"),
                 Target("nps", 1, date(2027, 3, 31), objective="o1", id="t5"),
                 Target("velocity", 1, date(2027, 3, 31), objective="o2", id="t6"),
                 Target("dau", 1, date(2027, 3, 31), id="t7")))
    statuses = [status("arpu", "at_risk", 0.5),             # 0.5
                status("mrr", "on_track", 1.4),              # clamped to 1
                status("customer_churn_rate", "off_track", -0.2),  # clamped to 0
                status("clv", "achieved", 0.8),              # achieved counts 1
                status("nps", "no_data", None),              # left out
                status("velocity", "no_data", None),
                status("dau", "on_track", 0.9)]              # not linked to any objective
    got = wizard.objective_progress(doc, statuses)
    assert got["o1"].progress == pytest.approx((0.5 + 1 + 0 + 1) / 4)
    assert (got["o1"].key_results, got["o1"].measured) == (5, 4)
    assert got["o1"].statuses == ("at_risk", "on_track", "off_track", "achieved", "no_data")
    assert got["o2"].progress is None and got["o2"].measured == 0
    assert got["o3"].key_results == 0 and got["o3"].progress is None


def test_remove_and_replace_objective():
    doc = GoalsDoc(objectives=(Objective("o1", "A"), Objective("o2", "B")),
                   targets=(Target("arpu", 1, date(2027, 1, 1), objective="o1", id="t1"),
                            Target("mrr", 1, date(2027, 1, 1), objective="o2", id="t2")))
    renamed = wizard.replace_objective(doc, Objective("o1", "A2"))
    assert [o.title for o in renamed.objectives] == ["A2", "B"]            # in place
    kept = wizard.remove_objective(doc, "o1")
    assert [t.objective for t in kept.targets] == [None, "o2"]
    gone = wizard.remove_objective(doc, "o1", with_key_results=True)
    assert [t.id for t in gone.targets] == ["t2"]


# ---------------------------------------------------------------------------------------------
# recommendations and balance
# ---------------------------------------------------------------------------------------------
ALL = set(catalog.CATALOG)


def test_propose_kpis_takes_the_computable_primary_ones():
    assert wizard.propose_kpis(["revenue"], "growth", ALL) == [
        "dau", "mau", "avg_session_duration", "mrr", "arpu", "customer_churn_rate", "trial_conversion_rate"]
    without_events = ALL - {"dau", "mau", "avg_session_duration"}
    assert wizard.propose_kpis(["revenue"], "growth", without_events) == [
        "mrr", "arpu", "customer_churn_rate", "trial_conversion_rate"]
    assert wizard.propose_kpis(["revenue"], "growth", set()) == wizard.propose_kpis(["revenue"], "growth", None)


def test_importance_puts_goal_primaries_first_then_stage_then_secondaries():
    assert wizard.importance_order(["revenue"], "growth") == [
        "mrr", "arpu", "customer_churn_rate", "trial_conversion_rate", "dau", "mau", "avg_session_duration",
        "clv", "net_mrr_retention", "support_cost", "cac"]


@pytest.mark.parametrize("surveys", [True, False])
def test_auto_balance_growth_revenue_gives_a_balanced_set_of_five_to_seven(surveys):
    start = wizard.propose_kpis(["revenue"], "growth", ALL)
    got = wizard.auto_balance(start, surveys_loaded=surveys, computable=ALL, goals=["revenue"], stage="growth")
    report = lifecycle.balance_check(got, surveys_loaded=surveys, computable=ALL, goals=["revenue"], stage="growth")
    assert report.balanced, [f.message for f in report.problems]
    assert 5 <= len(got) <= 7
    # The goal and the stage each keep their first KPIs.
    assert {"arpu", "customer_churn_rate", "dau"} <= set(got)


def test_auto_balance_avoids_kpis_the_data_cannot_compute():
    can = ALL - {"nps", "cac", "support_cost"}
    start = wizard.propose_kpis(["revenue"], "growth", can)
    got = wizard.auto_balance(start, surveys_loaded=True, computable=can, goals=["revenue"], stage="growth")
    assert set(got) <= can
    assert lifecycle.balance_check(got, surveys_loaded=True, computable=can).balanced


def test_auto_balance_every_goal_and_stage():
    for stage in lifecycle.STAGES:
        for goal in lifecycle.GOALS:
            got = wizard.auto_balance(wizard.propose_kpis([goal], stage, ALL), surveys_loaded=True,
                                      computable=ALL, goals=[goal], stage=stage)
            assert lifecycle.balance_check(got, surveys_loaded=True, computable=ALL).balanced, (stage, goal, got)
            assert 5 <= len(got) <= 7, (stage, goal, got)


def _finding(kpis, rule):
    report = lifecycle.balance_check(kpis, surveys_loaded=True, computable=ALL, goals=["revenue"], stage="growth")
    return next(f for f in report.findings if f.rule == rule)


def test_plan_fix_adds_swaps_and_drops():
    kpis = ["dau", "mau", "avg_session_duration", "arpu", "customer_churn_rate", "trial_conversion_rate"]
    order = wizard.importance_order(["revenue"], "growth")
    fix = wizard.plan_fix(kpis, _finding(kpis, "input"), order=order, surveys_loaded=True, computable=ALL)
    assert (fix.add, fix.remove, fix.label) == ("support_cost", None, "Add Customer support cost")
    assert wizard.apply_fix(kpis, fix) == kpis + ["support_cost"]
    # 5 of 6 look from the customer perspective: swap the least important customer KPI that no
    # other rule depends on (avg_session_duration, the stage's third) for the KPI the message
    # names: MRR, the first recommendation not chosen, financial (2 of 6 after the swap).
    perspective = _finding(kpis, "perspective")
    assert perspective.suggestion == "mrr" and "such as Monthly recurring revenue (mrr)" in perspective.message
    fix = wizard.plan_fix(kpis, perspective, order=order, surveys_loaded=True, computable=ALL)
    assert (fix.add, fix.remove) == ("mrr", "avg_session_duration")
    assert fix.label == "Swap Average session duration for Monthly recurring revenue"
    assert wizard.apply_fix(kpis, fix) == ["dau", "mau", "mrr", "arpu", "customer_churn_rate", "trial_conversion_rate"]
    big = kpis + ["clv", "support_cost", "cac", "nps"]
    fix = wizard.plan_fix(big, _finding(big, "size"), order=order, surveys_loaded=True, computable=ALL)
    assert fix.add is None and fix.remove == "avg_session_duration" and fix.label.startswith("Drop ")
    assert wizard.plan_fix(kpis, _finding(kpis, "leading"), order=order, surveys_loaded=True) is None  # ok: no button


def test_every_fix_adds_exactly_the_kpi_its_message_names():
    """One source: for every goal, stage and survey case, and for the sets one click leads to,
    a button that adds a KPI adds the finding's suggestion, and the message names that KPI."""
    checked = 0
    for surveys in (True, False):
        for stage in (*lifecycle.STAGES, None):
            for goal in lifecycle.GOALS:
                kpis = wizard.propose_kpis([goal], stage, ALL)
                order = wizard.importance_order([goal], stage)
                report = lifecycle.balance_check(kpis, surveys_loaded=surveys, computable=ALL, goals=[goal],
                                                 stage=stage)
                for f in report.findings:
                    fix = wizard.plan_fix(kpis, f, order=order, surveys_loaded=surveys, computable=ALL)
                    if fix is not None and fix.add is not None:
                        assert fix.add == f.suggestion, (goal, stage, f.rule)
                        assert f"({fix.add})" in f.message and catalog.CATALOG[fix.add].name in fix.label
                        checked += 1
    assert checked > 50


def test_balance_it_for_me_adds_what_the_messages_name():
    """The issue's case: boost revenue at the growth stage with surveys loaded. The messages name
    support cost (no input KPI) and, as the customer perspective is crowded, employee satisfaction
    (no qualitative KPI) — not NPS, a customer KPI — and "Balance it for me" adds exactly those,
    swapping out the stage's least important KPIs to even out the perspectives."""
    kpis = wizard.propose_kpis(["revenue"], "growth", ALL)
    assert kpis == ["dau", "mau", "avg_session_duration", "mrr", "arpu", "customer_churn_rate",
                    "trial_conversion_rate"]
    report = lifecycle.balance_check(kpis, surveys_loaded=True, computable=ALL, goals=["revenue"], stage="growth")
    named = {f.rule: f.suggestion for f in report.problems}
    assert named == {"input": "support_cost", "qualitative": "employee_satisfaction", "perspective": "clv"}
    got = wizard.auto_balance(kpis, surveys_loaded=True, computable=ALL, goals=["revenue"], stage="growth")
    assert {"support_cost", "employee_satisfaction"} <= set(got)
    assert got == wizard.balance_by_fixes(kpis, surveys_loaded=True, computable=ALL, goals=["revenue"],
                                          stage="growth")
    assert lifecycle.balance_check(got, surveys_loaded=True, computable=ALL).balanced and len(got) == 7
    # The stage keeps one of its primary KPIs (DAU), the goal all of its own.
    assert {"dau", "mrr", "arpu", "customer_churn_rate", "trial_conversion_rate"} <= set(got)


def test_a_fix_keeps_the_last_primary_kpi_of_the_stage_or_a_goal():
    kpis = ["dau", "mrr", "arpu", "customer_churn_rate", "trial_conversion_rate", "retention_rate"]
    assert wizard.last_primaries(kpis, ["revenue"], "growth") == {"dau"}
    report = lifecycle.balance_check(kpis, surveys_loaded=False, computable=ALL, goals=["revenue"], stage="growth")
    f = next(f for f in report.findings if f.rule == "perspective")   # 4 of 6 customer KPIs
    order = wizard.importance_order(["revenue"], "growth")
    plain = wizard.plan_fix(kpis, f, order=order, surveys_loaded=False, computable=ALL)
    kept = wizard.plan_fix(kpis, f, order=order, surveys_loaded=False, computable=ALL, keep={"dau"})
    # Customer KPIs here: DAU, churn, trial conversion (recommended, DAU last) and retention rate
    # (added by the user: dropped only as a last resort). DAU is the stage's last primary KPI.
    assert plain.remove == "dau"
    assert kept.remove == "trial_conversion_rate" and kept.add == plain.add == f.suggestion


def test_custom_kpi_tags_count_in_the_balance():
    tags = {"my_pipeline": {"leading": True, "input": True, "perspective": "internal process"}}
    kpis = ["arpu", "customer_churn_rate", "clv", "dau", "my_pipeline"]
    report = lifecycle.balance_check(kpis, surveys_loaded=False, computable=ALL, extra_tags=tags)
    assert report.balanced


# ---------------------------------------------------------------------------------------------
# targets
# ---------------------------------------------------------------------------------------------
def test_default_deadline_is_the_end_of_the_next_quarter():
    assert wizard.default_deadline(date(2026, 10, 31)) == date(2027, 3, 31)
    assert wizard.default_deadline(date(2026, 12, 31)) == date(2027, 3, 31)
    assert wizard.default_deadline(date(2026, 9, 30)) == date(2026, 12, 31)
    assert wizard.default_deadline(None, today=date(2026, 2, 1)) == date(2026, 6, 30)


def test_round_target_keeps_three_digits_towards_the_baseline():
    assert wizard.round_target(1198.44, 568, "currency") == 1190
    assert wizard.round_target(3005.37, 5340, "currency") == 3010     # lower is the way: round up
    assert wizard.round_target(0.37004, 0.2178, "rate") == 0.37         # a tenth of a point
    assert wizard.round_target(82.0927, 52.9, "count") == 82.0
    assert wizard.round_target(0.0, 0.02, "rate") == 0.0
    # Never past the baseline: "hold the level" (0.99486 for a rate) stays as it is instead of
    # flooring to 99.4 %, which a higher-is-better KPI would have achieved on the day it was set;
    # so does a suggestion closer to the baseline than one rounding step.
    assert wizard.round_target(0.99486, 0.99486, "rate") == 0.99486
    assert wizard.round_target(0.99520, 0.99486, "rate") == 0.995
    assert wizard.round_target(0.99495, 0.99486, "rate") == 0.99495
    assert wizard.round_target(4946.1, 4946.47, "currency") == 4946.1


def test_input_scale_types_rates_as_percentages():
    assert wizard.input_scale("rate") == (100.0, "%")
    assert wizard.input_scale("currency") == (1.0, "$")


def series(values, start=date(2026, 1, 1)) -> pd.DataFrame:
    periods = [date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1) for i in range(len(values))]
    return pd.DataFrame({"period": periods, "value": [float(v) for v in values],
                         "partial": [False] * (len(values) - 1) + [True]})


def test_draft_target_from_baseline_and_a_strong_past_pace():
    # Jan..Jul complete, rising 10 a month, then a partial August; as of 2026-08-10.
    s = series([100, 110, 120, 130, 140, 150, 160, 5])
    draft = wizard.draft_target("signups", s, date(2026, 8, 10), "higher", "count")
    assert (draft.baseline, draft.baseline_date) == (160, date(2026, 7, 31))
    assert draft.deadline == date(2026, 12, 31)
    # 75th percentile of six changes of +10 is +10; July -> December is 5 months: 160 + 50.
    assert draft.suggested == 210
    latest = wizard.latest_value(s, date(2026, 8, 10), "count")
    assert (latest.value, latest.period, latest.text) == (160, date(2026, 7, 1), "160 in Jul 2026")


def test_apply_to_goals_replaces_keeps_and_drops():
    doc = GoalsDoc(objectives=(Objective("o1", "Old"),), targets=(
        Target("arpu", 100, date(2027, 1, 1), id="t1", objective="o1"),     # re-targeted: replaced, keeps id
        Target("mau", 900, date(2027, 1, 1), id="t2"),                     # in the old set, not the new: dropped
        Target("velocity", 30, date(2027, 1, 1), id="t3"),                 # made on the Goals page: kept
        Target("arpu", 110, date(2027, 1, 1), grain="quarter", id="t4")))  # another grain: kept
    new = [Target("arpu", 120, date(2027, 3, 31), objective="o2"), Target("clv", 5000, date(2027, 3, 31), objective="o2")]
    got = wizard.apply_to_goals(doc, new, kpi_set=["arpu", "clv"], previous_set=["arpu", "mau"],
                                objective=Objective("o2", "Boost revenue"))
    assert [(t.id, t.kpi, t.target) for t in got.targets] == [
        ("t1", "arpu", 120), ("t3", "velocity", 30), ("t4", "arpu", 110), ("t2", "clv", 5000)]
    assert [o.id for o in got.objectives] == ["o1", "o2"]


def test_achievable_words_use_the_kpi_unit():
    from kpi.goals import smart_check
    s = series([0.30, 0.29, 0.28, 0.27, 0.26, 0.25, 0.24, 0.2])   # churn-like, falling a point a month
    report = smart_check(Target("customer_churn_rate", 0.22, date(2026, 9, 30)), s, date(2026, 8, 10), "lower",
                         has_definition=True, computable=True)
    assert report.achievable_band == "realistic"
    assert wizard.achievable_words(report, "rate", "lower") == (
        "It needs −1.0 pp a month, no more than a strong past month (−1.0 pp).")


# ---------------------------------------------------------------------------------------------
# state and saving
# ---------------------------------------------------------------------------------------------
def test_state_round_trip_and_damaged_documents():
    state = WizardState(step=3, goals=["revenue"], stage="growth", kpis=["arpu", "dau"],
                        targets={"arpu": {"target": 600, "deadline": "2027-03-31"}})
    assert WizardState.from_dict(state.to_dict()) == state
    odd = WizardState.from_dict({"step": "x", "goals": ["revenue", "nonsense"], "stage": "teen",
                                 "kpis": ["arpu", "arpu", 3], "targets": {"arpu": 5}, "objective": "o1"})
    assert (odd.step, odd.goals, odd.stage, odd.kpis, odd.targets) == (0, ["revenue"], None, ["arpu"], {})
    assert WizardState.from_dict(None) == WizardState()
    assert WizardState(step=0).blocker() == "Pick at least one goal to continue."
    assert WizardState(step=1, goals=["revenue"]).blocker() == "Pick the stage that fits your product best."
    assert WizardState(step=1, goals=["revenue"], stage="growth").blocker() is None


def test_default_objective_title_in_the_pms_words():
    assert wizard.default_objective_title(["revenue"]) == "Boost revenue"
    assert wizard.default_objective_title(["revenue", "retention", "quality"]) == (
        "Boost revenue, keep the customers we have and raise product quality")


def test_save_plan_stores_set_targets_objective_and_state_once():
    ws = make_ws()
    state = WizardState(step=5, goals=["revenue"], stage="growth", kpis=["arpu", "clv", "nps"],
                        targets={"arpu": {"target": 600.0, "deadline": "2027-03-31", "alert_below": 400.0},
                                 "clv": {"target": None, "deadline": "2027-03-31"},       # no target: no key result
                                 "nps": {"target": 40, "deadline": "2027-06-30"}})
    drafts = {"arpu": wizard.TargetDraft("arpu", 568.0, date(2026, 10, 31), 600.0, date(2027, 3, 31)),
              "clv": wizard.TargetDraft("clv", None, None, None, date(2027, 3, 31)),
              "nps": wizard.TargetDraft("nps", 31.0, date(2026, 10, 31), 35.0, date(2027, 3, 31))}
    doc, targets, objective = wizard.save_plan(ws, state, drafts, date(2026, 10, 31), now=datetime(2026, 11, 2, 9, 30))
    assert store.load_kpi_set(ws) == {"kpis": ["arpu", "clv", "nps"], "goals": ["revenue"], "stage": "growth"}
    saved = store.load_goals(ws)
    assert [(o.id, o.title, o.start, o.end) for o in saved.objectives] == [
        ("o1", "Boost revenue", date(2026, 10, 31), date(2027, 6, 30))]
    assert [(t.kpi, t.target, t.baseline, t.alert_below, t.objective) for t in saved.targets] == [
        ("arpu", 600.0, 568.0, 400.0, "o1"), ("nps", 40.0, 31.0, None, "o1")]
    assert store.load_wizard(ws)["saved_at"] == "2026-11-02T09:30:00"
    assert state.objective["choice"] == "o1"
    # Saving again (a changed target) updates in place: still one objective, same target ids.
    state.targets["arpu"]["target"] = 650.0
    wizard.save_plan(ws, state, drafts, date(2026, 10, 31))
    again = store.load_goals(ws)
    assert len(again.objectives) == 1
    assert [(t.id, t.target) for t in again.targets] == [("t1", 650.0), ("t2", 40.0)]


def test_fingerprint_ignores_plans_but_not_data_or_custom_kpis():
    ws = make_ws(payments={"customer_id": ["a"], "date": ["2026-01-05"], "amount": [10.0]})
    before = wizard.data_fingerprint(ws)
    store.save_wizard(ws, {"step": 2})
    store.save_kpi_set(ws, ["arpu"], ["revenue"], "growth")
    assert wizard.data_fingerprint(ws) == before
    save_custom_kpi(ws, CustomKpi("cash_in", "Cash in", Measure("payments", "sum", "amount")))
    assert wizard.data_fingerprint(ws) != before
