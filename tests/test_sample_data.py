"""The demo workspace's CSVs: reproducible, shaped as the 15 datasets, and telling their stories.

The story checks read the committed files in ``sample_data/`` with plain DuckDB SQL (not the KPI
engine) and compare windows that the generator's own ``Story`` places, so they keep holding
when the data is regenerated with another end date.
"""
from __future__ import annotations

import importlib.util
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from kpi.datasets import DATASETS

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"


def load_generator():
    spec = importlib.util.spec_from_file_location("sample_data_generate", SAMPLE_DIR / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


generate = load_generator()
STORY = generate.Story.ending(generate.DEFAULT_END)


def day(n: int) -> date:
    return date(1970, 1, 1) + timedelta(days=int(n))


@pytest.fixture(scope="module")
def db():
    con = duckdb.connect()
    for name in DATASETS:
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv(?, header = true)",
                    [str(SAMPLE_DIR / f"{name}.csv")])
    yield con
    con.close()


def one(con, sql, params=None):
    return con.execute(sql, params or []).fetchall()[0][0]


# -- the generator -------------------------------------------------------------------------

def test_same_arguments_give_the_same_bytes(tmp_path):
    args = ["--customers", "300", "--events", "15000", "--quiet"]
    generate.main(args + ["--out", str(tmp_path / "a")])
    generate.main(args + ["--out", str(tmp_path / "b")])
    generate.main(args + ["--out", str(tmp_path / "c"), "--seed", "7"])
    for name in DATASETS:
        first = (tmp_path / "a" / f"{name}.csv").read_bytes()
        assert first == (tmp_path / "b" / f"{name}.csv").read_bytes(), name
    assert (tmp_path / "a" / "events.csv").read_bytes() != (tmp_path / "c" / "events.csv").read_bytes()
    assert len((tmp_path / "a" / "events.csv").read_text().splitlines()) == 15000 + 1


def test_committed_files_are_the_default_run(tmp_path):
    """Someone who edits generate.py must regenerate the CSVs, or this fails."""
    generate.main(["--out", str(tmp_path), "--quiet"])
    for name in DATASETS:
        assert (tmp_path / f"{name}.csv").read_bytes() == (SAMPLE_DIR / f"{name}.csv").read_bytes(), (
            f"{name}.csv is stale: run python sample_data/generate.py")


def test_sizes_stay_small_enough_to_commit():
    total = sum((SAMPLE_DIR / f"{name}.csv").stat().st_size for name in DATASETS)
    assert total <= 8 * 1024 * 1024


# -- shape -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(DATASETS))
def test_each_dataset_has_its_canonical_columns_first(name):
    header = (SAMPLE_DIR / f"{name}.csv").open().readline().strip().split(",")
    canonical = list(DATASETS[name].column_names)
    assert header[:len(canonical)] == canonical


def test_values_are_written_in_the_documented_forms(db):
    raw = duckdb.connect()
    iso_ts = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
    iso_date = r"^\d{4}-\d{2}-\d{2}$"
    for name, column, pattern in (("events", "timestamp", iso_ts), ("tickets", "created_at", iso_ts),
                                  ("tickets", "resolved_at", iso_ts), ("incidents", "ended_at", iso_ts),
                                  ("subscriptions", "end_date", iso_date), ("customers", "converted_date", iso_date),
                                  ("tickets", "escalated", "^(true|false)$"), ("compliance", "passed", "^(true|false)$")):
        bad = one(raw, f"SELECT count(*) FROM read_csv(?, all_varchar = true) WHERE {column} IS NOT NULL "
                       f"AND NOT regexp_matches({column}, ?)", [str(SAMPLE_DIR / f"{name}.csv"), pattern])
        assert bad == 0, (name, column)


