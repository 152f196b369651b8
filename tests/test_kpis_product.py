"""Oracle tests for the product development KPIs: tiny tables, answers worked out by hand."""
from __future__ import annotations

from kpi_helpers import assert_value, d, make_ws, periods_of, run

RELEASES = {
    "feature": ["r1", "r2", "r3", "r4", "r5", "r6", "r7"],
    "released_date": ["2025-01-11", "2025-01-20", "2025-01-14", "2025-01-25", "2025-02-03", "2025-02-21",
                      "2025-03-05"],  # r7 is after A = Feb 28
    "started_date": ["2025-01-01", "2024-12-15", "2025-01-10", None, "2025-01-20", "2025-02-01", "2025-02-01"],
}


def test_time_to_market_median_days():
    frame = run(make_ws(releases=RELEASES), "time_to_market", as_of="2025-02-28")
    # Jan: r1 10 days, r2 36 days (Dec 15 -> Jan 20), r3 4 days; r4 has no started_date
    assert_value(frame, "time_to_market", "2025-01-01", 10)  # median of 4, 10, 36
    # Feb: r5 14 days, r6 20 days -> median of an even count is the mean of the middle two
    assert_value(frame, "time_to_market", "2025-02-01", (14 + 20) / 2)


def test_releases_shipped():
    frame = run(make_ws(releases=RELEASES), "releases_shipped", as_of="2025-02-28")
    assert_value(frame, "releases_shipped", "2025-01-01", 4)  # r1..r4 (r4 counts without started_date)
    assert_value(frame, "releases_shipped", "2025-02-01", 2)  # r5, r6; r7 is after A
    assert periods_of(frame, "releases_shipped") == [d("2025-01-01"), d("2025-02-01")]


def test_feature_adoption_rate_window_and_release_date():
    ws = make_ws(
        releases={
            "feature": ["Export", "Old", "Beta", "Chart"],
            "released_date": ["2025-02-10", "2024-06-01", "2024-11-30", "2024-12-01"],
            "event": ["export", "old_feature", "beta", "chart"],
        },
        events={
            "user_id": ["u1", "u1", "u2", "u3", "u4", "u4", "u5", "u1", "u1"],
            "timestamp": ["2025-01-15 10:00:00", "2025-02-05 10:00:00", "2025-02-10 10:00:00",
                          "2025-02-15 10:00:00", "2025-02-20 10:00:00", "2025-02-21 10:00:00",
                          "2025-02-22 10:00:00", "2025-02-20 11:00:00", "2025-06-05 10:00:00"],
            "event": ["login", "export", "export", "old_feature", "login", "beta", "chart", "login", "export"],
        },
    )
    frame = run(ws, "feature_adoption_rate", as_of="2025-06-30")
    # Feb: t = Feb 28, releases in (2024-11-30, 2025-02-28]: Export (Feb 10), Chart (Dec 1);
    #   Beta (Nov 30 = t - 90 days) is out, Old is out.
    #   u1 used export on Feb 5, before its release: no; u2 on Feb 10, the release day: yes;
    #   u3 old_feature: no; u4 beta: no; u5 chart: yes.  Active users u1..u5.
    assert_value(frame, "feature_adoption_rate", "2025-02-01", 2 / 5)
    # Jan: t = Jan 31, window (2024-11-02, 2025-01-31] holds Beta and Chart; u1 only logged in
    assert_value(frame, "feature_adoption_rate", "2025-01-01", 0 / 1)
    # Jun: t = Jun 30, window (2025-04-01, 2025-06-30] holds no release: null although u1 is active
    assert_value(frame, "feature_adoption_rate", "2025-06-01", None)


SPRINTS = {
    "sprint": ["s1", "s2", "s3"],
    "end_date": ["2025-01-10", "2025-01-24", "2025-02-07"],
    "completed_points": [20, 30, 10],
    "committed_points": [25, None, 20],  # s2 has no commitment
}


def test_velocity_mean_completed_points():
    frame = run(make_ws(sprints=SPRINTS), "velocity", as_of="2025-03-31")
    assert_value(frame, "velocity", "2025-01-01", (20 + 30) / 2)
    assert_value(frame, "velocity", "2025-02-01", 10)
    assert_value(frame, "velocity", "2025-03-01", None)  # a mean with nothing in it is null


def test_say_do_ratio_uses_only_sprints_with_both_parts():
    frame = run(make_ws(sprints=SPRINTS), "say_do_ratio", as_of="2025-02-28")
    assert_value(frame, "say_do_ratio", "2025-01-01", 20 / 25)  # s2 left out: not (20 + 30) / 25
    assert_value(frame, "say_do_ratio", "2025-02-01", 10 / 20)
