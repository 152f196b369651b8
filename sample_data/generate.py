"""Writes the demo workspace: two years of Acme Analytics, a fictional B2B SaaS product, as the 15 dataset CSVs.

The data is drawn from one seeded random generator over a fixed window, so the same arguments
always give the same bytes. It is built to tell stories a product manager recognises in monthly
KPIs (see ``README.md`` in this folder):

* steady growth with weaker Decembers and Augusts;
* a price change about 10 months before the end that lifts ARPA as customers renew;
* a churn spike in one quarter (15 to 13 months before the end), after a long outage;
* Dashboards 2.0, a release whose adoption climbs over months;
* a bad release about 5 months before the end: production defects, escalations, an incident;
* paid social getting expensive: its spend grows faster than the customers it brings.

Run ``python sample_data/generate.py --help``. Everything is vectorised with numpy and written
with pyarrow, so the large benchmark version (``--events 10000000 --customers 500000``) takes
well under two minutes.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

DEFAULT_SEED = 42
DEFAULT_END = "2026-10-31"
DEFAULT_CUSTOMERS = 2_000
DEFAULT_EVENTS = 100_000
MONTHS = 24

# An end date far in the future stands for "still active" while simulating; it is written empty.
OPEN = 10**9

CHANNELS = ("organic", "paid_search", "paid_social", "referral", "partners")
ORGANIC, PAID_SEARCH, PAID_SOCIAL, REFERRAL, PARTNERS = range(5)
PLANS = ("starter", "team", "business")
STARTER, TEAM, BUSINESS = range(3)
BILLING_PERIOD_NAMES = {1: "month", 3: "quarter", 12: "year"}
COMPANY_SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")
COUNTRIES = ("US", "GB", "DE", "CA", "FR", "NL", "AU", "IN", "BR", "SE", "ES")
COUNTRY_WEIGHTS = (42, 12, 10, 6, 6, 4, 5, 5, 4, 3, 3)

CORE_PRODUCT, CONNECT, FORECAST = "Acme Analytics", "Acme Connect", "Acme Forecast"

# Monthly list price per seat, before and after the price change.
SEAT_PRICE = np.array([[12.0, 19.0, 29.0], [14.0, 22.0, 34.0]])
# Longer commitments buy a discount, as B2B price pages do.
PERIOD_DISCOUNT = {1: 1.0, 3: 0.95, 12: 0.85}
# Monthly chance that a paying customer leaves, by plan: small teams churn most.
MONTHLY_CHURN = np.array([0.045, 0.025, 0.012])

# Events that exist from launch day, with how often they occur inside a session.
BASE_EVENTS = ("dashboard_viewed", "report_viewed", "query_run", "filter_applied", "chart_edited",
               "report_created", "data_source_connected", "settings_updated")
BASE_EVENT_WEIGHTS = (30, 18, 14, 12, 8, 7, 1.5, 1.5)
EVENT_FEATURE = {
    "login": "account", "dashboard_viewed": "dashboards", "filter_applied": "dashboards",
    "report_viewed": "reports", "report_created": "reports", "query_run": "queries",
    "chart_edited": "charts", "data_source_connected": "data_sources", "settings_updated": "admin",
}


@dataclass(frozen=True)
class Release:
    feature: str
    product: str
    event: str
    area: str         # the events.feature value of its event
    month: int        # months after the window's first month (negative: counted from the last)
    day: int          # day of that month
    peak: float       # share of in-session events that use it once adopted
    ramp_days: int    # how long adoption takes to reach the peak
    build_days: int   # typical time from start of work to release


# Work that shipped over the two years. The four anchored ones carry the stories.
RELEASES = (
    Release("Acme Analytics 1.0", CORE_PRODUCT, "report_created", "reports", 0, 1, 0, 1, 240),
    Release("CSV export", CORE_PRODUCT, "export_csv", "reports", 1, 5, 0.020, 30, 40),
    Release("Scheduled reports", CORE_PRODUCT, "report_scheduled", "reports", 1, 19, 0.012, 45, 55),
    Release("Slack alerts", CORE_PRODUCT, "alert_sent_slack", "alerts", 2, 11, 0.015, 30, 45),
    Release("Team invites", CORE_PRODUCT, "invite_sent", "account", 3, 9, 0.008, 20, 30),
    Release("Dark mode", CORE_PRODUCT, "theme_toggled", "account", 4, 14, 0.006, 10, 25),
    Release("Acme Connect", CONNECT, "connector_synced", "connectors", 5, 6, 0.060, 40, 150),
    Release("Salesforce connector", CONNECT, "salesforce_synced", "connectors", 6, 17, 0.030, 45, 60),
    Release("Query builder", CORE_PRODUCT, "query_built", "queries", 7, 8, 0.025, 60, 70),
    Release("Usage alerts", CORE_PRODUCT, "alert_created", "alerts", 8, 12, 0.012, 40, 45),
    Release("SSO (SAML)", CORE_PRODUCT, "sso_login", "account", 8, 26, 0.010, 30, 50),
    Release("HubSpot connector", CONNECT, "hubspot_synced", "connectors", 9, 16, 0.025, 45, 40),
    Release("Annotations", CORE_PRODUCT, "annotation_added", "dashboards", 10, 7, 0.010, 30, 35),
    Release("Dashboards 2.0", CORE_PRODUCT, "dashboard_v2_viewed", "dashboards", -12, 14, 0.110, 150, 95),
    Release("Embedded charts", CORE_PRODUCT, "chart_embedded", "charts", 12, 20, 0.010, 30, 40),
    Release("Snowflake connector", CONNECT, "snowflake_synced", "connectors", 12, 27, 0.025, 45, 45),
    Release("Audit log", CORE_PRODUCT, "audit_log_viewed", "admin", 13, 10, 0.006, 20, 30),
    Release("Goals and targets", CORE_PRODUCT, "goal_set", "dashboards", 14, 18, 0.012, 40, 45),
    Release("Mobile app", CORE_PRODUCT, "mobile_dashboard_viewed", "mobile", 15, 11, 0.020, 60, 110),
    Release("Acme Forecast", FORECAST, "forecast_run", "forecasting", -7, 10, 0.080, 90, 170),
    Release("Forecast scenarios", FORECAST, "scenario_created", "forecasting", 17, 19, 0.030, 45, 35),
    Release("Data pipeline 3.0", CORE_PRODUCT, "pipeline_v3_run", "data_sources", -5, 12, 0.030, 20, 18),
    Release("Anomaly detection", FORECAST, "anomaly_flagged", "forecasting", 18, 26, 0.025, 40, 40),
    Release("Bulk export", CORE_PRODUCT, "bulk_export", "reports", 19, 16, 0.008, 30, 30),
    Release("Custom roles", CORE_PRODUCT, "role_assigned", "admin", 20, 9, 0.006, 30, 35),
    Release("BigQuery connector", CONNECT, "bigquery_synced", "connectors", 20, 23, 0.025, 45, 35),
    Release("AI summaries", CORE_PRODUCT, "summary_generated", "reports", 21, 14, 0.030, 40, 30),
    Release("Forecast API", FORECAST, "forecast_api_called", "forecasting", 22, 6, 0.020, 40, 30),
    Release("Comment threads", CORE_PRODUCT, "comment_posted", "dashboards", 22, 20, 0.012, 30, 28),
    Release("Workspace templates", CORE_PRODUCT, "template_used", "dashboards", 23, 7, 0.015, 30, 25),
)

# Add-on products: who buys them and at what monthly price.
ADDONS = (
    # product, launch release, monthly price, chance per paying span by plan, mean days to buy
    (CONNECT, "Acme Connect", 99.0, (0.12, 0.35, 0.55), 120.0),
    (FORECAST, "Acme Forecast", 199.0, (0.10, 0.35, 0.55), 60.0),
)

COLUMNS = {
    "events": ("user_id", "timestamp", "event", "session_id", "feature", "platform"),
    "customers": ("customer_id", "signup_date", "channel", "trial_start", "trial_end", "converted_date",
                  "country", "company_size"),
    "subscriptions": ("customer_id", "start_date", "end_date", "mrr", "plan", "product", "billing_period"),
    "payments": ("customer_id", "date", "amount", "product"),
    "marketing": ("date", "channel", "spend", "visitors", "campaign"),
    "surveys": ("date", "score", "survey", "respondent_id"),
    "releases": ("feature", "released_date", "started_date", "product", "event"),
    "sprints": ("sprint", "end_date", "completed_points", "committed_points", "start_date", "team"),
    "defects": ("defect_id", "found_date", "stage", "severity", "component"),
    "codebase": ("date", "kloc"),
    "test_runs": ("run_id", "started_at", "duration_minutes", "tests_total", "tests_failed"),
    "tickets": ("ticket_id", "created_at", "first_response_at", "resolved_at", "escalated", "cost",
                "customer_id", "priority", "topic"),
    "incidents": ("started_at", "ended_at", "service", "severity"),
    "compliance": ("date", "control", "passed", "standard"),
    "kpi_values": ("date", "kpi", "value", "segment"),
}


# -- calendar ------------------------------------------------------------------------------
# Days are ints counted from 1970-01-01, months are ints counted from January 1970.

def day_of(text: str) -> int:
    return int(np.datetime64(text, "D").astype(np.int64))


def month_of(days):
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def month_start(months):
    return np.asarray(months).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def add_months(days, months):
    """The same day ``months`` later, or that month's last day when it is shorter (billing renewals)."""
    d = np.asarray(days).astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    day_in_month = d - m.astype("datetime64[D]")
    target = m + np.asarray(months)
    last_day = (target + 1).astype("datetime64[D]") - np.timedelta64(1, "D")
    return np.minimum(target.astype("datetime64[D]") + day_in_month, last_day).astype(np.int64)


