"""The data-quality report on small hand-made tables: every figure is counted by hand here."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from kpi.quality import DATASET_KPIS, RULES, early_dates_kept, keep_early_dates, quality_report, rule_warnings
from kpi.workspace import Workspace

TODAY = date(2025, 6, 15)


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path / "q.duckdb")
    yield w
    w.close()


def issue(report, check):
    found = [i for i in report.issues if i.check == check]
    assert len(found) == 1, [i.check for i in report.issues]
    return found[0]


def test_coverage_gaps_nulls_and_duplicates(ws):
    ws.load_frame("payments", pd.DataFrame({
        "customer_id": ["a", "b", "b", "c", None, "d"],
        "date": ["2025-01-05", "2025-01-20", "2025-01-20", "2025-03-02", "2025-03-03", "2025-07-01"],
        "amount": [10, 20, 20, -5, 1, 3],
        "plan": ["pro", None, None, "basic", "pro", None],
    }))
    report = quality_report(ws, "payments", today=TODAY)
    assert report.rows == 6
    assert (report.first_date, report.last_date) == (date(2025, 1, 5), date(2025, 7, 1))
    months = report.rows_per_month
    assert [d.isoformat()[:7] for d in pd.to_datetime(months["month"])] == [
        "2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06", "2025-07"]
    assert months["rows"].tolist() == [3, 0, 2, 0, 0, 0, 1]
    assert [pd.Timestamp(m).strftime("%Y-%m") for m in report.gap_months] == ["2025-02", "2025-04", "2025-05", "2025-06"]
    assert report.nulls == {"customer_id": 1, "date": 0, "amount": 0, "product": 6, "plan": 3}
    assert report.duplicate_rows == 1
    dup = issue(report, "duplicate_rows")
    assert dup.count == 1 and len(dup.examples) == 1 and dup.examples.iloc[0]["copies"] == 2
    assert dup.affects == list(DATASET_KPIS["payments"])
    future = issue(report, "future_dates")
    assert future.count == 1 and future.examples["customer_id"].tolist() == ["d"]
    assert "revenue" in future.affects


def test_nps_scores_outside_0_to_10_only_for_nps_surveys(ws):
    ws.load_frame("surveys", pd.DataFrame({
        "date": ["2025-01-01"] * 7,
        "score": [11, -1, 10, 0, 42, 12, 7],
        "survey": [None, "nps", "nps", "NPS", " Nps ", "employee", ""],
    }))
    report = quality_report(ws, "surveys", today=TODAY)
    nps = issue(report, "nps_score_out_of_range")
    assert nps.count == 3                       # 11, -1 and 42; 12 is an employee survey
    assert sorted(nps.examples["score"].tolist()) == [-1, 11, 42]
    assert nps.affects == ["nps"]
    assert rule_warnings(ws, "surveys", today=TODAY) == ["3 NPS scores outside 0-10 will be left out of NPS"]


def test_subscription_rules(ws):
    ws.load_frame("subscriptions", pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e"],
        "start_date": ["2025-01-01", "2025-02-01", "2025-03-01", "2025-03-01", "2025-03-01"],
        "end_date": ["2025-01-01", "2025-01-15", None, "2025-04-01", None],
        "mrr": [10, 10, -5, 10, 0],
    }))
    report = quality_report(ws, "subscriptions", today=TODAY)
    ends = issue(report, "subscription_end_not_after_start")
    assert ends.count == 2 and sorted(ends.examples["customer_id"]) == ["a", "b"]
    assert "mrr" in ends.affects and "renewal_rate" in ends.affects
    negative = issue(report, "negative_mrr")
    assert negative.count == 1 and negative.examples["customer_id"].tolist() == ["c"]


def test_incidents_tests_and_defect_stages(ws):
    ws.load_frame("incidents", pd.DataFrame({
        "started_at": ["2025-01-01 10:00", "2025-01-02 10:00"],
        "ended_at": ["2025-01-01 09:00", "2025-01-02 11:00"],
    }))
    ws.load_frame("test_runs", pd.DataFrame({
        "run_id": ["r1", "r2", "r3", "r3"], "started_at": ["2025-01-01 10:00"] * 4,
        "duration_minutes": [5, 6, 7, 8], "tests_total": [10, 10, 10, None], "tests_failed": [11, 0, 10, 2],
    }))
    ws.load_frame("defects", pd.DataFrame({
        "defect_id": ["D1", "D2", "D3", "D4"], "found_date": ["2025-01-01"] * 4,
        "stage": ["pre_release", "production", "beta", "Production"],
    }))
    incidents = quality_report(ws, "incidents", today=TODAY)
    assert issue(incidents, "incident_ends_before_start").count == 1
    assert issue(incidents, "incident_ends_before_start").affects == ["uptime"]
    runs = quality_report(ws, "test_runs", today=TODAY)
    assert issue(runs, "more_failed_than_total").count == 1
    dup = issue(runs, "duplicate_run_id")
    assert dup.count == 1 and len(dup.examples) == 2
    defects = quality_report(ws, "defects", today=TODAY)
    stage = issue(defects, "unknown_defect_stage")
    assert stage.count == 2 and sorted(stage.examples["stage"]) == ["Production", "beta"]
    assert stage.affects == ["test_effectiveness"]


def test_duplicate_customer_ids_and_at_most_five_examples(ws):
    ids = ["a"] * 4 + ["b"] * 3 + ["c"]
    ws.load_frame("customers", pd.DataFrame({
        "customer_id": ids, "signup_date": [f"2025-01-0{i + 1}" for i in range(8)]}))
    report = quality_report(ws, "customers", today=TODAY)
    dup = issue(report, "duplicate_customer_id")
    assert dup.count == 5                         # 3 repeats of a, 2 of b
    assert len(dup.examples) == 5
    assert "earliest signup_date" in dup.consequence
    assert report.issues == [dup]                 # nothing else is wrong


def test_a_clean_table_has_no_issues(ws):
    ws.load_frame("codebase", pd.DataFrame({"date": ["2025-01-01", "2025-02-01"], "kloc": [10.5, 11]}))
    report = quality_report(ws, "codebase", today=TODAY)
    assert report.issues == [] and report.duplicate_rows == 0 and report.gap_months == []
    assert rule_warnings(ws, "codebase", today=TODAY) == []


def test_every_rule_names_catalog_kpis():
    known = {k for kpis in DATASET_KPIS.values() for k in kpis}
    for rule in RULES:
        assert rule.affects and set(rule.affects) <= known, rule.id


def test_implausible_dates_are_named_apart_from_future_ones(ws):
    """Before 1970 (0001-01-01, Excel's empty 1900-01-01) or more than a year ahead: implausible.
    Within a year ahead: a future date, as before. TODAY is 15 Jun 2025, so the bound is 16 Jun 2026."""
    ws.load_frame("payments", pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e", "f", "g"],
        "date": ["0001-01-01", "1900-01-01", "1970-01-01", "2025-06-01", "2026-06-16", "2026-06-17", "2099-01-01"],
        "amount": [1, 2, 3, 4, 5, 6, 7]}))
    report = quality_report(ws, "payments", today=TODAY)
    odd = issue(report, "implausible_dates")
    assert odd.count == 4 and sorted(odd.examples["customer_id"]) == ["a", "b", "f", "g"]
    assert "before 1970" in odd.title and "16 Jun 2026" in odd.title
    assert odd.consequence.startswith("are kept out of the periods") and odd.consequence.endswith("unless you keep them")
    assert "revenue" in odd.affects
    assert issue(report, "future_dates").count == 1           # e: 16 Jun 2026 is within the year
    assert report.first_date == date(1, 1, 1)                   # the report still shows what is there
    months = pd.to_datetime(report.rows_per_month["month"])     # but rows per month: plausible dates only
    assert (months.min(), months.max()) == (pd.Timestamp("1970-01-01"), pd.Timestamp("2026-06-01"))
    warnings = rule_warnings(ws, "payments", today=TODAY)
    assert warnings[0].startswith("1 rows dated in the future") and warnings[1].startswith("4 rows with an implausible")
    keep_early_dates(ws)
    assert early_dates_kept(ws)
    assert "kept, as you chose" in issue(quality_report(ws, "payments", today=TODAY), "implausible_dates").consequence
    keep_early_dates(ws, False)
    assert not early_dates_kept(ws)
