"""Oracle tests for the customer and user KPIs: tiny tables, answers worked out by hand."""
from __future__ import annotations

import pytest

from kpi_helpers import assert_value, d, make_ws, periods_of, row_of, run

# ---- sign-ups --------------------------------------------------------------------------------

SIGNUP_CUSTOMERS = {
    # c2 and c5 are listed twice: the row with the earliest signup_date is the one KPIs use
    "customer_id": ["c1", "c2", "c2", "c3", "c5", "c5"],
    "signup_date": ["2025-01-05", "2025-01-20", "2025-02-03", "2025-02-10", "2025-02-15", "2025-01-25"],
}


def test_signups_dedup_keeps_earliest_signup_date():
    ws = make_ws(customers=SIGNUP_CUSTOMERS)
    frame = run(ws, "signups", as_of="2025-02-28")
    assert_value(frame, "signups", "2025-01-01", 3)  # c1 Jan 5, c2 Jan 20, c5 Jan 25
    assert_value(frame, "signups", "2025-02-01", 1)  # c3 only (c2's and c5's Feb rows are duplicates)


def test_signup_rate():
    ws = make_ws(customers=SIGNUP_CUSTOMERS, marketing={
        "date": ["2025-01-01", "2025-01-15", "2025-02-01", "2025-02-02"],
        "channel": ["ads", "seo", "ads", "ads"],
        "spend": [100, 0, 50, 20],
        "visitors": [40, 20, None, 10],
    })
    frame = run(ws, "signup_rate", as_of="2025-02-28")
    assert_value(frame, "signup_rate", "2025-01-01", 3 / (40 + 20))
    assert_value(frame, "signup_rate", "2025-02-01", 1 / 10)  # the missing visitors count adds nothing
    row = row_of(frame, "signup_rate", "2025-01-01")
    assert (row["numerator"], row["denominator"]) == (pytest.approx(3), pytest.approx(60))


# ---- trials ----------------------------------------------------------------------------------

def test_trial_conversion_rate_cohort_by_trial_start_counts_late_conversions():
    ws = make_ws(customers={
        "customer_id": ["t1", "t2", "t3", "t4", "t5", "t6"],
        "signup_date": ["2025-01-01"] * 5 + ["2025-02-01"],
        "trial_start": ["2025-01-03", "2025-01-10", "2025-01-20", "2025-01-25", None, "2025-02-02"],
        "trial_end": ["2025-01-17", "2025-01-24", "2025-02-03", "2025-02-08", None, "2025-02-16"],
        # t2 converts late (Mar 5, still <= A); t4's conversion (Apr 10) is after A: not yet;
        # t5 converted without a trial: not in any cohort
        "converted_date": ["2025-01-20", "2025-03-05", None, "2025-04-10", "2025-01-05", None],
    })
    frame = run(ws, "trial_conversion_rate", as_of="2025-03-31")
    assert_value(frame, "trial_conversion_rate", "2025-01-01", 2 / 4)  # t1, t2 of t1..t4
    assert_value(frame, "trial_conversion_rate", "2025-02-01", 0 / 1)  # t6 did not convert
    assert_value(frame, "trial_conversion_rate", "2025-03-01", None)  # no trial started in Mar


def test_trial_dropoff_rate_cohort_by_trial_end():
    ws = make_ws(customers={
        "customer_id": ["d1", "d2", "d3", "d4", "d5"],
        "signup_date": ["2025-01-01"] * 5,
        "trial_start": ["2024-12-31", "2025-01-06", "2025-01-17", "2024-12-27", "2025-01-20"],
        "trial_end": ["2025-01-14", "2025-01-20", "2025-01-31", "2025-01-10", "2025-02-03"],
        # d1 converts on its trial_end (kept); d2 after it (a drop-off); d3 never; d4 before it
        "converted_date": ["2025-01-14", "2025-01-25", None, "2025-01-02", None],
    })
    frame = run(ws, "trial_dropoff_rate", as_of="2025-02-28")
    assert_value(frame, "trial_dropoff_rate", "2025-01-01", 2 / 4)  # d2, d3 of d1..d4
    assert_value(frame, "trial_dropoff_rate", "2025-02-01", 1 / 1)  # d5


# ---- new customers ---------------------------------------------------------------------------

def test_new_customers_from_subscriptions():
    ws = make_ws(subscriptions={
        "customer_id": ["A", "B", "B", "C", "C"],
        "start_date": ["2025-01-10", "2024-12-20", "2025-02-05", "2025-01-03", "2025-02-10"],
        "end_date": [None, "2025-02-05", None, "2025-01-20", None],
        "mrr": [100, 0, 20, 50, 50],
    })
    frame = run(ws, "new_customers", as_of="2025-02-28")
    assert periods_of(frame, "new_customers")[0] == d("2024-12-01")  # earliest start_date
    assert_value(frame, "new_customers", "2024-12-01", 0)  # B's Dec row is free (mrr 0)
    assert_value(frame, "new_customers", "2025-01-01", 2)  # A (Jan 10), C (Jan 3)
    assert_value(frame, "new_customers", "2025-02-01", 1)  # B (first mrr > 0 Feb 5); C is not new again


