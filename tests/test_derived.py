"""The tables prepared at ingest give exactly what the raw-data path gives, for every question."""

import pandas as pd
import pytest

from kpi import derived
from kpi.compute import compute
from kpi_helpers import sample_subset, without_prepared

EVENT_AND_MRR_KPIS = ["active_users", "dau", "mau", "stickiness", "avg_session_duration", "actions_per_session",
                      "actions_per_user", "retention_rate", "feature_adoption_rate", "arpu", "mrr", "new_mrr",
                      "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr", "customer_churn_rate",
                      "renewal_rate", "clv", "paying_customers"]


@pytest.fixture(scope="module")
def sample_ws():
    return sample_subset(("customers", "subscriptions", "payments", "releases"), events=40_000)


@pytest.mark.parametrize("grain,segment,as_of", [
    ("month", None, None),
    ("week", "country", None),          # a customers column reaching events and subscriptions
    ("month", "platform", None),        # an events column: the raw path must be used
    ("month", None, "2026-03-17"),      # events after the as-of date: sessions recomputed
    ("quarter", "plan", "2026-06-30"),  # a subscriptions column
])
def test_prepared_tables_match_the_raw_path(sample_ws, grain, segment, as_of):
    raw = without_prepared(sample_ws)
    with sample_ws.cursor() as cur:
        assert derived.available(cur) and derived.has_timeline(cur) and derived.has_release_use(cur)
    with raw.cursor() as cur:
        assert not derived.available(cur) and not derived.has_timeline(cur)
    fast = compute(sample_ws, EVENT_AND_MRR_KPIS, grain=grain, segment=segment, as_of=as_of)
    slow = compute(raw, EVENT_AND_MRR_KPIS, grain=grain, segment=segment, as_of=as_of)
    assert len(fast) > 0
    pd.testing.assert_frame_equal(fast.reset_index(drop=True), slow.reset_index(drop=True), check_exact=False, rtol=1e-9)