def test_every_row_is_inside_the_window(db):
    start, end = day(STORY.start), day(STORY.end)
    for name, ds in DATASETS.items():
        low, high = db.execute(f"SELECT min(CAST({ds.primary_date} AS DATE)), max(CAST({ds.primary_date} AS DATE)) "
                               f"FROM {name}").fetchall()[0]
        assert high <= end, name
        assert name == "releases" or low >= start, name


# -- one id space ----------------------------------------------------------------------------

def test_customer_ids_are_unique(db):
    assert one(db, "SELECT count(*) - count(DISTINCT customer_id) FROM customers") == 0


@pytest.mark.parametrize("table, column", [("events", "user_id"), ("subscriptions", "customer_id"),
                                           ("payments", "customer_id"), ("tickets", "customer_id")])
def test_every_id_is_a_customer(db, table, column):
    orphans = one(db, f"SELECT count(*) FROM {table} WHERE {column} NOT IN (SELECT customer_id FROM customers)")
    assert orphans == 0


def test_nps_respondents_are_customers(db):
    orphans = one(db, "SELECT count(*) FROM surveys WHERE coalesce(survey, 'nps') = 'nps' "
                      "AND respondent_id NOT IN (SELECT customer_id FROM customers)")
    assert orphans == 0


def test_channels_are_the_same_words_in_customers_and_marketing(db):
    customer_channels = {r[0] for r in db.execute("SELECT DISTINCT channel FROM customers").fetchall()}
    marketing_channels = {r[0] for r in db.execute("SELECT DISTINCT channel FROM marketing").fetchall()}
    assert customer_channels == marketing_channels == set(generate.CHANNELS)
    assert one(db, "SELECT sum(spend) FROM marketing WHERE channel = 'organic'") == 0


# -- subscriptions, payments, trials -----------------------------------------------------------

def test_subscription_rows_are_well_formed_but_for_two_glitches(db):
    assert one(db, "SELECT count(*) FROM subscriptions WHERE end_date <= start_date") == 2
    assert one(db, "SELECT count(*) FROM subscriptions WHERE mrr <= 0") == 0
    periods = {r[0] for r in db.execute("SELECT DISTINCT billing_period FROM subscriptions").fetchall()}
    assert periods == {"month", "quarter", "year"}


def test_a_customer_has_one_core_row_at_a_time(db):
    overlaps = one(db, """
        SELECT count(*) FROM subscriptions a JOIN subscriptions b
          ON a.customer_id = b.customer_id AND a.product = b.product AND a.start_date < b.start_date
         AND (a.end_date IS NULL OR a.end_date > b.start_date)
        WHERE a.product = 'Acme Analytics' AND a.end_date > a.start_date AND b.end_date IS DISTINCT FROM b.start_date""")
    assert overlaps == 0


def test_changes_reactivations_and_cancellations_all_occur(db):
    changed = one(db, """SELECT count(*) FROM subscriptions a JOIN subscriptions b
                           ON a.customer_id = b.customer_id AND a.product = b.product AND a.end_date = b.start_date""")
    came_back = one(db, """SELECT count(DISTINCT a.customer_id) FROM subscriptions a JOIN subscriptions b
                             ON a.customer_id = b.customer_id AND a.product = b.product
                            AND b.start_date > a.end_date + INTERVAL 28 DAY
                            WHERE a.product = 'Acme Analytics'""")
    cancelled = one(db, "SELECT count(*) FROM subscriptions WHERE end_date > start_date")
    assert changed > 100 and came_back > 10 and cancelled > 200


def test_converted_date_is_the_first_paid_day(db):
    mismatches = one(db, """
        SELECT count(*) FROM customers c FULL JOIN
             (SELECT customer_id, min(start_date) AS first_mrr FROM subscriptions WHERE mrr > 0
               AND (end_date IS NULL OR end_date > start_date) GROUP BY 1) s USING (customer_id)
        WHERE c.converted_date IS DISTINCT FROM s.first_mrr""")
    assert mismatches == 0


