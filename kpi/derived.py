"""Tables prepared once when events land, so every KPI over 10M events reads a few million rows.

User-days (events per user per day), sessions and the users' MAU30 coverage islands depend only
on the events table, so ingest builds them in the same transaction as the events themselves:
they can never disagree with the data. A computation uses them when they are exact for its
question — no segment taken from an events column, and no events after the as-of date (sessions
and islands would otherwise include later events) — and computes from the raw events otherwise.

The same holds for the tables of other datasets (the MRR timeline, each customer's first paid
day, the month grain's active users and paying customers, the use of released features): each is
rebuilt whenever a dataset it reads changes, and read only when it gives exactly what the raw
data would (``tests/test_derived.py``, ``tests/test_compute_speedpaths.py``).
"""
from __future__ import annotations

SESSION_GAP_MINUTES = 30
USER_DAYS, SESSIONS, MAU_ISLANDS = "_kpi_user_days", "_kpi_sessions", "_kpi_mau_islands"
MRR_TIMELINE = "_kpi_mrr_timeline"
RELEASE_USE = "_kpi_release_use"
USER_MONTHS = "_kpi_user_months"
PAYER_MONTHS = "_kpi_payer_months"
FIRST_PAID = "_kpi_first_paid"
TABLES = (USER_DAYS, SESSIONS, MAU_ISLANDS)
# Subscription rows with a negative mrr, or an end_date not after start_date, are left out of every KPI.
VALID_SUBSCRIPTIONS = "mrr >= 0 AND (end_date IS NULL OR end_date > start_date)"
# The rows of a dataset that every KPI reads (catalog and custom KPIs alike).
BASE_FILTERS = {"subscriptions": VALID_SUBSCRIPTIONS}


# The columns of the MRR timeline; a prepared table without all of them (made by an older version)
# is not used: the timeline is computed from the subscriptions instead.
TIMELINE_COLUMNS = ("seg", "customer_id", "d", "c", "next_d", "prev_c", "first_mrr")
# Feature adoption counts a release for 90 days after it ships (kpis.md).
ADOPTION_WINDOW_DAYS = 90


def mrr_timeline_sql(source: str, seg: str = "CAST(NULL AS VARCHAR)") -> str:
    """Each customer's MRR c(x, d) as change points: c holds from day d until next_d (exclusive).

    c(x, d) only changes on a row's start_date (+mrr) or end_date (-mrr). Sums of +/- floats are
    rounded so that a customer who left is at exactly 0. ``prev_c`` is c the day before d (0
    before the first change) and ``first_mrr`` the customer's first day with c > 0 (null if none):
    the MRR movements read them instead of ordering each customer's timeline on every call.
    """
    return f"""
        WITH deltas AS (
            SELECT {seg} AS seg, customer_id, start_date AS d, mrr AS delta FROM {source}
            UNION ALL
            SELECT {seg} AS seg, customer_id, end_date AS d, -mrr AS delta FROM {source} WHERE end_date IS NOT NULL),
             by_day AS (SELECT seg, customer_id, d, sum(delta) AS delta FROM deltas GROUP BY seg, customer_id, d),
             running AS (
                SELECT seg, customer_id, d,
                       round(sum(delta) OVER (PARTITION BY seg, customer_id ORDER BY d ROWS UNBOUNDED PRECEDING), 6) AS c,
                       lead(d) OVER (PARTITION BY seg, customer_id ORDER BY d) AS next_d
                FROM by_day)
        SELECT seg, customer_id, d, c, next_d,
               COALESCE(lag(c) OVER (PARTITION BY seg, customer_id ORDER BY d), 0) AS prev_c,
               min(CASE WHEN c > 0 THEN d END) OVER (PARTITION BY seg, customer_id) AS first_mrr
        FROM running"""


def release_use_sql(events: str, releases: str) -> str:
    """The days each user used an event that marks a release, within the adoption window of one
    of its releases: a day outside every window [released, released + 90) never makes an adopter
    (an adopter's use falls on or after the release and on or before t(P) < released + 90)."""
    return f"""
        WITH e AS (SELECT user_id, event, CAST("timestamp" AS DATE) AS d FROM {events}
                   WHERE event IN (SELECT event FROM {releases} WHERE event IS NOT NULL))
        SELECT DISTINCT CAST(NULL AS VARCHAR) AS seg, e.user_id, e.event, e.d FROM e
        WHERE EXISTS (SELECT 1 FROM {releases} r WHERE r.event = e.event AND e.d >= r.released_date
                      AND e.d < r.released_date + {ADOPTION_WINDOW_DAYS})"""