def weekday(days):
    """0 is Monday."""
    return (np.asarray(days) + 3) % 7


def month_of_year(days):
    return month_of(days) % 12 + 1


def next_weekday(day: int) -> int:
    return day + int({5: 2, 6: 1}.get(int(weekday(day)), 0))


@dataclass(frozen=True)
class Story:
    """The window and the dates the stories hang on, all placed relative to the end date."""
    start: int
    end: int
    price_change: int
    churn_quarter_start: int
    churn_quarter_end: int      # exclusive
    long_outage: int
    bad_release: int
    bad_release_until: int      # the weeks the bad release hurts (exclusive)
    meta_ads_start: int
    ci_speedup: int
    release_days: tuple[int, ...]

    @classmethod
    def ending(cls, end_text: str) -> "Story":
        end = day_of(end_text)
        last_month = int(month_of(end))
        first_month = last_month - (MONTHS - 1)

        def back(k):
            return int(month_start(last_month - k))

        quarter_month = last_month - 14
        quarter_month -= (quarter_month % 12) % 3
        release_days = []
        for r in RELEASES:
            month = first_month + r.month if r.month >= 0 else last_month + r.month
            first = int(month_start(month))
            if r.month == 0 and r.day == 1:
                release_days.append(first)  # launch day: the first day of the data
                continue
            last = int(month_start(month + 1)) - 1
            release_days.append(min(next_weekday(min(first + r.day - 1, last)), end))
        bad = release_days[[r.feature for r in RELEASES].index("Data pipeline 3.0")]
        churn_start = int(month_start(quarter_month))
        return cls(
            start=int(month_start(first_month)), end=end, price_change=back(9),
            churn_quarter_start=churn_start, churn_quarter_end=int(month_start(quarter_month + 3)),
            long_outage=churn_start + 37, bad_release=bad, bad_release_until=bad + 45,
            meta_ads_start=int(month_start(first_month + 9)), ci_speedup=back(8) + 6,
            release_days=tuple(release_days),
        )

    def release_day(self, feature: str) -> int:
        return self.release_days[[r.feature for r in RELEASES].index(feature)]

    def in_churn_quarter(self, days):
        days = np.asarray(days)
        return (days >= self.churn_quarter_start) & (days < self.churn_quarter_end)

    def in_bad_weeks(self, days):
        days = np.asarray(days)
        return (days >= self.bad_release) & (days < self.bad_release_until)


def season(days):
    """Fewer people sign up, buy and log in over the December holidays and the August break."""
    moy = month_of_year(days)
    return np.where(moy == 12, 0.72, np.where(moy == 8, 0.80, 1.0))


def pick(rng, probabilities):
    """One index per row of a probability matrix (rows need not be normalised)."""
    p = np.asarray(probabilities, dtype=float)
    cum = np.cumsum(p, axis=1)
    u = rng.random(len(p)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), p.shape[1] - 1)


def choose(rng, n, weights):
    weights = np.asarray(weights, dtype=float)
    return rng.choice(len(weights), size=n, p=weights / weights.sum())


# -- customers and what they pay -------------------------------------------------------------

def signup_weight(story: Story, days):
    """Relative sign-ups per day: about 3.5 % growth a month, quiet weekends, a launch bump."""
    months_in = month_of(days) - month_of(story.start)
    weight = np.exp(0.035 * months_in) * season(days) * np.where(weekday(days) >= 5, 0.35, 1.0)
    return weight * np.where(months_in == 0, 1.4, 1.0)


def channel_shares(story: Story, days):
    """Share of sign-ups by channel; paid social buys a growing share."""
    progress = (np.asarray(days) - story.start) / (story.end - story.start)
    shares = np.empty((len(progress), len(CHANNELS)))
    shares[:, ORGANIC] = 0.34 - 0.08 * progress
    shares[:, PAID_SEARCH] = 0.24
    shares[:, PAID_SOCIAL] = 0.18 + 0.08 * progress
    shares[:, REFERRAL] = 0.11
    shares[:, PARTNERS] = 0.13
    return shares


def trial_conversion(story: Story, channel, days, size):
    """Chance that a trial converts: paid social's leads get worse as its audience widens."""
    progress = (np.asarray(days) - story.start) / (story.end - story.start)
    base = np.array([0.40, 0.38, 0.36, 0.52, 0.45])[channel]
    base = np.where(channel == PAID_SOCIAL, 0.36 - 0.14 * progress, base)
    return base * np.array([0.9, 1.0, 1.1, 1.15, 1.15])[size]


def first_plan(rng, size):
    by_size = np.array([[75, 23, 2], [40, 50, 10], [15, 55, 30], [5, 40, 55], [0, 25, 75]], dtype=float)
    plan = pick(rng, by_size[size])
    seats = np.where(
        plan == STARTER, rng.integers(1, 6, len(plan)),
        np.where(plan == TEAM, np.clip(np.round(rng.lognormal(np.log(12), 0.5, len(plan))), 3, 40),
                 np.clip(np.round(rng.lognormal(np.log(45), 0.6, len(plan))), 10, 400)))
    return plan, seats.astype(np.int64)


def plan_after_seat_change(plan, seats):
    """Seat counts that outgrow (or shrink below) a plan move the customer to the next plan."""
    plan = np.where((plan == STARTER) & (seats > 5), TEAM, plan)
    plan = np.where((plan == TEAM) & (seats > 40), BUSINESS, plan)
    plan = np.where((plan == BUSINESS) & (seats < 10), TEAM, plan)
    return np.where((plan == TEAM) & (seats <= 2), STARTER, plan)