def test_trials_last_fourteen_days(db):
    assert one(db, "SELECT count(*) FROM customers WHERE trial_start IS NOT NULL "
                   "AND (trial_end - trial_start <> 14 OR trial_start <> signup_date)") == 0
    assert one(db, "SELECT count(*) FROM customers WHERE trial_start IS NULL") > 50  # sales-led, no trial


def test_payments_follow_the_subscriptions(db):
    outside = one(db, """
        SELECT count(*) FROM payments p WHERE amount > 0 AND NOT EXISTS (
            SELECT 1 FROM subscriptions s WHERE s.customer_id = p.customer_id AND s.product = p.product
               AND s.start_date <= p.date AND (s.end_date IS NULL OR s.end_date > p.date))""")
    assert outside == 0
    # An open monthly row bills every month from its start; a yearly one once a year.
    monthly, yearly = db.execute("""
        SELECT avg(n) FILTER (WHERE billing_period = 'month' AND months >= 6) / avg(months + 1)
                   FILTER (WHERE billing_period = 'month' AND months >= 6),
               max(n) FILTER (WHERE billing_period = 'year' AND months < 12)
        FROM (SELECT s.billing_period, date_diff('month', s.start_date, DATE '2026-10-31') AS months,
                     (SELECT count(*) FROM payments p WHERE p.customer_id = s.customer_id AND p.product = s.product
                         AND p.amount > 0 AND p.date >= s.start_date) AS n
              FROM subscriptions s WHERE s.end_date IS NULL AND s.product = 'Acme Analytics')""").fetchall()[0]
    assert monthly == pytest.approx(1.0, abs=0.05)
    assert yearly == 1
    refunds = one(db, "SELECT count(*) FROM payments WHERE amount < 0")
    assert 5 <= refunds <= 0.02 * one(db, "SELECT count(*) FROM payments")
    products = {r[0] for r in db.execute("SELECT DISTINCT product FROM payments").fetchall()}
    assert products == {r[0] for r in db.execute("SELECT DISTINCT product FROM releases").fetchall()}


# -- releases and events ---------------------------------------------------------------------

def test_release_events_start_on_their_release_day(db):
    rows = db.execute("""SELECT r.feature, r.released_date, min(e.timestamp)::DATE, count(e.event)
                         FROM releases r LEFT JOIN events e ON e.event = r.event GROUP BY ALL""").fetchall()
    assert len(rows) == 30
    for feature, released, first_use, uses in rows:
        assert uses > 0, feature
        assert first_use >= released, feature


def test_one_product_launched_within_the_last_year(db):
    launches = dict(db.execute("SELECT product, min(released_date) FROM releases GROUP BY 1").fetchall())
    assert 2 <= len(launches) <= 3
    recent = [p for p, d in launches.items() if d > day(STORY.end) - timedelta(days=365)]
    assert recent == [generate.FORECAST]


def test_sessions_without_an_id_are_api_calls(db):
    assert one(db, "SELECT count(*) FROM events WHERE (session_id IS NULL) <> (platform = 'api')") == 0


# -- the stories -------------------------------------------------------------------------------

def arpa_on(con, d: date) -> float:
    return one(con, """SELECT sum(mrr) / count(DISTINCT customer_id) FROM subscriptions
                       WHERE start_date <= ? AND (end_date IS NULL OR end_date > ?) AND end_date IS DISTINCT FROM start_date""",
               [d, d])


def test_the_price_change_lifts_arpa(db):
    change = day(STORY.price_change)
    # Customers move to the new price at their first renewal after the change: the row that
    # follows their old one costs more, even counting seat changes made at the same renewal.
    ratios = [r[0] for r in db.execute("""
        SELECT b.mrr / a.mrr FROM subscriptions a JOIN subscriptions b
          ON a.customer_id = b.customer_id AND a.product = b.product AND b.start_date = a.end_date
        WHERE a.product = 'Acme Analytics' AND a.start_date < ? AND a.end_date >= ?""", [change, change]).fetchall()]
    assert len(ratios) > 50
    assert np.median(ratios) > 1.1
    assert arpa_on(db, change + timedelta(days=180)) > 1.1 * arpa_on(db, change - timedelta(days=1))


