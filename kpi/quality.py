"""The data-quality report of one loaded dataset: coverage over time, gaps, empty values,
duplicates and the rule breaks that KPIs leave out or count with care, each with examples."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

from . import limits
from .datasets import DATASETS, primary_date_sql
from .workspace import Workspace, quote_ident

EXAMPLES = 5

_SUBSCRIPTION_KPIS = ("mrr", "arr", "mrr_growth_rate", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr",
                      "reactivation_mrr", "net_new_mrr", "paying_customers", "arpa", "new_customers", "clv", "cac",
                      "ltv_cac_ratio", "customer_churn_rate", "gross_mrr_churn_rate", "net_mrr_retention",
                      "quick_ratio", "renewal_rate")

# Which KPIs read each dataset (the "needs" column of kpis.md): what a problem in it can move.
DATASET_KPIS: dict[str, tuple[str, ...]] = {
    "events": ("arpu", "active_users", "dau", "mau", "stickiness", "avg_session_duration", "actions_per_session",
               "actions_per_user", "retention_rate", "feature_adoption_rate"),
    "customers": ("signups", "signup_rate", "trial_conversion_rate", "trial_dropoff_rate", "cpa", "cac"),
    "subscriptions": _SUBSCRIPTION_KPIS,
    "payments": ("revenue", "arpu", "arppu", "new_product_revenue_share", "new_customers", "cac"),
    "marketing": ("signup_rate", "cac", "cpa", "ltv_cac_ratio"),
    "surveys": ("nps", "employee_satisfaction"),
    "releases": ("time_to_market", "releases_shipped", "feature_adoption_rate", "new_product_revenue_share"),
    "sprints": ("velocity", "say_do_ratio"),
    "defects": ("defect_density", "test_effectiveness"),
    "codebase": ("defect_density",),
    "test_runs": ("testing_speed", "test_pass_rate"),
    "tickets": ("escalated_tickets", "escalation_rate", "support_response_time", "support_cost"),
    "incidents": ("uptime",),
    "compliance": ("compliance_rate",),
    "kpi_values": (),
}


@dataclass(frozen=True)
class Rule:
    """A row-level rule of datasets.md / kpis.md that does not stop an ingest."""
    id: str
    dataset: str
    title: str            # what the counted rows are, in the user's words
    condition: str        # SQL over the dataset's canonical columns
    consequence: str      # what KPIs do with such rows
    affects: tuple[str, ...]
    needs: tuple[str, ...]


RULES: tuple[Rule, ...] = (
    Rule("nps_score_out_of_range", "surveys", "NPS scores outside 0-10",
         "(survey IS NULL OR lower(trim(survey)) IN ('', 'nps')) AND (score < 0 OR score > 10)",
         "will be left out of NPS", ("nps",), ("score", "survey")),
    Rule("subscription_end_not_after_start", "subscriptions", "subscription rows whose end_date is not after start_date",
         "end_date IS NOT NULL AND end_date <= start_date",
         "will be left out of every KPI", _SUBSCRIPTION_KPIS, ("start_date", "end_date")),
    Rule("negative_mrr", "subscriptions", "subscription rows with a negative mrr", "mrr < 0",
         "will be left out of every KPI", _SUBSCRIPTION_KPIS, ("mrr",)),
    Rule("incident_ends_before_start", "incidents", "incidents whose ended_at is before started_at",
         "ended_at < started_at", "will count as no downtime in uptime", ("uptime",), ("started_at", "ended_at")),
    Rule("more_failed_than_total", "test_runs", "test runs with more failed tests than tests",
         "tests_failed > tests_total", "will pull the test pass rate down (below 0 for that run)",
         ("test_pass_rate",), ("tests_failed", "tests_total")),
    Rule("unknown_defect_stage", "defects", "defects whose stage is neither pre_release nor production",
         "stage IS NULL OR stage NOT IN ('pre_release', 'production')",
         "will be left out of test effectiveness", ("test_effectiveness",), ("stage",)),
)

# Columns that should name each row once; a repeat is reported (customers: the earliest sign-up wins).
ID_COLUMNS = {
    "customers": ("customer_id", "will count once: KPIs use the row with the earliest signup_date"),
    "defects": ("defect_id", "will each be counted as a defect"),
    "tickets": ("ticket_id", "will each be counted as a ticket"),
    "test_runs": ("run_id", "will each be counted as a run"),
}


# Dates no real export holds: before 1970 (0001-01-01, or 1900-01-01, Excel's empty date) or more than
# a year ahead. They are named in the report, and the early ones do not start the period grid (a
# payment of 0001-01-01 would make 739,000 days) unless the team keeps them (EARLY_DATES = "keep").
FIRST_PLAUSIBLE = date(1970, 1, 1)
PLAUSIBLE_AHEAD = timedelta(days=366)
EARLY_DATES = "early_dates"   # workspace setting: "keep" puts dates before 1970 in the periods


def day_words(day: date) -> str:
    """'01 Jan 0001': the app's date form, with the year's four digits even for year 1."""
    return f"{day:%d %b} {day.year:04d}"


def early_dates_kept(ws: Workspace) -> bool:
    return ws.setting(EARLY_DATES) == "keep"


def first_period_date(ws: Workspace) -> date:
    """The earliest date that may start the periods KPIs are computed over."""
    return date.min if early_dates_kept(ws) else FIRST_PLAUSIBLE


def keep_early_dates(ws: Workspace, keep: bool = True) -> None:
    """The team's answer: dates before 1970 are real (keep them in the periods) or not."""
    ws.set_setting(EARLY_DATES, "keep" if keep else "leave_out")


