"""The cross-cutting rules of kpis.md: as-of date, partial and empty periods, first periods,
ratio roll-ups, zero denominators, grains, time zones, segments and the MRR identity.

Expected values are worked out by hand from shared/spec/kpis.md.
"""
from __future__ import annotations

import math

import pandas as pd
import pytest

from kpi_helpers import (assert_value, d, make_ws, movements_subscriptions, periods_of, row_of, rows_of, run,
                         value_of)

# ---- as-of date ------------------------------------------------------------------------------------


def test_as_of_default_is_latest_row_date_not_after_today():
    from kpi.compute import as_of_date
    ws = make_ws(
        subscriptions={"customer_id": ["A"], "start_date": ["2025-01-10"], "end_date": [None], "mrr": [10]},
        payments={"customer_id": ["A", "A", "A"], "date": ["2025-01-10", "2025-02-03", "2099-01-01"],
                  "amount": [10, 20, 1000]},  # 2099 is after today: it does not set A
        events={"user_id": ["A"], "timestamp": ["2025-02-05 10:00:00"], "event": ["login"]},
    )
    assert as_of_date(ws) == d("2025-02-05")  # the event's date is the latest not after today
    frame = run(ws, "revenue")  # no as_of: the default
    assert periods_of(frame, "revenue") == [d("2025-01-01"), d("2025-02-01")]  # nothing after A's month
    assert_value(frame, "revenue", "2025-02-01", 20)  # the 2099 payment is after A: ignored
    assert bool(row_of(frame, "revenue", "2025-02-01")["partial"]) is True  # Feb 5 < Feb 28


def test_rows_after_as_of_are_ignored():
    ws = make_ws(
        payments={"customer_id": ["A", "B", "C"], "date": ["2025-01-05", "2025-01-31", "2025-02-01"],
                  "amount": [10, 20, 40]},
        customers={"customer_id": ["A", "B", "C"], "signup_date": ["2025-01-02", "2025-01-20", "2025-01-21"]},
    )
    frame = run(ws, ["revenue", "signups", "new_customers"], as_of="2025-01-20")
    assert periods_of(frame, "revenue") == [d("2025-01-01")]  # no period starts after A
    assert_value(frame, "revenue", "2025-01-01", 10)  # Jan 31 is after A = Jan 20
    assert_value(frame, "signups", "2025-01-01", 2)  # A, B (C signs up Jan 21 > A)
    assert_value(frame, "new_customers", "2025-01-01", 1)  # A only


def test_partial_periods_are_flagged():
    ws = make_ws(payments={"customer_id": ["A", "A"], "date": ["2025-01-05", "2025-02-03"], "amount": [1, 2]})
    frame = run(ws, "revenue", as_of="2025-02-14")
    assert bool(row_of(frame, "revenue", "2025-01-01")["partial"]) is False
    assert bool(row_of(frame, "revenue", "2025-02-01")["partial"]) is True  # Feb 28 > A
    frame = run(ws, "revenue", as_of="2025-02-28")
    assert bool(row_of(frame, "revenue", "2025-02-01")["partial"]) is False  # last day = A: complete
    frame = run(ws, "revenue", grain="quarter", as_of="2025-02-28")
    assert bool(row_of(frame, "revenue", "2025-01-01")["partial"]) is True  # Q1 ends Mar 31


# ---- periods with nothing in them ----------------------------------------------------------------------


