"""Breakdowns on real uploads (kpi/segments.py and compute's segment resolution): which columns are
offered, MRR and its movements split by plan with hand-computed values, the plan of a customer
reaching subscriptions that have none, and the sentence a KPI gets when it cannot be split.
"""
from __future__ import annotations

import pytest

from kpi import compute, segments
from kpi.compute import segment_options
from kpi.custom import CustomKpi, Measure, save_custom_kpi
from kpi.ingest import ingest_file
from kpi.workspace import Workspace
from kpi_helpers import assert_value, make_ws, rows_of, run, without_prepared
from stripe_like import MRR_BY_PLAN, write_stripe_like_export
from test_kpi_rules import MOVES, _check_identity


@pytest.fixture(scope="module")
def stripe_ws(tmp_path_factory) -> Workspace:
    """The four-month Stripe-like export, ingested as a PM's upload would be."""
    files = write_stripe_like_export(tmp_path_factory.mktemp("stripe"))
    ws = Workspace(None)
    for path in files.values():
        ingest_file(ws, path)
    return ws


# ---- which columns are offered ---------------------------------------------------------------------------
def test_a_stripe_export_offers_plan_country_and_status_not_ids_dates_flags_or_text(stripe_ws):
    profiles = {(p.dataset, p.column): p for p in segments.column_profiles(stripe_ws)}
    kinds = {key: p.kind for key, p in profiles.items()}
    # Kept: few values, each shared by several customers.
    for column in ("plan", "billing_period", "Status", "country (metadata)"):
        assert kinds[("subscriptions", column)] == "segment", column
    assert kinds[("payments", "Card Brand")] == "segment"
    # Left out, each for what its values are (never for its name).
    assert kinds[("subscriptions", "id")] == "id"                      # one per subscription
    assert kinds[("subscriptions", "Customer Name")] == "id"           # one per customer
    assert kinds[("payments", "Invoice ID")] == "id"
    assert kinds[("subscriptions", "Customer Email")] == "contact"
    assert kinds[("payments", "Customer Email")] == "contact"         # repeated on each payment: still out
    for column in ("Created (UTC)", "Start (UTC)", "Current Period End (UTC)", "Canceled At (UTC)"):
        assert kinds[("subscriptions", column)] == "date", column
    assert kinds[("subscriptions", "Cancel At Period End")] == "flag"  # true / false
    assert kinds[("subscriptions", "Customer Description")] == "text"
    assert kinds[("payments", "Card Last4")] == kinds[("payments", "Fee")] == "number"
    assert kinds[("subscriptions", "Trial End (UTC)")] == "empty"
    assert kinds[("payments", "Currency")] == "single"                 # usd only
    assert kinds[("subscriptions", "product")] == "single"

    offered = segments.breakdown_columns(stripe_ws)
    assert offered == ["Card Brand", "Description", "Status", "billing_period", "country (metadata)", "plan"]
    assert set(offered) <= set(segment_options(stripe_ws))          # the core can split by each
    why = segments.left_out_columns(stripe_ws)
    assert why["Cancel At Period End"] == "is a yes/no flag"
    assert why["Customer Email"] == "holds e-mail addresses or links"
    assert why["id"] == "has about one value per customer or row, like an id"


def test_each_rule_on_a_tiny_table():
    n = 12
    ws = make_ws(payments={
        "customer_id": [f"c{i % 6}" for i in range(n)],        # six customers, two payments each
        "date": ["2025-01-05"] * n, "amount": [10] * n,
        "tier": ["gold", "silver", "bronze"] * 4,               # 3 values over 6 customers: a segment
        "seats": [str(i % 4 + 1) for i in range(n)],             # numbers
        "renewed_on": ["03/01/2025", "04/02/2025", "05/03/2025"] * 4,   # dates a cast does not read
        "auto_renew": ["Yes", "No"] * 6,                          # a yes/no flag, any case
        "note": [f"customer asked for invoice copy number {i}" for i in range(n)],   # free text
        "site": ["https://a.example", "https://b.example"] * 6,  # links
        "card": [f"pm_{i % 6:04d}" for i in range(n)],           # one value per customer: like an id
        "city": [f"city {i}" for i in range(n)],                 # 12 values for 6 customers
        "empty": [None] * n, "same": ["x"] * n,
    })
    kinds = {p.column: p.kind for p in segments.profile_dataset(ws, "payments")}
    assert kinds == {"product": "empty", "tier": "segment", "seats": "number", "renewed_on": "date",
                     "auto_renew": "flag", "note": "text", "site": "contact", "card": "id", "city": "id",
                     "empty": "empty", "same": "single"}
    many = make_ws(customers={"customer_id": [f"c{i}" for i in range(200)], "signup_date": ["2025-01-01"] * 200,
                              "region": [f"r{i % 40}" for i in range(200)]})
    assert {p.column: p.kind for p in segments.profile_dataset(many, "customers")}["region"] == "many"
    # Two or three values are groups even among four customers (the id rule needs four values or more).
    few = make_ws(customers=CUSTOMERS)
    assert {p.column: p.kind for p in segments.profile_dataset(few, "customers")}["plan"] == "segment"