@dataclass(frozen=True)
class QualityIssue:
    check: str
    dataset: str
    title: str
    count: int
    consequence: str
    affects: list[str]
    examples: pd.DataFrame = field(compare=False, repr=False)

    @property
    def sentence(self) -> str:
        return f"{self.count:,} {self.title} {self.consequence}"


@dataclass(frozen=True)
class QualityReport:
    dataset: str
    rows: int
    first_date: date | None
    last_date: date | None
    rows_per_month: pd.DataFrame = field(compare=False, repr=False)   # month, rows (0 for a gap)
    nulls: dict[str, int] = field(default_factory=dict)               # empty values per column
    duplicate_rows: int = 0
    issues: list[QualityIssue] = field(default_factory=list)

    @property
    def gap_months(self) -> list[date]:
        """Months between the first and the last row that hold no row at all."""
        frame = self.rows_per_month
        return [] if frame.empty else list(frame.loc[frame["rows"] == 0, "month"])


def _count(ws: Workspace, sql: str, params: list | None = None) -> int:
    return int(ws.rows(sql, params)[0][0] or 0)


def _rule_counts(ws: Workspace, dataset: str, today: date | None) -> list[tuple[str, str, str, str, tuple, str]]:
    """(check, title, consequence, condition, affects, example order) of every rule break present."""
    table = quote_ident(dataset)
    cols = set(ws.columns(dataset))
    found = []
    for rule in RULES:
        if rule.dataset != dataset or not set(rule.needs) <= cols:
            continue
        found.append((rule.id, rule.title, rule.consequence, rule.condition, rule.affects,
                      f"SELECT count(*) FROM {table} WHERE {rule.condition}"))
    if dataset in ID_COLUMNS and ID_COLUMNS[dataset][0] in cols:
        col, consequence = ID_COLUMNS[dataset]
        q = quote_ident(col)
        cond = f"{q} IN (SELECT {q} FROM {table} WHERE {q} IS NOT NULL GROUP BY {q} HAVING count(*) > 1)"
        found.append((f"duplicate_{col}", f"rows repeat the {col} of another row", consequence, cond,
                      DATASET_KPIS[dataset], f"SELECT count({q}) - count(DISTINCT {q}) FROM {table}"))
    ds = DATASETS[dataset]
    if ds.primary_date in cols:
        pdate = primary_date_sql(dataset)
        today = today or date.today()
        ahead = today + PLAUSIBLE_AHEAD
        cond = f"{pdate} > DATE '{today.isoformat()}' AND {pdate} <= DATE '{ahead.isoformat()}'"
        found.append(("future_dates", f"rows dated in the future ({ds.primary_date} after today)",
                      "will be ignored by every KPI until that date", cond, DATASET_KPIS[dataset],
                      f"SELECT count(*) FROM {table} WHERE {cond}"))
        cond = f"({pdate} < DATE '{FIRST_PLAUSIBLE.isoformat()}' OR {pdate} > DATE '{ahead.isoformat()}')"
        kept = early_dates_kept(ws)
        found.append(("implausible_dates",
                      f"rows with an implausible {ds.primary_date} (before 1970, such as Excel's empty "
                      f"1900-01-01, or after {day_words(ahead)})",
                      "are kept, as you chose: those before 1970 start the periods"
                      if kept else "are kept out of the periods KPIs are computed over (from 1970 to today) "
                                   "unless you keep them",
                      cond, DATASET_KPIS[dataset], f"SELECT count(*) FROM {table} WHERE {cond}"))
    return found


