"""Custom KPIs: every measure checked against numbers worked out by hand on a tiny table.

payments (as of 2025-03-15, the latest row):
    c1  2025-01-05  100  pro
    c2  2025-01-20   50  basic
    c1  2025-01-25   30  pro
    --  February: nothing
    c3  2025-03-02  200  pro
    c2  2025-03-15  -20  basic   (a refund)
customers: c1 signed up 2025-01-02, c2 2025-01-10, c3 2025-02-20.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from kpi import custom
from kpi.compute import compute
from kpi.custom import CustomKpi, Measure
from kpi.errors import InputError, UnknownKpi
from kpi.goals import GoalsDoc, Target
from kpi.scorecard import kpi_label, scorecard
from kpi.workspace import Workspace
from kpi_helpers import d, make_ws

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = 'x"; DROP TABLE payments; --'

PAYMENTS = {
    "customer_id": ["c1", "c2", "c1", "c3", "c2"],
    "date": ["2025-01-05", "2025-01-20", "2025-01-25", "2025-03-02", "2025-03-15"],
    "amount": [100.0, 50.0, 30.0, 200.0, -20.0],
    "plan": ["pro", "basic", "pro", "pro", "basic"],
}
CUSTOMERS = {"customer_id": ["c1", "c2", "c3"], "signup_date": ["2025-01-02", "2025-01-10", "2025-02-20"]}


def define(ws: Workspace, kpi_id: str, numerator: Measure, denominator: Measure | None = None, **kw) -> CustomKpi:
    kpi = CustomKpi(id=kpi_id, name=kw.pop("name", kpi_id.replace("_", " ").capitalize()),
                    numerator=numerator, denominator=denominator, **kw)
    return custom.save_custom_kpi(ws, kpi)


def values(ws: Workspace, kpi_id: str, **kw) -> dict:
    frame = compute(ws, [kpi_id], **kw)
    frame = frame[frame["segment"].isna()] if "segment" not in kw else frame
    return {str(p): (None if math.isnan(v) else v) for p, v in zip(frame["period"], frame["value"])}


@pytest.fixture
def ws():
    return make_ws(payments=PAYMENTS, customers=CUSTOMERS)


def test_count_rows_with_empty_month_zero_and_partial_flag(ws):
    define(ws, "payment_count", Measure("payments", "count"))
    frame = compute(ws, ["payment_count"])
    assert list(map(str, frame["period"])) == ["2025-01-01", "2025-02-01", "2025-03-01"]
    assert list(frame["value"]) == [3, 0, 2]          # February is empty: a count is 0
    assert list(frame["partial"]) == [False, False, True]  # March ends after the as-of date 2025-03-15


def test_count_distinct(ws):
    define(ws, "paying_accounts", Measure("payments", "count_distinct", "customer_id"))
    assert values(ws, "paying_accounts") == {"2025-01-01": 2, "2025-02-01": 0, "2025-03-01": 2}


def test_sum_and_average(ws):
    define(ws, "cash_in", Measure("payments", "sum", "amount"), unit="currency")
    define(ws, "average_payment", Measure("payments", "avg", "amount"), unit="currency")
    assert values(ws, "cash_in") == {"2025-01-01": 180, "2025-02-01": 0, "2025-03-01": 180}
    # An average over nothing has no value (null), not 0.
    assert values(ws, "average_payment") == {"2025-01-01": 60, "2025-02-01": None, "2025-03-01": 90}
    frame = compute(ws, ["average_payment"])
    jan = frame.iloc[0]
    assert (jan["numerator"], jan["denominator"]) == (180, 3)  # an average is sum over count


def test_filtered_measure(ws):
    define(ws, "pro_revenue", Measure("payments", "sum", "amount", "plan", ("pro",)))
    define(ws, "pro_or_basic_payments", Measure("payments", "count", None, "plan", ("pro", "basic")))
    assert values(ws, "pro_revenue") == {"2025-01-01": 130, "2025-02-01": 0, "2025-03-01": 200}
    assert values(ws, "pro_or_basic_payments") == {"2025-01-01": 3, "2025-02-01": 0, "2025-03-01": 2}


def test_ratio_from_numerator_and_denominator_with_empty_period_null(ws):
    define(ws, "pro_share", Measure("payments", "sum", "amount", "plan", ("pro",)),
           Measure("payments", "sum", "amount"), unit="rate")
    got = values(ws, "pro_share")
    assert got["2025-01-01"] == pytest.approx(130 / 180)
    assert got["2025-02-01"] is None                         # 0 / 0: no value, never 0
    assert got["2025-03-01"] == pytest.approx(200 / 180)
    jan = compute(ws, ["pro_share"]).iloc[0]
    assert (jan["numerator"], jan["denominator"]) == (130, 180)


def test_ratio_across_two_datasets(ws):
    define(ws, "cash_per_signup", Measure("payments", "sum", "amount"), Measure("customers", "count"),
           unit="currency")
    # Jan: 180 / 2 sign-ups; Feb: 0 / 1; Mar: 180 / 0 sign-ups -> null.
    assert values(ws, "cash_per_signup") == {"2025-01-01": 90, "2025-02-01": 0, "2025-03-01": None}


def test_rows_after_as_of_are_ignored_and_grain_rolls_up(ws):
    define(ws, "cash_in", Measure("payments", "sum", "amount"))
    assert values(ws, "cash_in", as_of=d("2025-03-10"))["2025-03-01"] == 200   # the refund of 03-15 is later
    assert values(ws, "cash_in", grain="quarter") == {"2025-01-01": 360}


def test_segment_breakdown_by_a_column_of_the_dataset(ws):
    define(ws, "cash_in", Measure("payments", "sum", "amount"))
    frame = compute(ws, ["cash_in"], segment="plan")
    got = {(str(p), s): v for p, s, v in zip(frame["period"], frame["segment"], frame["value"])}
    assert got[("2025-01-01", "pro")] == 130
    assert got[("2025-01-01", "basic")] == 50
    assert got[("2025-02-01", "basic")] == 0   # every period has a row for every segment value


def test_hostile_column_name_and_value_stay_harmless():
    payments = dict(PAYMENTS, **{HOSTILE: ["a", "a", "b", "a", "b"]})
    ws = make_ws(payments=payments)
    assert HOSTILE in ws.columns("payments")
    define(ws, "odd_count", Measure("payments", "count_distinct", HOSTILE))
    define(ws, "odd_filtered", Measure("payments", "count", None, HOSTILE, ("a", "'; DROP TABLE payments; --")))
    assert values(ws, "odd_count") == {"2025-01-01": 2, "2025-02-01": 0, "2025-03-01": 2}
    assert values(ws, "odd_filtered") == {"2025-01-01": 2, "2025-02-01": 0, "2025-03-01": 1}
    assert ws.row_count("payments") == 5          # the table is still there, untouched
    assert custom.column_values(ws, "payments", HOSTILE) == ["a", "b"]


def test_the_sql_quotes_identifiers_and_binds_values(ws):
    from kpi.compute import Run
    with ws.cursor() as cur:
        run = Run(ws, cur, "month", d("2025-03-15"), None, ws.datasets())
        sql, params = custom.measure_sql(run, Measure("payments", "sum", "amount", "plan", ("pro", "it's")))
    assert '"amount"' in sql and '"plan"' in sql
    assert "pro" not in sql and "it's" not in sql     # chosen values travel as parameters
    assert params[-2:] == ["pro", "it's"]


def test_validation_collects_every_problem(ws):
    bad = CustomKpi(id="mrr", name=" ", numerator=Measure("payments", "sum", "plan", "nope", ()),
                    denominator=Measure("events", "count"), unit="bananas", direction="up")
    problems = custom.validate(ws, bad)
    text = " | ".join(problems)
    assert "name" in text and "catalog KPI" in text and "bananas" in text and "higher or lower" in text
    assert "not numbers" in text                     # plan is text: it cannot be summed
    assert "no column 'nope'" in text
    assert "events dataset is not loaded" in text
    with pytest.raises(InputError):
        custom.save_custom_kpi(ws, bad)
    assert custom.load_custom_kpis(ws) == {}


def test_save_edit_delete_and_duplicate_ids(ws):
    k = define(ws, "cash_in", Measure("payments", "sum", "amount"))
    with pytest.raises(InputError, match="already a custom KPI"):
        custom.save_custom_kpi(ws, k)
    custom.save_custom_kpi(ws, CustomKpi("cash_in", "Cash in", Measure("payments", "count")), replacing="cash_in")
    assert custom.load_custom_kpis(ws)["cash_in"].numerator.agg == "count"
    custom.delete_custom_kpi(ws, "cash_in")
    assert custom.load_custom_kpis(ws) == {}
    with pytest.raises(UnknownKpi):
        compute(ws, ["cash_in"])


def test_new_id_avoids_catalog_and_taken_ids():
    assert custom.new_id("Enterprise revenue (EU)") == "enterprise_revenue_eu"
    assert custom.new_id("MRR") == "mrr_2"
    assert custom.new_id("Cash in", taken=["cash_in"]) == "cash_in_2"
    assert custom.new_id("3 things") == "kpi_3_things"


def test_formula_in_words(ws):
    k = define(ws, "pro_share", Measure("payments", "sum", "amount", "plan", ("pro",)),
               Measure("payments", "sum", "amount"))
    assert k.formula == ("(Sum of amount in payments where plan is “pro”) divided by "
                         "(sum of amount in payments), each per period of its dataset's date")


def test_compute_all_includes_custom_and_leaves_out_unmeasurable(ws):
    define(ws, "cash_in", Measure("payments", "sum", "amount"))
    ws.set_doc("custom_kpis", ws.doc("custom_kpis") + [
        CustomKpi("gone", "Gone", Measure("payments", "count", None, "region", ("EU",))).to_dict()])
    kpis = set(compute(ws)["kpi"])
    assert "cash_in" in kpis and "gone" not in kpis
    frame = compute(ws, ["gone"])
    assert frame.empty and any("payments.region" in n for n in frame.attrs["notes"])


def test_label_and_scorecard_use_the_custom_direction(ws):
    define(ws, "refund_count", Measure("payments", "count", None, "plan", ("basic",)),
           name="Basic-plan payments", unit="count", direction="lower")
    label = kpi_label("refund_count", ws)
    assert (label.name, label.unit, label.direction) == ("Basic-plan payments", "count", "lower")
    # From 2 to 0 by June, lower is better. A custom KPI counts what happened in a period (a flow),
    # so its value is February's 0 (the latest complete month; March's 1 is "so far"): met early.
    doc = GoalsDoc(targets=(Target("refund_count", 0, d("2025-06-30"), baseline=2,
                                   baseline_date=d("2025-01-31")),))
    [status] = scorecard(ws, doc, as_of=d("2025-03-15"))
    assert (status.value, status.so_far, status.status) == (0, 1, "achieved")
    assert status.progress == pytest.approx((0 - 2) / (0 - 2))   # all the way down from 2 to 0


def test_cli_computes_a_custom_kpi_from_a_workspace_file(tmp_path):
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        ws.load_frame("payments", __import__("pandas").DataFrame(PAYMENTS))
        define(ws, "cash_in", Measure("payments", "sum", "amount"), unit="currency")
    out = subprocess.run([sys.executable, "-m", "kpi", "compute", "--data", str(path), "--kpi", "cash_in",
                          "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [(r["period"], r["value"]) for r in rows] == [
        ("2025-01-01", 180.0), ("2025-02-01", 0.0), ("2025-03-01", 180.0)]