def amount_per_period(plan, seats, period, price_era):
    discount = np.select([period == 1, period == 3], [PERIOD_DISCOUNT[1], PERIOD_DISCOUNT[3]], PERIOD_DISCOUNT[12])
    return np.round(SEAT_PRICE[price_era, plan] * seats * discount * period)


def make_customers(rng, story: Story, n: int) -> dict:
    days = np.arange(story.start, story.end + 1)
    weight = signup_weight(story, days)
    signup = np.sort(rng.choice(days, size=n, p=weight / weight.sum()))
    channel = pick(rng, channel_shares(story, signup))
    country = choose(rng, n, COUNTRY_WEIGHTS)
    size = choose(rng, n, (38, 32, 18, 9, 3))
    # Bigger companies (and partner deals) buy through sales, without a self-serve trial.
    sales_chance = np.array([0.02, 0.08, 0.20, 0.45, 0.70])[size] + np.where(channel == PARTNERS, 0.15, 0)
    sales_led = rng.random(n) < sales_chance

    converts_in_trial = rng.random(n) < trial_conversion(story, channel, signup, size)
    converts_late = ~converts_in_trial & (rng.random(n) < 0.08)
    # Most trials convert near the end of the 14 days, some right away.
    in_trial_day = np.where(rng.random(n) < 0.3, rng.integers(0, 8, n), rng.integers(8, 15, n))
    late_day = 15 + np.minimum(rng.exponential(12, n).astype(np.int64), 45)
    trial_converted = np.where(converts_in_trial, signup + in_trial_day, np.where(converts_late, signup + late_day, OPEN))
    sales_converted = np.where(rng.random(n) < 0.7, signup + 5 + rng.exponential(14, n).astype(np.int64), OPEN)
    converted = np.where(sales_led, sales_converted, trial_converted)
    converted = np.where(converted <= story.end, converted, OPEN)

    plan, seats = first_plan(rng, size)
    self_serve_period = choose(rng, n, (70, 10, 20))
    sales_period = choose(rng, n, (15, 15, 70))
    period = np.array([1, 3, 12])[np.where(sales_led, sales_period, self_serve_period)]
    linger = rng.integers(0, 6, n)
    engagement = rng.lognormal(0.0, 0.5, n)
    return dict(signup=signup, channel=channel, country=country, size=size, sales_led=sales_led,
                converted=converted, plan=plan, seats=seats, period=period, linger=linger,
                engagement=engagement)


def simulate_paying(rng, story: Story, customer, start, plan, seats, period):
    """Follow each paying customer renewal by renewal until they leave or the window ends.

    Every change (seats, plan, the new price) happens at a renewal, ends the current row and
    starts the next one, as a billing system records it. Returns subscription rows, one paying
    span per customer (start to churn) and the refunds of customers who cancelled mid-period.
    """
    n = len(customer)
    row_start = start.copy()
    renewals_done = np.zeros(n, np.int64)
    plan, seats = plan.copy(), seats.copy()
    era = (start >= story.price_change).astype(np.int64)
    span_end = np.full(n, OPEN)
    rows, refunds = [], []

    def emit(who, end):
        rows.append(dict(customer=customer[who], start=row_start[who].copy(), end=np.asarray(end),
                         plan=plan[who].copy(), seats=seats[who].copy(), period=period[who].copy(),
                         era=era[who].copy()))

    live = np.arange(n)
    while live.size:
        boundary = add_months(row_start[live], (renewals_done[live] + 1) * period[live])
        beyond = boundary > story.end
        emit(live[beyond], np.full(beyond.sum(), OPEN))
        live, boundary = live[~beyond], boundary[~beyond]

        new_price = (era[live] == 0) & (boundary >= story.price_change)
        hazard = MONTHLY_CHURN[plan[live]]
        hazard = hazard * np.where(story.in_churn_quarter(boundary), 4.0, 1.0)
        hazard = hazard * np.where(story.in_bad_weeks(boundary), 1.3, 1.0)
        hazard = hazard * np.where(boundary - start[live] < 90, 1.6, 1.0)
        hazard = hazard * np.where(new_price, 1.25, 1.0)
        leaves = rng.random(live.size) < 1 - (1 - np.minimum(hazard, 0.9)) ** period[live]
        mid_period = rng.random(live.size) < 0.12
        cancel_gap = rng.integers(3, 26, live.size)

        who, at = live[leaves], boundary[leaves]
        # A few monthly customers cancel mid-period and get the unused days back.
        period_start = add_months(row_start[who], renewals_done[who] * period[who])
        early = mid_period[leaves] & (period[who] == 1)
        cancel = np.where(early, np.maximum(at - cancel_gap[leaves], period_start + 1), at)
        emit(who, cancel)
        span_end[who] = cancel
        amount = amount_per_period(plan[who], seats[who], period[who], era[who])
        refund = -np.round(amount * (at - cancel) / (at - period_start), 2)
        refunds.append(dict(customer=customer[who][early], day=cancel[early], amount=refund[early]))

        stay = ~leaves
        live, boundary, new_price = live[stay], boundary[stay], new_price[stay]
        # Teams add and remove seats all the time; a little more often up than down.
        seat_change = rng.random(live.size) < 1 - 0.90 ** period[live]
        grows = rng.random(live.size) < 0.55
        factor = np.where(grows, 1 + rng.uniform(0.08, 0.35, live.size), 1 - rng.uniform(0.08, 0.3, live.size))
        changes = seat_change | new_price
        who, at = live[changes], boundary[changes]
        emit(who, at)
        old_seats = seats[who]
        resized = np.where(grows[changes], np.ceil(old_seats * factor[changes]), np.floor(old_seats * factor[changes]))
        seats[who] = np.where(seat_change[changes], np.maximum(resized, 1), old_seats).astype(np.int64)
        plan[who] = plan_after_seat_change(plan[who], seats[who])
        era[who] = (at >= story.price_change).astype(np.int64)
        row_start[who] = at
        renewals_done[who] = 0
        renewals_done[live[~changes]] += 1

    spans = dict(customer=customer, start=start, end=span_end, plan=plan, seats=seats)
    return rows, spans, refunds


def concat_parts(parts: list[dict]) -> dict:
    return {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}


def make_subscriptions(rng, story: Story, customers: dict):
    paying = np.flatnonzero(customers["converted"] != OPEN)
    rows, spans, refunds = simulate_paying(
        rng, story, paying, customers["converted"][paying], customers["plan"][paying],
        customers["seats"][paying], customers["period"][paying])
    all_rows, all_spans, all_refunds = rows, [spans], refunds

    # Some who left come back after a few months, on their old plan at today's price.
    left = spans["end"] <= story.end - 30
    comes_back = left & (rng.random(len(left)) < 0.15)
    back_day = spans["end"] + 30 + rng.exponential(80, len(left)).astype(np.int64)
    comes_back &= back_day <= story.end
    if comes_back.any():
        back_seats = np.maximum(1, np.round(spans["seats"] * rng.uniform(0.7, 1.1, len(left)))).astype(np.int64)
        who = spans["customer"][comes_back]
        rows2, spans2, refunds2 = simulate_paying(
            rng, story, who, back_day[comes_back], spans["plan"][comes_back], back_seats[comes_back],
            customers["period"][who])
        all_rows += rows2
        all_spans.append(spans2)
        all_refunds += refunds2

    core = concat_parts(all_rows)
    spans = concat_parts(all_spans)
    amount = amount_per_period(core["plan"], core["seats"], core["period"], core["era"])
    core_rows = dict(customer=core["customer"], start=core["start"], end=core["end"], amount=amount,
                     period=core["period"], plan=np.array(PLANS)[core["plan"]],
                     product=np.full(len(amount), CORE_PRODUCT))

    addon_rows, addon_access = [], {}
    span_plan = spans["plan"]
    for product, launch_feature, price, chance, mean_delay in ADDONS:
        launch = story.release_day(launch_feature)
        n = len(spans["start"])
        buys = rng.random(n) < np.array(chance)[span_plan]
        start = np.maximum(spans["start"], launch) + np.ceil(rng.exponential(mean_delay, n)).astype(np.int64)
        own_cancel = np.where(rng.random(n) < 0.25, start + 30 + rng.exponential(200, n).astype(np.int64), OPEN)
        end = np.minimum(spans["end"], own_cancel)
        end = np.where(end <= story.end, end, OPEN)
        buys &= (start <= story.end) & (end > start)
        addon_rows.append(dict(customer=spans["customer"][buys], start=start[buys], end=end[buys],
                               amount=np.full(buys.sum(), price), period=np.ones(buys.sum(), np.int64),
                               plan=np.full(buys.sum(), "add-on"), product=np.full(buys.sum(), product)))
        addon_access[product] = (spans["customer"][buys], start[buys], np.minimum(end[buys], story.end + 1))
    subs = concat_parts([core_rows] + addon_rows)
    return subs, spans, concat_parts(all_refunds), addon_access