def monthly_churn(con):
    """Customer churn rate by month, straight from the definition in kpis.md."""
    return dict(con.execute("""
        WITH ends AS (SELECT DISTINCT last_day(d)::DATE AS t FROM range(DATE '2024-11-01', DATE '2026-11-01', INTERVAL 1 MONTH) r(d)),
             paying AS (SELECT t, customer_id FROM ends JOIN subscriptions s ON s.start_date <= t
                          AND (s.end_date IS NULL OR s.end_date > t) AND s.end_date IS DISTINCT FROM s.start_date
                        GROUP BY ALL HAVING sum(mrr) > 0)
        SELECT last_day(a.t + INTERVAL 1 DAY)::DATE, count(*) FILTER (WHERE b.customer_id IS NULL) / count(*)
        FROM paying a LEFT JOIN paying b ON b.customer_id = a.customer_id AND b.t = last_day(a.t + INTERVAL 1 DAY)
        WHERE a.t < DATE '2026-10-31' GROUP BY 1""").fetchall())


def test_churn_spikes_in_one_quarter(db):
    churn = monthly_churn(db)
    spike = [v for t, v in churn.items() if STORY.in_churn_quarter(STORY.start + (t - day(STORY.start)).days)]
    settled = [v for t, v in churn.items() if t >= day(STORY.start) + timedelta(days=180)
               and not STORY.in_churn_quarter(STORY.start + (t - day(STORY.start)).days)]
    assert len(spike) == 3
    assert np.mean(spike) > 1.75 * np.mean(settled)


def test_dashboards_2_adoption_climbs_for_months(db):
    released = day(STORY.release_day("Dashboards 2.0"))
    shares = [r[1] for r in db.execute("""
        SELECT date_trunc('month', timestamp) AS m,
               count(DISTINCT user_id) FILTER (WHERE event = 'dashboard_v2_viewed') / count(DISTINCT user_id)
        FROM events WHERE timestamp >= date_trunc('month', ?::DATE) GROUP BY 1 ORDER BY 1 LIMIT 5""",
        [released]).fetchall()]
    # The release month is partial; over the next three full months more and more users pick it up.
    assert shares[0] < shares[1] < shares[2] < shares[3]
    assert shares[4] > 1.5 * shares[1]


def test_the_bad_release_hurts_quality(db):
    bad, until = day(STORY.bad_release), day(STORY.bad_release_until)
    weeks = (until - bad).days / 7
    per_week_during = one(db, "SELECT count(*) FROM defects WHERE stage = 'production' AND found_date >= ? "
                              "AND found_date < ?", [bad, until]) / weeks
    per_week_else = one(db, "SELECT count(*) FROM defects WHERE stage = 'production' AND NOT (found_date >= ? "
                            "AND found_date < ?)", [bad, until]) / (104 - weeks)
    assert per_week_during > 3 * per_week_else
    during, otherwise = db.execute("""SELECT avg(escalated::INT) FILTER (WHERE created_at >= ? AND created_at < ?),
                                             avg(escalated::INT) FILTER (WHERE NOT (created_at >= ? AND created_at < ?))
                                      FROM tickets""", [bad, until, bad, until]).fetchall()[0]
    assert during > 2 * otherwise
    assert one(db, "SELECT count(*) FROM incidents WHERE severity = 'sev1' AND started_at >= ? AND started_at < ?",
               [bad, bad + timedelta(days=7)]) == 1