def test_new_customers_first_paid_from_subscriptions_or_payments():
    ws = make_ws(
        subscriptions={"customer_id": ["A", "B"], "start_date": ["2025-01-10", "2025-02-05"],
                       "end_date": [None, None], "mrr": [100, 20]},
        payments={"customer_id": ["A", "B", "B", "D", "E"],
                  "date": ["2025-01-02", "2025-01-30", "2025-02-01", "2025-02-14", "2025-01-15"],
                  "amount": [100, 0, -5, 30, -20]},
    )
    frame = run(ws, "new_customers", as_of="2025-02-28")
    # first_paid: A = min(Jan 10, Jan 2) = Jan 2; B = Feb 5 (its payments are not > 0);
    # D = Feb 14 (payments only); E only has a refund: never paid
    assert_value(frame, "new_customers", "2025-01-01", 1)  # A
    assert_value(frame, "new_customers", "2025-02-01", 2)  # B, D


def test_new_customers_from_payments_only():
    ws = make_ws(payments={"customer_id": ["D", "F", "F"], "date": ["2025-02-14", "2025-01-03", "2025-02-03"],
                           "amount": [30, 10, 10]})
    frame = run(ws, "new_customers", as_of="2025-02-28")
    assert_value(frame, "new_customers", "2025-01-01", 1)  # F
    assert_value(frame, "new_customers", "2025-02-01", 1)  # D (F paid before)


# ---- clv -------------------------------------------------------------------------------------

# A, B, C, D pay 100 each from Jan 1; B ends Feb 10. Monthly customer churn rates:
#   Jan null (nobody paying on Dec 31), Feb 1/4, Mar..Aug 0/3 = 0.  arpa = 100 from Feb on.
CLV_SUBS = {
    "customer_id": ["A", "B", "C", "D"],
    "start_date": ["2025-01-01"] * 4,
    "end_date": [None, "2025-02-10", None, None],
    "mrr": [100, 100, 100, 100],
}


def test_clv_mean_churn_over_last_six_months_with_a_value():
    ws = make_ws(subscriptions=CLV_SUBS)
    frame = run(ws, "clv", as_of="2025-08-31")
    assert_value(frame, "clv", "2025-01-01", None)  # no month up to Jan has a churn rate
    assert_value(frame, "clv", "2025-02-01", 100 * 1.0 / (1 / 4))  # months Sep..Feb: only Feb has a value
    assert_value(frame, "clv", "2025-03-01", 100 * 1.0 / ((1 / 4 + 0) / 2))  # Feb, Mar
    assert_value(frame, "clv", "2025-07-01", 100 * 1.0 / ((1 / 4 + 0 + 0 + 0 + 0 + 0) / 6))  # Feb..Jul
    assert_value(frame, "clv", "2025-08-01", None)  # Mar..Aug all 0: m = 0 -> null


def test_clv_uses_gross_margin_setting():
    ws = make_ws(subscriptions=CLV_SUBS, settings={"gross_margin": 0.8})
    frame = run(ws, "clv", as_of="2025-08-31")
    assert_value(frame, "clv", "2025-07-01", 100 * 0.8 / ((1 / 4) / 6))


def test_clv_at_quarter_grain_uses_monthly_churn_rates():
    ws = make_ws(subscriptions=CLV_SUBS)
    frame = run(ws, "clv", grain="quarter", as_of="2025-08-31")
    assert_value(frame, "clv", "2025-01-01", 100 / ((1 / 4 + 0) / 2))  # t = Mar 31: months Oct..Mar -> Feb, Mar
    assert_value(frame, "clv", "2025-04-01", 100 / ((1 / 4) / 5))  # t = Jun 30: Jan..Jun -> Feb..Jun (Jan null)
    assert_value(frame, "clv", "2025-07-01", None)  # t = Aug 31: Mar..Aug, all 0


def test_clv_with_several_churn_values():
    ws = make_ws(subscriptions={
        "customer_id": ["A", "B", "C", "D"],
        "start_date": ["2025-01-01"] * 4,
        "end_date": [None, "2025-02-10", "2025-04-05", None],
        "mrr": [100, 100, 100, 100],
    })
    frame = run(ws, "clv", as_of="2025-04-30")
    # churn: Feb 1/4 (B), Mar 0/3, Apr 1/3 (C); arpa Apr = (A + D) 200 / 2
    assert_value(frame, "clv", "2025-04-01", (200 / 2) / ((1 / 4 + 0 + 1 / 3) / 3))