def make_payments(rng, story: Story, subs: dict, cancel_refunds: dict) -> dict:
    """One invoice per billing period of every row, plus a few refunds."""
    start, end, period = subs["start"], np.minimum(subs["end"], story.end + 1), subs["period"]
    most = (np.ceil((end - start) / 28 / period) + 1).astype(np.int64)
    row = np.repeat(np.arange(len(start)), most)
    k = np.arange(len(row)) - np.repeat(np.cumsum(most) - most, most)
    day = add_months(start[row], k * period[row])
    keep = day < end[row]
    row, day = row[keep], day[keep]
    amount = subs["amount"][row]
    # A few invoices are refunded in full a little later (disputes, double charges).
    refunded = rng.random(len(row)) < 0.006
    refund_day = day + rng.integers(2, 21, len(row))
    refunded &= refund_day <= story.end
    customer = np.concatenate([subs["customer"][row], subs["customer"][row][refunded], cancel_refunds["customer"]])
    product = np.concatenate([subs["product"][row], subs["product"][row][refunded],
                              np.full(len(cancel_refunds["customer"]), CORE_PRODUCT)])
    day = np.concatenate([day, refund_day[refunded], cancel_refunds["day"]])
    amount = np.concatenate([amount, -amount[refunded], cancel_refunds["amount"]])
    order = np.lexsort((customer, day))
    return dict(customer=customer[order], day=day[order], amount=amount[order], product=product[order])


# -- product usage -------------------------------------------------------------------------

def activity_windows(story: Story, customers: dict, spans: dict):
    """When each customer uses the product: during the trial, and while paying."""
    signup, converted = customers["signup"], customers["converted"]
    trial = ~customers["sales_led"]
    trial_end = signup + 14
    before_paying = np.where(converted <= trial_end, converted - 1, trial_end + customers["linger"])
    sales_until = np.where(converted != OPEN, converted - 1, signup + 20)
    until = np.minimum(np.where(trial, before_paying, sales_until), story.end)
    who = np.arange(len(signup))
    pre = until >= signup

    span_until = np.minimum(spans["end"] - 1, story.end)
    customer = spans["customer"]
    seats_pull = 0.5 + 0.35 * np.log1p(spans["seats"])
    intensity = np.concatenate([np.where(trial, 1.2, 0.3)[pre] * customers["engagement"][pre],
                                seats_pull * customers["engagement"][customer]])
    return dict(customer=np.concatenate([who[pre], customer]),
                start=np.concatenate([signup[pre], spans["start"]]),
                until=np.concatenate([until[pre], span_until]),
                churns=np.concatenate([np.zeros(pre.sum(), bool), spans["end"] <= story.end]),
                intensity=intensity)


def make_events(rng, story: Story, customers: dict, spans: dict, addon_access: dict, n_events: int):
    windows = activity_windows(story, customers, spans)
    length = windows["until"] - windows["start"] + 1
    weight = windows["intensity"] * length
    sizes_mean = 5.5
    n_sessions = max(1, int(round(n_events / sizes_mean)))
    window = rng.choice(len(weight), size=n_sessions, p=weight / weight.sum())

    # Place each session on a day of its window: fewer on weekends and holidays, and fewer in
    # the month before a customer leaves (the disengagement a churn model looks for).
    day = np.empty(n_sessions, np.int64)
    todo = np.arange(n_sessions)
    while todo.size:
        w = window[todo]
        candidate = windows["start"][w] + (rng.random(todo.size) * length[w]).astype(np.int64)
        keep = np.where(weekday(candidate) >= 5, 0.3, 1.0) * season(candidate)
        keep *= np.where(windows["churns"][w] & (candidate > windows["until"][w] - 30), 0.45, 1.0)
        accepted = rng.random(todo.size) < keep
        day[todo[accepted]] = candidate[accepted]
        todo = todo[~accepted]
    user = windows["customer"][window]

    sizes = 1 + rng.poisson(sizes_mean - 1, n_sessions)
    gap = n_events - int(sizes.sum())
    while gap:
        if gap > 0:
            np.add.at(sizes, rng.integers(0, n_sessions, gap), 1)
        else:
            shrinkable = np.flatnonzero(sizes > 1)
            take = rng.choice(shrinkable, size=min(-gap, len(shrinkable)), replace=False)
            sizes[take] -= 1
        gap = n_events - int(sizes.sum())

    session = np.repeat(np.arange(n_sessions), sizes)
    first = np.cumsum(sizes) - sizes
    position = np.arange(n_events) - first[session]
    step = np.where(position == 0, 0, np.minimum(5 + rng.exponential(70, n_events), 900)).astype(np.int64)
    elapsed = np.cumsum(step)
    elapsed -= elapsed[first][session]
    duration = elapsed[first + sizes - 1]
    # Office hours: a morning and an afternoon peak; a session never runs past midnight.
    hour = np.where(rng.random(n_sessions) < 0.5, rng.normal(10.5, 2.0, n_sessions), rng.normal(15.0, 2.2, n_sessions))
    begin = np.clip((hour * 3600).astype(np.int64), 0, 86399 - duration)
    session_start = day * 86400 + begin
    timestamp = session_start[session] + elapsed

    mobile_day = story.release_day("Mobile app")
    platform = np.where(day >= mobile_day, pick(rng, np.tile([0.82, 0.12, 0.06], (n_sessions, 1))),
                        pick(rng, np.tile([0.94, 0.0, 0.06], (n_sessions, 1))))

    names = ["login"] + list(BASE_EVENTS)
    opener = np.where(rng.random(n_sessions) < 0.55, 0, 1 + BASE_EVENTS.index("dashboard_viewed"))
    event = 1 + choose(rng, n_events, BASE_EVENT_WEIGHTS)
    event[first] = opener

    # Released features take a growing share of in-session events, each along its adoption curve.
    event_day = day[session]
    all_days = np.arange(story.start, story.end + 1)
    tracked = [(r, story.release_days[i]) for i, r in enumerate(RELEASES) if r.peak > 0]
    share = np.zeros((len(all_days), len(tracked)))
    for j, (r, released) in enumerate(tracked):
        since = all_days - released
        share[:, j] = np.where(since >= 0, r.peak * np.minimum(1.0, (since + 1) / r.ramp_days), 0.0)
    cumulative = np.cumsum(share, axis=1)
    u = rng.random(n_events)
    day_index = event_day - story.start
    chosen = np.zeros(n_events, np.int64)
    for j in range(len(tracked)):
        chosen += u >= cumulative[day_index, j]
    feature_event = (chosen < len(tracked)) & (position > 0)
    for j, (r, released) in enumerate(tracked):
        hit = feature_event & (chosen == j)
        if r.product in addon_access:
            # Add-on features are used only by customers who pay for the add-on at the time.
            who, since, until = addon_access[r.product]
            first_day = np.full(len(customers["signup"]), OPEN)
            last_day = np.full(len(customers["signup"]), -OPEN)
            np.minimum.at(first_day, who, since)
            np.maximum.at(last_day, who, until)
            idx = np.flatnonzero(hit)
            ok = (event_day[idx] >= first_day[user[session[idx]]]) & (event_day[idx] < last_day[user[session[idx]]])
            hit[idx[~ok]] = False
        event[hit] = len(names) + j
    names += [r.event for r, _ in tracked]
    areas = [EVENT_FEATURE[nm] for nm in ["login"] + list(BASE_EVENTS)] + [r.area for r, _ in tracked]

    session_rank = np.empty(n_sessions, np.int64)
    session_rank[np.lexsort((user, session_start))] = np.arange(n_sessions)
    order = np.lexsort((position, user[session], timestamp))
    session = session[order]
    return dict(user=user[session], timestamp=timestamp[order], event=event[order], names=names,
                areas=areas, session=session_rank[session], api=(platform == 2)[session],
                platform=platform[session])