def test_empty_periods_count_and_sum_zero_ratio_and_mean_null_uptime_one():
    ws = make_ws(
        payments={"customer_id": ["A", "A"], "date": ["2025-01-05", "2025-03-05"], "amount": [10, 30]},
        customers={"customer_id": ["A", "B"], "signup_date": ["2025-01-05", "2025-03-05"]},
        surveys={"date": ["2025-01-05", "2025-03-05"], "score": [10, 0], "survey": ["nps", "nps"]},
        sprints={"sprint": ["s1", "s2"], "end_date": ["2025-01-10", "2025-03-10"],
                 "completed_points": [5, 7], "committed_points": [5, 7]},
        test_runs={"run_id": ["r1", "r2"], "started_at": ["2025-01-05 10:00:00", "2025-03-05 10:00:00"],
                   "duration_minutes": [3, 4], "tests_total": [10, 10], "tests_failed": [1, 1]},
        incidents={"started_at": ["2025-01-05 10:00:00"], "ended_at": ["2025-01-05 11:00:00"]},
        compliance={"date": ["2025-01-05", "2025-03-05"], "control": ["c", "c"], "passed": ["true", "false"]},
    )
    kpis = ["revenue", "signups", "nps", "velocity", "say_do_ratio", "testing_speed", "test_pass_rate",
            "uptime", "compliance_rate", "arppu"]
    frame = run(ws, kpis, as_of="2025-03-31")
    feb = "2025-02-01"
    assert_value(frame, "revenue", feb, 0)  # sum
    assert_value(frame, "signups", feb, 0)  # count
    assert_value(frame, "nps", feb, None)  # ratio with nothing to divide by
    assert_value(frame, "velocity", feb, None)  # mean
    assert_value(frame, "say_do_ratio", feb, None)  # ratio
    assert_value(frame, "testing_speed", feb, None)  # median
    assert_value(frame, "test_pass_rate", feb, None)
    assert_value(frame, "uptime", feb, 1)
    assert_value(frame, "compliance_rate", feb, None)
    assert_value(frame, "arppu", feb, None)
    assert_value(frame, "uptime", "2025-03-01", 1)  # also after the last incident


def test_a_kpis_first_period_is_its_main_datasets():
    ws = make_ws(
        events={"user_id": ["u1", "u1"], "timestamp": ["2024-12-10 10:00:00", "2025-01-10 10:00:00"],
                "event": ["e", "e"]},
        payments={"customer_id": ["u1"], "date": ["2025-01-15"], "amount": [30]},
        subscriptions={"customer_id": ["u2"], "start_date": ["2025-02-01"], "end_date": [None], "mrr": [10]},
        marketing={"date": ["2025-03-01"], "channel": ["ads"], "spend": [100]},
    )
    frame = run(ws, ["active_users", "arpu", "mrr", "new_customers", "cac"], as_of="2025-03-31")
    assert periods_of(frame, "active_users")[0] == d("2024-12-01")  # events
    assert periods_of(frame, "arpu")[0] == d("2025-01-01")  # payments is arpu's main dataset
    assert periods_of(frame, "mrr")[0] == d("2025-02-01")  # subscriptions
    assert periods_of(frame, "new_customers")[0] == d("2025-01-01")  # subscriptions or payments: earliest
    assert periods_of(frame, "cac")[0] == d("2025-03-01")  # marketing
    assert periods_of(frame, "mrr")[-1] == d("2025-03-01")  # up to the period holding A


# ---- ratios ----------------------------------------------------------------------------------------------


def test_ratio_rolls_up_from_numerator_and_denominator_not_mean_of_ratios():
    ws = make_ws(compliance={
        "date": ["2025-01-10", "2025-02-01", "2025-02-02", "2025-02-03", "2025-02-04"],
        "control": ["c1", "c1", "c2", "c3", "c4"],
        "passed": ["true", "true", "false", "false", "false"],
    })
    month = run(ws, "compliance_rate", as_of="2025-03-31")
    assert_value(month, "compliance_rate", "2025-01-01", 1 / 1)
    assert_value(month, "compliance_rate", "2025-02-01", 1 / 4)
    quarter = run(ws, "compliance_rate", grain="quarter", as_of="2025-03-31")
    assert_value(quarter, "compliance_rate", "2025-01-01", (1 + 1) / (1 + 4))  # 0.4, not (1 + 0.25) / 2
    row = row_of(quarter, "compliance_rate", "2025-01-01")
    assert (row["numerator"], row["denominator"]) == (pytest.approx(2), pytest.approx(5))