# ---- active users and friends -----------------------------------------------------------------

def test_active_users_counts_distinct_users_in_the_calendar_period():
    ws = make_ws(events={
        "user_id": ["u1", "u1", "u2", "u3", "u1"],
        "timestamp": ["2025-01-03 08:00:00", "2025-01-05 09:00:00", "2025-01-31 23:59:59",
                      "2025-02-01 00:00:00", "2025-02-10 12:00:00"],
        "event": ["a", "b", "a", "a", "a"],
    })
    frame = run(ws, "active_users", as_of="2025-02-28")
    assert_value(frame, "active_users", "2025-01-01", 2)  # u1, u2
    assert_value(frame, "active_users", "2025-02-01", 2)  # u3, u1


# First event Jan 10. DAU: Jan 10 -> 2 (u1 twice, u2), Jan 11 -> 1, Jan 20 -> 1,
# Feb 1 -> 1, Feb 10 -> 2; the Feb 12 event is after A = Feb 10.
DAU_EVENTS = {
    "user_id": ["u1", "u1", "u2", "u1", "u3", "u1", "u1", "u2", "u9"],
    "timestamp": ["2025-01-10 08:00:00", "2025-01-10 09:00:00", "2025-01-10 10:00:00", "2025-01-11 10:00:00",
                  "2025-01-20 10:00:00", "2025-02-01 10:00:00", "2025-02-10 10:00:00", "2025-02-10 11:00:00",
                  "2025-02-12 10:00:00"],
    "event": ["e"] * 9,
}

# MAU30(d) = users active in [d - 29, d]:
#   Jan 10..19 -> {u1, u2} = 2 (10 days); Jan 20..31 -> {u1, u2, u3} = 3 (12 days)
#   Feb 1..8 -> 3 (window still reaches Jan 10); Feb 9 -> window Jan 11..Feb 9 = {u1, u3} = 2;
#   Feb 10 -> window Jan 12..Feb 10 = {u3, u1, u2} = 3
MAU_JAN = (10 * 2 + 12 * 3) / 22
MAU_FEB = (8 * 3 + 2 + 3) / 10
DAU_JAN = (2 + 1 + 1) / 22  # days Jan 10..31 (from the first event's date)
DAU_FEB = (1 + 2) / 10  # days Feb 1..10 (up to A)


def test_dau_mean_over_days_from_first_event_to_as_of():
    frame = run(make_ws(events=DAU_EVENTS), "dau", as_of="2025-02-10")
    assert_value(frame, "dau", "2025-01-01", DAU_JAN)
    assert_value(frame, "dau", "2025-02-01", DAU_FEB)


def test_mau_mean_of_rolling_30_day_active_users():
    frame = run(make_ws(events=DAU_EVENTS), "mau", as_of="2025-02-10")
    assert_value(frame, "mau", "2025-01-01", MAU_JAN)
    assert_value(frame, "mau", "2025-02-01", MAU_FEB)


def test_stickiness_is_dau_over_mau():
    frame = run(make_ws(events=DAU_EVENTS), "stickiness", as_of="2025-02-10")
    assert_value(frame, "stickiness", "2025-01-01", DAU_JAN / MAU_JAN)  # = 4 / 56
    assert_value(frame, "stickiness", "2025-02-01", DAU_FEB / MAU_FEB)  # = 3 / 29


# ---- sessions ----------------------------------------------------------------------------------

# With session_id: a session is one (user_id, session_id), whatever the gaps inside it.
#   u1/s1: Jan 5 10:00, 10:20, 11:30 -> 90 min, 3 events
#   u2/s1: Jan 5 10:00               -> 0 min, 1 event (same session_id, other user: other session)
#   u1/s2: Jan 31 23:50, Feb 1 00:10 -> 20 min, 2 events; starts in Jan, so it belongs to Jan
#   u2/s3: Feb 2 09:00, 09:05        -> 5 min, 2 events
#   u3/s4: Feb 3 12:00               -> 0 min, 1 event
SESSION_EVENTS = {
    "user_id": ["u1", "u1", "u1", "u2", "u1", "u1", "u2", "u2", "u3"],
    "timestamp": ["2025-01-05 10:00:00", "2025-01-05 10:20:00", "2025-01-05 11:30:00", "2025-01-05 10:00:00",
                  "2025-01-31 23:50:00", "2025-02-01 00:10:00", "2025-02-02 09:00:00", "2025-02-02 09:05:00",
                  "2025-02-03 12:00:00"],
    "event": ["e"] * 9,
    "session_id": ["s1", "s1", "s1", "s1", "s2", "s2", "s3", "s3", "s4"],
}