# -- support, surveys and the rest ----------------------------------------------------------

def make_tickets(rng, story: Story, events: dict, n_tickets: int) -> dict:
    """Tickets are raised by people using the product, so they follow its activity."""
    ts = events["timestamp"]
    ev_day = ts // 86400
    weight = np.where(events["api"], 0.0, 1.0)
    weight *= np.where(story.in_bad_weeks(ev_day), 2.6, 1.0) * np.where(story.in_churn_quarter(ev_day), 1.3, 1.0)
    anchor = np.sort(rng.choice(len(ts), size=n_tickets, p=weight / weight.sum()))
    last_second = story.end * 86400 + 86399
    created = np.minimum(ts[anchor] + rng.integers(60, 1800, n_tickets), last_second)
    created_day = created // 86400
    bad, churny = story.in_bad_weeks(created_day), story.in_churn_quarter(created_day)
    escalated = rng.random(n_tickets) < np.select([bad, churny], [0.24, 0.11], 0.07)
    # The support team grows: the typical first response falls from 6 to 2.5 hours.
    progress = (created_day - story.start) / (story.end - story.start)
    median_hours = (6.0 - 3.5 * progress) * np.where(bad, 2.0, 1.0)
    response_hours = rng.lognormal(np.log(median_hours), 0.9)
    first_response = created + (response_hours * 3600).astype(np.int64)
    responded = (first_response <= last_second) & (rng.random(n_tickets) >= 0.015)
    resolve_hours = rng.lognormal(np.log(16.0), 1.0, n_tickets) * np.where(escalated, 3.5, 1.0)
    resolved_at = first_response + (resolve_hours * 3600).astype(np.int64)
    resolved = responded & (resolved_at <= last_second) & (rng.random(n_tickets) >= 0.02)
    cost = 5 + 2.2 * np.sqrt(response_hours + resolve_hours) + 38 * escalated + rng.normal(0, 1, n_tickets)
    priority = np.where(escalated, pick(rng, np.tile([0, 10, 50, 40], (n_tickets, 1))),
                        pick(rng, np.tile([27, 52, 18, 3], (n_tickets, 1))))
    topic = np.where(bad, pick(rng, np.tile([15, 45, 10, 25, 5], (n_tickets, 1))),
                     pick(rng, np.tile([35, 25, 15, 15, 10], (n_tickets, 1))))
    return dict(created=created, first_response=first_response, responded=responded,
                resolved_at=resolved_at, resolved=resolved, escalated=escalated,
                cost=np.round(np.maximum(cost, 3.0), 2), customer=events["user"][anchor],
                priority=priority, topic=topic)


def make_nps(rng, story: Story, spans: dict, n_responses: int) -> dict:
    """NPS answers from paying customers: each month a sample of those who paid that month.

    Every month gets at least 40 answers (or everyone, while there are fewer customers), so the
    first months' NPS is not two people's opinion.
    """
    until = np.minimum(spans["end"], story.end + 1)
    paying_days = (until - spans["start"]).sum()
    picked, days = [], []
    for month in range(int(month_of(story.start)), int(month_of(story.end)) + 1):
        first, after = int(month_start(month)), min(int(month_start(month + 1)), story.end + 1)
        from_day = np.maximum(spans["start"], first)
        overlap = np.minimum(until, after) - from_day
        candidates = np.flatnonzero(overlap > 0)
        wanted = max(40, int(round(n_responses * overlap[candidates].sum() / paying_days)))
        n = min(len(candidates), wanted)
        # Weighted sampling without replacement: the n smallest Exp(1)/weight keys.
        keys = rng.exponential(size=len(candidates)) / overlap[candidates]
        chosen = candidates[np.argsort(keys, kind="stable")[:n]]
        picked.append(chosen)
        days.append(from_day[chosen] + (rng.random(n) * overlap[chosen]).astype(np.int64))
    span, day = np.concatenate(picked), np.concatenate(days)
    plan = spans["plan"][span]
    mood = 8.25 + 0.35 * (plan == BUSINESS) - 0.2 * (plan == STARTER)
    mood = mood - 1.2 * story.in_churn_quarter(day) - 1.2 * story.in_bad_weeks(day)
    mood = mood + 0.3 * (day >= story.release_day("Dashboards 2.0"))
    score = np.clip(np.round(rng.normal(mood, 1.6)), 0, 10)
    # A form bug let three people answer 11: the data-quality report should catch them.
    score[rng.choice(len(score), size=min(3, len(score)), replace=False)] = 11
    order = np.argsort(day, kind="stable")
    return dict(day=day[order], score=score[order], customer=spans["customer"][span][order])


def make_employee_pulse(rng, story: Story):
    days, scores, people = [], [], []
    for month in range(int(month_of(story.start)), int(month_of(story.end)) + 1):
        first = int(month_start(month))
        tuesday = first + (1 - int(weekday(first))) % 7 + 7
        if tuesday > story.end:
            continue
        headcount = 28 + (month - int(month_of(story.start)))
        answering = np.flatnonzero(rng.random(headcount) < 0.75) + 1
        mood = 7.4 - 0.5 * story.in_churn_quarter(tuesday) - 1.3 * ((tuesday >= story.bad_release) &
                                                                    (tuesday < story.bad_release + 60))
        score = np.clip(np.round(rng.normal(mood, 1.4, len(answering))), 1, 10)
        days.append(np.full(len(answering), tuesday))
        scores.append(score)
        people.append(answering)
    return np.concatenate(days), np.concatenate(scores), np.concatenate(people)