def test_arpu_over_a_quarter_counts_each_active_user_once():
    ws = make_ws(
        payments={"customer_id": ["u1", "u1"], "date": ["2025-01-05", "2025-02-05"], "amount": [30, 30]},
        events={"user_id": ["u1", "u1", "u2"],
                "timestamp": ["2025-01-05 10:00:00", "2025-02-05 10:00:00", "2025-02-06 10:00:00"],
                "event": ["e", "e", "e"]},
    )
    frame = run(ws, "arpu", grain="quarter", as_of="2025-03-31")
    assert_value(frame, "arpu", "2025-01-01", (30 + 30) / 2)  # u1 and u2 active in Q1 (not 1 + 2 = 3)


def test_customer_churn_rate_by_quarter_compares_quarter_ends():
    ws = make_ws(subscriptions=movements_subscriptions())
    month = run(ws, "customer_churn_rate", as_of="2025-03-31")
    assert_value(month, "customer_churn_rate", "2025-01-01", 1 / 1)  # E paying Dec 31, not Jan 31
    assert_value(month, "customer_churn_rate", "2025-02-01", 1 / 3)  # C of A, B, C
    quarter = run(ws, "customer_churn_rate", grain="quarter", as_of="2025-03-31")
    assert_value(quarter, "customer_churn_rate", "2025-01-01", 0 / 1)  # E paying on Dec 31 and again Mar 31


def test_zero_denominators_give_null_not_zero_or_error():
    ws = make_ws(
        subscriptions={"customer_id": ["A"], "start_date": ["2025-01-05"], "end_date": ["2025-01-20"], "mrr": [10]},
        marketing={"date": ["2025-01-03"], "channel": ["ads"], "spend": [100], "visitors": [0]},
        customers={"customer_id": ["X"], "signup_date": ["2025-01-03"]},
    )
    frame = run(ws, ["mrr_growth_rate", "arpa", "signup_rate", "gross_mrr_churn_rate", "net_mrr_retention",
                     "quick_ratio", "customer_churn_rate"], as_of="2025-01-31")
    for kpi in ("mrr_growth_rate", "arpa", "signup_rate", "gross_mrr_churn_rate", "net_mrr_retention",
                "quick_ratio", "customer_churn_rate"):
        assert_value(frame, kpi, "2025-01-01", None)
    ws2 = make_ws(marketing={"date": ["2025-01-03"], "channel": ["ads"], "spend": [100]},
                  payments={"customer_id": ["A"], "date": ["2024-12-03"], "amount": [5]},
                  customers={"customer_id": ["X"], "signup_date": ["2024-12-03"]})
    frame2 = run(ws2, ["cac", "cpa"], as_of="2025-01-31")
    assert_value(frame2, "cac", "2025-01-01", None)  # 100 spent, no new customer in Jan
    assert_value(frame2, "cpa", "2025-01-01", None)  # 100 spent, no sign-up in Jan


def test_non_ratio_kpis_have_no_numerator_or_denominator():
    ws = make_ws(payments={"customer_id": ["A"], "date": ["2025-01-05"], "amount": [10]})
    row = row_of(run(ws, "revenue", as_of="2025-01-31"), "revenue", "2025-01-01")
    assert pd.isna(row["numerator"]) and pd.isna(row["denominator"])


# ---- grains ----------------------------------------------------------------------------------------------


def test_week_grain_starts_monday():
    ws = make_ws(payments={"customer_id": ["A", "A", "A"],
                           "date": ["2025-01-05", "2025-01-06", "2025-01-12"],  # Sun, Mon, Sun
                           "amount": [10, 20, 30]})
    frame = run(ws, "revenue", grain="week", as_of="2025-01-12")
    assert periods_of(frame, "revenue") == [d("2024-12-30"), d("2025-01-06")]  # both Mondays
    assert_value(frame, "revenue", "2024-12-30", 10)
    assert_value(frame, "revenue", "2025-01-06", 20 + 30)
    assert bool(row_of(frame, "revenue", "2025-01-06")["partial"]) is False  # A is that week's Sunday
    assert set(frame["grain"]) == {"week"}


