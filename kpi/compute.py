"""Compute any set of KPIs at any grain, date range, as-of date and segment, in DuckDB SQL.

One function, :func:`compute`, serves the app and the CLI. It follows every rule of
``../shared/spec/kpis.md``: a period grid up to the as-of date ``A`` with partial periods marked,
rows after ``A`` ignored, empty periods filled (0 for counts and sums, null for means and ratios,
1 for uptime), ratios from numerator and denominator only, and segment breakdowns that compute
each value as if the data held only that value's rows.

The SQL is kept to standard forms (window functions, ``percentile_cont``, ``date_trunc``,
``generate_series``) so the definitions could move to a warehouse; each KPI's SQL returns rows of
``(p, seg, num, den, val)`` for the periods where something happened and the engine completes the grid.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

import pandas as pd

from . import catalog, custom, derived, engines, limits, quality
from .datasets import DATASETS, SQL_TYPES, primary_date_sql
from .errors import InputError
from .segments import candidate_columns
from .workspace import Workspace, quote_ident

GRAINS = ("day", "week", "month", "quarter", "year")
STEP = {"day": "INTERVAL 1 DAY", "week": "INTERVAL 7 DAY", "month": "INTERVAL 1 MONTH",
        "quarter": "INTERVAL 3 MONTH", "year": "INTERVAL 1 YEAR"}
OUTPUT_COLUMNS = ["kpi", "grain", "period", "segment", "value", "numerator", "denominator", "partial"]


# ---------------------------------------------------------------------------------------------
# The as-of date
# ---------------------------------------------------------------------------------------------
def _dates_of(dataset: str, prepared: bool) -> tuple[str, str]:
    """(table, date expression) to read a dataset's primary dates from: events' prepared user-days
    hold exactly its dates in a fifth of the rows."""
    if dataset == "events" and prepared:
        return derived.USER_DAYS, "d"
    return quote_ident(dataset), primary_date_sql(dataset)


def as_of_date(ws: Workspace, today: dt.date | None = None) -> dt.date | None:
    """The latest date, not after today, on which any loaded dataset has a row (kpis.md)."""
    today = today or dt.date.today()
    loaded = ws.datasets()
    if not loaded:
        return None
    with engines.of(ws).session() as s:
        prepared = _user_days_prepared(s)
        parts = []
        for d in loaded:
            table, expr = _dates_of(d, prepared)
            parts.append(f"SELECT max({expr}) AS d FROM {table} WHERE {expr} <= ?")
        return s.rows(f"SELECT max(d) FROM ({' UNION ALL '.join(parts)}) t", [today] * len(parts))[0][0]


def _user_days_prepared(s) -> bool:
    """Whether the events' tables prepared at ingest are there (DuckDB workspaces only)."""
    return set(derived.TABLES) <= s.prepared


def period_start(day: dt.date, grain: str) -> dt.date:
    """The first day of the period of ``grain`` holding ``day`` (as date_trunc: weeks start on Monday)."""
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return dt.date(day.year, 1, 1)


