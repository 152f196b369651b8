"""Oracle tests for the business and financial KPIs: tiny tables, answers worked out by hand.

Every expected number below is derived from the definitions in shared/spec/kpis.md, never read
off the engine.
"""
from __future__ import annotations

import pytest

from kpi_helpers import assert_value, d, make_ws, movements_subscriptions, periods_of, row_of, run

# A simple subscriptions table for the stock KPIs.
#   A  100 from Jan 1, open
#   B   50 Jan 15 - Feb 28: end_date is exclusive, so B is NOT active on Feb 28
#   C   30 from Feb 28
#   D   20 Jan 10 - Jan 31: not active on Jan 31 either
SIMPLE_SUBS = {
    "customer_id": ["A", "B", "C", "D"],
    "start_date": ["2025-01-01", "2025-01-15", "2025-02-28", "2025-01-10"],
    "end_date": [None, "2025-02-28", None, "2025-01-31"],
    "mrr": [100, 50, 30, 20],
}


def test_mrr_is_sum_of_active_rows_on_t_of_p_with_exclusive_end_date():
    ws = make_ws(subscriptions=SIMPLE_SUBS)
    frame = run(ws, "mrr", as_of="2025-02-28")
    assert periods_of(frame, "mrr") == [d("2025-01-01"), d("2025-02-01")]
    assert_value(frame, "mrr", "2025-01-01", 100 + 50)  # Jan 31: A, B (D ended Jan 31, exclusive)
    assert_value(frame, "mrr", "2025-02-01", 100 + 30)  # Feb 28: A, C (B ended Feb 28, exclusive)


def test_mrr_on_partial_period_is_measured_on_as_of_date():
    ws = make_ws(subscriptions=SIMPLE_SUBS)
    frame = run(ws, "mrr", as_of="2025-02-20")
    assert_value(frame, "mrr", "2025-02-01", 100 + 50)  # t(Feb) = Feb 20: A and B; C starts Feb 28 > A
    assert bool(row_of(frame, "mrr", "2025-02-01")["partial"]) is True


def test_mrr_leaves_out_negative_mrr_rows():
    ws = make_ws(subscriptions={
        "customer_id": ["K", "K"],
        "start_date": ["2025-01-01", "2025-01-01"],
        "end_date": [None, None],
        "mrr": [100, -30],  # the negative row is a data-quality problem, left out of every KPI
    })
    frame = run(ws, "mrr", as_of="2025-01-31")
    assert_value(frame, "mrr", "2025-01-01", 100)  # not 100 - 30


def test_arr_is_twelve_times_mrr():
    ws = make_ws(subscriptions=SIMPLE_SUBS)
    frame = run(ws, "arr", as_of="2025-02-28")
    assert_value(frame, "arr", "2025-01-01", 12 * (100 + 50))
    assert_value(frame, "arr", "2025-02-01", 12 * (100 + 30))


def test_mrr_growth_rate():
    ws = make_ws(subscriptions=SIMPLE_SUBS)
    frame = run(ws, "mrr_growth_rate", as_of="2025-02-28")
    assert_value(frame, "mrr_growth_rate", "2025-01-01", None)  # mrr(Dec) = 0: zero denominator -> null
    assert_value(frame, "mrr_growth_rate", "2025-02-01", (130 - 150) / 150)  # mrr Feb 130, Jan 150
    row = row_of(frame, "mrr_growth_rate", "2025-02-01")
    assert row["denominator"] == pytest.approx(150)


# ---- MRR movements on the hand-made table of kpi_helpers.movements_subscriptions ------------

def movements_frame(kpis, grain="month", as_of="2025-02-28", segment=None):
    ws = make_ws(subscriptions=movements_subscriptions())
    return run(ws, kpis, grain=grain, as_of=as_of, segment=segment)


def test_new_mrr():
    frame = movements_frame("new_mrr")
    # Feb: D 40 (starts Feb 3) + G 25 (its Dec row had mrr 0, so first_mrr(G) = Feb 5 > Jan 31)
    assert_value(frame, "new_mrr", "2025-02-01", 40 + 25)
    # Jan: A 100, B 200, C 60 start in Jan (a = c(x, Dec 31) = 0, first_mrr > Dec 31)
    assert_value(frame, "new_mrr", "2025-01-01", 100 + 200 + 60)
    # Dec 2024 is the first period (earliest start_date): E 70 is new
    assert_value(frame, "new_mrr", "2024-12-01", 70)


def test_expansion_mrr():
    frame = movements_frame("expansion_mrr")
    assert_value(frame, "expansion_mrr", "2025-02-01", 150 - 100)  # A: 100 on Jan 31 -> 150 on Feb 28
    assert_value(frame, "expansion_mrr", "2025-01-01", 0)  # a flow with nothing in it is 0