def test_quarter_and_year_periods_are_named_by_first_day():
    ws = make_ws(payments={"customer_id": ["A", "A"], "date": ["2024-11-05", "2025-05-06"], "amount": [1, 2]})
    quarter = run(ws, "revenue", grain="quarter", as_of="2025-05-31")
    assert periods_of(quarter, "revenue") == [d("2024-10-01"), d("2025-01-01"), d("2025-04-01")]
    assert_value(quarter, "revenue", "2025-01-01", 0)
    year = run(ws, "revenue", grain="year", as_of="2025-05-31")
    assert periods_of(year, "revenue") == [d("2024-01-01"), d("2025-01-01")]


def test_timestamp_with_time_zone_is_dated_after_conversion_to_utc():
    ws = make_ws(events={"user_id": ["u1", "u2"], "timestamp": ["2025-01-31 23:30:00-05:00", "2025-01-15 10:00:00"],
                         "event": ["e", "e"]})
    stored = ws.rows("SELECT \"timestamp\" FROM events WHERE user_id = 'u1'")[0][0]
    if str(stored)[:16] != "2025-02-01 04:30":
        pytest.skip(f"load_frame stores '2025-01-31 23:30:00-05:00' as {stored} (no UTC conversion): "
                    "the time-zone rule belongs to the ingest tests")
    frame = run(ws, "active_users", as_of="2025-02-28")
    assert_value(frame, "active_users", "2025-01-01", 1)  # u2 only
    assert_value(frame, "active_users", "2025-02-01", 1)  # u1: 04:30 UTC on Feb 1


# ---- segments -------------------------------------------------------------------------------------------


def test_segment_from_the_datasets_own_column_with_null_segment():
    ws = make_ws(payments={
        "customer_id": ["c1", "c2", "c3", "c1"],
        "date": ["2025-01-05", "2025-01-06", "2025-01-07", "2025-02-05"],
        "amount": [100, 50, 20, 30],
        "country": ["DE", "FR", None, "DE"],
    })
    frame = run(ws, ["revenue", "arppu"], as_of="2025-02-28", segment="country")
    assert_value(frame, "revenue", "2025-01-01", 100, segment="DE")
    assert_value(frame, "revenue", "2025-01-01", 50, segment="FR")
    assert_value(frame, "revenue", "2025-01-01", 20, segment=None)  # the "(none)" segment
    assert_value(frame, "revenue", "2025-02-01", 30, segment="DE")
    assert_value(frame, "revenue", "2025-02-01", 0, segment="FR")  # every value has a row in every period
    assert_value(frame, "revenue", "2025-02-01", 0, segment=None)
    assert_value(frame, "arppu", "2025-02-01", None, segment="FR")
    assert len(rows_of(frame, "revenue", "2025-02-01", any_segment=True)) == 3


CUSTOMERS_WITH_COUNTRY = {
    "customer_id": ["u1", "u2"],
    "signup_date": ["2025-01-01", "2025-01-01"],
    "country": ["DE", "FR"],
}


def test_customers_segment_reaches_events_through_user_id():
    ws = make_ws(customers=CUSTOMERS_WITH_COUNTRY, events={
        "user_id": ["u1", "u2", "u3", "u1"],  # u3 has no customers row: segment null
        "timestamp": ["2025-01-05 10:00:00", "2025-01-06 10:00:00", "2025-01-07 10:00:00", "2025-02-05 10:00:00"],
        "event": ["e"] * 4,
    })
    frame = run(ws, "active_users", as_of="2025-02-28", segment="country")
    assert_value(frame, "active_users", "2025-01-01", 1, segment="DE")
    assert_value(frame, "active_users", "2025-01-01", 1, segment="FR")
    assert_value(frame, "active_users", "2025-01-01", 1, segment=None)
    assert_value(frame, "active_users", "2025-02-01", 1, segment="DE")
    assert_value(frame, "active_users", "2025-02-01", 0, segment="FR")


