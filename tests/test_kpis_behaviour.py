"""Oracle tests for the customer behaviour KPIs: tiny tables, answers worked out by hand.

(`trial_dropoff_rate` is tested beside `trial_conversion_rate` in test_kpis_customers.py and
again here on its own.)
"""
from __future__ import annotations

import pytest

from kpi_helpers import assert_value, d, make_ws, movements_subscriptions, periods_of, row_of, run

MARKETING = {
    "date": ["2025-01-05", "2025-01-20", "2025-02-03", "2025-03-01"],
    "channel": ["ads", "seo", "ads", "ads"],
    "spend": [300, 100, 200, 50],
}

CAC_SUBS = {
    # new customers: Jan A, B; Feb C, E; D is on a free plan (never paying)
    "customer_id": ["A", "B", "C", "D", "E"],
    "start_date": ["2025-01-10", "2025-01-15", "2025-02-02", "2025-02-20", "2025-02-25"],
    "end_date": [None] * 5,
    "mrr": [50, 30, 20, 0, 10],
}


def test_cac():
    ws = make_ws(marketing=MARKETING, subscriptions=CAC_SUBS)
    frame = run(ws, "cac", as_of="2025-03-31")
    assert periods_of(frame, "cac")[0] == d("2025-01-01")
    assert_value(frame, "cac", "2025-01-01", (300 + 100) / 2)
    assert_value(frame, "cac", "2025-02-01", 200 / 2)
    assert_value(frame, "cac", "2025-03-01", None)  # spend 50, no new customer: zero denominator
    row = row_of(frame, "cac", "2025-03-01")
    assert row["numerator"] == pytest.approx(50)


def test_cpa():
    ws = make_ws(marketing=MARKETING, customers={
        "customer_id": ["c1", "c2", "c3", "c4", "c5"],
        "signup_date": ["2025-01-02", "2025-01-09", "2025-01-19", "2025-01-31", "2025-02-14"],
    })
    frame = run(ws, "cpa", as_of="2025-02-28")
    assert_value(frame, "cpa", "2025-01-01", (300 + 100) / 4)
    assert_value(frame, "cpa", "2025-02-01", 200 / 1)


def test_ltv_cac_ratio():
    ws = make_ws(
        subscriptions={
            # A, B, C, D pay 100 from Jan 1; B churns Feb 10; E is new on Feb 5
            "customer_id": ["A", "B", "C", "D", "E"],
            "start_date": ["2025-01-01"] * 4 + ["2025-02-05"],
            "end_date": [None, "2025-02-10", None, None, None],
            "mrr": [100] * 5,
        },
        marketing={"date": ["2025-01-02", "2025-02-02"], "channel": ["ads", "ads"], "spend": [800, 300]},
    )
    frame = run(ws, "ltv_cac_ratio", as_of="2025-02-28")
    # Feb: arpa = (A + C + D + E) 400 / 4 = 100; churn Feb = 1/4 (Jan has none) -> clv = 100 * 1.0 / 0.25
    #      cac = 300 / 1 new customer (E)
    assert_value(frame, "ltv_cac_ratio", "2025-02-01", (100 * 1.0 / 0.25) / (300 / 1))
    assert_value(frame, "ltv_cac_ratio", "2025-01-01", None)  # clv has no churn month yet


def test_trial_dropoff_rate():
    ws = make_ws(customers={
        "customer_id": ["a", "b", "c"],
        "signup_date": ["2025-01-01"] * 3,
        "trial_end": ["2025-01-31", "2025-01-31", "2025-02-01"],
        "converted_date": ["2025-01-31", "2025-02-01", "2025-02-01"],  # a on the day, b a day late, c on the day
    })
    frame = run(ws, "trial_dropoff_rate", as_of="2025-02-28")
    assert_value(frame, "trial_dropoff_rate", "2025-01-01", 1 / 2)  # b
    assert_value(frame, "trial_dropoff_rate", "2025-02-01", 0 / 1)


def test_customer_churn_rate():
    ws = make_ws(subscriptions={
        "customer_id": ["A", "A", "B", "C", "D", "E", "E"],
        "start_date": ["2025-01-01", "2025-02-15", "2025-01-01", "2025-01-01", "2025-02-05", "2025-01-01",
                       "2025-02-20"],
        "end_date": ["2025-02-15", None, "2025-02-20", None, None, "2025-02-10", None],
        "mrr": [100, 120, 50, 70, 30, 40, 40],
    })
    frame = run(ws, "customer_churn_rate", as_of="2025-02-28")
    # paying on Jan 31: A, B, C, E.  On Feb 28: A (new row), C, D, E (back on Feb 20) -> only B left
    assert_value(frame, "customer_churn_rate", "2025-02-01", 1 / 4)
    assert_value(frame, "customer_churn_rate", "2025-01-01", None)  # nobody paying on Dec 31


# On the movements table (kpi_helpers.movements_subscriptions), February:
#   mrr(Jan) 360; new 65, reactivation 105, expansion 50, contraction 80, churned 60

def test_gross_mrr_churn_rate():
    frame = run(make_ws(subscriptions=movements_subscriptions()), "gross_mrr_churn_rate", as_of="2025-02-28")
    assert_value(frame, "gross_mrr_churn_rate", "2025-02-01", (60 + 80) / 360)
    assert_value(frame, "gross_mrr_churn_rate", "2025-01-01", (70 + 0) / 70)  # E churned all of Dec's 70


