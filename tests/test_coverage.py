"""kpi.coverage: the coverage matrix, what to add next, the library search and the catalog in plain words.

The expected counts are read off kpis.md's "needs" column by hand (noted at each test).
"""
from __future__ import annotations

import pandas as pd

from kpi import coverage
from kpi.catalog import CATALOG, CATEGORIES, availability
from kpi.workspace import Workspace

SUBSCRIPTION_ONLY = ("mrr", "arr", "mrr_growth_rate", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr",
                     "reactivation_mrr", "net_new_mrr", "paying_customers", "arpa", "new_customers", "clv",
                     "customer_churn_rate", "gross_mrr_churn_rate", "net_mrr_retention", "quick_ratio",
                     "renewal_rate")
EVENTS_ONLY = ("active_users", "dau", "mau", "stickiness", "avg_session_duration", "actions_per_session",
               "actions_per_user", "retention_rate")


def workspace_with_payments() -> Workspace:
    ws = Workspace(None)
    ws.load_frame("payments", pd.DataFrame({"customer_id": ["C1"], "date": ["2025-01-05"], "amount": [10.0]}))
    return ws


def test_coverage_by_category_holds_every_kpi_once_in_catalog_order():
    with Workspace(None) as ws:
        groups = coverage.coverage_by_category(availability(ws))
    assert [g.category for g in groups] == list(CATEGORIES)
    ids = [i for g in groups for i in g.ready] + [i for g in groups for i, _ in g.locked]
    assert sorted(ids) == sorted(CATALOG) and len(ids) == len(CATALOG)
    business = groups[0]
    assert business.ready == () and business.total == 16
    assert business.locked[0] == ("mrr", "Add subscriptions with mrr")


def test_with_payments_loaded_three_kpis_are_ready():
    # kpis.md: revenue and arppu need payments; new_customers needs subscriptions or payments
    with workspace_with_payments() as ws:
        av = availability(ws)
    frame = coverage.coverage_frame(av)
    assert sorted(frame.loc[frame["ready"], "kpi"]) == ["arppu", "new_customers", "revenue"]
    assert (frame.loc[frame["ready"], "unlock"] == "").all()
    assert frame.loc[frame["kpi"] == "arpu", "unlock"].iloc[0] == "Add events"


def test_next_datasets_ranks_what_one_upload_would_unlock():
    with Workspace(None) as ws:
        ranked = coverage.next_datasets(availability(ws))
    first = ranked[0]
    assert (first.dataset, first.action) == ("subscriptions", "add")
    assert sorted(first.kpis) == sorted(SUBSCRIPTION_ONLY)          # 18, new_customers included
    assert sorted(next(n for n in ranked if n.dataset == "events").kpis) == sorted(EVENTS_ONLY)
    payments = next(n for n in ranked if n.dataset == "payments")
    assert sorted(payments.kpis) == ["arppu", "new_customers", "revenue"]
    # a KPI that needs two missing datasets counts for neither
    assert not any("cac" in n.kpis for n in ranked)
    assert coverage.next_dataset_words(first) == "Add subscriptions (with mrr)"


def test_next_datasets_counts_a_kpi_once_the_rest_of_its_data_is_there():
    with workspace_with_payments() as ws:
        ranked = coverage.next_datasets(availability(ws))
    events = next(n for n in ranked if n.dataset == "events")
    assert sorted(events.kpis) == sorted(EVENTS_ONLY + ("arpu",))   # arpu: payments are there, events are not
    assert not any(n.dataset == "payments" and n.action == "add" for n in ranked)
    product = [n for n in ranked if n.dataset == "payments" and n.action == "map"]
    assert product == [] or product[0].columns == ("product",)


def test_find_kpis_needs_every_word_and_every_filter():
    assert [k.id for k in coverage.find_kpis("escalated ticket")] == ["escalated_tickets", "escalation_rate"]
    assert coverage.find_kpis("no such thing anywhere") == []
    assert [k.id for k in coverage.find_kpis(perspectives=["learning and growth"])] == ["employee_satisfaction"]
    mature = {k.id for k in coverage.find_kpis(stages=["mature"])}
    assert mature == {"customer_churn_rate", "clv", "renewal_rate", "uptime", "support_response_time",
                      "employee_satisfaction"}
    assert [k.id for k in coverage.find_kpis(stages=["mature"], timing="leading")] == ["employee_satisfaction"]
    assert all(not k.leading for k in coverage.find_kpis(timing="lagging"))
    assert {k.category for k in coverage.find_kpis(categories=["Product development"])} == {"Product development"}
    assert len(coverage.find_kpis()) == len(CATALOG)
    with workspace_with_payments() as ws:
        ready = coverage.find_kpis(only_ready=True, availability=availability(ws))
    assert sorted(k.id for k in ready) == ["arppu", "new_customers", "revenue"]


def test_the_catalog_in_plain_words():
    assert coverage.needs_words(CATALOG["new_customers"]) == "subscriptions or payments"
    assert coverage.needs_words(CATALOG["trial_conversion_rate"]) == \
        "customers with trial_start, customers with converted_date"
    assert coverage.needed_datasets(CATALOG["cac"]) == ("marketing", "subscriptions", "payments")
    assert coverage.unit_words("rate") == "percentage"
    assert coverage.direction_words("lower") == "Lower is better"
    assert coverage.first_sentence("One. Two.") == "One."
    table = coverage.data_dictionary()
    assert len(table) == len(CATALOG) and list(table["id"]) == list(CATALOG)
    assert "your data" not in table.columns