def test_paid_social_gets_expensive(db):
    def spend_per_customer(first: date, last: date) -> float:
        spend = one(db, "SELECT sum(spend) FROM marketing WHERE channel = 'paid_social' AND date BETWEEN ? AND ?",
                    [first, last])
        won = one(db, "SELECT count(*) FROM customers WHERE channel = 'paid_social' "
                      "AND converted_date BETWEEN ? AND ?", [first, last])
        return spend / won

    start, end = day(STORY.start), day(STORY.end)
    assert spend_per_customer(end - timedelta(days=240), end) > 1.5 * spend_per_customer(start, start + timedelta(days=240))


def test_december_and_august_are_quiet(db):
    monthly = dict(db.execute("SELECT date_trunc('month', signup_date)::DATE, count(*) FROM customers GROUP BY 1").fetchall())
    usage = dict(db.execute("SELECT date_trunc('month', timestamp)::DATE, count(*) FROM events GROUP BY 1").fetchall())
    for quiet in (date(2025, 12, 1), date(2025, 8, 1), date(2026, 8, 1)):
        before, after = date(quiet.year, quiet.month - 1, 1), date(quiet.year + quiet.month // 12, quiet.month % 12 + 1, 1)
        assert usage[quiet] < min(usage[before], usage[after]), quiet
        assert monthly[quiet] < (monthly[before] + monthly[after]) / 2, quiet


def test_mrr_grows(db):
    assert arpa_on(db, day(STORY.end)) > 0
    paying = [one(db, """SELECT count(DISTINCT customer_id) FROM subscriptions WHERE start_date <= ?
                         AND (end_date IS NULL OR end_date > ?)""", [d, d])
              for d in (date(2025, 4, 30), date(2025, 10, 31), date(2026, 4, 30), day(STORY.end))]
    assert paying == sorted(paying)


# -- every KPI has something to compute in most months ------------------------------------------

@pytest.mark.parametrize("table, column, where", [
    ("events", "timestamp", "true"), ("customers", "signup_date", "true"), ("payments", "date", "true"),
    ("marketing", "date", "true"), ("surveys", "date", "survey = 'employee'"),
    ("surveys", "date", "coalesce(survey, 'nps') = 'nps'"), ("sprints", "end_date", "true"),
    ("defects", "found_date", "stage = 'production'"), ("defects", "found_date", "stage = 'pre_release'"),
    ("codebase", "date", "true"), ("test_runs", "started_at", "true"), ("tickets", "created_at", "true"),
    ("compliance", "date", "true"), ("kpi_values", "date", "kpi = 'marketing_qualified_leads'"),
    ("kpi_values", "date", "kpi = 'csat'"), ("customers", "trial_end", "converted_date IS NULL"),
])
def test_most_months_have_rows(db, table, column, where):
    months = one(db, f"SELECT count(DISTINCT date_trunc('month', {column})) FROM {table} WHERE {where} "
                     f"AND {column} <= ?", [day(STORY.end)])
    assert months >= 22


def test_escalations_happen_in_most_months(db):
    # The launch months have a handful of tickets each, so an escalation-free month is fine there.
    assert one(db, "SELECT count(DISTINCT date_trunc('month', created_at)) FROM tickets WHERE escalated") >= 18


def test_incidents_happen_in_several_months(db):
    assert one(db, "SELECT count(DISTINCT date_trunc('month', started_at)) FROM incidents") >= 6


def test_the_data_quality_report_has_something_to_report(db):
    assert 2 <= one(db, "SELECT count(*) FROM surveys WHERE coalesce(survey, 'nps') = 'nps' AND score > 10") <= 3
    assert one(db, "SELECT count(*) FROM surveys WHERE survey = 'employee' AND (score < 1 OR score > 10)") == 0


def test_imported_kpis_include_a_catalog_id(db):
    kpis = {r[0] for r in db.execute("SELECT DISTINCT kpi FROM kpi_values").fetchall()}
    assert kpis == {"marketing_qualified_leads", "csat", "nps"}