def test_avg_session_duration_with_session_id():
    frame = run(make_ws(events=SESSION_EVENTS), "avg_session_duration", as_of="2025-02-28")
    assert_value(frame, "avg_session_duration", "2025-01-01", (90 + 0 + 20) / 3)
    assert_value(frame, "avg_session_duration", "2025-02-01", (5 + 0) / 2)


def test_actions_per_session_with_session_id():
    frame = run(make_ws(events=SESSION_EVENTS), "actions_per_session", as_of="2025-02-28")
    assert_value(frame, "actions_per_session", "2025-01-01", (3 + 1 + 2) / 3)  # u1/s2's Feb event counts in Jan
    assert_value(frame, "actions_per_session", "2025-02-01", (2 + 1) / 2)


def test_actions_per_user_counts_events_dated_in_the_period():
    frame = run(make_ws(events=SESSION_EVENTS), "actions_per_user", as_of="2025-02-28")
    # Jan: events dated in Jan = 3 + 1 + 1 (u1's Jan 31 23:50) = 5; active users u1, u2
    assert_value(frame, "actions_per_user", "2025-01-01", 5 / 2)
    # Feb: u1 Feb 1 00:10, u2 x2, u3 x1 = 4 events; active users u1, u2, u3
    assert_value(frame, "actions_per_user", "2025-02-01", 4 / 3)


# Without session_id: a user's session ends after a gap of MORE than 30 minutes.
#   u1: 10:00, 10:30 (exactly 30: same session), 11:01 (31: new session), 11:10
#       -> sessions of 30 min (2 events) and 9 min (2 events)
#   u2: 10:15 -> 0 min (1 event); other users' events never join u1's sessions
GAP_EVENTS = {
    "user_id": ["u1", "u1", "u1", "u1", "u2"],
    "timestamp": ["2025-01-06 10:00:00", "2025-01-06 10:30:00", "2025-01-06 11:01:00", "2025-01-06 11:10:00",
                  "2025-01-06 10:15:00"],
    "event": ["e"] * 5,
}


def test_sessions_by_30_minute_gaps():
    frame = run(make_ws(events=GAP_EVENTS), ["avg_session_duration", "actions_per_session"], as_of="2025-01-31")
    assert_value(frame, "avg_session_duration", "2025-01-01", (30 + 9 + 0) / 3)
    assert_value(frame, "actions_per_session", "2025-01-01", (2 + 2 + 1) / 3)


def test_sessions_with_empty_session_id_fall_back_to_gaps():
    ws = make_ws(events={
        "user_id": ["u1", "u1", "u1", "u1", "u1", "u2", "u2"],
        "timestamp": ["2025-01-06 09:00:00", "2025-01-06 12:00:00",  # u1/a: one session, 180 min
                      "2025-01-06 14:00:00", "2025-01-06 14:20:00",  # empty id: a 20-min gap session
                      "2025-01-06 15:00:00",  # empty id, 40 min after 14:20: a new 0-min session
                      "2025-01-06 09:00:00", "2025-01-06 09:10:00"],  # u2, no id: one 10-min session
        "event": ["e"] * 7,
        "session_id": ["a", "a", "", "", "", None, None],
    })
    frame = run(ws, ["avg_session_duration", "actions_per_session"], as_of="2025-01-31")
    assert_value(frame, "avg_session_duration", "2025-01-01", (180 + 20 + 0 + 10) / 4)
    assert_value(frame, "actions_per_session", "2025-01-01", (2 + 2 + 1 + 2) / 4)


def test_session_duration_is_null_in_a_period_without_sessions():
    frame = run(make_ws(events=GAP_EVENTS), "avg_session_duration", as_of="2025-02-28")
    assert_value(frame, "avg_session_duration", "2025-02-01", None)


# ---- retention ---------------------------------------------------------------------------------

def test_retention_rate():
    ws = make_ws(events={
        "user_id": ["u1", "u2", "u3", "u4", "u1", "u1", "u3", "u5"],
        "timestamp": ["2025-01-02 10:00:00", "2025-01-03 10:00:00", "2025-01-04 10:00:00", "2025-01-31 10:00:00",
                      "2025-01-05 10:00:00", "2025-02-01 10:00:00", "2025-02-20 10:00:00", "2025-02-21 10:00:00"],
        "event": ["e"] * 8,
    })
    frame = run(ws, "retention_rate", as_of="2025-03-31")
    assert_value(frame, "retention_rate", "2025-01-01", None)  # nobody active in Dec
    assert_value(frame, "retention_rate", "2025-02-01", 2 / 4)  # u1, u3 of Jan's u1..u4
    assert_value(frame, "retention_rate", "2025-03-01", 0 / 3)  # none of Feb's u1, u3, u5 in Mar
