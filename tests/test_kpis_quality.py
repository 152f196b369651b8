"""Oracle tests for the technical and quality KPIs, employee satisfaction and imported values."""
from __future__ import annotations

from kpi_helpers import assert_value, make_ws, run

# ---- defects -----------------------------------------------------------------------------------

DEFECTS = {
    "defect_id": ["d1", "d2", "d3", "d4", "d5", "d6"],
    "found_date": ["2025-01-10", "2025-01-20", "2025-02-03", "2025-02-20", "2025-02-25", "2025-03-05"],
    "stage": ["pre_release", "production", "pre_release", "staging", "pre_release", "production"],
}
CODEBASE = {"date": ["2025-02-15", "2025-03-20"], "kloc": [50, 80]}


def test_defect_density_kloc_lookup():
    frame = run(make_ws(defects=DEFECTS, codebase=CODEBASE), "defect_density", as_of="2025-03-31")
    assert_value(frame, "defect_density", "2025-01-01", 2 / 50)  # no codebase row by Jan 31: the earliest (50)
    assert_value(frame, "defect_density", "2025-02-01", 3 / 50)  # latest on or before Feb 28: Feb 15 (50)
    assert_value(frame, "defect_density", "2025-03-01", 1 / 80)  # latest on or before Mar 31: Mar 20 (80)


def test_defect_density_on_partial_period_looks_up_kloc_on_as_of():
    frame = run(make_ws(defects=DEFECTS, codebase=CODEBASE), "defect_density", as_of="2025-03-15")
    assert_value(frame, "defect_density", "2025-03-01", 1 / 50)  # t(Mar) = Mar 15: Mar 20 row is after A


def test_test_effectiveness_ignores_other_stages():
    ws = make_ws(defects={
        "defect_id": ["a", "b", "c", "d", "e", "f", "g"],
        "found_date": ["2025-01-02", "2025-01-03", "2025-01-04", "2025-01-05", "2025-01-06", "2025-01-07",
                       "2025-02-02"],
        "stage": ["pre_release", "pre_release", "pre_release", "production", "staging", "staging", "staging"],
    })
    frame = run(ws, "test_effectiveness", as_of="2025-02-28")
    assert_value(frame, "test_effectiveness", "2025-01-01", 3 / (3 + 1))
    assert_value(frame, "test_effectiveness", "2025-02-01", None)  # only a staging defect: 0 / 0


# ---- test runs ---------------------------------------------------------------------------------

TEST_RUNS = {
    "run_id": ["r1", "r2", "r3", "r4", "r5"],
    "started_at": ["2025-01-03 10:00:00", "2025-01-04 10:00:00", "2025-01-05 10:00:00", "2025-01-31 23:00:00",
                   "2025-02-01 00:00:00"],
    "duration_minutes": [10, 30, 20, 100, 7],
    "tests_total": [100, 50, None, 20, 10],
    "tests_failed": [5, 0, 3, None, 10],
}


def test_testing_speed_median_duration():
    frame = run(make_ws(test_runs=TEST_RUNS), "testing_speed", as_of="2025-03-31")
    assert_value(frame, "testing_speed", "2025-01-01", (20 + 30) / 2)  # median of 10, 20, 30, 100
    assert_value(frame, "testing_speed", "2025-02-01", 7)
    assert_value(frame, "testing_speed", "2025-03-01", None)  # a median of nothing is null


def test_test_pass_rate_uses_runs_with_both_parts():
    frame = run(make_ws(test_runs=TEST_RUNS), "test_pass_rate", as_of="2025-02-28")
    # r3 has no total and r4 no failed count: left out
    assert_value(frame, "test_pass_rate", "2025-01-01", ((100 - 5) + (50 - 0)) / (100 + 50))
    assert_value(frame, "test_pass_rate", "2025-02-01", (10 - 10) / 10)


# ---- tickets -----------------------------------------------------------------------------------

TICKETS = {
    "ticket_id": ["t1", "t2", "t3", "t4", "t5"],
    "created_at": ["2025-01-05 10:00:00", "2025-01-10 09:00:00", "2025-01-31 22:00:00", "2025-01-15 08:00:00",
                   "2025-02-02 08:00:00"],
    "first_response_at": ["2025-01-05 12:00:00", "2025-01-11 09:00:00", "2025-02-01 01:30:00", None,
                          "2025-02-02 08:45:00"],
    "escalated": ["true", "false", None, "true", "false"],  # an empty value counts as false
    "cost": [10, 25.5, None, 4.5, 7],
}