def test_the_sample_offers_its_segments(tmp_path):
    from kpi_helpers import sample_subset
    ws = sample_subset(("customers", "subscriptions", "payments", "tickets"), events=2000)
    offered = segments.breakdown_columns(ws)
    assert {"plan", "billing_period", "product", "country", "channel", "company_size", "priority", "topic",
            "platform", "feature"} <= set(offered)


# ---- MRR split by plan ---------------------------------------------------------------------------------
def test_mrr_by_plan_on_a_stripe_upload_with_the_movement_identity(stripe_ws):
    frame = run(stripe_ws, MOVES, segment="plan")
    assert frame.attrs["notes"] == []
    for period, by_plan in MRR_BY_PLAN.items():
        for plan, mrr in by_plan.items():
            assert_value(frame, "mrr", period, mrr, segment=plan)
        assert len(rows_of(frame, "mrr", period, any_segment=True)) == 3
    # Team in February (tests/stripe_like.py): new c07 + c08, churned c03.
    assert_value(frame, "new_mrr", "2024-02-01", 98, segment="Team")
    assert_value(frame, "churned_mrr", "2024-02-01", 49, segment="Team")
    assert_value(frame, "churned_mrr", "2024-04-01", 49, segment="Team")       # c07, at its period end
    assert_value(frame, "new_mrr", "2024-03-01", 82.5, segment="Business")     # c10, $990 a year
    assert _check_identity(frame) == 12                                          # 3 plans x 4 months
    # The plans add up to the whole.
    whole = run(stripe_ws, ["mrr"])
    for period, by_plan in MRR_BY_PLAN.items():
        assert_value(whole, "mrr", period, sum(by_plan.values()))


# Two subscriptions tables, one without a plan column: the plan is the customer's.
CUSTOMERS = {"customer_id": ["a", "b", "c", "d"], "signup_date": ["2025-01-01"] * 4,
             "plan": ["basic", "pro", "pro", "basic"]}
SUBSCRIPTIONS = {   # a 10 from Jan 5; b 20 Jan 10 - Feb 15; c 40 from Feb 3; d 30 from Mar 1, 45 from Mar 20
    "customer_id": ["a", "b", "c", "d", "d"],
    "start_date": ["2025-01-05", "2025-01-10", "2025-02-03", "2025-03-01", "2025-03-20"],
    "end_date": [None, "2025-02-15", None, "2025-03-20", None],
    "mrr": [10.0, 20.0, 40.0, 30.0, 45.0],
}