def test_dau_and_mau_by_segment_keep_the_whole_datas_first_event_date():
    ws = make_ws(customers=CUSTOMERS_WITH_COUNTRY, events={
        "user_id": ["u1", "u2"], "timestamp": ["2025-01-10 10:00:00", "2025-01-20 10:00:00"], "event": ["e", "e"]})
    frame = run(ws, ["dau", "mau"], as_of="2025-01-31", segment="country")
    # days Jan 10..31 = 22 for every segment, although FR's first event is on Jan 20
    assert_value(frame, "dau", "2025-01-01", 1 / 22, segment="DE")
    assert_value(frame, "dau", "2025-01-01", 1 / 22, segment="FR")
    assert_value(frame, "mau", "2025-01-01", 22 / 22, segment="DE")  # u1 in every 30-day window Jan 10..31
    assert_value(frame, "mau", "2025-01-01", 12 / 22, segment="FR")  # u2 in the windows of Jan 20..31


def test_kpi_that_cannot_be_broken_down_is_left_out_with_a_note():
    ws = make_ws(
        customers=CUSTOMERS_WITH_COUNTRY,
        events={"user_id": ["u1"], "timestamp": ["2025-01-05 10:00:00"], "event": ["e"]},
        incidents={"started_at": ["2025-01-05 10:00:00"], "ended_at": ["2025-01-05 11:00:00"]},
    )
    frame = run(ws, ["active_users", "uptime"], as_of="2025-01-31", segment="country")
    assert len(rows_of(frame, "active_users", any_segment=True)) > 0
    assert len(rows_of(frame, "uptime", any_segment=True)) == 0  # incidents have no country, no customer
    notes = frame.attrs.get("notes", [])
    assert any("uptime" in n for n in notes), notes


def test_kpi_left_out_when_the_segment_is_only_on_another_dataset():
    ws = make_ws(
        events={"user_id": ["u1"], "timestamp": ["2025-01-05 10:00:00"], "event": ["e"], "platform": ["ios"]},
        subscriptions={"customer_id": ["u1"], "start_date": ["2025-01-01"], "end_date": [None], "mrr": [10]},
    )
    frame = run(ws, ["active_users", "mrr"], as_of="2025-01-31", segment="platform")
    assert_value(frame, "active_users", "2025-01-01", 1, segment="ios")
    assert len(rows_of(frame, "mrr", any_segment=True)) == 0  # no customers table to carry platform
    assert any("mrr" in n for n in frame.attrs.get("notes", []))


def test_release_lookup_does_not_block_a_breakdown():
    ws = make_ws(
        customers=CUSTOMERS_WITH_COUNTRY,
        events={"user_id": ["u1", "u2"], "timestamp": ["2025-01-05 10:00:00", "2025-01-06 10:00:00"],
                "event": ["export", "login"]},
        releases={"feature": ["Export"], "released_date": ["2025-01-02"], "event": ["export"]},
    )
    frame = run(ws, "feature_adoption_rate", as_of="2025-01-31", segment="country")
    assert_value(frame, "feature_adoption_rate", "2025-01-01", 1 / 1, segment="DE")
    assert_value(frame, "feature_adoption_rate", "2025-01-01", 0 / 1, segment="FR")