def test_escalated_tickets():
    frame = run(make_ws(tickets=TICKETS), "escalated_tickets", as_of="2025-03-31")
    assert_value(frame, "escalated_tickets", "2025-01-01", 2)  # t1, t4
    assert_value(frame, "escalated_tickets", "2025-02-01", 0)
    assert_value(frame, "escalated_tickets", "2025-03-01", 0)  # a count with nothing in it is 0


def test_escalation_rate_counts_empty_as_not_escalated():
    frame = run(make_ws(tickets=TICKETS), "escalation_rate", as_of="2025-03-31")
    assert_value(frame, "escalation_rate", "2025-01-01", 2 / 4)  # t3's empty value stays in the denominator
    assert_value(frame, "escalation_rate", "2025-02-01", 0 / 1)
    assert_value(frame, "escalation_rate", "2025-03-01", None)  # no tickets: 0 / 0


def test_support_response_time_median_hours():
    frame = run(make_ws(tickets=TICKETS), "support_response_time", as_of="2025-02-28")
    # Jan: t1 2 h, t2 24 h, t3 3.5 h (crosses into Feb but was created in Jan); t4 has no response
    assert_value(frame, "support_response_time", "2025-01-01", 3.5)  # median of 2, 3.5, 24
    assert_value(frame, "support_response_time", "2025-02-01", 45 / 60)


def test_support_cost():
    frame = run(make_ws(tickets=TICKETS), "support_cost", as_of="2025-03-31")
    assert_value(frame, "support_cost", "2025-01-01", 10 + 25.5 + 4.5)
    assert_value(frame, "support_cost", "2025-02-01", 7)
    assert_value(frame, "support_cost", "2025-03-01", 0)  # a sum with nothing in it is 0


# ---- uptime ------------------------------------------------------------------------------------

INCIDENTS = {
    "started_at": ["2025-01-10 10:00:00", "2025-01-10 10:30:00", "2025-01-10 10:15:00", "2025-01-31 23:00:00"],
    "ended_at": ["2025-01-10 11:00:00", "2025-01-10 12:00:00", "2025-01-10 10:45:00", "2025-02-01 01:00:00"],
}
# Jan 10: 10:00-11:00, 10:30-12:00 and 10:15-10:45 overlap: covered 10:00-12:00 = 120 minutes.
# Jan 31 23:00 - Feb 1 01:00 crosses the month boundary: 60 minutes in Jan, 60 in Feb.


def test_uptime_counts_overlaps_once_and_splits_at_period_boundary():
    frame = run(make_ws(incidents=INCIDENTS), "uptime", as_of="2025-03-31")
    assert_value(frame, "uptime", "2025-01-01", 1 - (120 + 60) / (31 * 24 * 60))
    assert_value(frame, "uptime", "2025-02-01", 1 - 60 / (28 * 24 * 60))
    assert_value(frame, "uptime", "2025-03-01", 1)  # no incident: uptime 1


def test_uptime_on_a_partial_period_counts_minutes_up_to_end_of_as_of_day():
    frame = run(make_ws(incidents=INCIDENTS), "uptime", as_of="2025-02-14")
    assert_value(frame, "uptime", "2025-02-01", 1 - 60 / (14 * 24 * 60))  # T = Feb 1 00:00 .. Feb 14 24:00


def test_uptime_by_day():
    frame = run(make_ws(incidents=INCIDENTS), "uptime", grain="day", as_of="2025-02-01")
    assert_value(frame, "uptime", "2025-01-10", 1 - 120 / 1440)
    assert_value(frame, "uptime", "2025-01-11", 1)
    assert_value(frame, "uptime", "2025-02-01", 1 - 60 / 1440)


# ---- compliance, employee satisfaction -------------------------------------------------------------

def test_compliance_rate_empty_passed_is_false():
    ws = make_ws(compliance={
        "date": ["2025-01-03", "2025-01-04", "2025-01-05", "2025-01-06"],
        "control": ["c1", "c2", "c3", "c4"],
        "passed": ["true", "false", None, "true"],
    })
    frame = run(ws, "compliance_rate", as_of="2025-02-28")
    assert_value(frame, "compliance_rate", "2025-01-01", 2 / 4)
    assert_value(frame, "compliance_rate", "2025-02-01", None)  # no checks in Feb