def test_net_mrr_retention():
    frame = run(make_ws(subscriptions=movements_subscriptions()), "net_mrr_retention", as_of="2025-02-28")
    assert_value(frame, "net_mrr_retention", "2025-02-01", (360 + 50 - 80 - 60) / 360)
    assert_value(frame, "net_mrr_retention", "2024-12-01", None)  # mrr(Nov) = 0


def test_quick_ratio():
    frame = run(make_ws(subscriptions=movements_subscriptions()), "quick_ratio", as_of="2025-02-28")
    assert_value(frame, "quick_ratio", "2025-02-01", (65 + 105 + 50) / (80 + 60))
    assert_value(frame, "quick_ratio", "2025-01-01", (360 + 0 + 0) / (0 + 70))
    assert_value(frame, "quick_ratio", "2024-12-01", None)  # nothing lost: zero denominator


# ---- renewals ----------------------------------------------------------------------------------

# as-of 2025-04-20. Renewal days are start_date + k * L, clamped to the month's last day.
RENEWAL_SUBS = {
    "customer_id": ["a", "b", "c", "d", "e", "f", "f", "g", "h"],
    "start_date": ["2025-01-31", "2025-01-15", "2024-03-10", "2025-01-10", "2025-01-05", "2025-01-12",
                   "2025-02-01", "2025-01-08", "2024-02-29"],
    "end_date": ["2025-03-30", None, None, "2025-02-20", "2025-01-20", "2025-02-01", None, None, None],
    "mrr": [10, 30, 20, 10, 10, 50, 80, 0, 12],
    "billing_period": ["month", "quarter", "year", None, "month", "month", "month", "month", "year"],
}
# a (month, from Jan 31, ends Mar 30): Feb 28 (renewed: ends later), Mar 31 (due: Mar 30 > Feb 28;
#     not renewed: Mar 30 is not later than Mar 31 -- a chained Mar 28 would wrongly count as renewed),
#     Apr 30 (after A)
# b (quarter, from Jan 15): Apr 15 due, renewed
# c (year, from 2024-03-10): Mar 10 due, renewed
# d (billing empty = month, from Jan 10, ends Feb 20): Feb 10 due + renewed; Mar 10 due (Feb 20 > Feb 10),
#     not renewed; Apr 10 not due (Feb 20 is not later than Mar 10)
# e (month, from Jan 5, ends Jan 20): Feb 5 due, not renewed; Mar 5 not due (cancelled before)
# f row 1 (month, from Jan 12, ends Feb 1): Feb 12 due; renewed because f's other row (80, from Feb 1)
#     is active on Feb 12; Mar 12 not due
# f row 2 (month, from Feb 1): Mar 1, Apr 1 due and renewed
# g has mrr 0: never up for renewal
# h (year, from 2024-02-29): 2025-02-28 due (no Feb 29 in 2025), renewed
#   Feb: due a, d, e, f1, h = 5; renewed a, d, f1, h = 4
#   Mar: due a, c, d, f2 = 4; renewed c, f2 = 2
#   Apr: due b, f2 = 2; renewed 2


def test_renewal_rate_by_month():
    frame = run(make_ws(subscriptions=RENEWAL_SUBS), "renewal_rate", as_of="2025-04-20")
    assert_value(frame, "renewal_rate", "2025-01-01", None)  # nothing due in Jan
    assert_value(frame, "renewal_rate", "2025-02-01", 4 / 5)
    assert_value(frame, "renewal_rate", "2025-03-01", 2 / 4)
    assert_value(frame, "renewal_rate", "2025-04-01", 2 / 2)
    row = row_of(frame, "renewal_rate", "2025-03-01")
    assert (row["numerator"], row["denominator"]) == (pytest.approx(2), pytest.approx(4))


def test_renewal_rate_by_quarter_sums_due_and_renewed():
    frame = run(make_ws(subscriptions=RENEWAL_SUBS), "renewal_rate", grain="quarter", as_of="2025-04-20")
    assert_value(frame, "renewal_rate", "2025-01-01", (4 + 2) / (5 + 4))
    assert_value(frame, "renewal_rate", "2025-04-01", 2 / 2)


def test_renewal_rate_excludes_renewals_after_as_of():
    frame = run(make_ws(subscriptions=RENEWAL_SUBS), "renewal_rate", as_of="2025-04-10")
    # Apr up to Apr 10: f2's Apr 1 only (b's Apr 15 is after A)
    assert_value(frame, "renewal_rate", "2025-04-01", 1 / 1)
    row = row_of(frame, "renewal_rate", "2025-04-01")
    assert row["denominator"] == pytest.approx(1)


def test_renewal_rate_month_end_start_in_a_leap_year():
    ws = make_ws(subscriptions={
        "customer_id": ["x", "y"],
        "start_date": ["2024-01-31", "2024-01-31"],
        "end_date": ["2024-02-29", None],
        "mrr": [10, 10],
        "billing_period": ["month", "month"],
    })
    frame = run(ws, "renewal_rate", as_of="2024-03-31")
    # both rows renew on Feb 29 2024 (Jan 31 + 1 month, clamped to Feb's last day):
    #   x ends Feb 29, not later than Feb 29: not renewed (a Feb 28 renewal day would wrongly count it)
    #   y open: renewed
    assert_value(frame, "renewal_rate", "2024-02-01", 1 / 2)
    # Mar 31: y renewed; x's Mar 31 is not due (it ended on its previous renewal day, Feb 29)
    assert_value(frame, "renewal_rate", "2024-03-01", 1 / 1)