def test_contraction_mrr():
    frame = movements_frame("contraction_mrr")
    assert_value(frame, "contraction_mrr", "2025-02-01", 200 - 120)  # B: 200 -> 120
    assert_value(frame, "contraction_mrr", "2025-01-01", 0)


def test_churned_mrr():
    frame = movements_frame("churned_mrr")
    assert_value(frame, "churned_mrr", "2025-02-01", 60)  # C: 60 on Jan 31, 0 on Feb 28
    assert_value(frame, "churned_mrr", "2025-01-01", 70)  # E: 70 on Dec 31, 0 on Jan 31


def test_reactivation_mrr_vs_new():
    frame = movements_frame("reactivation_mrr")
    # E: 0 on Jan 31, 90 on Feb 28, first_mrr Dec 1 <= Jan 31 -> reactivation 90
    # H: paid only Jan 5 - Jan 20 (0 on Dec 31 and on Jan 31), back Feb 10 with 15 -> reactivation 15
    assert_value(frame, "reactivation_mrr", "2025-02-01", 90 + 15)
    # H's whole January life happens between two measuring days: no movement in Jan
    assert_value(frame, "reactivation_mrr", "2025-01-01", 0)


def test_reactivation_ignores_rows_left_out_by_the_quality_check():
    ws = make_ws(subscriptions={
        "customer_id": ["J", "J"],
        # the first row has end_date not after start_date: it is left out, so it cannot make
        # first_mrr(J) = Jan 5; first_mrr(J) = Feb 5 and J's Feb MRR is new, not reactivation
        "start_date": ["2025-01-05", "2025-02-05"],
        "end_date": ["2025-01-05", None],
        "mrr": [500, 10],
    })
    frame = run(ws, ["new_mrr", "reactivation_mrr"], as_of="2025-02-28")
    assert_value(frame, "new_mrr", "2025-02-01", 10)
    assert_value(frame, "reactivation_mrr", "2025-02-01", 0)


def test_net_new_mrr():
    frame = movements_frame("net_new_mrr")
    # new 65 + reactivation 105 + expansion 50 - contraction 80 - churned 60
    assert_value(frame, "net_new_mrr", "2025-02-01", 65 + 105 + 50 - 80 - 60)
    assert_value(frame, "net_new_mrr", "2025-02-01", 440 - 360)  # = mrr(Feb) - mrr(Jan)
    assert_value(frame, "net_new_mrr", "2025-01-01", 360 - 70)  # new 360 - churned 70 (E)


def test_paying_customers():
    frame = movements_frame("paying_customers")
    assert_value(frame, "paying_customers", "2025-02-01", 6)  # A, B, D, E, G, H on Feb 28
    assert_value(frame, "paying_customers", "2025-01-01", 3)  # A, B, C; G's mrr is 0 -> not paying
    assert_value(frame, "paying_customers", "2024-12-01", 1)  # E (G has mrr 0)


def test_paying_customers_counts_a_customer_with_two_rows_once():
    ws = make_ws(subscriptions={
        "customer_id": ["A", "A", "B"],
        "start_date": ["2025-01-01", "2025-01-10", "2025-01-01"],
        "end_date": [None, None, None],
        "mrr": [60, 40, 0],  # A has a plan and an add-on; B is on a free plan
    })
    frame = run(ws, ["paying_customers", "arpa"], as_of="2025-01-31")
    assert_value(frame, "paying_customers", "2025-01-01", 1)
    assert_value(frame, "arpa", "2025-01-01", (60 + 40) / 1)


def test_arpa():
    frame = movements_frame("arpa")
    assert_value(frame, "arpa", "2025-02-01", 440 / 6)  # mrr 440 over 6 paying customers
    assert_value(frame, "arpa", "2025-01-01", 360 / 3)
    row = row_of(frame, "arpa", "2025-02-01")
    assert (row["numerator"], row["denominator"]) == (pytest.approx(440), pytest.approx(6))


def test_arpa_is_null_without_paying_customers():
    ws = make_ws(subscriptions={"customer_id": ["A"], "start_date": ["2025-01-01"],
                                "end_date": ["2025-01-20"], "mrr": [10]})
    frame = run(ws, "arpa", as_of="2025-01-31")
    assert_value(frame, "arpa", "2025-01-01", None)  # 0 / 0


# ---- payments -------------------------------------------------------------------------------

PAYMENTS = {
    "customer_id": ["c1", "c1", "c2", "c4", "c3", "c2"],
    "date": ["2025-01-05", "2025-01-20", "2025-01-31", "2025-01-25", "2025-02-01", "2025-03-02"],
    "amount": [100, -30, 50, -10, 70, 999],  # c1 refund -30; c4 only a refund; the Mar row is after A
}