def make_marketing(rng, story: Story, n_customers: int):
    """Daily spend and visitors per channel and campaign, sized to the sign-ups they bring."""
    days = np.arange(story.start, story.end + 1)
    weight = signup_weight(story, days)
    expected = n_customers * weight / weight.sum()
    by_channel = expected[:, None] * channel_shares(story, days) / channel_shares(story, days).sum(axis=1, keepdims=True)
    progress = (days - story.start) / (story.end - story.start)
    visit_rate = np.array([0.030, 0.040, 0.015, 0.080, 0.060])
    n = len(days)
    noise = lambda sigma: rng.lognormal(0, sigma, n)  # noqa: E731 - a local shorthand
    # Paid social: each sign-up costs more every month as the cheap audiences run out.
    social_cost_per_signup = 650 + 1100 * progress ** 1.4
    meta_share = np.where(days >= story.meta_ads_start, 0.45, 0.0)
    parts = [
        # channel, campaign, spend, visitors share of the channel
        (ORGANIC, "", np.zeros(n), 1.0),
        (PAID_SEARCH, "brand_search", 0.3 * by_channel[:, PAID_SEARCH] * 600 * noise(0.15), 0.35),
        (PAID_SEARCH, "generic_search", 0.7 * by_channel[:, PAID_SEARCH] * 600 * noise(0.15), 0.65),
        (PAID_SOCIAL, "linkedin_ads", (1 - meta_share) * by_channel[:, PAID_SOCIAL] * social_cost_per_signup * noise(0.2),
         1 - meta_share),
        (PAID_SOCIAL, "meta_ads", meta_share * by_channel[:, PAID_SOCIAL] * social_cost_per_signup * 1.15 * noise(0.2),
         meta_share),
        (REFERRAL, "referral_rewards", by_channel[:, REFERRAL] * 120 * noise(0.3), 1.0),
        (PARTNERS, "partner_program", by_channel[:, PARTNERS] * 400 * noise(0.25), 1.0),
    ]
    out = dict(day=[], channel=[], campaign=[], spend=[], visitors=[])
    for channel, campaign, spend, visitor_share in parts:
        visitor_share = np.broadcast_to(visitor_share, (n,))
        live = visitor_share > 0
        visitors = rng.poisson(by_channel[:, channel] / visit_rate[channel] * visitor_share * noise(0.1))
        out["day"].append(days[live])
        out["channel"].append(np.full(live.sum(), CHANNELS[channel]))
        out["campaign"].append(np.full(live.sum(), campaign))
        out["spend"].append(np.round(spend[live], 2))
        out["visitors"].append(visitors[live])
    out = {k: np.concatenate(v) for k, v in out.items()}
    order = np.lexsort((out["campaign"], out["channel"], out["day"]))
    return {k: v[order] for k, v in out.items()}, expected


def make_sprints(rng, story: Story):
    teams = (("Platform", "PLT", 0, 34.0), ("Growth", "GRW", 0, 28.0), ("Insights", "INS", 6, 24.0))
    first_monday = story.start + (7 - int(weekday(story.start))) % 7
    rows = []
    for team, short, joins_month, base in teams:
        joins = int(month_start(month_of(story.start) + joins_month))
        number = 0
        for k in range(0, 60):
            start = first_monday + 14 * k
            end = start + 11
            if end > story.end:
                break
            if start < joins:
                continue
            number += 1
            committed = round(base + 0.12 * number + rng.normal(0, 3.5))
            done = rng.normal(0.88, 0.06)
            if story.bad_release - 28 <= end <= story.bad_release:
                committed, done = round(committed * 1.25), rng.normal(0.70, 0.05)  # the crunch before the bad release
            elif story.bad_release < end <= story.bad_release_until:
                done = rng.normal(0.78, 0.05)  # firefighting eats the sprint
            rows.append((f"{short}-{number}", end, float(round(committed * min(done, 1.0))), float(committed), start, team))
    rows.sort(key=lambda r: (r[1], r[5]))
    return rows


def make_defects(rng, story: Story, kloc_of_day):
    days = np.arange(story.start, story.end + 1)
    workday = np.where(weekday(days) >= 5, 0.2, 1.0)
    bad = story.in_bad_weeks(days)
    pre = rng.poisson(0.9 * kloc_of_day(days) / 200 * workday * np.where(bad, 0.8, 1.0))
    prod = rng.poisson(0.22 * workday * np.where(bad, 4.5, 1.0) * np.where(story.in_churn_quarter(days), 1.4, 1.0))
    components = np.array(["dashboards", "ingestion", "api", "auth", "billing", "alerts", "connectors", "forecasting"])
    found = np.concatenate([np.repeat(days, pre), np.repeat(days, prod)])
    stage = np.concatenate([np.full(pre.sum(), "pre_release"), np.full(prod.sum(), "production")])
    n = len(found)
    normal_mix = np.tile([22, 18, 16, 8, 6, 10, 12, 8], (n, 1)).astype(float)
    normal_mix[found < story.release_day("Acme Connect"), 6] = 0
    normal_mix[found < story.release_day("Acme Forecast"), 7] = 0
    bad_mix = np.tile([8, 60, 10, 3, 2, 5, 7, 5], (n, 1)).astype(float)
    bad_found = story.in_bad_weeks(found) & (stage == "production")
    component = np.where(bad_found, pick(rng, bad_mix), pick(rng, normal_mix))
    severity = np.where(stage == "production", pick(rng, np.tile([8, 27, 45, 20], (n, 1))),
                        pick(rng, np.tile([3, 17, 50, 30], (n, 1))))
    severity = np.where(bad_found & (rng.random(n) < 0.25), 0, severity)
    order = np.lexsort((stage, found))
    return dict(day=found[order], stage=stage[order], severity=np.array(["critical", "high", "medium", "low"])[severity[order]],
                component=components[component[order]])


def make_test_runs(rng, story: Story):
    days = np.arange(story.start, story.end + 1)
    runs = rng.poisson(np.where(weekday(days) >= 5, 0.4, 3.2))
    day = np.repeat(days, runs)
    n = len(day)
    # A nightly run at 02:00 and the rest during the working day.
    nightly = rng.random(n) < 0.2
    second = np.where(nightly, 2 * 3600 + rng.integers(0, 600, n), rng.integers(8 * 3600, 20 * 3600, n))
    months_in = month_of(day) - month_of(story.start)
    total = (1800 + 60 * months_in + rng.integers(-15, 16, n)).astype(np.int64)
    # Parallelising the suite cut its time by a third.
    speed = np.where(day >= story.ci_speedup, 0.65, 1.0)
    duration = np.round(np.maximum(total / 120 * speed + rng.normal(0, 1.2, n), 2.0), 1)
    failed = rng.poisson(0.6, n) + np.where(rng.random(n) < 0.04, rng.poisson(8, n), 0)
    # In the crunch before the bad release, red builds were waved through.
    crunch = (day >= story.bad_release - 28) & (day < story.bad_release)
    failed = failed + np.where(crunch, rng.poisson(30, n), 0)
    started = day * 86400 + second
    order = np.argsort(started, kind="stable")
    return dict(started=started[order], duration=duration[order], total=total[order],
                failed=np.minimum(failed, total)[order])


def make_incidents(rng, story: Story):
    services = np.array(["api", "dashboards", "ingestion", "auth", "alerts"])
    starts, ends, service, severity = [], [], [], []
    for month in range(int(month_of(story.start)), int(month_of(story.end)) + 1):
        first = int(month_start(month))
        last = min(int(month_start(month + 1)) - 1, story.end)
        for _ in range(rng.poisson(0.9)):
            sev = "sev2" if rng.random() < 0.3 else "sev3"
            minutes = rng.uniform(25, 150) if sev == "sev2" else rng.uniform(8, 45)
            begin = int(rng.integers(first, last + 1)) * 86400 + int(rng.integers(0, 86400 - 9000))
            starts.append(begin); ends.append(begin + int(minutes * 60))
            service.append(str(services[rng.integers(0, len(services))])); severity.append(sev)
    # The stories' outages: a long ingestion outage before the churn spike, and the bad release's.
    for day, at, minutes, svc, sev in ((story.long_outage, 9 * 3600 + 40 * 60, 400, "ingestion", "sev1"),
                                       (story.bad_release + 3, 14 * 3600 + 5 * 60, 230, "ingestion", "sev1"),
                                       (story.bad_release + 9, 10 * 3600 + 20 * 60, 95, "api", "sev2")):
        if day <= story.end:
            starts.append(day * 86400 + at); ends.append(day * 86400 + at + minutes * 60)
            service.append(svc); severity.append(sev)
    order = np.argsort(starts, kind="stable")
    return dict(started=np.array(starts)[order], ended=np.array(ends)[order],
                service=np.array(service)[order], severity=np.array(severity)[order])