def user_days_sql(events: str, seg: str = "CAST(NULL AS VARCHAR)") -> str:
    return (f"SELECT {seg} AS seg, user_id, CAST(\"timestamp\" AS DATE) AS d, count(*) AS events "
            f"FROM {events} GROUP BY 1, 2, 3")


def user_months_sql(user_days: str) -> str:
    """Each user's active months (the month grain's active users), the first active day in each
    (so a cut at the as-of date stays exact) and whether the user was active the month before."""
    return f"""
        WITH m AS (SELECT user_id, CAST(date_trunc('month', d) AS DATE) AS p, min(d) AS first_d
                   FROM {user_days} GROUP BY user_id, p)
        SELECT CAST(NULL AS VARCHAR) AS seg, user_id, p, first_d,
               COALESCE(lag(p) OVER (PARTITION BY user_id ORDER BY p) = CAST(p - INTERVAL 1 MONTH AS DATE), false)
                   AS active_before
        FROM m"""


def first_paid_sql(subscriptions: str | None, payments: str | None) -> str:
    """Each customer's first paid day: the earliest start of a subscription row with mrr > 0 or
    payment with amount > 0 (a cut at the as-of date keeps the customers whose day is not after it)."""
    parts = [f"SELECT customer_id, start_date AS d FROM {subscriptions} WHERE mrr > 0"] if subscriptions else []
    parts += [f"SELECT customer_id, date AS d FROM {payments} WHERE amount > 0"] if payments else []
    return (f"SELECT CAST(NULL AS VARCHAR) AS seg, customer_id, min(d) AS first_paid "
            f"FROM ({' UNION ALL '.join(parts)}) t GROUP BY customer_id")


def payer_months_sql(payments: str) -> str:
    """The months each customer paid something (amount > 0), with the first such day in each
    (so a cut at the as-of date stays exact): the month grain's paying customers."""
    return (f"SELECT CAST(NULL AS VARCHAR) AS seg, customer_id, CAST(date_trunc('month', date) AS DATE) AS p, "
            f"min(date) AS first_d FROM {payments} WHERE amount > 0 GROUP BY customer_id, p")


def sessions_sql(events: str, seg: str = "CAST(NULL AS VARCHAR)") -> str:
    """Sessions (kpis.md): one (user_id, session_id), or a user's events split by gaps over 30 minutes.

    The gap rule works on each user's distinct timestamps, with their event counts: events at the
    same moment are one step of the order, so they always fall in the same session (ordering
    tied rows one way to flag a new session and another way to number it split them at random).
    """
    gap_us = SESSION_GAP_MINUTES * 60 * 1_000_000
    return f"""
        WITH e AS (SELECT {seg} AS seg, user_id, "timestamp" AS ts, session_id FROM {events}),
             with_id AS (SELECT seg, user_id, 'id:' || session_id AS session_key, ts, 1 AS n FROM e
                         WHERE session_id IS NOT NULL AND session_id <> ''),
             moments AS (SELECT seg, user_id, ts, count(*) AS n FROM e
                         WHERE session_id IS NULL OR session_id = '' GROUP BY seg, user_id, ts),
             flagged AS (SELECT seg, user_id, ts, n,
                            CASE WHEN date_diff('microsecond', lag(ts) OVER (PARTITION BY seg, user_id ORDER BY ts), ts)
                                      <= {gap_us} THEN 0 ELSE 1 END AS brk
                         FROM moments),
             gapped AS (SELECT seg, user_id, 'gap:' || CAST(sum(brk) OVER (PARTITION BY seg, user_id ORDER BY ts
                               ROWS UNBOUNDED PRECEDING) AS VARCHAR) AS session_key, ts, n FROM flagged)
        SELECT seg, user_id, min(ts) AS started, max(ts) AS ended, CAST(sum(n) AS BIGINT) AS events
        FROM (SELECT * FROM with_id UNION ALL SELECT * FROM gapped) s
        GROUP BY seg, user_id, session_key"""