def test_revenue_is_plain_sum_including_refunds():
    ws = make_ws(payments=PAYMENTS)
    frame = run(ws, "revenue", as_of="2025-02-28")
    assert_value(frame, "revenue", "2025-01-01", 100 - 30 + 50 - 10)
    assert_value(frame, "revenue", "2025-02-01", 70)  # the Mar 2 payment is after A: ignored
    assert periods_of(frame, "revenue") == [d("2025-01-01"), d("2025-02-01")]


def test_arppu_counts_customers_with_a_positive_payment():
    ws = make_ws(payments=PAYMENTS)
    frame = run(ws, "arppu", as_of="2025-02-28")
    # Jan revenue 110; customers with an amount > 0: c1, c2 (c4 has only a refund)
    assert_value(frame, "arppu", "2025-01-01", (100 - 30 + 50 - 10) / 2)
    assert_value(frame, "arppu", "2025-02-01", 70 / 1)


def test_arpu_divides_revenue_by_active_users():
    ws = make_ws(payments=PAYMENTS, events={
        "user_id": ["c1", "c1", "c2", "c5", "c3"],
        "timestamp": ["2025-01-03 10:00:00", "2025-01-04 10:00:00", "2025-01-10 09:00:00",
                      "2025-01-31 23:59:00", "2025-02-15 12:00:00"],
        "event": ["login"] * 5,
    })
    frame = run(ws, "arpu", as_of="2025-02-28")
    assert_value(frame, "arpu", "2025-01-01", 110 / 3)  # Jan revenue 110; active users c1, c2, c5
    assert_value(frame, "arpu", "2025-02-01", 70 / 1)  # Feb revenue 70; active user c3


def test_new_product_revenue_share():
    ws = make_ws(
        releases={
            "feature": ["pro v1", "pro v2", "lite", "beta", "edge", "old"],
            "released_date": ["2023-06-01", "2025-01-10", "2025-02-10", "2024-03-01", "2024-02-29", "2023-01-01"],
            "product": ["Pro", "Pro", "Lite", "Beta", "Edge", "Old"],
        },
        payments={
            "customer_id": ["a", "b", "c", "d", "e", "f", "g", "h"],
            "date": ["2025-01-15", "2025-01-20", "2025-02-03", "2025-02-04", "2025-02-05",
                     "2025-02-06", "2025-02-07", "2025-02-08"],
            "amount": [40, 60, 100, 50, 30, 10, 30, 20],
            "product": ["Lite", "Old", "Pro", "Lite", "Beta", "Edge", "Old", None],
        },
    )
    frame = run(ws, "new_product_revenue_share", as_of="2025-02-28")
    # t(Feb) = 2025-02-28, window (2024-02-29, 2025-02-28]:
    #   Pro: launch = earliest release 2023-06-01 -> not new (its later release does not count)
    #   Lite 2025-02-10 new; Beta 2024-03-01 new; Edge 2024-02-29 = t - 365 days, excluded; Old no
    # Feb revenue = 100 + 50 + 30 + 10 + 30 + 20 = 240; new = Lite 50 + Beta 30
    assert_value(frame, "new_product_revenue_share", "2025-02-01", (50 + 30) / 240)
    # Jan: t = Jan 31; Lite launches Feb 10 > t(Jan): not new yet; revenue 40 + 60
    assert_value(frame, "new_product_revenue_share", "2025-01-01", 0 / 100)


# ---- NPS ------------------------------------------------------------------------------------

def test_nps_type_matching_and_score_range():
    ws = make_ws(surveys={
        "date": ["2025-01-02", "2025-01-03", "2025-01-04", "2025-01-05", "2025-01-06", "2025-01-07",
                 "2025-01-08", "2025-01-09", "2025-01-10", "2025-01-11"],
        "score": [10, 9, 7, 3, 6, 10, 11, -1, 10, 2],
        "survey": ["nps", " NPS ", "", None, "Nps", "", "nps", "nps", "employee", "csat"],
    })
    frame = run(ws, "nps", as_of="2025-02-28")
    # nps responses (type trimmed, case-insensitive, empty = nps): 10, 9, 7, 3, 6, 10
    # 11 and -1 are outside 0-10: left out; employee and csat are other surveys
    # promoters (>= 9): 10, 9, 10 = 3; detractors (<= 6): 3, 6 = 2; responses 6
    assert_value(frame, "nps", "2025-01-01", 100 * (3 - 2) / 6)
    assert_value(frame, "nps", "2025-02-01", None)  # no responses in Feb: null