@pytest.mark.parametrize("prepared", [True, False])
def test_subscriptions_without_a_plan_take_their_customers_plan(prepared):
    """Before: subscriptions' own plan column (optional, left empty) hid the customers' plan, and
    MRR 'by plan' came back as one unnamed segment — the chart did not change.
    basic: Jan a 10; Feb 10; Mar a 10 + d 45 = 55 (d: new 30 in March's first days, then +15).
    pro:   Jan b 20; Feb c 40 (b churned 20, c new 40); Mar 40."""
    ws = make_ws(customers=CUSTOMERS, subscriptions=SUBSCRIPTIONS)
    ws = ws if prepared else without_prepared(ws)
    assert not ws.has_column("subscriptions", "plan") and "plan" in ws.columns("subscriptions")
    frame = run(ws, MOVES, as_of="2025-03-31", segment="plan")
    expected = {"2025-01-01": (10, 20), "2025-02-01": (10, 40), "2025-03-01": (55, 40)}
    for period, (basic, pro) in expected.items():
        assert_value(frame, "mrr", period, basic, segment="basic")
        assert_value(frame, "mrr", period, pro, segment="pro")
        assert len(rows_of(frame, "mrr", period, any_segment=True)) == 2
    assert_value(frame, "churned_mrr", "2025-02-01", 20, segment="pro")
    assert_value(frame, "new_mrr", "2025-02-01", 40, segment="pro")
    assert_value(frame, "new_mrr", "2025-03-01", 45, segment="basic")   # d at Mar 31: 45 (first paid in March)
    assert _check_identity(frame) == 6
    # A filter on the plan reaches them the same way: only basic customers' MRR.
    from kpi.compute import compute
    only_basic = compute(ws, ["mrr"], as_of="2025-03-31", filters={"plan": ["basic"]})
    assert_value(only_basic, "mrr", "2025-03-01", 55)


def test_a_plan_of_their_own_still_wins_over_the_customers():
    subs = dict(SUBSCRIPTIONS, plan=["starter", "team", "team", "starter", "team"])
    ws = make_ws(customers=CUSTOMERS, subscriptions=subs)
    frame = run(ws, ["mrr"], as_of="2025-03-31", segment="plan")
    # d moved from starter (30) to team (45) on Mar 20: at Mar 31 starter holds a 10, team c 40 + d 45.
    assert_value(frame, "mrr", "2025-03-01", 10, segment="starter")
    assert_value(frame, "mrr", "2025-03-01", 85, segment="team")


# ---- why a KPI cannot be split ---------------------------------------------------------------------------
def test_a_kpi_that_cannot_be_split_says_why(stripe_ws):
    assert compute.split_problem(stripe_ws, "mrr", "plan") is None
    assert compute.split_problem(stripe_ws, "arpa", "plan") is None
    # Revenue counts payments, which have no plan, and no customers table is loaded.
    assert compute.split_problem(stripe_ws, "revenue", "plan", name="Revenue") == (
        "Revenue cannot be split by plan: its rows of payments have no plan (plan is a column of "
        "subscriptions), and no customers dataset is loaded to look it up through the customer id.")
    assert compute.split_problem(stripe_ws, "revenue", "Card Brand") is None
    frame = run(stripe_ws, ["revenue"], segment="plan")
    assert frame.empty and "revenue is left out of the breakdown by plan" in frame.attrs["notes"][0]

    ws = make_ws(customers=CUSTOMERS, incidents={"started_at": ["2025-01-05 10:00:00"], "service": ["api"],
                                                 "ended_at": ["2025-01-05 11:00:00"]},
                 events={"user_id": ["a"], "timestamp": ["2025-01-05 10:00:00"], "event": ["login"]})
    assert compute.split_problem(ws, "uptime", "plan", name="Uptime") == (
        "Uptime cannot be split by plan: its rows of incidents have no plan and no customer id to look it up "
        "by (plan is a column of customers).")
    assert compute.split_problem(ws, "active_users", "plan") is None     # events reach customers' plan
    assert compute.split_problem(ws, "active_users", "service", name="Active users") == (
        "Active users cannot be split by service: its rows of events have no service (service is a column of "
        "incidents), and your customers have no service to look it up through the customer id.")
    assert run(ws, ["active_users", "uptime"], as_of="2025-01-31", segment="service")["kpi"].tolist() == \
        ["uptime"] * 1                                                    # the engine agrees


def test_a_custom_kpi_is_judged_by_its_own_datasets():
    ws = make_ws(subscriptions=dict(SUBSCRIPTIONS, plan=["starter", "team", "team", "starter", "team"]),
                 payments={"customer_id": ["a", "b"], "date": ["2025-01-05", "2025-01-10"], "amount": [10, 20]})
    save_custom_kpi(ws, CustomKpi(id="payments_made", name="Payments made", numerator=Measure("payments", "count")))
    assert compute.kpi_datasets(ws, "payments_made") == ["payments"]
    assert compute.split_problem(ws, "payments_made", "plan", name="Payments made") == (
        "Payments made cannot be split by plan: its rows of payments have no plan (plan is a column of "
        "subscriptions), and no customers dataset is loaded to look it up through the customer id.")