def mau_islands_sql(user_days: str) -> str:
    """Each active day covers the 30 days [d, d+29] of MAU30; a user's overlapping covers merge."""
    return f"""
        WITH m AS (SELECT seg, user_id, d,
                      CASE WHEN date_diff('day', lag(d) OVER (PARTITION BY seg, user_id ORDER BY d), d) <= 30
                           THEN 0 ELSE 1 END AS brk
                   FROM {user_days}),
             n AS (SELECT *, sum(brk) OVER (PARTITION BY seg, user_id ORDER BY d ROWS UNBOUNDED PRECEDING) AS island
                   FROM m)
        SELECT seg, user_id, min(d) AS covered_from, CAST(max(d) + 29 AS DATE) AS covered_to
        FROM n GROUP BY seg, user_id, island"""


def _exists(cur, table: str) -> bool:
    return bool(cur.execute("SELECT 1 FROM information_schema.tables WHERE table_name = ? "
                            "AND table_schema = 'main'", [table]).fetchall())


def refresh(cur, dataset: str) -> None:
    """Rebuild the prepared tables after ``dataset`` changed (inside the caller's transaction)."""
    if dataset in ("subscriptions", "payments"):
        cur.execute(f"DROP TABLE IF EXISTS {FIRST_PAID}")
        subscriptions = f"(SELECT * FROM subscriptions WHERE {VALID_SUBSCRIPTIONS})" \
            if _exists(cur, "subscriptions") else None
        payments = "payments" if _exists(cur, "payments") else None
        if subscriptions or payments:
            cur.execute(f"CREATE TABLE {FIRST_PAID} AS {first_paid_sql(subscriptions, payments)}")
    if dataset == "subscriptions":
        cur.execute(f"DROP TABLE IF EXISTS {MRR_TIMELINE}")
        if _exists(cur, "subscriptions"):
            cur.execute(f"CREATE TABLE {MRR_TIMELINE} AS "
                        f"{mrr_timeline_sql(f'(SELECT * FROM subscriptions WHERE {VALID_SUBSCRIPTIONS})')}")
        return
    if dataset == "payments":
        cur.execute(f"DROP TABLE IF EXISTS {PAYER_MONTHS}")
        if _exists(cur, "payments"):
            cur.execute(f"CREATE TABLE {PAYER_MONTHS} AS {payer_months_sql('payments')}")
        return
    if dataset in ("events", "releases"):
        # The days each user used an event that marks a release (feature adoption reads only these).
        cur.execute(f"DROP TABLE IF EXISTS {RELEASE_USE}")
        if _exists(cur, "events") and _exists(cur, "releases"):
            cur.execute(f"CREATE TABLE {RELEASE_USE} AS {release_use_sql('events', 'releases')}")
    if dataset != "events":
        return
    exists = cur.execute("SELECT 1 FROM information_schema.tables WHERE table_name = 'events' "
                         "AND table_schema = 'main'").fetchall()
    for t in TABLES + (USER_MONTHS,):
        cur.execute(f"DROP TABLE IF EXISTS {t}")
    if not exists:
        return
    cur.execute(f"CREATE TABLE {USER_DAYS} AS {user_days_sql('events')}")
    cur.execute(f"CREATE TABLE {USER_MONTHS} AS {user_months_sql(USER_DAYS)}")
    cur.execute(f"CREATE TABLE {SESSIONS} AS {sessions_sql('events')}")
    cur.execute(f"CREATE TABLE {MAU_ISLANDS} AS {mau_islands_sql(USER_DAYS)}")


ALL_TABLES = TABLES + (MRR_TIMELINE, RELEASE_USE, USER_MONTHS, PAYER_MONTHS, FIRST_PAID)


def has_first_paid(cur) -> bool:
    return _exists(cur, FIRST_PAID)


def has_payer_months(cur) -> bool:
    return _exists(cur, PAYER_MONTHS)


def has_user_months(cur) -> bool:
    return _exists(cur, USER_MONTHS)


def has_release_use(cur) -> bool:
    return _exists(cur, RELEASE_USE)


def has_timeline(cur) -> bool:
    found = {r[0] for r in cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                       "AND table_schema = 'main'", [MRR_TIMELINE]).fetchall()}
    return found.issuperset(TIMELINE_COLUMNS)


def available(cur) -> bool:
    found = cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                        f"AND table_name IN ({', '.join(repr(t) for t in TABLES)})").fetchall()[0][0]
    return found == len(TABLES)