def rule_warnings(ws: Workspace, dataset: str, today: date | None = None) -> list[str]:
    """Short counts of the rule breaks in a loaded dataset, for the line printed after an ingest."""
    out = []
    for _check, title, consequence, _cond, _affects, count_sql in _rule_counts(ws, dataset, today):
        n = _count(ws, count_sql)
        if n:
            out.append(f"{n:,} {title} {consequence}")
    return out


def quality_report(ws: Workspace, dataset: str, today: date | None = None) -> QualityReport:
    """Everything the data-quality page shows for one dataset, computed in SQL on its table."""
    if not ws.has(dataset):
        raise KeyError(f"{dataset} is not loaded")
    table = quote_ident(dataset)
    cols = ws.columns(dataset)
    rows = ws.row_count(dataset)
    ds = DATASETS[dataset]
    first = last = None
    per_month = pd.DataFrame({"month": pd.Series(dtype="object"), "rows": pd.Series(dtype="int64")})
    if ds.primary_date in cols:
        pdate = primary_date_sql(dataset)
        first, last = ws.rows(f"SELECT min({pdate}), max({pdate}) FROM {table}")[0]
        if first is not None:
            # months of plausible dates only: a row of 0001-01-01 would add 24,000 empty months
            per_month = ws.df(f"""
                WITH counted AS (
                    SELECT CAST(date_trunc('month', {pdate}) AS DATE) AS month, count(*) AS n
                    FROM {table} WHERE {pdate} BETWEEN ? AND ? GROUP BY 1),
                months AS (
                    SELECT CAST(m AS DATE) AS month
                    FROM range(CAST((SELECT min(month) FROM counted) AS TIMESTAMP),
                               CAST((SELECT max(month) FROM counted) AS TIMESTAMP) + INTERVAL 1 MONTH,
                               INTERVAL 1 MONTH) AS t(m))
                SELECT months.month, CAST(coalesce(counted.n, 0) AS BIGINT) AS rows
                FROM months LEFT JOIN counted ON counted.month = months.month
                ORDER BY months.month""", [first_period_date(ws), (today or date.today()) + PLAUSIBLE_AHEAD])
    empties = ws.rows("SELECT " + ", ".join(f"count(*) - count({quote_ident(c)})" for c in cols) + f" FROM {table}")[0]
    nulls = {c: int(n) for c, n in zip(cols, empties)}
    column_list = ", ".join(quote_ident(c) for c in cols)
    duplicates = rows - _count(ws, f"SELECT count(*) FROM (SELECT DISTINCT * FROM {table})")
    issues = []
    shown = _shown_list(ws, dataset)
    if duplicates:
        examples = ws.df(f"SELECT {shown}, count(*) AS copies FROM {table} GROUP BY {column_list} "
                         f"HAVING count(*) > 1 LIMIT {EXAMPLES}")
        issues.append(QualityIssue("duplicate_rows", dataset, "rows are exact copies of another row",
                                   duplicates, "will each be counted", list(DATASET_KPIS[dataset]), examples))
    for check, title, consequence, cond, affects, count_sql in _rule_counts(ws, dataset, today):
        n = _count(ws, count_sql)
        if n:
            examples = ws.df(f"SELECT {shown} FROM {table} WHERE {cond} LIMIT {EXAMPLES}")
            issues.append(QualityIssue(check, dataset, title, n, consequence, list(affects), examples))
    return QualityReport(dataset=dataset, rows=rows, first_date=first, last_date=last, rows_per_month=per_month,
                         nulls=nulls, duplicate_rows=duplicates, issues=issues)


def _shown_list(ws: Workspace, dataset: str) -> str:
    """The dataset's columns for example rows, text cut to what a page shows (a cell may hold megabytes)."""
    types = ws.rows("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                    "AND table_schema = 'main' ORDER BY ordinal_position", [dataset])
    return ", ".join(f"{limits.shown(quote_ident(c))} AS {quote_ident(c)}" if t == "VARCHAR" else quote_ident(c)
                     for c, t in types)