def make_compliance(rng, story: Story):
    controls = (("access_review", "SOC2"), ("backup_restore_test", "SOC2"), ("mfa_enforced", "SOC2"),
                ("encryption_at_rest", "SOC2"), ("vendor_review", "SOC2"), ("change_management", "SOC2"),
                ("incident_response_drill", "SOC2"), ("log_retention", "SOC2"),
                ("dpa_signed", "GDPR"), ("data_deletion_sla", "GDPR"), ("cookie_consent", "GDPR"),
                ("dsar_response_time", "GDPR"))
    rows = []
    for month in range(int(month_of(story.start)), int(month_of(story.end)) + 1):
        first = int(month_start(month))
        for control, standard in controls:
            day = next_weekday(first + int(rng.integers(0, 20)))
            passed = rng.random() < 0.95
            if control == "change_management" and story.in_bad_weeks(day):
                passed = False  # the bad release skipped the change review
            if day <= story.end:
                rows.append((day, control, passed, standard))
    rows.sort()
    return rows


def make_kpi_values(rng, story: Story, expected_signups, nps: dict):
    rows = []
    first_month, last_month = int(month_of(story.start)), int(month_of(story.end))
    signup_month = month_of(np.arange(story.start, story.end + 1))
    for month in range(first_month, last_month + 1):
        leads = float(round(expected_signups[signup_month == month].sum() * 2.2 * rng.lognormal(0, 0.07)))
        day = int(month_start(month))
        rows.append((day, "marketing_qualified_leads", leads, ""))
        if month > last_month - 12:
            inbound = float(round(leads * rng.uniform(0.66, 0.76)))
            rows.append((day, "marketing_qualified_leads", inbound, "inbound"))
            rows.append((day, "marketing_qualified_leads", leads - inbound, "outbound"))
    monday = story.start + (7 - int(weekday(story.start))) % 7
    for day in range(monday, story.end + 1, 7):
        csat = 4.45 + rng.normal(0, 0.06) - 0.35 * story.in_bad_weeks(day) - 0.15 * story.in_churn_quarter(day)
        rows.append((day, "csat", round(float(csat), 2), ""))
    # The survey tool's own NPS for the last six full months, slightly off ours (sampling, timing).
    nps_month = month_of(nps["day"])
    for month in range(last_month - 6, last_month):
        score = nps["score"][(nps_month == month) & (nps["score"] <= 10)]
        if len(score):
            value = 100 * ((score >= 9).mean() - (score <= 6).mean()) + rng.normal(0, 2.5)
            rows.append((int(month_start(month)), "nps", round(float(value), 1), ""))
    rows.sort(key=lambda r: (r[0], r[1], r[3]))
    return rows


# -- writing -------------------------------------------------------------------------------

def date_array(days, missing=None):
    days = np.asarray(days, dtype=np.int64)
    mask = (days == OPEN) if missing is None else missing
    return pa.array(np.where(mask, 0, days).astype(np.int32), type=pa.date32(), mask=np.asarray(mask))


def timestamp_array(seconds, missing=None):
    seconds = np.asarray(seconds, dtype=np.int64)
    mask = np.zeros(len(seconds), bool) if missing is None else np.asarray(missing)
    return pa.array(np.where(mask, 0, seconds), type=pa.timestamp("s"), mask=mask)


def text_array(values):
    values = np.asarray(values).astype(str)
    return pa.array(values, type=pa.string(), mask=values == "")