def test_employee_satisfaction_mean_of_employee_surveys():
    ws = make_ws(surveys={
        "date": ["2025-01-03", "2025-01-04", "2025-01-05", "2025-01-06", "2025-02-07"],
        "score": [8, 6, 10, 2, 9],
        "survey": ["employee", "employee", "nps", None, "employee"],  # empty type means nps
    })
    frame = run(ws, "employee_satisfaction", as_of="2025-03-31")
    assert_value(frame, "employee_satisfaction", "2025-01-01", (8 + 6) / 2)
    assert_value(frame, "employee_satisfaction", "2025-02-01", 9)
    assert_value(frame, "employee_satisfaction", "2025-03-01", None)


# ---- imported values (kpi_values) ----------------------------------------------------------------

KPI_VALUES = {
    "date": ["2025-01-05", "2025-01-20", "2025-03-10",  # custom KPI: happiness_index
             "2025-01-10", "2025-01-31", "2025-02-28",  # mrr (stock) with no subscriptions loaded
             "2025-01-10", "2025-01-20", "2025-02-05",  # revenue (currency flow)
             "2025-01-05", "2025-01-25",  # nps (score flow)
             "2025-01-10", "2025-01-12"],  # revenue rows of segments EU and US
    "kpi": ["happiness_index"] * 3 + ["mrr"] * 3 + ["revenue"] * 3 + ["nps"] * 2 + ["revenue"] * 2,
    "value": [3, 5, 4, 100, 120, 130, 50, 70, 30, 40, 20, 30, 20],
    "segment": [None] * 11 + ["EU", "US"],
}


def test_imported_custom_kpi_rolls_up_by_mean_and_leaves_gaps_null():
    frame = run(make_ws(kpi_values=KPI_VALUES), "happiness_index", as_of="2025-03-31")
    assert_value(frame, "happiness_index", "2025-01-01", (3 + 5) / 2)  # custom KPIs are ratios: mean
    assert_value(frame, "happiness_index", "2025-02-01", None)  # no imported value in Feb
    assert_value(frame, "happiness_index", "2025-03-01", 4)


def test_imported_custom_kpi_by_day():
    frame = run(make_ws(kpi_values=KPI_VALUES), "happiness_index", grain="day", as_of="2025-01-31")
    assert_value(frame, "happiness_index", "2025-01-05", 3)
    assert_value(frame, "happiness_index", "2025-01-06", None)


def test_imported_catalog_stock_kpi_takes_last_value():
    frame = run(make_ws(kpi_values=KPI_VALUES), "mrr", as_of="2025-03-31")
    assert_value(frame, "mrr", "2025-01-01", 120)  # last value of Jan (Jan 31), not 100 + 120
    assert_value(frame, "mrr", "2025-02-01", 130)
    quarter = run(make_ws(kpi_values=KPI_VALUES), "mrr", grain="quarter", as_of="2025-03-31")
    assert_value(quarter, "mrr", "2025-01-01", 130)  # the last value of Q1 (Feb 28)


def test_imported_currency_flow_sums_and_uses_only_unsegmented_rows():
    frame = run(make_ws(kpi_values=KPI_VALUES), "revenue", as_of="2025-03-31")
    assert_value(frame, "revenue", "2025-01-01", 50 + 70)  # EU 30 and US 20 rows are segment rows
    assert_value(frame, "revenue", "2025-02-01", 30)
    quarter = run(make_ws(kpi_values=KPI_VALUES), "revenue", grain="quarter", as_of="2025-03-31")
    assert_value(quarter, "revenue", "2025-01-01", 50 + 70 + 30)


def test_imported_score_flow_takes_the_mean():
    frame = run(make_ws(kpi_values=KPI_VALUES), "nps", as_of="2025-03-31")
    assert_value(frame, "nps", "2025-01-01", (40 + 20) / 2)


def test_imported_values_by_segment_group_by_segment_text():
    frame = run(make_ws(kpi_values=KPI_VALUES), "revenue", as_of="2025-03-31", segment="segment")
    assert_value(frame, "revenue", "2025-01-01", 30, segment="EU")
    assert_value(frame, "revenue", "2025-01-01", 20, segment="US")


def test_computed_values_win_over_imported_ones():
    ws = make_ws(kpi_values=KPI_VALUES, subscriptions={
        "customer_id": ["A"], "start_date": ["2025-01-01"], "end_date": [None], "mrr": [99]})
    frame = run(ws, "mrr", as_of="2025-03-31")
    assert_value(frame, "mrr", "2025-01-01", 99)  # computed, not the imported 120