def test_cac_and_cpa_by_channel_pair_marketing_and_customer_channels():
    ws = make_ws(
        marketing={"date": ["2025-01-02", "2025-01-03"], "channel": ["ads", "seo"], "spend": [300, 100]},
        customers={"customer_id": ["A", "B", "C", "D", "E"], "signup_date": ["2025-01-04"] * 5,
                   "channel": ["ads", "ads", "seo", None, "ads"]},
        subscriptions={"customer_id": ["A", "B", "C", "D"], "start_date": ["2025-01-05"] * 4,
                       "end_date": [None] * 4, "mrr": [10] * 4},
    )
    frame = run(ws, ["cac", "cpa"], as_of="2025-01-31", segment="channel")
    assert_value(frame, "cac", "2025-01-01", 300 / 2, segment="ads")  # new customers A, B
    assert_value(frame, "cac", "2025-01-01", 100 / 1, segment="seo")  # C
    assert_value(frame, "cpa", "2025-01-01", 300 / 3, segment="ads")  # sign-ups A, B, E
    assert_value(frame, "cpa", "2025-01-01", 100 / 1, segment="seo")


# ---- the MRR identity --------------------------------------------------------------------------------------

MOVES = ["mrr", "new_mrr", "reactivation_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "net_new_mrr"]


def _check_identity(frame: pd.DataFrame) -> int:
    checked = 0
    for seg, part in frame.groupby(frame["segment"].fillna("(none)"), dropna=False):
        wide = part.pivot(index="period", columns="kpi", values="value").sort_index()
        prev = 0.0  # nothing before the first period
        for period, r in wide.iterrows():
            moves = r["new_mrr"] + r["reactivation_mrr"] + r["expansion_mrr"] - r["contraction_mrr"] - r["churned_mrr"]
            assert r["mrr"] - prev == pytest.approx(moves), (seg, period)
            assert r["net_new_mrr"] == pytest.approx(moves), (seg, period)
            prev = r["mrr"]
            checked += 1
    return checked


@pytest.mark.parametrize("grain", ["day", "week", "month", "quarter", "year"])
@pytest.mark.parametrize("segment", [None, "plan"])
def test_mrr_identity_holds_for_every_period_and_segment(grain, segment):
    ws = make_ws(subscriptions=movements_subscriptions())
    frame = run(ws, MOVES, grain=grain, as_of="2025-03-31", segment=segment)
    assert _check_identity(frame) > 0


def test_mrr_movements_by_plan_treat_each_plan_as_its_own_data():
    ws = make_ws(subscriptions=movements_subscriptions())
    frame = run(ws, MOVES, as_of="2025-02-28", segment="plan")
    feb = "2025-02-01"
    # basic: Jan 31 A 100 + C 60 = 160; Feb 28 B 120 + E 90 + G 25 = 235
    assert_value(frame, "mrr", feb, 120 + 90 + 25, segment="basic")
    assert_value(frame, "churned_mrr", feb, 100 + 60, segment="basic")  # A left basic, C churned
    assert_value(frame, "new_mrr", feb, 120 + 25, segment="basic")  # B's first basic row is Feb 15
    assert_value(frame, "reactivation_mrr", feb, 90, segment="basic")  # E
    # pro: Jan 31 B 200; Feb 28 A 150 + D 40 + H 15 = 205
    assert_value(frame, "new_mrr", feb, 150 + 40, segment="pro")
    assert_value(frame, "reactivation_mrr", feb, 15, segment="pro")  # H
    assert_value(frame, "churned_mrr", feb, 200, segment="pro")  # B
    assert_value(frame, "mrr", feb, 0, segment="free")  # G's free row has mrr 0


def test_mrr_movements_by_quarter():
    ws = make_ws(subscriptions=movements_subscriptions())
    frame = run(ws, MOVES, grain="quarter", as_of="2025-03-31")
    # t(Q4 2024) = Dec 31: E 70.  t(Q1 2025) = Mar 31: A 150, B 120, D 40, E 90, G 25, H 15 = 440
    assert_value(frame, "mrr", "2025-01-01", 150 + 120 + 40 + 90 + 25 + 15)
    assert_value(frame, "expansion_mrr", "2025-01-01", 90 - 70)  # E: 70 -> 90
    assert_value(frame, "new_mrr", "2025-01-01", 150 + 120 + 40 + 25 + 15)  # first_mrr after Dec 31
    assert_value(frame, "reactivation_mrr", "2025-01-01", 0)
    assert_value(frame, "churned_mrr", "2025-01-01", 0)  # C came and went inside the quarter


# ---- unknown KPIs -------------------------------------------------------------------------------------------


def test_unknown_kpi_raises():
    from kpi.compute import compute
    from kpi.errors import UnknownKpi
    ws = make_ws(payments={"customer_id": ["A"], "date": ["2025-01-05"], "amount": [10]})
    with pytest.raises(UnknownKpi):
        compute(ws, kpis=["no_such_kpi"], grain="month", as_of=d("2025-01-31"))


def test_notes_are_a_list():
    ws = make_ws(payments={"customer_id": ["A"], "date": ["2025-01-05"], "amount": [10]})
    assert isinstance(run(ws, "revenue", as_of="2025-01-31").attrs["notes"], list)


def test_output_is_ordered_by_kpi_as_asked_then_period():
    ws = make_ws(payments={"customer_id": ["A", "A"], "date": ["2025-01-05", "2025-02-05"], "amount": [10, 5]})
    frame = run(ws, ["arppu", "revenue"], as_of="2025-02-28")
    assert list(frame["kpi"]) == ["arppu", "arppu", "revenue", "revenue"]
    assert [p for p in frame["period"]] == [d("2025-01-01"), d("2025-02-01")] * 2
    assert not math.isnan(value_of(frame, "revenue", "2025-02-01"))


def test_a_rows_own_segment_column_wins_over_its_customers():
    ws = make_ws(
        customers={"customer_id": ["c1"], "signup_date": ["2025-01-01"], "country": ["FR"]},
        payments={"customer_id": ["c1", "c1"], "date": ["2025-01-05", "2025-01-06"], "amount": [10, 5],
                  "country": ["DE", None]},
    )
    frame = run(ws, "revenue", as_of="2025-01-31", segment="country")
    assert_value(frame, "revenue", "2025-01-01", 10, segment="DE")  # the payment's own column
    assert_value(frame, "revenue", "2025-01-01", 5, segment=None)  # its own column is empty: null segment
    assert len(rows_of(frame, "revenue", "2025-01-01", segment="FR")) == 0  # FR is not in revenue's data


def test_duplicate_customer_segment_comes_from_the_earliest_signup_row():
    ws = make_ws(
        customers={"customer_id": ["c1", "c1"], "signup_date": ["2025-01-05", "2025-01-01"],
                   "country": ["FR", "DE"]},
        events={"user_id": ["c1"], "timestamp": ["2025-01-10 10:00:00"], "event": ["e"]},
    )
    frame = run(ws, ["active_users", "signups"], as_of="2025-01-31", segment="country")
    assert_value(frame, "active_users", "2025-01-01", 1, segment="DE")
    assert_value(frame, "signups", "2025-01-01", 1, segment="DE")
    assert sum(rows_of(frame, "signups", "2025-01-01", any_segment=True)["value"]) == 1


def test_start_and_end_only_cut_the_output_not_the_history():
    ws = make_ws(subscriptions={"customer_id": ["A", "B"], "start_date": ["2025-01-01", "2025-02-10"],
                                "end_date": [None, None], "mrr": [100, 50]})
    frame = run(ws, ["mrr_growth_rate", "new_mrr"], as_of="2025-03-31", start="2025-02-01", end="2025-02-28")
    assert periods_of(frame, "mrr_growth_rate") == [d("2025-02-01")]
    assert_value(frame, "mrr_growth_rate", "2025-02-01", (150 - 100) / 100)  # Jan is still P-1
    assert_value(frame, "new_mrr", "2025-02-01", 50)
