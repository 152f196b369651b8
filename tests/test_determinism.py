"""Same output every run: events at the same moment, internal aliases and user column names.

Sessions without a session_id are split by the 30-minute rule; events of one user at the same
timestamp must always fall in the same session, whatever order the engine reads ties in and
however many threads it uses. And no internal alias of the KPI SQL may meet a user's column name
(a customers file with a column ``_rn``, a breakdown by a column named ``rn``).
"""
from __future__ import annotations

import random

import pandas as pd
import pytest

from engine_fixtures import postgres_url  # noqa: F401 — pytest fixture
import engine_sources
from kpi import engines
from kpi.compute import compute
from kpi_helpers import assert_value, make_ws, run, without_prepared

SESSION_KPIS = ["avg_session_duration", "actions_per_session", "active_users"]


def tied_events(users: int = 400, seed: int = 7) -> pd.DataFrame:
    """Many users, each with bursts of events at the very same second, around 30-minute gaps."""
    rng = random.Random(seed)
    rows = []
    for u in range(users):
        t = pd.Timestamp("2025-03-01 08:00:00") + pd.Timedelta(minutes=rng.randrange(0, 600))
        for _ in range(rng.randrange(3, 12)):
            t += pd.Timedelta(minutes=rng.choice([0, 0, 5, 29, 30, 31, 45, 120]))
            for _ in range(rng.choice([1, 2, 3, 5])):          # a burst: several events at one moment
                rows.append((f"u{u}", t.strftime("%Y-%m-%d %H:%M:%S"), rng.choice(["view", "click", "save"]),
                             rng.choice(["DE", "FR", "US"])))
    rng.shuffle(rows)                                           # ties arrive in no particular order
    return pd.DataFrame(rows, columns=["user_id", "timestamp", "event", "country"])


def test_tied_timestamps_fall_in_one_session_worked_by_hand():
    ws = make_ws(events={
        "user_id": ["a"] * 6,
        # 10:00 x3 and 10:20: one session (20 min); 11:00 x2, 60 and 40 min later: a new one.
        "timestamp": ["2025-01-10 11:00:00", "2025-01-10 10:00:00", "2025-01-10 10:00:00",
                      "2025-01-10 11:00:00", "2025-01-10 10:20:00", "2025-01-10 10:00:00"],
        "event": ["x"] * 6})
    for data in (ws, without_prepared(ws)):
        frame = run(data, ["avg_session_duration", "actions_per_session"], as_of="2025-01-31")
        assert_value(frame, "avg_session_duration", "2025-01-01", (20 + 0) / 2)   # minutes
        assert_value(frame, "actions_per_session", "2025-01-01", (4 + 2) / 2)


def _threads(ws, n: int) -> None:
    with ws.cursor() as cur:
        cur.execute(f"SET GLOBAL threads = {n}")


@pytest.mark.parametrize("segment", [None, "country"])   # prepared sessions, and sessions cut per country
def test_sessions_are_the_same_with_any_number_of_threads_and_every_run(segment):
    # Big enough for DuckDB to split the work between threads: the rule that ordered ties one way
    # to flag a new session and another way to number it gave 4 different answers in 5 runs here.
    ws = make_ws(events=tied_events(8000))
    results = set()
    for threads in (1, 2, 4, 2, 4):
        _threads(ws, threads)
        results.add(compute(ws, SESSION_KPIS, grain="month", segment=segment).to_csv())
    assert len(results) == 1


def test_postgres_sessions_equal_duckdbs_with_tied_timestamps(postgres_url):  # noqa: F811
    ws = make_ws(events=tied_events(150))
    engine_sources.to_postgres(ws, postgres_url, schema="ties")
    engine = engines.open_engine("postgres", postgres_url, "ties")
    expected = compute(ws, SESSION_KPIS, grain="day").to_csv()
    for _ in range(2):
        assert compute(engines.attach(ws, engine), SESSION_KPIS, grain="day").to_csv() == expected


# -- internal aliases never meet a user's column ------------------------------------------------
CUSTOMERS = {"customer_id": ["c1", "c1", "c2", "c3"],
             "signup_date": ["2025-01-05", "2025-01-02", "2025-01-20", "2025-02-03"],
             "_rn": ["7", "8", "9", "10"], "rn": ["pro", "free", "pro", "free"], "_kpi_rn": ["x", "y", "z", "w"]}


def test_a_users_columns_named_like_internal_aliases_change_nothing():
    plain = make_ws(customers={k: v for k, v in CUSTOMERS.items() if k in ("customer_id", "signup_date", "rn")})
    clashing = make_ws(customers=CUSTOMERS)
    for segment in (None, "rn", "_rn", "_kpi_rn"):
        frame = run(clashing, "signups", as_of="2025-02-28", segment=segment)
        assert not frame.empty
    # c1 counts once, on its earliest signup (Jan 2, its "rn" is free): Jan 2 signups, Feb 1.
    by_rn = run(clashing, "signups", as_of="2025-02-28", segment="rn")
    assert_value(by_rn, "signups", "2025-01-01", 1, segment="free")
    assert_value(by_rn, "signups", "2025-01-01", 1, segment="pro")
    assert run(plain, "signups", as_of="2025-02-28", segment="rn").to_csv() == by_rn.to_csv()


def test_customers_listed_twice_on_one_day_give_one_answer_whatever_the_row_order():
    rows = {"customer_id": ["c1", "c1", "c2"], "signup_date": ["2025-01-05", "2025-01-05", "2025-01-06"],
            "plan": ["pro", "free", "pro"]}
    flipped = {k: list(reversed(v)) for k, v in rows.items()}
    a = run(make_ws(customers=rows), "signups", as_of="2025-01-31", segment="plan")
    b = run(make_ws(customers=flipped), "signups", as_of="2025-01-31", segment="plan")
    assert a.to_csv() == b.to_csv()
    assert_value(a, "signups", "2025-01-01", 1, segment="free")   # the tie goes to the first plan by name
