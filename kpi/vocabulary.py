"""The words exports use for booleans, billing periods, defect stages, refunds and failures, in one place.

Detection, the general rules that read evidence (``kpi/evidence.py``), tools' profiles
(``kpi/tool_exports.py``) and ingest's SQL all compare values against these lists (lower-cased,
punctuation left out where said), so a word added here is understood everywhere.
"""
from __future__ import annotations

# Booleans as tools and spreadsheets write them (compared lower-cased, trimmed).
TRUE_WORDS = ("true", "t", "yes", "y", "1", "1.0", "on", "pass", "passed", "checked", "enabled", "x", "✓", "✔",
              "ja", "oui", "si", "sí", "wahr", "vrai")
FALSE_WORDS = ("false", "f", "no", "n", "0", "0.0", "off", "fail", "failed", "unchecked", "disabled", "✗", "✘",
               "nein", "non", "falsch", "faux")

# Billing periods, compared without punctuation ('1 month', '1-month' and '1month' are one).
BILLING_PERIODS = {
    "month": ("month", "months", "monthly", "mo", "m", "1month", "1months", "1mo", "mth", "permonth",
              "everymonth", "1m"),
    "quarter": ("quarter", "quarterly", "q", "qtr", "3month", "3months", "3mo", "perquarter",
                "everyquarter", "3m"),
    "year": ("year", "years", "yearly", "annual", "annually", "y", "yr", "1year", "1yr", "12month",
             "12months", "12mo", "peryear", "everyyear", "12m"),
    # beyond the spec's three: kept as written, and MRR divides by their months
    "half_year": ("semiannual", "semiannually", "halfyear", "halfyearly", "biannual", "6month", "6months", "6mo",
                  "6m"),
    "week": ("week", "weeks", "weekly", "wk", "w", "1week", "perweek", "everyweek"),
    "day": ("day", "days", "daily", "d", "1day", "perday"),
}
# Units a billing period is counted in (a count column says how many: 3 × month), in months.
PERIOD_UNIT_MONTHS = {
    "day": 12 / 365, "days": 12 / 365, "daily": 12 / 365, "d": 12 / 365,
    "week": 12 / 52, "weeks": 12 / 52, "weekly": 12 / 52, "w": 12 / 52, "wk": 12 / 52,
    "month": 1.0, "months": 1.0, "monthly": 1.0, "mo": 1.0, "m": 1.0, "mth": 1.0,
    "quarter": 3.0, "quarters": 3.0, "quarterly": 3.0, "q": 3.0, "qtr": 3.0,
    "semiannual": 6.0, "semiannually": 6.0, "halfyear": 6.0, "halfyearly": 6.0, "biannual": 6.0,
    "year": 12.0, "years": 12.0, "yearly": 12.0, "annual": 12.0, "annually": 12.0, "y": 12.0, "yr": 12.0,
}
# Words inside a plan's code or name that say its period ('pro-annual', 'starter_monthly', 'team 12m').
PLAN_PERIOD_WORDS = {
    "year": ("annual", "annually", "yearly", "year", "yr", "12m", "12mo", "12months", "1y", "1yr", "py", "pa"),
    "quarter": ("quarterly", "quarter", "qtr", "3m", "3mo", "3months"),
    "half_year": ("semiannual", "biannual", "halfyearly", "6m", "6mo", "6months"),
    "month": ("monthly", "month", "mo", "1m", "1mo", "pm", "mth"),
    "week": ("weekly", "week", "wk", "1w"),
}
PERIOD_MONTHS = {"month": 1.0, "quarter": 3.0, "half_year": 6.0, "year": 12.0, "week": 12 / 52, "day": 12 / 365}

DEFECT_STAGES = {
    "pre_release": ("prerelease", "staging", "stage", "test", "testing", "qa", "dev", "development",
                    "uat", "internal", "beforerelease", "preprod", "preproduction", "foundinqa", "foundintesting"),
    "production": ("production", "prod", "live", "customer", "field", "postrelease", "afterrelease",
                   "customerreported", "reportedbycustomer", "foundinproduction", "foundinprod", "escaped"),
}
# Which stage words an issue tracker's environment, labels or tags use (compared without punctuation).
ISSUE_STAGES = (
    ("production", ("production", "prod", "live", "customer", "customerreported", "reportedbycustomer",
                    "foundinproduction", "foundinprod", "escaped", "incident", "hotfix", "field", "postrelease",
                    "envproduction", "envprod", "environmentproduction", "inproduction", "prodbug", "productionbug")),
    ("pre_release", ("prerelease", "staging", "stage", "test", "testing", "qa", "dev", "development", "uat",
                     "internal", "foundinqa", "foundintesting", "beforerelease", "preprod", "preproduction",
                     "beta", "regressiontest", "ci", "envstaging", "envqa", "environmentstaging")),
)
BUG_WORDS = ("bug", "bugs", "defect", "defects", "kindbug", "typebug", "bugreport")

# Payment rows: which statuses are money received, which are not, and which rows are refunds.
PAID_STATUSES = ("paid", "succeeded", "success", "successful", "settled", "settling", "submittedforsettlement",
                 "captured", "complete", "completed", "approved", "refunded", "partiallyrefunded", "partialrefund")
UNPAID_STATUSES = ("failed", "failure", "declined", "void", "voided", "draft", "open", "pending", "unpaid",
                   "uncollectible", "canceled", "cancelled", "requirespaymentmethod", "requiresaction",
                   "requiresconfirmation", "processorDeclined".lower(), "gatewayrejected", "authorizationexpired",
                   "expired", "error", "notpaid", "overdue", "due", "incomplete")
REFUND_WORDS = ("refund", "refunds", "refunded", "credit", "creditnote", "chargeback", "reversal", "reversed",
                "return", "returned")

# Ticket tags and labels that say a ticket was escalated.
ESCALATION_WORDS = ("escalated", "escalation", "escalate", "tier2", "tier3", "level2", "l2", "l3")
# Values an id column writes for "none" (a session id of -1 is no session).
SENTINEL_IDS = ("-1", "0", "n/a", "na", "none", "null", "(none)", "undefined", "(not set)", "not set", "-", "--",
                "unknown", "nil", "(null)", "#n/a")
