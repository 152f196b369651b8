"""Recommendations follow lifecycle.md, and the balance check names each gap and the KPI that fills it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from kpi.catalog import CATALOG
from kpi.errors import InputError
from kpi.lifecycle import GOALS, STAGES, balance_check, recommend

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "lifecycle.md"


def finding(report, rule):
    return next(f for f in report.findings if f.rule == rule)


def problems(report):
    return [f.rule for f in report.findings if f.severity == "problem"]


# -- the knowledge ------------------------------------------------------------------------------
def test_stages_and_goals_are_the_spec_tables():
    if not SPEC.exists():
        pytest.skip("the shared spec is not here")
    seen = {}
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `(\w+)`", line)
        if m:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            ids = lambda cell: tuple(re.findall(r"`(\w+)`", cell))  # noqa: E731
            seen[(len(cells), m.group(1))] = (ids(cells[-2]), ids(cells[-1]), cells)
    for s in STAGES.values():
        primary, secondary, cells = seen[(4, s.id)]
        assert (s.primary, s.secondary) == (primary, secondary)
        assert cells[1] == f"{s.label}: {s.meaning}"
    for g in GOALS.values():
        primary, secondary, cells = seen[(3, g.id)]
        assert (g.primary, g.secondary) == (primary, secondary)
        assert cells[0] == f"`{g.id}` — {g.label}"
        assert g.explanation.endswith(".")
    assert len(seen) == len(STAGES) + len(GOALS) == 10


# -- recommendations ----------------------------------------------------------------------------
def test_recommend_puts_every_primary_first_stage_then_goal_without_repeats():
    recs = recommend(["revenue"], "growth")
    assert [r.kpi for r in recs] == ["dau", "mau", "avg_session_duration", "mrr", "arpu", "customer_churn_rate",
                                     "trial_conversion_rate", "clv", "net_mrr_retention", "support_cost", "cac"]
    assert [r.tier for r in recs] == ["primary"] * 7 + ["secondary"] * 4
    assert recs[0].why.startswith("Primary for the growth stage: ")
    # arpu is secondary for the stage but primary for the goal, so it is primary, said once
    arpu = next(r for r in recs if r.kpi == "arpu")
    assert arpu.why.startswith("Primary for the goal “boost revenue”")
    assert all(r.computable is None for r in recs)


def test_recommend_names_every_reason_and_marks_what_the_data_can_compute():
    recs = recommend(["retention"], "mature", computable={"customer_churn_rate", "clv"})
    churn = recs[0]
    assert churn.kpi == "customer_churn_rate"
    assert churn.why == "Primary for the mature stage and the goal “keep the customers we have”"
    assert {r.kpi: r.computable for r in recs}["clv"] is True
    assert {r.kpi: r.computable for r in recs}["renewal_rate"] is False
    assert len({r.kpi for r in recs}) == len(recs)


def test_recommend_with_only_goals_or_only_a_stage():
    assert [r.kpi for r in recommend([], "early")] == ["cac", "cpa", "signup_rate", "dau", "mau",
                                                       "feature_adoption_rate"]
    assert [r.kpi for r in recommend(["engagement", "delivery"], None)][:6] == [
        "dau", "mau", "feature_adoption_rate", "actions_per_user", "time_to_market", "velocity"]
    assert recommend([], None) == []


def test_recommend_refuses_unknown_goals_and_stages_with_a_hint():
    with pytest.raises(InputError, match="did you mean revenue"):
        recommend(["revenu"], None)
    with pytest.raises(InputError, match="stage"):
        recommend([], "teenage")


# -- the balance check --------------------------------------------------------------------------
BALANCED = ["dau", "mau", "cac", "nps", "mrr", "uptime"]


def test_a_balanced_set_passes_every_rule():
    report = balance_check(BALANCED, surveys_loaded=True)
    assert report.balanced
    assert [f.rule for f in report.findings] == ["size", "leading", "lagging", "input", "output",
                                                 "qualitative", "perspective"]
    assert all(f.ok and f.severity == "ok" and f.suggestion is None for f in report.findings)


def test_ten_kpis_is_information_overload():
    report = balance_check(BALANCED + ["signups", "velocity", "revenue", "test_pass_rate"], surveys_loaded=False)
    size = finding(report, "size")
    assert (size.ok, size.severity) == (False, "problem")
    assert "information overload" in size.message
    assert not report.balanced


def test_eight_or_nine_kpis_are_noted_as_above_the_band():
    report = balance_check(BALANCED + ["signups", "revenue"], surveys_loaded=True)
    size = finding(report, "size")
    assert (size.ok, size.severity) == (True, "note")
    assert "above the 5 to 7 band" in size.message
    assert report.balanced


def test_three_kpis_are_allowed_with_a_note_and_a_kpi_to_add():
    report = balance_check(["dau", "cac", "uptime"], surveys_loaded=False, goals=["revenue"])
    size = finding(report, "size")
    assert (size.ok, size.severity) == (True, "note")
    assert "3 KPIs" in size.message and "5 to 7" in size.message
    assert size.suggestion == "mrr"   # the first recommendation for the goal not yet chosen
    assert report.balanced


def test_nothing_chosen_is_a_problem_with_a_first_kpi_to_pick():
    report = balance_check([], surveys_loaded=False, stage="early")
    assert not report.balanced
    assert [(f.rule, f.suggestion) for f in report.findings] == [("size", "cac")]


def test_no_leading_kpi_is_a_problem_and_suggests_one_from_the_recommendations():
    all_lagging = ["mrr", "customer_churn_rate", "cac", "uptime", "defect_density"]
    report = balance_check(all_lagging, surveys_loaded=False, goals=["revenue"], stage="growth")
    assert problems(report) == ["leading"]
    lead = finding(report, "leading")
    assert lead.message.startswith("No leading KPI")
    assert lead.suggestion == "dau" and "Daily active users (dau)" in lead.message
    # a KPI the data can compute is preferred over the first recommendation
    report = balance_check(all_lagging, surveys_loaded=False, goals=["revenue"], stage="growth",
                           computable=set(all_lagging) | {"trial_conversion_rate"})
    assert finding(report, "leading").suggestion == "trial_conversion_rate"


def test_no_lagging_kpi_is_a_problem():
    all_leading = ["dau", "velocity", "time_to_market", "nps", "employee_satisfaction"]
    report = balance_check(all_leading, surveys_loaded=True, goals=["revenue"], stage="growth")
    assert problems(report) == ["lagging"]
    lag = finding(report, "lagging")
    assert lag.message.startswith("No lagging KPI")
    assert lag.suggestion == "mrr"
    assert not CATALOG[lag.suggestion].leading


def test_no_input_kpi_is_a_problem():
    report = balance_check(["mrr", "dau", "nps", "revenue", "uptime"], surveys_loaded=True,
                           goals=["revenue"], stage="growth")
    assert problems(report) == ["input"]
    inp = finding(report, "input")
    assert inp.message.startswith("No input KPI")
    assert inp.suggestion == "support_cost"   # the first input KPI among the recommendations


def test_no_output_kpi_is_a_problem():
    report = balance_check(["cac", "cpa", "velocity", "time_to_market"], surveys_loaded=False, goals=["delivery"])
    assert problems(report) == ["output"]
    out = finding(report, "output")
    assert out.message.startswith("No output KPI")
    assert out.suggestion == "feature_adoption_rate"


def test_the_qualitative_rule_applies_only_when_surveys_are_loaded():
    numbers_only = ["dau", "mau", "cac", "mrr", "uptime", "defect_density"]
    assert balance_check(numbers_only, surveys_loaded=False).balanced
    report = balance_check(numbers_only, surveys_loaded=True, goals=["satisfaction"])
    assert problems(report) == ["qualitative"]
    qual = finding(report, "qualitative")
    assert qual.message.startswith("No qualitative KPI")
    assert qual.suggestion == "nps"
    report = balance_check(numbers_only, surveys_loaded=True, stage="mature")
    assert finding(report, "qualitative").suggestion == "employee_satisfaction"


def test_more_than_half_from_one_perspective_fails():
    four_of_six = ["mrr", "revenue", "cac", "arpu", "dau", "nps"]
    report = balance_check(four_of_six, surveys_loaded=True)
    assert problems(report) == ["perspective"]
    persp = finding(report, "perspective")
    assert "4 of 6" in persp.message and "financial" in persp.message
    assert persp.suggestion not in four_of_six
    assert CATALOG[persp.suggestion].perspective != "financial"

    three_of_six = ["mrr", "revenue", "cac", "dau", "nps", "uptime"]
    report = balance_check(three_of_six, surveys_loaded=True)
    assert finding(report, "perspective").ok and report.balanced


def test_suggestions_never_repeat_a_chosen_kpi():
    report = balance_check(["mrr", "arr", "revenue", "clv", "arpa", "quick_ratio"], surveys_loaded=True,
                           goals=["revenue"], stage="growth")
    chosen = {"mrr", "arr", "revenue", "clv", "arpa", "quick_ratio"}
    assert set(problems(report)) == {"leading", "input", "qualitative", "perspective"}
    assert all(f.suggestion not in chosen for f in report.findings)


def test_custom_kpis_count_as_lagging_outputs_on_no_perspective_unless_tagged():
    report = balance_check(["mrr", "my_north_star"], surveys_loaded=False)
    assert "leading" in problems(report) and "input" in problems(report)
    assert finding(report, "perspective").ok        # 1 financial of 2 is not more than half
    report = balance_check(["mrr", "my_north_star"], surveys_loaded=False,
                           extra_tags={"my_north_star": {"leading": True, "input": True,
                                                         "perspective": "financial"}})
    assert finding(report, "leading").ok and finding(report, "input").ok
    assert not finding(report, "perspective").ok    # now 2 financial of 2


def test_duplicates_are_counted_once():
    report = balance_check(BALANCED + ["dau", "mau"], surveys_loaded=True)
    assert finding(report, "size").severity == "ok"