def numbered_ids(prefix: str, numbers, width: int):
    """'C00042'-style ids, built in Arrow so millions of them cost a fraction of a second."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def lookup(vocabulary, codes):
    return pa.array(list(vocabulary), type=pa.string()).take(pa.array(np.asarray(codes, dtype=np.int64)))


def write_csv(out: Path, name: str, columns: dict) -> int:
    """Write one dataset: ISO dates, true/false, empty for missing, no quoting (values never need it)."""
    assert tuple(columns) == COLUMNS[name], name
    table = pa.table(columns)
    for column in table.columns:
        if pa.types.is_string(column.type):
            bad = pc.any(pc.match_substring_regex(column, r'[,"\n\r]')).as_py()
            assert not bad, f"{name}: a text value needs quoting"
    path = out / f"{name}.csv"
    with open(path, "wb") as f:
        f.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=False, quoting_style="none",
                                                      batch_size=1 << 16))
    return table.num_rows


def generate(out: Path, seed: int = DEFAULT_SEED, end: str = DEFAULT_END, n_events: int = DEFAULT_EVENTS,
             n_customers: int = DEFAULT_CUSTOMERS, log=None) -> dict[str, int]:
    """Write the 15 CSVs into ``out``; returns the number of rows of each."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    story = Story.ending(end)
    started = time.perf_counter()
    say = log or (lambda message: None)
    written = {}

    customers = make_customers(rng, story, n_customers)
    id_width = max(5, len(str(n_customers)))
    customer_ids = numbered_ids("C", np.arange(1, n_customers + 1), id_width)
    subs, spans, cancel_refunds, addon_access = make_subscriptions(rng, story, customers)
    payments = make_payments(rng, story, subs, cancel_refunds)
    events = make_events(rng, story, customers, spans, addon_access, n_events)
    tickets = make_tickets(rng, story, events, max(50, int(round(1.7 * n_customers))))
    say(f"simulated customers, subscriptions and events in {time.perf_counter() - started:.1f}s")

    written["events"] = write_csv(out, "events", {
        "user_id": customer_ids.take(pa.array(events["user"])),
        "timestamp": timestamp_array(events["timestamp"]),
        "event": lookup(events["names"], events["event"]),
        "session_id": pc.if_else(pa.array(events["api"]), pa.scalar(None, pa.string()),
                                 numbered_ids("S", events["session"] + 1, len(str(int(events["session"].max()) + 1)))),
        "feature": lookup(events["areas"], events["event"]),
        "platform": lookup(("web", "mobile", "api"), events["platform"]),
    })
    del events
    say(f"wrote events in {time.perf_counter() - started:.1f}s")

    trial = ~customers["sales_led"]
    written["customers"] = write_csv(out, "customers", {
        "customer_id": customer_ids,
        "signup_date": date_array(customers["signup"]),
        "channel": lookup(CHANNELS, customers["channel"]),
        "trial_start": date_array(customers["signup"], missing=~trial),
        "trial_end": date_array(customers["signup"] + 14, missing=~trial),
        "converted_date": date_array(customers["converted"]),
        "country": lookup(COUNTRIES, customers["country"]),
        "company_size": lookup(COMPANY_SIZES, customers["size"]),
    })

    # Two rows a billing-system glitch wrote with no length at all: the data-quality report's.
    closed = np.flatnonzero((subs["product"] == CORE_PRODUCT) & (subs["end"] != OPEN))
    glitch = rng.choice(closed, min(2, len(closed)), replace=False)
    glitch_day = subs["start"][glitch] + 1
    sub_customer = np.concatenate([subs["customer"], subs["customer"][glitch]])
    sub_start = np.concatenate([subs["start"], glitch_day])
    sub_end = np.concatenate([subs["end"], glitch_day])
    period = np.concatenate([subs["period"], subs["period"][glitch]])
    mrr = np.round(np.concatenate([subs["amount"], subs["amount"][glitch]]) / period, 2)
    order = np.lexsort((np.concatenate([subs["product"], subs["product"][glitch]]), sub_start, sub_customer))
    written["subscriptions"] = write_csv(out, "subscriptions", {
        "customer_id": customer_ids.take(pa.array(sub_customer[order])),
        "start_date": date_array(sub_start[order]),
        "end_date": date_array(sub_end[order]),
        "mrr": pa.array(mrr[order]),
        "plan": text_array(np.concatenate([subs["plan"], subs["plan"][glitch]])[order]),
        "product": text_array(np.concatenate([subs["product"], subs["product"][glitch]])[order]),
        "billing_period": lookup(tuple(BILLING_PERIOD_NAMES.values()),
                                 np.searchsorted(tuple(BILLING_PERIOD_NAMES), period[order])),
    })

    written["payments"] = write_csv(out, "payments", {
        "customer_id": customer_ids.take(pa.array(payments["customer"])),
        "date": date_array(payments["day"]),
        "amount": pa.array(np.round(payments["amount"], 2)),
        "product": text_array(payments["product"]),
    })

    marketing, expected_signups = make_marketing(rng, story, n_customers)
    written["marketing"] = write_csv(out, "marketing", {
        "date": date_array(marketing["day"]),
        "channel": text_array(marketing["channel"]),
        "spend": pa.array(marketing["spend"]),
        "visitors": pa.array(marketing["visitors"].astype(np.int64)),
        "campaign": text_array(marketing["campaign"]),
    })

    nps = make_nps(rng, story, spans, n_customers)
    pulse_day, pulse_score, pulse_person = make_employee_pulse(rng, story)
    # The first three months came from an older survey tool that left the survey type empty.
    nps_type = np.where(nps["day"] < story.start + 90, "", "nps")
    survey_day = np.concatenate([nps["day"], pulse_day])
    order = np.argsort(survey_day, kind="stable")
    respondents = pa.concat_arrays([customer_ids.take(pa.array(nps["customer"])),
                                    numbered_ids("E", pulse_person, 3)])
    written["surveys"] = write_csv(out, "surveys", {
        "date": date_array(survey_day[order]),
        "score": pa.array(np.concatenate([nps["score"], pulse_score])[order]),
        "survey": text_array(np.concatenate([nps_type, np.full(len(pulse_day), "employee")])[order]),
        "respondent_id": respondents.take(pa.array(order)),
    })

    build = np.array([r.build_days for r in RELEASES], dtype=float)
    # Teams got quicker from idea to release as the product matured.
    release_day = np.array(story.release_days)
    speed_up = 1.0 - 0.35 * (release_day - story.start) / (story.end - story.start)
    build_days = np.maximum(5, np.round(build * np.where(build > 100, 1.0, speed_up) * rng.lognormal(0, 0.2, len(build))))
    written["releases"] = write_csv(out, "releases", {
        "feature": text_array([r.feature for r in RELEASES]),
        "released_date": date_array(release_day),
        "started_date": date_array(release_day - build_days.astype(np.int64)),
        "product": text_array([r.product for r in RELEASES]),
        "event": text_array([r.event for r in RELEASES]),
    })

    sprints = make_sprints(rng, story)
    written["sprints"] = write_csv(out, "sprints", {
        "sprint": text_array([s[0] for s in sprints]),
        "end_date": date_array([s[1] for s in sprints]),
        "completed_points": pa.array([s[2] for s in sprints]),
        "committed_points": pa.array([s[3] for s in sprints]),
        "start_date": date_array([s[4] for s in sprints]),
        "team": text_array([s[5] for s in sprints]),
    })

    months = np.arange(int(month_of(story.start)), int(month_of(story.end)) + 1)
    kloc = np.round(180 * 1.018 ** (months - months[0]) + rng.normal(0, 0.8, len(months)), 1)

    def kloc_of_day(days):
        return kloc[month_of(days) - months[0]]

    written["codebase"] = write_csv(out, "codebase", {"date": date_array(month_start(months)), "kloc": pa.array(kloc)})

    defects = make_defects(rng, story, kloc_of_day)
    written["defects"] = write_csv(out, "defects", {
        "defect_id": numbered_ids("ACME-", np.arange(101, 101 + len(defects["day"])), 4),
        "found_date": date_array(defects["day"]),
        "stage": text_array(defects["stage"]),
        "severity": text_array(defects["severity"]),
        "component": text_array(defects["component"]),
    })

    runs = make_test_runs(rng, story)
    written["test_runs"] = write_csv(out, "test_runs", {
        "run_id": pc.cast(pa.array(np.arange(48001, 48001 + len(runs["started"]))), pa.string()),
        "started_at": timestamp_array(runs["started"]),
        "duration_minutes": pa.array(runs["duration"]),
        "tests_total": pa.array(runs["total"]),
        "tests_failed": pa.array(runs["failed"].astype(np.int64)),
    })

    written["tickets"] = write_csv(out, "tickets", {
        "ticket_id": pc.cast(pa.array(np.arange(10001, 10001 + len(tickets["created"]))), pa.string()),
        "created_at": timestamp_array(tickets["created"]),
        "first_response_at": timestamp_array(tickets["first_response"], missing=~tickets["responded"]),
        "resolved_at": timestamp_array(tickets["resolved_at"], missing=~tickets["resolved"]),
        "escalated": pa.array(tickets["escalated"]),
        "cost": pa.array(tickets["cost"]),
        "customer_id": customer_ids.take(pa.array(tickets["customer"])),
        "priority": lookup(("low", "normal", "high", "urgent"), tickets["priority"]),
        "topic": lookup(("how_to", "bug", "billing", "data_sync", "account"), tickets["topic"]),
    })

    incidents = make_incidents(rng, story)
    written["incidents"] = write_csv(out, "incidents", {
        "started_at": timestamp_array(incidents["started"]),
        "ended_at": timestamp_array(incidents["ended"]),
        "service": text_array(incidents["service"]),
        "severity": text_array(incidents["severity"]),
    })

    checks = make_compliance(rng, story)
    written["compliance"] = write_csv(out, "compliance", {
        "date": date_array([c[0] for c in checks]),
        "control": text_array([c[1] for c in checks]),
        "passed": pa.array([c[2] for c in checks]),
        "standard": text_array([c[3] for c in checks]),
    })

    values = make_kpi_values(rng, story, expected_signups, nps)
    written["kpi_values"] = write_csv(out, "kpi_values", {
        "date": date_array([v[0] for v in values]),
        "kpi": text_array([v[1] for v in values]),
        "value": pa.array([v[2] for v in values]),
        "segment": text_array([v[3] for v in values]),
    })
    say(f"wrote all 15 files in {time.perf_counter() - started:.1f}s")
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="folder to write the CSVs into (default: this script's folder)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--end", default=DEFAULT_END, help=f"last day of the data, YYYY-MM-DD (default {DEFAULT_END})")
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help=f"number of events (default {DEFAULT_EVENTS})")
    parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS,
                        help=f"number of customers (default {DEFAULT_CUSTOMERS})")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    if args.customers < 100 or args.events < 1000:
        parser.error("use at least 100 customers and 1000 events, or the stories have no one to happen to")
    log = None if args.quiet else (lambda message: print(message, file=sys.stderr))
    written = generate(args.out, args.seed, args.end, args.events, args.customers, log=log)
    if not args.quiet:
        for name, rows in written.items():
            print(f"{name:14} {rows:>10,} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