def _to_date(value, what: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{what} {value!r} is not a date — use the ISO form, e.g. 2025-01-31") from None


# ---------------------------------------------------------------------------------------------
# How each KPI is computed
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KpiSql:
    """The machine side of one catalog KPI.

    ``counts``: the datasets whose rows the KPI counts (a segment breakdown needs each of them to
    carry the segment); ``fill``: what an empty period gets ('zero' for counts and sums, 'null' for
    means and medians, 'ratio' for num/den); ``sql``: builds the query from the run's context;
    ``gridded``: the query already returns every (period, segment) with its own empty values.
    """
    id: str
    counts: tuple[str, ...]
    fill: str
    sql: Callable[["Run"], str]
    gridded: bool = False
    needs_tables: tuple[str, ...] = ()


REGISTRY: dict[str, KpiSql] = {}


def _kpi(id: str, counts: Iterable[str], fill: str, *, gridded: bool = False, uses: Iterable[str] = ()):
    def register(fn):
        REGISTRY[id] = KpiSql(id, tuple(counts), fill, fn, gridded, tuple(uses))
        return fn
    return register


# -- the MRR family (all from the customer-MRR movements table _mm) ---------------------------
def _mm_kpi(id, fill, expr_val=None, num=None, den=None):
    def sql(run):
        if num is not None:
            return f"SELECT p, seg, {num} AS num, {den} AS den, CAST(NULL AS DOUBLE) AS val FROM _mm"
        return f"SELECT p, seg, CAST(NULL AS DOUBLE) AS num, CAST(NULL AS DOUBLE) AS den, {expr_val} AS val FROM _mm"
    REGISTRY[id] = KpiSql(id, ("subscriptions",), fill, sql, False, ("_mm",))


_mm_kpi("mrr", "zero", "mrr_b")
_mm_kpi("arr", "zero", "12 * mrr_b")
_mm_kpi("mrr_growth_rate", "ratio", num="mrr_b - mrr_a", den="mrr_a")
_mm_kpi("new_mrr", "zero", "new_mrr")
_mm_kpi("expansion_mrr", "zero", "expansion_mrr")
_mm_kpi("contraction_mrr", "zero", "contraction_mrr")
_mm_kpi("churned_mrr", "zero", "churned_mrr")
_mm_kpi("reactivation_mrr", "zero", "reactivation_mrr")
_mm_kpi("net_new_mrr", "zero", "new_mrr + reactivation_mrr + expansion_mrr - contraction_mrr - churned_mrr")
_mm_kpi("paying_customers", "zero", "paying_b")
_mm_kpi("arpa", "ratio", num="mrr_b", den="paying_b")
_mm_kpi("customer_churn_rate", "ratio", num="churned_customers", den="paying_a")
_mm_kpi("gross_mrr_churn_rate", "ratio", num="churned_mrr + contraction_mrr", den="mrr_a")
_mm_kpi("net_mrr_retention", "ratio", num="mrr_a + expansion_mrr - contraction_mrr - churned_mrr", den="mrr_a")
_mm_kpi("quick_ratio", "ratio", num="new_mrr + reactivation_mrr + expansion_mrr", den="contraction_mrr + churned_mrr")


@_kpi("clv", ("subscriptions",), "null", uses=("_mm", "_clv"))
def _clv(run):
    return "SELECT p, seg, num, den, CAST(NULL AS DOUBLE) AS val FROM _clv"


@_kpi("renewal_rate", ("subscriptions",), "ratio", uses=("_timeline",))
def _renewal_rate(run):
    a = run.lit_date(run.as_of)
    months = "CASE b.billing_period WHEN 'quarter' THEN 3 WHEN 'year' THEN 12 ELSE 1 END"

    def plus(n):  # the day n months after start_date (clamped to the month's last day)
        return f"CAST(start_date + CAST({n} AS INTEGER) * INTERVAL 1 MONTH AS DATE)"

    def months_between(x, y):  # month boundaries crossed from x to y (what DuckDB's date_diff('month') counts)
        return f"((EXTRACT(YEAR FROM {y}) * 12 + EXTRACT(MONTH FROM {y})) - (EXTRACT(YEAR FROM {x}) * 12 + EXTRACT(MONTH FROM {x})))"
    # A row with mrr > 0 is due to renew on r_k = start + k billing periods. Renewal k counts when
    # r_k <= A and the row had not ended by r_(k-1): k = 1 .. k_max, where k_max is the smaller of
    # the last k due by A and the first k due on or after the row's end (r_k grows with k). Every
    # renewal before the last finds the row still running; the last one, if the row ended by
    # then, is renewed when the customer still pays on r: c(x, r) > 0 (mrr is never negative here).
    return f"""
    WITH paid AS (
        SELECT b.seg, b.customer_id, b.start_date, b.end_date, {months} AS months,
               {months_between('b.start_date', a)} AS to_a, {months_between('b.start_date', 'b.end_date')} AS to_end
        FROM _b_subscriptions b WHERE b.mrr > 0
    ), bounded AS (  -- by_a: the last k with r_k <= A; by_end: the first k with r_k >= end_date
        SELECT seg, customer_id, start_date, end_date, months,
               CAST(floor((to_a - CASE WHEN {plus('to_a')} > {a} THEN 1 ELSE 0 END) / months) AS INTEGER) AS by_a,
               CAST(ceil((to_end + CASE WHEN {plus('to_end')} < end_date THEN 1 ELSE 0 END) / months) AS INTEGER) AS by_end
        FROM paid
    ), counted AS (
        SELECT seg, customer_id, start_date, end_date, months, k_max, {plus('k_max * months')} AS last_day
        FROM (SELECT *, CASE WHEN end_date IS NULL THEN by_a ELSE LEAST(by_a, by_end) END AS k_max FROM bounded)
        WHERE k_max > 0
    ), judged AS (  -- the lookup, once per row: only a row that ended by its last renewal needs it
        SELECT c.seg, c.start_date, c.months, c.k_max,
               CASE WHEN c.end_date IS NULL OR c.end_date > c.last_day THEN 1 WHEN tl.c > 0 THEN 1 ELSE 0 END AS last_renewed
        FROM counted c LEFT JOIN _timeline tl
          ON c.end_date <= c.last_day AND tl.customer_id = c.customer_id AND tl.seg IS NOT DISTINCT FROM c.seg
         AND tl.d <= c.last_day AND (tl.next_d IS NULL OR tl.next_d > c.last_day)
    ), same_days AS (  -- rows alike in these are due on the same days: list those days once
        SELECT seg, start_date, months, k_max, last_renewed, count(*) AS n_rows
        FROM judged GROUP BY seg, start_date, months, k_max, last_renewed
    ), due AS (
        SELECT seg, {plus('k * months')} AS renew_day, n_rows,
               n_rows * CASE WHEN k = k_max THEN last_renewed ELSE 1 END AS renewed
        FROM (SELECT *, unnest(generate_series(1, k_max)) AS k FROM same_days)
    )
    SELECT {run.period('renew_day')} AS p, seg, sum(renewed) AS num, sum(n_rows) AS den, CAST(NULL AS DOUBLE) AS val
    FROM due GROUP BY 1, 2"""


# -- payments -------------------------------------------------------------------------------
@_kpi("revenue", ("payments",), "zero")
def _revenue(run):
    return f"SELECT {run.period('date')} AS p, seg, CAST(NULL AS DOUBLE) AS num, CAST(NULL AS DOUBLE) AS den, sum(amount) AS val FROM _b_payments GROUP BY 1, 2"


@_kpi("arppu", ("payments",), "ratio")
def _arppu(run):
    return f"""
    WITH rev AS (SELECT {run.period('date')} AS p, seg, sum(amount) AS revenue FROM _b_payments GROUP BY 1, 2),
         payers AS ({run.payers_sql()})
    SELECT rev.p, rev.seg, rev.revenue AS num, COALESCE(payers.n, 0) AS den, CAST(NULL AS DOUBLE) AS val
    FROM rev LEFT JOIN payers ON payers.p = rev.p AND payers.seg IS NOT DISTINCT FROM rev.seg"""


@_kpi("arpu", ("payments", "events"), "ratio", uses=("_up",))
def _arpu(run):
    return f"""
    WITH rev AS (SELECT {run.period('date')} AS p, seg, sum(amount) AS revenue FROM _b_payments GROUP BY 1, 2),
         au AS (SELECT p, seg, count(*) AS users FROM _up GROUP BY 1, 2)
    SELECT COALESCE(rev.p, au.p) AS p, COALESCE(rev.seg, au.seg) AS seg,
           COALESCE(rev.revenue, 0) AS num, COALESCE(au.users, 0) AS den, CAST(NULL AS DOUBLE) AS val
    FROM rev FULL JOIN au ON rev.p = au.p AND rev.seg IS NOT DISTINCT FROM au.seg"""


@_kpi("new_product_revenue_share", ("payments",), "ratio")
def _new_product_revenue_share(run):
    return f"""
    WITH launch AS (SELECT product, min(released_date) AS launched FROM _b_releases
                    WHERE product IS NOT NULL GROUP BY product),
         pay AS (SELECT {run.period('date')} AS p, seg, product, amount FROM _b_payments)
    SELECT pay.p, pay.seg,
           sum(CASE WHEN l.launched > per.t - 365 AND l.launched <= per.t THEN pay.amount ELSE 0 END) AS num,
           sum(pay.amount) AS den, CAST(NULL AS DOUBLE) AS val
    FROM pay JOIN _periods per ON per.p = pay.p LEFT JOIN launch l ON l.product = pay.product
    GROUP BY 1, 2"""


# -- surveys --------------------------------------------------------------------------------
@_kpi("nps", ("surveys",), "ratio")
def _nps(run):
    return f"""SELECT {run.period('date')} AS p, seg,
        100.0 * (count(CASE WHEN score >= 9 THEN 1 END) - count(CASE WHEN score <= 6 THEN 1 END)) AS num,
        count(*) AS den, CAST(NULL AS DOUBLE) AS val
    FROM _b_surveys WHERE survey_type = 'nps' AND score >= 0 AND score <= 10 GROUP BY 1, 2"""


@_kpi("employee_satisfaction", ("surveys",), "ratio")
def _employee_satisfaction(run):
    return f"""SELECT {run.period('date')} AS p, seg, sum(score) AS num, count(score) AS den, CAST(NULL AS DOUBLE) AS val
    FROM _b_surveys WHERE survey_type = 'employee' GROUP BY 1, 2"""


# -- customers ------------------------------------------------------------------------------
@_kpi("signups", ("customers",), "zero")
def _signups(run):
    return f"SELECT {run.period('signup_date')} AS p, seg, CAST(NULL AS DOUBLE) AS num, CAST(NULL AS DOUBLE) AS den, count(*) AS val FROM _b_customers GROUP BY 1, 2"


@_kpi("signup_rate", ("customers", "marketing"), "ratio")
def _signup_rate(run):
    return f"""
    WITH s AS (SELECT {run.period('signup_date')} AS p, seg, count(*) AS n FROM _b_customers GROUP BY 1, 2),
         v AS (SELECT {run.period('date')} AS p, seg, sum(visitors) AS n FROM _b_marketing GROUP BY 1, 2)
    SELECT COALESCE(s.p, v.p) AS p, COALESCE(s.seg, v.seg) AS seg, COALESCE(s.n, 0) AS num,
           COALESCE(v.n, 0) AS den, CAST(NULL AS DOUBLE) AS val
    FROM s FULL JOIN v ON s.p = v.p AND s.seg IS NOT DISTINCT FROM v.seg"""


@_kpi("trial_conversion_rate", ("customers",), "ratio")
def _trial_conversion_rate(run):
    a = run.lit_date(run.as_of)
    return f"""SELECT {run.period('trial_start')} AS p, seg,
        count(CASE WHEN converted_date IS NOT NULL AND converted_date <= {a} THEN 1 END) AS num,
        count(*) AS den, CAST(NULL AS DOUBLE) AS val
    FROM _b_customers WHERE trial_start IS NOT NULL AND trial_start <= {a} GROUP BY 1, 2"""


@_kpi("trial_dropoff_rate", ("customers",), "ratio")
def _trial_dropoff_rate(run):
    a = run.lit_date(run.as_of)
    return f"""SELECT {run.period('trial_end')} AS p, seg,
        count(CASE WHEN converted_date IS NULL OR converted_date > trial_end THEN 1 END) AS num,
        count(*) AS den, CAST(NULL AS DOUBLE) AS val
    FROM _b_customers WHERE trial_end IS NOT NULL AND trial_end <= {a} GROUP BY 1, 2"""


def _new_customers_sql(run):
    return f"SELECT {run.period('first_paid')} AS p, seg, count(*) AS n FROM _first_paid GROUP BY 1, 2"


@_kpi("new_customers", ("subscriptions|payments",), "zero", uses=("_first_paid",))
def _new_customers(run):
    return f"SELECT p, seg, CAST(NULL AS DOUBLE) AS num, CAST(NULL AS DOUBLE) AS den, n AS val FROM ({_new_customers_sql(run)}) t"


def _spend_sql(run):
    return f"SELECT {run.period('date')} AS p, seg, sum(spend) AS spend FROM _b_marketing GROUP BY 1, 2"


@_kpi("cac", ("marketing", "subscriptions|payments"), "ratio", uses=("_first_paid",))
def _cac(run):
    return f"""
    WITH s AS ({_spend_sql(run)}), n AS ({_new_customers_sql(run)})
    SELECT COALESCE(s.p, n.p) AS p, COALESCE(s.seg, n.seg) AS seg, COALESCE(s.spend, 0) AS num,
           COALESCE(n.n, 0) AS den, CAST(NULL AS DOUBLE) AS val
    FROM s FULL JOIN n ON s.p = n.p AND s.seg IS NOT DISTINCT FROM n.seg"""


@_kpi("cpa", ("marketing", "customers"), "ratio")
def _cpa(run):
    return f"""
    WITH s AS ({_spend_sql(run)}),
         n AS (SELECT {run.period('signup_date')} AS p, seg, count(*) AS n FROM _b_customers GROUP BY 1, 2)
    SELECT COALESCE(s.p, n.p) AS p, COALESCE(s.seg, n.seg) AS seg, COALESCE(s.spend, 0) AS num,
           COALESCE(n.n, 0) AS den, CAST(NULL AS DOUBLE) AS val
    FROM s FULL JOIN n ON s.p = n.p AND s.seg IS NOT DISTINCT FROM n.seg"""


@_kpi("ltv_cac_ratio", ("subscriptions", "marketing", "subscriptions|payments"), "null",
      uses=("_mm", "_clv", "_first_paid"))
def _ltv_cac_ratio(run):
    return f"""
    WITH s AS ({_spend_sql(run)}), n AS ({_new_customers_sql(run)}),
         cac AS (SELECT COALESCE(s.p, n.p) AS p, COALESCE(s.seg, n.seg) AS seg,
                        COALESCE(s.spend, 0) / NULLIF(COALESCE(n.n, 0), 0) AS cac
                 FROM s FULL JOIN n ON s.p = n.p AND s.seg IS NOT DISTINCT FROM n.seg),
         clv AS (SELECT p, seg, num / NULLIF(den, 0) AS clv FROM _clv)
    SELECT clv.p, clv.seg, clv.clv AS num, cac.cac AS den, clv.clv / NULLIF(cac.cac, 0) AS val
    FROM clv JOIN cac ON clv.p = cac.p AND clv.seg IS NOT DISTINCT FROM cac.seg"""


# -- events ---------------------------------------------------------------------------------
@_kpi("active_users", ("events",), "zero", uses=("_up",))
def _active_users(run):
    return "SELECT p, seg, CAST(NULL AS DOUBLE) AS num, CAST(NULL AS DOUBLE) AS den, count(*) AS val FROM _up GROUP BY 1, 2"


def _days_in_range(run):
    """Days of each period from the first event's date up to t(P): the DAU/MAU averaging base."""
    fe = run.lit_date(run.first_event)
    return f"CASE WHEN g.t >= {fe} THEN date_diff('day', GREATEST(g.p, {fe}), g.t) + 1 ELSE 0 END"


@_kpi("dau", ("events",), "ratio", gridded=True, uses=("_ud",))
def _dau(run):
    fe = run.lit_date(run.first_event)
    return f"""
    WITH ud AS (SELECT {run.period('d')} AS p, seg, count(*) AS user_days FROM _ud WHERE d >= {fe} GROUP BY 1, 2)
    SELECT g.p, g.seg, COALESCE(ud.user_days, 0) AS num, {_days_in_range(run)} AS den, CAST(NULL AS DOUBLE) AS val
    FROM _g g LEFT JOIN ud ON ud.p = g.p AND ud.seg IS NOT DISTINCT FROM g.seg"""


def _mau_sum_sql(run):
    """Sum over the days d of each period (from the first event's date) of MAU30(d), for the
    periods some user's coverage reaches: MAU30 is constant between its change points."""
    fe = run.lit_date(run.first_event)
    return f"""
    SELECT g.p, g.seg,
           sum(m.mau * (date_diff('day', GREATEST(m.d, g.p, {fe}), LEAST(m.last_d, g.t)) + 1)) AS mau_days
    FROM _g g JOIN _mau_daily m
      ON m.seg IS NOT DISTINCT FROM g.seg AND m.d <= g.t AND m.last_d >= GREATEST(g.p, {fe})
    WHERE m.mau > 0
    GROUP BY 1, 2"""


@_kpi("mau", ("events",), "ratio", gridded=True, uses=("_mau_daily",))
def _mau(run):
    return f"""
    WITH m AS ({_mau_sum_sql(run)})
    SELECT g.p, g.seg, COALESCE(m.mau_days, 0) AS num, {_days_in_range(run)} AS den, CAST(NULL AS DOUBLE) AS val
    FROM _g g LEFT JOIN m ON m.p = g.p AND m.seg IS NOT DISTINCT FROM g.seg"""


@_kpi("stickiness", ("events",), "ratio", uses=("_ud", "_mau_daily"))
def _stickiness(run):
    fe = run.lit_date(run.first_event)
    return f"""
    WITH ud AS (SELECT {run.period('d')} AS p, seg, count(*) AS user_days FROM _ud WHERE d >= {fe} GROUP BY 1, 2),
         m AS ({_mau_sum_sql(run)})
    SELECT m.p, m.seg, COALESCE(ud.user_days, 0) AS num, m.mau_days AS den, CAST(NULL AS DOUBLE) AS val
    FROM m LEFT JOIN ud ON ud.p = m.p AND ud.seg IS NOT DISTINCT FROM m.seg"""


@_kpi("avg_session_duration", ("events",), "ratio", uses=("_sessions",))
def _avg_session_duration(run):
    return f"""SELECT {run.period('CAST(started AS DATE)')} AS p, seg,
        sum(date_diff('microsecond', started, ended) / 1e6 / 60.0) AS num, count(*) AS den, CAST(NULL AS DOUBLE) AS val
    FROM _sessions GROUP BY 1, 2"""


@_kpi("actions_per_session", ("events",), "ratio", uses=("_sessions",))
def _actions_per_session(run):
    return f"""SELECT {run.period('CAST(started AS DATE)')} AS p, seg, sum(events) AS num, count(*) AS den, CAST(NULL AS DOUBLE) AS val
    FROM _sessions GROUP BY 1, 2"""


@_kpi("actions_per_user", ("events",), "ratio", uses=("_ud", "_up"))
def _actions_per_user(run):
    return f"""
    WITH e AS (SELECT {run.period('d')} AS p, seg, sum(events) AS n FROM _ud GROUP BY 1, 2),
         au AS (SELECT p, seg, count(*) AS n FROM _up GROUP BY 1, 2)
    SELECT au.p, au.seg, e.n AS num, au.n AS den, CAST(NULL AS DOUBLE) AS val
    FROM au JOIN e ON e.p = au.p AND e.seg IS NOT DISTINCT FROM au.seg"""


@_kpi("retention_rate", ("events",), "ratio", uses=("_up",))
def _retention_rate(run):
    step = STEP[run.grain]
    return f"""
    WITH kept AS ({run.kept_sql()}),
         base AS (SELECT CAST(p + {step} AS DATE) AS p, seg, count(*) AS n FROM _up GROUP BY 1, 2)
    SELECT base.p, base.seg, COALESCE(kept.n, 0) AS num, base.n AS den, CAST(NULL AS DOUBLE) AS val
    FROM base LEFT JOIN kept ON kept.p = base.p AND kept.seg IS NOT DISTINCT FROM base.seg
    WHERE base.p <= {run.lit_date(run.as_of)}"""


@_kpi("feature_adoption_rate", ("events",), "null", gridded=True, uses=("_up",))
def _feature_adoption_rate(run):
    window = derived.ADOPTION_WINDOW_DAYS
    return f"""
    WITH rel AS (SELECT DISTINCT event, released_date FROM _b_releases WHERE event IS NOT NULL),
         has_rel AS (SELECT DISTINCT per.p FROM _periods per JOIN rel
                     ON rel.released_date > per.t - {window} AND rel.released_date <= per.t),
         used AS (  -- each user's last use of a release's event in each period (events of releases only)
            SELECT seg, user_id, event, {run.period('d')} AS p, max(d) AS last_day
            FROM {run.release_use()} WHERE event IN (SELECT event FROM rel) GROUP BY 1, 2, 3, 4),
         adopters AS (
            SELECT u.p, u.seg, count(DISTINCT u.user_id) AS n
            FROM used u JOIN _periods per ON per.p = u.p
            JOIN rel ON rel.event = u.event AND u.last_day >= rel.released_date
                    AND rel.released_date > per.t - {window} AND rel.released_date <= per.t
            GROUP BY 1, 2),
         au AS (SELECT p, seg, count(*) AS n FROM _up GROUP BY 1, 2)
    SELECT g.p, g.seg,
           CASE WHEN h.p IS NOT NULL THEN COALESCE(a.n, 0) END AS num,
           CASE WHEN h.p IS NOT NULL THEN COALESCE(au.n, 0) END AS den,
           CASE WHEN h.p IS NOT NULL THEN COALESCE(a.n, 0) / NULLIF(COALESCE(au.n, 0), 0) END AS val
    FROM _g g LEFT JOIN has_rel h ON h.p = g.p
    LEFT JOIN adopters a ON a.p = g.p AND a.seg IS NOT DISTINCT FROM g.seg
    LEFT JOIN au ON au.p = g.p AND au.seg IS NOT DISTINCT FROM g.seg"""


# -- product development ----------------------------------------------------------------------
@_kpi("time_to_market", ("releases",), "null")
def _time_to_market(run):
    return f"""SELECT {run.period('released_date')} AS p, seg, CAST(NULL AS DOUBLE) AS num, CAST(NULL AS DOUBLE) AS den,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY date_diff('day', started_date, released_date)) AS val
    FROM _b_releases WHERE started_date IS NOT NULL GROUP BY 1, 2"""


@_kpi("releases_shipped", ("releases",), "zero")
def _releases_shipped(run):
    return f"SELECT {run.period('released_date')} AS p, seg, CAST(NULL AS DOUBLE) AS num, CAST(NULL AS DOUBLE) AS den, count(*) AS val FROM _b_releases GROUP BY 1, 2"


@_kpi("velocity", ("sprints",), "ratio")
def _velocity(run):
    return f"""SELECT {run.period('end_date')} AS p, seg, sum(completed_points) AS num, count(completed_points) AS den,
        CAST(NULL AS DOUBLE) AS val FROM _b_sprints GROUP BY 1, 2"""


@_kpi("say_do_ratio", ("sprints",), "ratio")
def _say_do_ratio(run):
    return f"""SELECT {run.period('end_date')} AS p, seg, sum(completed_points) AS num, sum(committed_points) AS den,
        CAST(NULL AS DOUBLE) AS val FROM _b_sprints WHERE completed_points IS NOT NULL AND committed_points IS NOT NULL GROUP BY 1, 2"""


# -- technical and quality ---------------------------------------------------------------------
@_kpi("defect_density", ("defects", "codebase"), "ratio", gridded=True)
def _defect_density(run):
    return f"""
    WITH d AS (SELECT {run.period('found_date')} AS p, seg, count(*) AS n FROM _b_defects GROUP BY 1, 2),
         c AS (SELECT seg, date, sum(kloc) AS kloc FROM _b_codebase GROUP BY 1, 2),
         ranked AS (
            SELECT g.p, g.seg, c.kloc, row_number() OVER (PARTITION BY g.p, g.seg
                ORDER BY CASE WHEN c.date <= g.t THEN 0 ELSE 1 END,
                         CASE WHEN c.date <= g.t THEN c.date END DESC, c.date) AS rn
            FROM _g g JOIN c ON c.seg IS NOT DISTINCT FROM g.seg)
    SELECT g.p, g.seg, COALESCE(d.n, 0) AS num, r.kloc AS den, COALESCE(d.n, 0) / NULLIF(r.kloc, 0) AS val
    FROM _g g LEFT JOIN d ON d.p = g.p AND d.seg IS NOT DISTINCT FROM g.seg
    LEFT JOIN ranked r ON r.p = g.p AND r.seg IS NOT DISTINCT FROM g.seg AND r.rn = 1"""


@_kpi("test_effectiveness", ("defects",), "ratio")
def _test_effectiveness(run):
    return f"""SELECT {run.period('found_date')} AS p, seg,
        count(CASE WHEN stage = 'pre_release' THEN 1 END) AS num,
        count(CASE WHEN stage IN ('pre_release', 'production') THEN 1 END) AS den, CAST(NULL AS DOUBLE) AS val
    FROM _b_defects GROUP BY 1, 2"""


@_kpi("testing_speed", ("test_runs",), "null")
def _testing_speed(run):
    return f"""SELECT {run.period('d')} AS p, seg, CAST(NULL AS DOUBLE) AS num, CAST(NULL AS DOUBLE) AS den,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_minutes) AS val
    FROM _b_test_runs WHERE duration_minutes IS NOT NULL GROUP BY 1, 2"""


@_kpi("test_pass_rate", ("test_runs",), "ratio")
def _test_pass_rate(run):
    return f"""SELECT {run.period('d')} AS p, seg, sum(tests_total - tests_failed) AS num, sum(tests_total) AS den,
        CAST(NULL AS DOUBLE) AS val FROM _b_test_runs WHERE tests_total IS NOT NULL AND tests_failed IS NOT NULL GROUP BY 1, 2"""


@_kpi("escalated_tickets", ("tickets",), "zero")
def _escalated_tickets(run):
    return f"""SELECT {run.period('d')} AS p, seg, CAST(NULL AS DOUBLE) AS num, CAST(NULL AS DOUBLE) AS den,
        count(CASE WHEN escalated THEN 1 END) AS val FROM _b_tickets GROUP BY 1, 2"""


@_kpi("escalation_rate", ("tickets",), "ratio")
def _escalation_rate(run):
    return f"""SELECT {run.period('d')} AS p, seg, count(CASE WHEN escalated THEN 1 END) AS num, count(*) AS den,
        CAST(NULL AS DOUBLE) AS val FROM _b_tickets GROUP BY 1, 2"""


@_kpi("support_response_time", ("tickets",), "null")
def _support_response_time(run):
    return f"""SELECT {run.period('d')} AS p, seg, CAST(NULL AS DOUBLE) AS num, CAST(NULL AS DOUBLE) AS den,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY date_diff('microsecond', created_at, first_response_at) / 1e6 / 3600.0) AS val
    FROM _b_tickets WHERE first_response_at IS NOT NULL GROUP BY 1, 2"""


@_kpi("support_cost", ("tickets",), "zero")
def _support_cost(run):
    return f"SELECT {run.period('d')} AS p, seg, CAST(NULL AS DOUBLE) AS num, CAST(NULL AS DOUBLE) AS den, COALESCE(sum(cost), 0) AS val FROM _b_tickets GROUP BY 1, 2"


@_kpi("uptime", ("incidents",), "ratio", gridded=True)
def _uptime(run):
    # Overlapping incidents count once: merge them into islands of downtime first.
    return """
    WITH i AS (SELECT seg, started_at, ended_at FROM _b_incidents WHERE ended_at > started_at),
         marked AS (
            SELECT seg, started_at, ended_at,
                   CASE WHEN started_at <= max(ended_at) OVER (PARTITION BY seg ORDER BY started_at, ended_at
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) THEN 0 ELSE 1 END AS new_island
            FROM i),
         numbered AS (SELECT *, sum(new_island) OVER (PARTITION BY seg ORDER BY started_at, ended_at
                                                      ROWS UNBOUNDED PRECEDING) AS island FROM marked),
         islands AS (SELECT seg, min(started_at) AS s, max(ended_at) AS e FROM numbered GROUP BY seg, island),
         down AS (
            SELECT g.p, g.seg, sum(date_diff('microsecond', GREATEST(islands.s, CAST(g.p AS TIMESTAMP)),
                       LEAST(islands.e, CAST(g.t + 1 AS TIMESTAMP))) / 1e6 / 60.0) AS minutes
            FROM _g g JOIN islands ON islands.seg IS NOT DISTINCT FROM g.seg
             AND islands.s < CAST(g.t + 1 AS TIMESTAMP) AND islands.e > CAST(g.p AS TIMESTAMP)
            GROUP BY 1, 2)
    SELECT g.p, g.seg, (date_diff('day', g.p, g.t) + 1) * 1440.0 - COALESCE(down.minutes, 0) AS num,
           (date_diff('day', g.p, g.t) + 1) * 1440.0 AS den, CAST(NULL AS DOUBLE) AS val
    FROM _g g LEFT JOIN down ON down.p = g.p AND down.seg IS NOT DISTINCT FROM g.seg"""


@_kpi("compliance_rate", ("compliance",), "ratio")
def _compliance_rate(run):
    return f"""SELECT {run.period('date')} AS p, seg, count(CASE WHEN passed THEN 1 END) AS num, count(*) AS den,
        CAST(NULL AS DOUBLE) AS val FROM _b_compliance GROUP BY 1, 2"""


# ---------------------------------------------------------------------------------------------
# Base views: each loaded dataset cut at the as-of date, cleaned as kpis.md says, with its segment
# ---------------------------------------------------------------------------------------------
BASE_FILTERS = derived.BASE_FILTERS
# The segment value of the rows a filter leaves out (a control character: never a value of real data).
FILTERED_OUT = "\x1ffiltered out\x1f"


def segment_source(ws: Workspace, loaded: list[str], dataset: str, column: str) -> str | None:
    """Where a row of ``dataset`` finds its value of a breakdown or filter column: ``'own'`` (a
    column of its own), ``'customer'`` (its customer's row in customers, through its customer or
    user id) or None (neither: the KPIs counting its rows cannot be split by it).

    An own column that holds no value at all — an optional column the file did not have, kept
    empty — does not hide the customers' column of that name: subscriptions without a plan take
    the plan of their customer."""
    cols = ws.columns(dataset)
    id_col = DATASETS[dataset].id_column
    via_customer = (dataset != "customers" and id_col is not None and id_col in cols and "customers" in loaded
                    and column in ws.columns("customers"))
    if column in cols and (not via_customer or ws.has_column(dataset, column)):
        return "own"
    return "customer" if via_customer else None


# ---------------------------------------------------------------------------------------------
# Why a KPI cannot be split by a column
# ---------------------------------------------------------------------------------------------
def kpi_datasets(ws: Workspace, kpi: str) -> list[str]:
    """The loaded datasets whose rows a KPI counts: each must carry the column to split it."""
    loaded = ws.datasets()
    if kpi in REGISTRY:
        return [o for c in REGISTRY[kpi].counts for o in c.split("|") if o in loaded]
    mine = custom.load_custom_kpis(ws).get(kpi)
    return [d for d in mine.datasets if d in loaded] if mine is not None else []


def split_problem(ws: Workspace, kpi: str, column: str, name: str | None = None) -> str | None:
    """None when ``kpi`` can be split by ``column``; otherwise one sentence saying why not, with
    what would make it possible. The same rule as the engine's (segment_source)."""
    loaded = ws.datasets()
    blocked = [d for d in kpi_datasets(ws, kpi) if segment_source(ws, loaded, d, column) is None]
    if not blocked:
        return None
    label = name or kpi
    rows = "its rows of " + _and_list([d.replace("_", " ") for d in blocked])
    holders = [d.replace("_", " ") for d in loaded if d != "kpi_values" and column in ws.columns(d)]
    where = f" ({column} is a column of {_and_list(holders)})" if holders else ""
    if not any(DATASETS[d].id_column for d in blocked):
        return f"{label} cannot be split by {column}: {rows} have no {column} and no customer id to look it up by{where}."
    if "customers" not in loaded:
        return (f"{label} cannot be split by {column}: {rows} have no {column}{where}, and no customers "
                f"dataset is loaded to look it up through the customer id.")
    return (f"{label} cannot be split by {column}: {rows} have no {column}{where}, and your customers have "
            f"no {column} to look it up through the customer id.")


def _and_list(items: list[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _survey_type_sql() -> str:
    return "CASE WHEN survey IS NULL OR trim(survey) = '' THEN 'nps' ELSE lower(trim(survey)) END"


def _stage_sql() -> str:
    return "lower(replace(replace(trim(stage), '-', '_'), ' ', '_'))"


def fresh_name(base: str, taken) -> str:
    """An internal alias no column of the data has (a user's file may hold any name: ``_rn``, ``rn``…)."""
    used = {str(c).lower() for c in taken}
    name = base
    while name.lower() in used:
        name += "_"
    return name


def first_customer_rows(columns: list[str]) -> str:
    """customers with one row per customer_id: the earliest signup_date, and among rows signed up
    the same day the first by each column in turn — never the order the rows happen to come in.
    Only the table's own columns come out (the row number's alias cannot meet a user's column)."""
    cols = ", ".join(quote_ident(c) for c in columns)
    rn = fresh_name("_kpi_rn", columns)
    ties = ", ".join(f"{quote_ident(c)} NULLS LAST" for c in columns if c not in ("customer_id", "signup_date"))
    order = "signup_date NULLS LAST" + (f", {ties}" if ties else "")
    return (f"SELECT {cols} FROM (SELECT {cols}, row_number() OVER (PARTITION BY customer_id ORDER BY {order}) "
            f"AS {quote_ident(rn)} FROM customers) c WHERE {quote_ident(rn)} = 1")


@dataclass
class Run:
    """The context of one compute call: grain, as-of date, segment, and the temp tables made so far."""
    ws: Workspace
    session: engines.Session
    grain: str
    as_of: dt.date
    segment: str | None
    loaded: list[str]
    filter: tuple[str, tuple[str, ...]] | None = None   # (column, values): only the rows with one of them
    first_event: dt.date | None = None
    made: set = field(default_factory=set)
    segmentable: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    memo: dict = field(default_factory=dict)

    def period(self, expr: str) -> str:
        return f"CAST(date_trunc('{self.grain}', {expr}) AS DATE)"

    def period_of(self, day: dt.date) -> dt.date:
        """The start of the period holding ``day`` (what date_trunc gives: weeks start on Monday)."""
        return period_start(day, self.grain)

    @staticmethod
    def lit_date(d: dt.date | None) -> str:
        # Dates come from our own computation (never user text), so a literal is safe here.
        return "CAST(NULL AS DATE)" if d is None else f"DATE '{d.isoformat()}'"

    def make(self, name: str, sql: str, kind: str = "TABLE", params=()) -> None:
        """The temp table (or VIEW) ``name`` of this compute, made by its engine."""
        self.session.temp(name, sql, params, view=kind == "VIEW")

    def rows(self, sql: str, params=()) -> list[tuple]:
        return self.session.rows(sql, params)

    # -- segment resolution ---------------------------------------------------------------
    # A filter rides on the segment machinery: a row that does not pass it gets the segment value
    # FILTERED_OUT, so every KPI is computed for the rows that pass exactly as for one segment value
    # of a breakdown (ratios from their own numerators and denominators), and compute() drops the
    # FILTERED_OUT rows at the end.
    @property
    def split(self) -> bool:
        """Whether rows carry a segment value (a breakdown, a filter or both)."""
        return self.segment is not None or self.filter is not None

    def _column_expr(self, dataset: str, column: str, alias: str) -> tuple[str, str] | None:
        """(expression, join) reading ``column`` for each row of ``dataset``: its own column, or its
        customer's (the customer's first row); None when neither exists (see segment_source)."""
        q = quote_ident(column)
        source = segment_source(self.ws, self.loaded, dataset, column)
        if source == "own":
            return f"CAST(x.{q} AS VARCHAR)", ""
        id_col = DATASETS[dataset].id_column
        if source == "customer":
            first = self.first_customer_rows()
            return (f"CAST({alias}.{q} AS VARCHAR)",
                    f"LEFT JOIN (SELECT customer_id, {q} FROM ({first}) f) {alias} "
                    f"ON {alias}.customer_id = x.{quote_ident(id_col)}")
        return None

    def segment_expr(self, dataset: str) -> tuple[str, str] | None:
        """(select expression, join clause) giving each row's segment value, or None if it cannot."""
        seg = ("CAST(NULL AS VARCHAR)", "") if self.segment is None else \
            self._column_expr(dataset, self.segment, "sc")
        if seg is None or self.filter is None:
            return seg
        found = self._column_expr(dataset, self.filter[0], "fc")
        if found is None:
            return None
        expr, join = found
        # The chosen values sit in a temp table filled with bound parameters (make_filter_values).
        return (f"CASE WHEN {expr} IN (SELECT v FROM _filter_values) THEN {seg[0]} ELSE '{FILTERED_OUT}' END",
                f"{seg[1]} {join}".strip())

    def make_filter_values(self) -> None:
        if self.filter is None:
            return
        self.session.values("_filter_values", self.filter[1])

    def first_customer_rows(self) -> str:
        """The customers table with one row per customer (see :func:`first_customer_rows`)."""
        return first_customer_rows(self.ws.columns("customers"))

    def split_words(self) -> str:
        """"the breakdown by plan", "the filter on country", or both: for notes on what was left out."""
        return " and ".join(w for w in (f"the breakdown by {self.segment}" if self.segment is not None else "",
                                        f"the filter on {self.filter[0]}" if self.filter is not None else "") if w)

    def split_columns(self) -> str:
        return " or ".join(c for c in (self.segment, self.filter[0] if self.filter else None) if c)

    def segment_values(self, dataset: str) -> str:
        """A query of the segment's values in a dataset (scanned once per run, not once per KPI)."""
        if not self.split:
            return "SELECT CAST(NULL AS VARCHAR) AS seg"
        table = f"_s_{dataset}"
        if table not in self.made:
            self.make(table, f"SELECT DISTINCT seg FROM {quote_ident('_b_' + dataset)}")
            self.made.add(table)
        return f"SELECT seg FROM {quote_ident(table)}"

    # -- temp tables ----------------------------------------------------------------------
    def make_base_views(self, materialise: set[str] = frozenset()) -> None:
        a = self.lit_date(self.as_of)
        for ds in self.loaded:
            if ds == "kpi_values":
                continue
            seg = self.segment_expr(ds)
            self.segmentable[ds] = seg is not None
            seg_sel, seg_join = seg if seg else ("CAST(NULL AS VARCHAR)", "")
            have = set(self.ws.columns(ds))
            # A source table may lack optional canonical columns (a workspace has them all): null.
            canon = ", ".join(f"x.{quote_ident(c.name)}" if c.name in have else
                              f"CAST(NULL AS {SQL_TYPES[c.type]}) AS {quote_ident(c.name)}" for c in DATASETS[ds].columns)
            where = [f"{primary_date_sql(ds, 'x.')} <= {a}"]
            if ds in BASE_FILTERS:
                where.append(BASE_FILTERS[ds])
            source = quote_ident(ds)
            # A customer listed twice: the row with the earliest signup_date is the one KPIs use.
            # When the KPIs read customers and every id is there once, there is nothing to drop.
            deduplicate = ds == "customers" and (ds not in materialise or not self.rows(
                "SELECT count(*) = count(DISTINCT customer_id) FROM customers")[0][0])
            if deduplicate:
                source = f"({self.first_customer_rows()})"
            extra = {
                "events": ", CAST(x.\"timestamp\" AS DATE) AS d",
                "surveys": f", {_survey_type_sql().replace('survey', 'x.survey')} AS survey_type",
                "defects": "",
                "test_runs": ", CAST(x.started_at AS DATE) AS d",
                "tickets": ", CAST(x.created_at AS DATE) AS d",
            }.get(ds, "")
            cols = canon
            if ds == "defects":
                cols = canon.replace('x."stage"', f"{_stage_sql().replace('stage', 'x.stage')} AS stage")
            # customers is deduplicated by a window: do it once, not in every KPI that reads it
            kind = "TABLE" if deduplicate and ds in materialise else "VIEW"
            self.make(f"_b_{ds}", f"SELECT {cols}{extra}, {seg_sel} AS seg FROM {source} x {seg_join} "
                                  f"WHERE {' AND '.join(where)}", kind)

    def make_periods(self, first: dt.date) -> None:
        step = STEP[self.grain]
        a = self.lit_date(self.as_of)
        self.make("_periods", f"""
            SELECT p, p_end, LEAST(p_end, {a}) AS t, CAST(p - INTERVAL 1 DAY AS DATE) AS prev_t, p_end > {a} AS partial
            FROM (SELECT CAST(x AS DATE) AS p, CAST(x + {step} - INTERVAL 1 DAY AS DATE) AS p_end
                  FROM generate_series(CAST({self.period(self.lit_date(first))} AS TIMESTAMP),
                                       CAST({a} AS TIMESTAMP), {step}) s(x)) g""")

    def ensure(self, table: str) -> None:
        if table in self.made:
            return
        getattr(self, "_make" + table)()
        self.made.add(table)

    def _up_from_user_months(self) -> bool:
        """Whether _up reads the user-months prepared at ingest (month grain, when exact)."""
        if "_up_from_user_months" not in self.memo:
            days_ok, _ = self._events_prepared()
            self.memo["_up_from_user_months"] = (self.grain == "month" and days_ok
                                                 and derived.USER_MONTHS in self.session.prepared)
        return self.memo["_up_from_user_months"]

    def _make_up(self):
        # Who was active in which period, once: active users, retention and ARPU read it.
        if self._up_from_user_months():
            body = self._with_customer_segment(derived.USER_MONTHS, where=f"WHERE x.first_d <= {self.lit_date(self.as_of)}")
            kind = "VIEW" if not self.split else "TABLE"
        else:
            self.ensure("_ud")
            body, kind = f"SELECT DISTINCT {self.period('d')} AS p, seg, user_id FROM _ud", "TABLE"
        self.make("_up", body, kind)

    def kept_sql(self) -> str:
        """Per (period, segment): the users active in P and in the period just before it."""
        self.ensure("_up")
        if self._up_from_user_months():  # each user-month knows whether the month before was active
            return "SELECT p, seg, count(*) AS n FROM _up WHERE active_before GROUP BY 1, 2"
        return f"""
            SELECT u.p, u.seg, count(*) AS n  -- _up has one row per user and period
            FROM _up u JOIN _up prev ON prev.user_id = u.user_id AND prev.p = CAST(u.p - {STEP[self.grain]} AS DATE)
             AND (prev.seg = u.seg OR (prev.seg IS NULL AND u.seg IS NULL))
            GROUP BY 1, 2"""

    def _movements_sql(self, grain: str, periods: str) -> str:
        """Per (period, segment): MRR at t(P-1) and t(P), the five movements and paying counts.

        c(x, d) only changes on a row's start_date (+mrr) or end_date (-mrr), so each customer's
        MRR is a timeline of change points; a customer moves in P only if its timeline changes in
        P, and totals are running sums of the per-period changes. No date-range joins, and no
        window over the timeline: c at t(P) is the last change's c in P, c at t(P-1) the first
        change's prev_c (the timeline carries it, and each customer's first day with c > 0).
        """
        a = self.lit_date(self.as_of)
        period = f"CAST(date_trunc('{grain}', d) AS DATE)"
        return f"""
            WITH changed AS (
                SELECT seg, customer_id, {period} AS p, max_by(c, d) AS b, min_by(prev_c, d) AS a,
                       min(first_mrr) AS first_mrr
                FROM _timeline WHERE d <= {a} GROUP BY seg, customer_id, p),
             moves AS (
                SELECT ch.p, ch.seg,
                    sum(ch.b - ch.a) AS mrr_change,
                    sum(CASE WHEN ch.b > 0 THEN 1 ELSE 0 END) - sum(CASE WHEN ch.a > 0 THEN 1 ELSE 0 END) AS paying_change,
                    sum(CASE WHEN ch.a = 0 AND ch.b > 0 AND ch.first_mrr > per.prev_t THEN ch.b ELSE 0 END) AS new_mrr,
                    sum(CASE WHEN ch.a = 0 AND ch.b > 0 AND ch.first_mrr <= per.prev_t THEN ch.b ELSE 0 END) AS reactivation_mrr,
                    sum(CASE WHEN ch.a > 0 AND ch.b > ch.a THEN ch.b - ch.a ELSE 0 END) AS expansion_mrr,
                    sum(CASE WHEN ch.a > 0 AND ch.b > 0 AND ch.b < ch.a THEN ch.a - ch.b ELSE 0 END) AS contraction_mrr,
                    sum(CASE WHEN ch.a > 0 AND ch.b = 0 THEN ch.a ELSE 0 END) AS churned_mrr,
                    count(CASE WHEN ch.a > 0 AND ch.b = 0 THEN 1 END) AS churned_customers
                FROM changed ch JOIN {periods} per ON per.p = ch.p
                GROUP BY ch.p, ch.seg),
             grid AS (SELECT per.p, s.seg FROM {periods} per CROSS JOIN (SELECT DISTINCT seg FROM _b_subscriptions) s),
             running AS (
                SELECT g.p, g.seg,
                    sum(COALESCE(m.mrr_change, 0)) OVER w AS mrr_b,
                    sum(COALESCE(m.paying_change, 0)) OVER w AS paying_b,
                    COALESCE(m.mrr_change, 0) AS mrr_change, COALESCE(m.paying_change, 0) AS paying_change,
                    COALESCE(m.new_mrr, 0) AS new_mrr, COALESCE(m.reactivation_mrr, 0) AS reactivation_mrr,
                    COALESCE(m.expansion_mrr, 0) AS expansion_mrr, COALESCE(m.contraction_mrr, 0) AS contraction_mrr,
                    COALESCE(m.churned_mrr, 0) AS churned_mrr, COALESCE(m.churned_customers, 0) AS churned_customers
                FROM grid g LEFT JOIN moves m ON m.p = g.p AND m.seg IS NOT DISTINCT FROM g.seg
                WINDOW w AS (PARTITION BY g.seg ORDER BY g.p ROWS UNBOUNDED PRECEDING))
            SELECT p, seg, round(mrr_b - mrr_change, 6) AS mrr_a, round(mrr_b, 6) AS mrr_b,
                   new_mrr, reactivation_mrr, expansion_mrr, contraction_mrr, churned_mrr,
                   paying_b - paying_change AS paying_a, paying_b, churned_customers
            FROM running"""

    def _own_segment(self, dataset: str) -> bool:
        """Whether the segment or the filter is a column of the dataset itself (not taken from customers)."""
        return any(c is not None and segment_source(self.ws, self.loaded, dataset, c) == "own"
                   for c in (self.segment, self.filter[0] if self.filter else None))

    def payers_sql(self) -> str:
        """Per (period, segment): the customers who paid something (amount > 0) in P."""
        if self.grain == "month" and not self._own_segment("payments") and derived.PAYER_MONTHS in self.session.prepared:
            months = self._with_customer_segment(derived.PAYER_MONTHS, "payments",
                                                 where=f"WHERE x.first_d <= {self.lit_date(self.as_of)}")
            return f"SELECT p, seg, count(*) AS n FROM ({months}) m GROUP BY 1, 2"
        return (f"SELECT p, seg, count(*) AS n FROM (SELECT DISTINCT {self.period('date')} AS p, seg, customer_id "
                f"FROM _b_payments WHERE amount > 0) t GROUP BY 1, 2")

    def _has_timeline(self) -> bool:
        """Whether the MRR timeline prepared at ingest is there with every column it needs today."""
        return derived.MRR_TIMELINE in self.session.prepared and \
            set(derived.TIMELINE_COLUMNS) <= set(self.session.columns_of(derived.MRR_TIMELINE))

    def _make_timeline(self):
        own_segment = self._own_segment("subscriptions")
        if self._has_timeline() and not own_segment:
            body = self._with_customer_segment(derived.MRR_TIMELINE, "subscriptions")
            kind = "VIEW" if not self.split else "TABLE"
        else:
            body, kind = derived.mrr_timeline_sql("_b_subscriptions", "seg"), "TABLE"
        self.make("_timeline", body, kind)

    def _make_mm(self):
        self.ensure("_timeline")
        self.make("_mm", self._movements_sql(self.grain, '_periods'))

    def _make_clv(self):
        # m: mean monthly customer churn rate over the last 6 calendar months ending on or before t(P).
        a = self.lit_date(self.as_of)
        self.ensure("_mm")
        gm = float(self.ws.setting("gross_margin", "1.0") or 1.0)
        if self.grain == "month":
            monthly = "_mm"
        else:
            self.make("_periods_month", f"""
                SELECT p, p_end, LEAST(p_end, {a}) AS t, CAST(p - INTERVAL 1 DAY AS DATE) AS prev_t, p_end > {a} AS partial
                FROM (SELECT CAST(x AS DATE) AS p, CAST(x + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) AS p_end
                      FROM generate_series(CAST(date_trunc('month', (SELECT min(p) FROM _periods)) AS TIMESTAMP),
                                           CAST({a} AS TIMESTAMP), INTERVAL 1 MONTH) s(x)) g""")
            self.make("_mm_month", self._movements_sql('month', '_periods_month'))
            monthly = "_mm_month"
        self.make("_clv", f"""
            WITH churn AS (
                SELECT p AS m, CAST(p + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) AS m_end, seg,
                       churned_customers * 1.0 / NULLIF(paying_a, 0) AS rate
                FROM {monthly}),
                 win AS (
                    SELECT mm.p, mm.seg, avg(c.rate) AS m_rate
                    FROM _mm mm JOIN _periods per ON per.p = mm.p
                    JOIN churn c ON c.seg IS NOT DISTINCT FROM mm.seg
                     AND c.m_end <= per.t
                     AND c.m >= CAST(date_trunc('month', CAST(date_trunc('month', per.t + 1) AS DATE) - 1) - INTERVAL 5 MONTH AS DATE)
                     AND c.rate IS NOT NULL
                    GROUP BY 1, 2)
            SELECT mm.p, mm.seg, (mm.mrr_b / NULLIF(mm.paying_b, 0)) * {gm!r} AS num, win.m_rate AS den
            FROM _mm mm LEFT JOIN win ON win.p = mm.p AND win.seg IS NOT DISTINCT FROM mm.seg""")

    def _make_first_paid(self):
        sources = [d for d in ("subscriptions", "payments") if d in self.loaded]
        if derived.FIRST_PAID in self.session.prepared and not any(self._own_segment(d) for d in sources):
            body = self._with_customer_segment(derived.FIRST_PAID, sources[0],
                                               where=f"WHERE x.first_paid <= {self.lit_date(self.as_of)}")
            kind = "VIEW" if not self.split else "TABLE"
            self.make("_first_paid", body, kind)
            return
        parts = []
        if "subscriptions" in self.loaded:
            parts.append("SELECT seg, customer_id, start_date AS d FROM _b_subscriptions WHERE mrr > 0")
        if "payments" in self.loaded:
            parts.append("SELECT seg, customer_id, date AS d FROM _b_payments WHERE amount > 0")
        self.make("_first_paid", f"""
            SELECT seg, customer_id, min(d) AS first_paid FROM ({' UNION ALL '.join(parts)}) t GROUP BY 1, 2""")

    # -- events: prepared tables when they are exact for this question, raw events otherwise ----
    def _events_prepared(self) -> tuple[bool, bool]:
        if "_events_prepared" in self.memo:
            return self.memo["_events_prepared"]
        self.memo["_events_prepared"] = found = self._events_prepared_uncached()
        return found

    def _events_prepared_uncached(self) -> tuple[bool, bool]:
        """(user-days usable, sessions and islands usable) from the tables ingest prepared."""
        if "events" not in self.loaded or not _user_days_prepared(self.session):
            return False, False
        if self._own_segment("events"):
            return False, False  # the segment or filter splits a user's events: sessions must be cut per value
        last = self.rows(f"SELECT max(d) FROM {derived.USER_DAYS}")[0][0]
        return True, last is not None and last <= self.as_of

    def _with_customer_segment(self, table: str, dataset: str = "events", where: str = "") -> str:
        """A prepared table (seg NULL) with the segment taken from each user's customer row."""
        seg_sel, seg_join = self.segment_expr(dataset) or ("CAST(NULL AS VARCHAR)", "")
        keep = ", ".join(f"x.{quote_ident(c)}" for c in self.session.columns_of(table) if c != "seg")
        return f"SELECT {seg_sel} AS seg, {keep} FROM {table} x {seg_join} {where}"

    def _make_ud(self):
        days_ok, _ = self._events_prepared()
        a = self.lit_date(self.as_of)
        if days_ok:
            body = self._with_customer_segment(derived.USER_DAYS, where=f"WHERE x.d <= {a}")
        else:
            body = "SELECT seg, user_id, d, count(*) AS events FROM _b_events GROUP BY seg, user_id, d"
        kind = "VIEW" if days_ok and not self.split else "TABLE"
        self.make("_ud", body, kind)

    def release_use(self) -> str:
        """Days users used the events that mark releases: prepared at ingest when exact, else raw events."""
        days_ok, _ = self._events_prepared()
        if days_ok and derived.RELEASE_USE in self.session.prepared:
            if "_release_use" not in self.made:
                body = self._with_customer_segment(derived.RELEASE_USE, where=f"WHERE x.d <= {self.lit_date(self.as_of)}")
                self.make("_release_use", body, "VIEW")
                self.made.add("_release_use")
            return "_release_use"
        return "_b_events"

    def _make_mau_islands(self):
        _, exact = self._events_prepared()
        if exact:
            body = self._with_customer_segment(derived.MAU_ISLANDS)
            kind = "VIEW" if not self.split else "TABLE"
        else:
            self.ensure("_ud")
            body, kind = derived.mau_islands_sql("_ud"), "TABLE"
        self.make("_mau_islands", body, kind)

    def _make_mau_daily(self):
        # MAU30(d) per segment as change points: mau users from day d to last_d. Each island adds
        # 1 from covered_from and takes it back the day after covered_to.
        self.ensure("_mau_islands")
        self.make("_mau_daily", """
            WITH deltas AS (SELECT seg, covered_from AS d, 1 AS delta FROM _mau_islands
                            UNION ALL
                            SELECT seg, CAST(covered_to + 1 AS DATE) AS d, -1 AS delta FROM _mau_islands),
                 by_day AS (SELECT seg, d, sum(delta) AS delta FROM deltas GROUP BY seg, d)
            SELECT seg, d, sum(delta) OVER (PARTITION BY seg ORDER BY d ROWS UNBOUNDED PRECEDING) AS mau,
                   CAST(lead(d) OVER (PARTITION BY seg ORDER BY d) - 1 AS DATE) AS last_d
            FROM by_day""")

    def _make_sessions(self):
        _, exact = self._events_prepared()
        if exact:
            body = self._with_customer_segment(derived.SESSIONS)
            kind = "VIEW" if not self.split else "TABLE"
        else:
            body, kind = derived.sessions_sql("_b_events", "seg"), "TABLE"
        self.make("_sessions", body, kind)


# ---------------------------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------------------------
def _empty_frame() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                          zip(OUTPUT_COLUMNS, ["str", "str", "object", "object", "float", "float", "float", "bool"])})
    frame.attrs["notes"] = []
    return frame


def imported_kpis(ws: Workspace) -> list[str]:
    """KPI names found in the kpi_values dataset (catalog ids and custom names)."""
    if not ws.has("kpi_values"):
        return []
    return [r[0] for r in ws.rows("SELECT DISTINCT kpi FROM kpi_values WHERE kpi IS NOT NULL ORDER BY kpi")]


class _Snapshot:
    """The workspace as one compute call sees it: the loaded datasets, their columns and which
    columns hold values are read once per call, not once per KPI that asks. Everything else is
    the workspace's own (``Workspace.has`` and ``has_column`` run on the cached lookups)."""

    def __init__(self, ws: Workspace):
        self._ws = ws
        self._memo: dict = {}

    def __getattr__(self, name):
        return getattr(self._ws, name)

    def _once(self, key, read):
        if key not in self._memo:
            self._memo[key] = read()
        return self._memo[key]

    def datasets(self) -> list[str]:
        return list(self._once(("datasets",), self._ws.datasets))

    def columns(self, dataset: str) -> list[str]:
        # Every table's columns in one look-up: a catalog is slow to ask once per table.
        tables = self._once(("columns",), lambda: engines.of(self._ws).tables())
        return list(tables.get(dataset, []))

    def has_column(self, dataset: str, column: str) -> bool:
        # A connected workspace asks its source for every column at once (one statement, not one each).
        ask = self._ws.has_column if isinstance(self._ws, engines.ConnectedWorkspace) else \
            (lambda d, c: Workspace.has_column(self, d, c))
        return self._once(("has_column", dataset, column), lambda: ask(dataset, column))

    has = Workspace.has


def _main_dataset(kpi_id: str, loaded: list[str]) -> str | None:
    for need in catalog.CATALOG[kpi_id].needs[:1]:
        options = [n.split(".")[0] for n in need.split("|")]
        have = [o for o in options if o in loaded]
        return have if have else None
    return None


def compute(ws: Workspace, kpis: Iterable[str] | None = None, grain: str = "month", start=None, end=None,
            as_of=None, segment: str | None = None,
            filters: Mapping[str, Iterable[str]] | None = None) -> pd.DataFrame:
    """Compute KPIs as a tidy frame (see OUTPUT_COLUMNS); notes on what was left out in ``attrs``.

    ``filters`` ({column: values}, one column) keeps only the rows whose column (their own, or
    their customer's) has one of the values; a KPI whose data cannot reach the column is left out
    with a note, as in a breakdown.
    """
    if grain not in GRAINS:
        raise InputError(f"unknown grain {grain!r} — use one of {', '.join(GRAINS)}")
    row_filter = _row_filter(ws, filters)
    start, end = _to_date(start, "start"), _to_date(end, "end")
    as_of = _to_date(as_of, "as-of date") or as_of_date(ws)
    engine = engines.of(ws)
    ws = _Snapshot(ws)
    loaded = ws.datasets()
    imported = imported_kpis(ws)
    available = catalog.availability(ws)
    # -- custom KPIs (kpi/custom.py): ids the team defined in the workspace's "custom_kpis" doc --
    customs = custom.load_custom_kpis(ws)
    if kpis is None:
        ids = [k for k in catalog.CATALOG if available[k].computable]
        ids += [k for k in imported if k not in catalog.CATALOG or not available[k].computable]
        ids += [k for k, c in customs.items() if k not in ids and custom.measurable(ws, c)[0]]  # custom KPIs
    else:
        ids = list(dict.fromkeys(kpis))
        for k in ids:
            if k not in catalog.CATALOG and k not in imported and k not in customs:
                catalog.get(k)  # raises UnknownKpi with close matches
    if as_of is None or not ids:
        return _empty_frame()

    queries, notes = [], []  # per KPI: the query of its rows (OUTPUT_COLUMNS)
    with engine.session() as session:
        run = Run(ws, session, grain, as_of, segment, loaded, filter=row_filter)
        run.make_filter_values()
        prepared = _user_days_prepared(session)
        # Each dataset's first date up to the as-of date, all in one query. Dates before 1970 do not
        # start the periods unless the team kept them (quality.py: implausible dates).
        floor = quality.first_period_date(ws)
        mins = [f"SELECT {i} AS i, min(CASE WHEN {expr} >= ? THEN {expr} END) AS first, min({expr}) AS earliest "
                f"FROM {table} WHERE {expr} <= ?"
                for i, (table, expr) in enumerate(_dates_of(ds, prepared) for ds in loaded)]
        found = list(session.rows(" UNION ALL ".join(mins), [floor, as_of] * len(mins))) if mins else []
        firsts = {ds: next((f for i, f, _ in found if i == n), None) for n, ds in enumerate(loaded)}
        for i, _first, early in found:
            if early is not None and early < floor:
                notes.append(f"{loaded[i]} has rows dated before 1970 (the first on {quality.day_words(early)}): "
                             "they are kept out of the periods — if they are real, keep them on the Data quality "
                             "page or with `python -m kpi ingest --keep-early-dates`.")
        run.first_event = firsts.get("events")
        earliest = min((d for d in firsts.values() if d is not None), default=None)
        if earliest is None:
            return _empty_frame()
        run.make_periods(earliest)
        counted = {o for k in ids if k in REGISTRY for c in REGISTRY[k].counts for o in c.split("|")}
        run.make_base_views(materialise=counted)
        for k in ids:
            computable = k in catalog.CATALOG and available[k].computable
            if computable:
                query = _kpi_query(run, k, firsts, notes)
            elif k in customs:  # a custom KPI: its definition wins over imported values of that name
                query = custom.custom_query(run, customs[k], firsts, notes)
            elif k in imported and run.filter is not None:
                notes.append(f"{k} is left out of the filter on {run.filter[0]}: imported values cannot be filtered.")
                continue
            elif k in imported:
                query = _imported_query(run, k)
            else:
                notes.append(f"{k}: cannot be computed from the loaded data — "
                             f"{'; '.join(available[k].missing) or 'data missing'}")
                continue
            if query is not None:
                queries.append(query)
        # Independent queries, all their temp tables made: an engine may run them at once.
        parts = [_in_order(rows, session) for rows in session.run_all(queries)]
    rows = [row for part in parts for row in part]
    if not rows:
        out = _empty_frame()
        out.attrs["notes"] = notes
        return out
    out = _rows_frame(rows)
    if row_filter is not None:
        out = out[out["segment"] != FILTERED_OUT]   # None (the filtered totals) is kept
    if start is not None:
        out = out[out["period"] >= start]
    if end is not None:
        out = out[out["period"] <= end]
    out = out.reset_index(drop=True)
    out.attrs["notes"] = notes
    return out


def _first_period(run: Run, k: str, firsts: dict) -> dt.date | None:
    main = _main_dataset(k, run.loaded)
    dates = [firsts.get(d) for d in (main or []) if firsts.get(d) is not None]
    if not dates:
        return None
    return run.period_of(min(dates))


def _kpi_query(run: Run, k: str, firsts: dict, notes: list) -> tuple[str, list] | None:
    """The query of the KPI's rows (OUTPUT_COLUMNS), or None with a note when it is left out."""
    spec = REGISTRY[k]
    counted = []
    for c in spec.counts:
        options = [o for o in c.split("|") if o in run.loaded]
        counted += options
    if run.split:
        blocked = [d for d in counted if not run.segmentable.get(d, False)]
        if blocked:
            notes.append(f"{k} is left out of {run.split_words()}: "
                         f"{', '.join(blocked)} has no column {run.split_columns()} and no customer to take it from.")
            return None
    first = _first_period(run, k, firsts)
    if first is None:
        return None
    for t in spec.needs_tables:
        run.ensure(t)
    # _g: every period has a row for every value the segment takes in the KPI's data.
    seg_sources = " UNION ".join(run.segment_values(d) for d in counted)
    grid = (f"SELECT per.p, per.t, per.prev_t, per.partial, s.seg FROM _periods per CROSS JOIN ({seg_sources}) s "
            f"WHERE per.p >= ?")
    body = spec.sql(run)
    if spec.fill == "zero":
        value = "COALESCE(r.val, 0)"
        num = den = "NULL"
    elif spec.fill == "ratio" and not spec.gridded:
        num, den = "COALESCE(r.num, 0)", "COALESCE(r.den, 0)"
        value = f"CAST({num} AS DOUBLE) / NULLIF({den}, 0)"
    elif spec.fill == "ratio":
        num, den = "r.num", "r.den"
        value = "CAST(r.num AS DOUBLE) / NULLIF(r.den, 0)"
    else:
        num, den = "r.num", "r.den"
        value = "COALESCE(r.val, CAST(r.num AS DOUBLE) / NULLIF(r.den, 0))"
    return (f"""
        WITH _g AS ({grid}), r AS ({body})
        SELECT ? AS kpi, ? AS grain, g.p AS period, g.seg AS segment, CAST({value} AS DOUBLE) AS value,
               CAST({num} AS DOUBLE) AS numerator, CAST({den} AS DOUBLE) AS denominator, g.partial
        FROM _g g LEFT JOIN r ON r.p = g.p AND r.seg IS NOT DISTINCT FROM g.seg
        ORDER BY g.p, g.seg NULLS FIRST""", [first, k, run.grain])


def _in_order(rows: list[tuple], session) -> list[tuple]:
    """A KPI's rows by period, then segment (none first). DuckDB sorts them in SQL; other engines
    may sort text by a locale's collation, so the same order is made here."""
    if session.kind == "duckdb":
        return rows
    return sorted(rows, key=lambda r: (r[2], r[3] is not None, r[3] or ""))


def _rows_frame(rows: list[tuple]) -> pd.DataFrame:
    """The tidy frame of result rows fetched as tuples in OUTPUT_COLUMNS order."""
    return _tidy(pd.DataFrame.from_records(rows, columns=OUTPUT_COLUMNS))


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    df["period"] = pd.to_datetime(df["period"]).dt.date
    df["segment"] = df["segment"].astype(object).where(df["segment"].notna(), None)
    for c in ("value", "numerator", "denominator"):
        df[c] = df[c].astype(float)
    df["partial"] = df["partial"].astype(bool)
    return df[OUTPUT_COLUMNS]


def _imported_query(run: Run, k: str) -> tuple[str, list]:
    """The query of kpi_values rows rolled up to the grain by the KPI's kind (kpis.md, Imported
    values), from the period of the KPI's first value on."""
    meta = catalog.CATALOG.get(k)
    kind = meta.kind if meta else "flow"
    unit = meta.unit if meta else "ratio"
    seg = "segment" if run.segment is not None else "CAST(NULL AS VARCHAR)"
    where = "" if run.segment is not None else "AND (segment IS NULL OR trim(segment) = '')"
    a = run.lit_date(run.as_of)
    raw = f"SELECT {run.period('date')} AS p, {seg} AS seg, date, value FROM kpi_values WHERE kpi = ? AND date <= {a} {where}"
    if kind == "stock":  # the last value by date (the larger of two on one date: never the order of ties)
        values = f"""SELECT p, seg, value AS val FROM (
                         SELECT p, seg, value, row_number() OVER (PARTITION BY p, seg
                             ORDER BY CASE WHEN value IS NULL THEN 1 ELSE 0 END, date DESC, value DESC) AS n
                         FROM ({raw}) raw) ranked WHERE n = 1"""
    else:
        values = f"SELECT p, seg, {'sum' if unit in ('count', 'currency') else 'avg'}(value) AS val FROM ({raw}) raw GROUP BY 1, 2"
    return (f"""
        WITH v AS ({values}),
             segs AS (SELECT DISTINCT seg FROM v)
        SELECT ? AS kpi, ? AS grain, per.p AS period, segs.seg AS segment, v.val AS value,
               CAST(NULL AS DOUBLE) AS numerator, CAST(NULL AS DOUBLE) AS denominator, per.partial
        FROM _periods per CROSS JOIN segs LEFT JOIN v ON v.p = per.p AND v.seg IS NOT DISTINCT FROM segs.seg
        WHERE per.p >= (SELECT {run.period('min(date)')} FROM kpi_values WHERE kpi = ? AND date <= {a})
        ORDER BY per.p, segs.seg NULLS FIRST""", [k, k, run.grain, k])


def imported_values(ws: Workspace, kpi_id: str, grain: str = "month", as_of=None, segment=None) -> pd.DataFrame:
    """Imported values of a KPI the app also computes, to show beside the computed ones."""
    as_of = _to_date(as_of, "as-of date") or as_of_date(ws)
    if kpi_id not in imported_kpis(ws) or as_of is None:
        return _empty_frame()
    loaded = ws.datasets()
    with engines.of(ws).session() as session:
        run = Run(ws, session, grain, as_of, segment, loaded)
        first = session.rows("SELECT min(date) FROM kpi_values WHERE kpi = ?", [kpi_id])[0][0]
        run.make_periods(first)
        rows = _in_order(session.rows(*_imported_query(run, kpi_id)), session)
    return _rows_frame(rows) if rows else _empty_frame()


def preview_custom(ws: Workspace, kpi: custom.CustomKpi, grain: str = "month", as_of=None) -> pd.DataFrame:
    """A custom KPI's values before it is saved (the builder's preview); empty when the data
    cannot compute it. Raises :class:`InputError` for a definition with problems."""
    problems = [p for m in (kpi.numerator, kpi.denominator) if m is not None for p in custom.measure_problems(ws, m)]
    if problems:
        raise InputError(" ".join(problems))
    as_of = as_of or as_of_date(ws)
    if as_of is None:
        return _empty_frame()
    with engines.of(ws).session() as session:
        firsts = {ds: session.rows(f"SELECT min({primary_date_sql(ds)}) FROM {quote_ident(ds)} "
                                   f"WHERE {primary_date_sql(ds)} <= ?", [as_of])[0][0]
                  for ds in kpi.datasets}
        dated = [v for v in firsts.values() if v is not None]
        if not dated:
            return _empty_frame()
        run = Run(ws, session, grain, as_of, None, ws.datasets())
        run.make_periods(min(dated))
        query = custom.custom_query(run, kpi, firsts, [])
        rows = _in_order(session.rows(*query), session) if query is not None else []
    return _rows_frame(rows) if rows else _empty_frame()


def _row_filter(ws: Workspace, filters) -> tuple[str, tuple[str, ...]] | None:
    """The one (column, values) a compute call filters on, checked against the workspace."""
    if not filters:
        return None
    if len(filters) > 1:
        raise InputError("filter on one column at a time")
    (column, values), = dict(filters).items()
    values = tuple(dict.fromkeys(str(v) for v in values))
    options = segment_options(ws)
    if column not in options:
        raise InputError(f"cannot filter on {column!r}: no loaded dataset has that column — use one of "
                         f"{', '.join(options) or 'the columns of your data'}")
    return (column, values) if values else None


def column_values(ws: Workspace, column: str, limit: int = 200) -> list[str]:
    """The values of a segment column, the most rows first (over every dataset holding it): what a
    filter can keep. A value longer than ``limits.SHOWN_CHARS`` is no segment (it would be sent to
    the browser on every rerun): it is not offered."""
    holders = [ds for ds in ws.datasets() if ds != "kpi_values" and column in ws.columns(ds)]
    if not holders:
        raise InputError(f"no loaded dataset has a column {column!r}")
    q = quote_ident(column)
    union = " UNION ALL ".join(f"SELECT CAST({q} AS VARCHAR) AS v FROM {quote_ident(ds)}" for ds in holders)
    return [r[0] for r in ws.rows(f"SELECT v FROM ({union}) WHERE v IS NOT NULL AND trim(v) <> '' "
                                  f"AND length(v) <= {limits.SHOWN_CHARS} "
                                  f"GROUP BY v ORDER BY count(*) DESC, v LIMIT ?", [limit])]


def segment_options(ws: Workspace) -> list[str]:
    """Columns a breakdown can use: text columns of the loaded datasets and every extra column.

    Ids, dates and amounts are left out: a breakdown by them would give one row per value. (The
    columns the app offers are the ones among these a person would segment by:
    ``kpi.segments.breakdown_columns``.)
    """
    return sorted({col for ds in ws.datasets() if ds != "kpi_values" for col in candidate_columns(ws, ds)})
