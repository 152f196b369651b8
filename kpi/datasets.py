"""The 15 datasets KPI Explorer reads: their canonical columns, types and header synonyms.

This is the one place that says what a table must look like (``../shared/spec/datasets.md``);
detection, ingest, the data-quality report and the KPI SQL all read it from here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Canonical column types and the DuckDB type each is stored as.
SQL_TYPES = {
    "id": "VARCHAR",
    "text": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "number": "DOUBLE",
    "int": "BIGINT",
    "bool": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # one of SQL_TYPES
    required: bool = False
    synonyms: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Dataset:
    name: str
    row_is: str
    columns: tuple[Column, ...]
    primary_date: str
    description: str = ""
    synonyms: tuple[str, ...] = field(default=())  # file-name words that hint at this dataset

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name}")

    @property
    def id_column(self) -> str | None:
        """The column that links a row to a customer (``user_id`` or ``customer_id``), if any."""
        for c in self.columns:
            if c.name in ("user_id", "customer_id"):
                return c.name
        return None


def C(name, type_, required=False, synonyms=(), description=""):
    return Column(name, type_, required, tuple(synonyms), description)


DATASETS: dict[str, Dataset] = {d.name: d for d in (
    Dataset("events", "one product usage event", (
        C("user_id", "id", True, ["user", "userid", "distinct_id", "uid", "person_id", "member_id",
                                  "account_id", "visitor_id", "$user_id", "actor_id", "customer_id", "identity",
                                  "external_id", "user_external_id"]),
        C("timestamp", "timestamp", True, ["created", "time", "ts", "event_time", "event_timestamp",
                                           "occurred_at", "created_at", "datetime", "date", "event_date",
                                           "timestamp_utc", "time_utc", "server_time", "client_event_time", "original_timestamp",
                                           "event_datetime"]),
        C("event", "text", True, ["event_name", "name", "action", "event_type", "type", "activity"]),
        C("session_id", "id", False, ["session", "sessionid", "$session_id", "visit_id", "session_key"]),
        C("feature", "text", False, ["feature_name", "module", "component", "area"]),
    ), "timestamp", "What users do in the product.", ("event", "events", "activity", "usage", "tracking")),
    Dataset("customers", "one customer (account or user)", (
        C("customer_id", "id", True, ["customer", "customerid", "user_id", "userid", "account_id",
                                      "account", "client_id", "contact_id", "uid", "id", "user", "external_id",
                                      "user_external_id"]),
        C("signup_date", "date", True, ["signup", "signed_up", "signed_up_at", "signup_at", "created",
                                        "created_at", "created_date", "create_date", "registration_date",
                                        "registered_at", "joined", "join_date", "date", "date_created", "created_time",
                                        "signup_time", "first_seen", "first_seen_at"]),
        C("channel", "text", False, ["source", "acquisition_channel", "utm_source", "original_source",
                                     "lead_source", "medium", "referrer", "acquisition_source", "first_touch_source",
                                     "referral_source", "hs_analytics_source"]),
        C("trial_start", "date", False, ["trial_started", "trial_start_date", "trial_started_at", "trial_begin"]),
        C("trial_end", "date", False, ["trial_ended", "trial_end_date", "trial_ends_at", "trial_ended_at"]),
        C("converted_date", "date", False, ["converted", "converted_at", "conversion_date", "paid_at",
                                            "became_customer", "became_a_customer_date", "first_payment_date",
                                            "customer_since"]),
    ), "signup_date", "Who signed up, when, from where, and whether a trial converted.",
        ("customer", "customers", "accounts", "users", "contacts", "signups")),
    Dataset("subscriptions", "one period of one subscription at one price", (
        C("customer_id", "id", True, ["customer", "customerid", "account_id", "account", "user_id", "client_id"]),
        C("start_date", "date", True, ["start", "started", "started_at", "start_at", "period_start",
                                       "subscription_start", "begin", "from", "valid_from", "created", "activated_at",
                                       "subscription_start_date"]),
        C("end_date", "date", False, ["end", "ended", "ended_at", "end_at", "period_end", "cancelled_at",
                                      "canceled_at", "cancellation_date", "churn_date", "valid_to", "to", "expires_at",
                                      "expired_at", "ends_at", "cancel_date", "canceled_date"]),
        C("mrr", "number", True, ["monthly_amount", "monthly_recurring_revenue", "mrr_amount", "monthly_price",
                                  "amount", "price", "plan_amount", "recurring_amount"]),
        C("plan", "text", False, ["plan_name", "tier", "plan_id", "package", "price_id"]),
        C("product", "text", False, ["product_name", "product_id", "sku"]),
        C("billing_period", "text", False, ["interval", "billing_interval", "billing_cycle", "period",
                                            "plan_interval", "frequency", "term", "billing_period_unit", "billing_frequency",
                                            "plan_interval_unit", "interval_unit"]),
    ), "start_date", "Recurring revenue: who pays how much per month, from when to when.",
        ("subscription", "subscriptions", "plans", "mrr", "billing")),
    Dataset("payments", "one payment, invoice line or refund (negative)", (
        C("customer_id", "id", True, ["customer", "customerid", "account_id", "user_id", "client_id", "payer_id"]),
        C("date", "date", True, ["paid_at", "payment_date", "created", "created_at", "invoice_date",
                                 "transaction_date", "charged_at", "time", "timestamp", "billed_at", "date_paid",
                                 "charge_date", "created_date"]),
        C("amount", "number", True, ["total", "value", "paid", "amount_paid", "net_amount", "gross_amount",
                                     "revenue", "price", "charge", "grand_total", "amount_charged", "sale_gross"]),
        C("product", "text", False, ["product_name", "product_id", "sku", "item"]),
    ), "date", "Money received (and refunded).",
        ("payment", "payments", "invoices", "charges", "transactions", "revenue", "orders")),
    Dataset("marketing", "spend of one channel (and campaign) on one day", (
        C("date", "date", True, ["day", "report_date", "spend_date", "reporting_starts", "date_start", "time_period",
                                 "by_day"]),
        C("channel", "text", True, ["source", "network", "platform", "medium", "utm_source", "publisher_platform",
                                     "ad_network"]),
        C("spend", "number", True, ["cost", "amount_spent", "ad_spend", "spent", "budget_spent", "amount",
                                     "total_spent"]),
        C("visitors", "int", False, ["visits", "sessions", "clicks", "users", "traffic", "unique_visitors",
                                      "link_clicks"]),
        C("campaign", "text", False, ["campaign_name", "ad_campaign", "utm_campaign"]),
    ), "date", "What acquisition costs, per channel and day.",
        ("marketing", "ads", "spend", "campaigns", "acquisition")),
    Dataset("surveys", "one survey response", (
        C("date", "date", True, ["submitted_at", "submit_date", "response_date", "created_at", "answered_at",
                                 "timestamp", "created", "completed_at", "submitted", "recorded_date", "date_submitted",
                                 "submission_date", "end_date"]),
        C("score", "number", True, ["rating", "nps", "nps_score", "answer", "value", "likelihood"]),
        C("survey", "text", False, ["survey_name", "survey_type", "type", "question", "form"]),
        C("respondent_id", "id", False, ["respondent", "user_id", "customer_id", "email", "response_id",
                                          "respondent_email", "contact_id"]),
    ), "date", "What customers (NPS) and employees say.",
        ("survey", "surveys", "nps", "responses", "feedback")),
    Dataset("releases", "one shipped feature or product", (
        C("feature", "text", True, ["feature_name", "name", "title", "release", "release_name", "version"]),
        C("released_date", "date", True, ["released", "released_at", "release_date", "shipped",
                                          "shipped_at", "launch_date", "launched_at", "ga_date", "date"]),
        C("started_date", "date", False, ["started", "started_at", "start_date", "kickoff", "created"]),
        C("product", "text", False, ["product_name", "product_id"]),
        C("event", "text", False, ["event_name", "tracking_event", "usage_event"]),
    ), "released_date", "What shipped and when work on it started.",
        ("release", "releases", "features", "launches", "changelog", "roadmap")),
    Dataset("sprints", "one finished sprint", (
        C("sprint", "text", True, ["sprint_name", "name", "iteration", "sprint_id"]),
        C("end_date", "date", True, ["end", "ended", "ended_at", "completed_at", "complete_date", "finish_date"]),
        C("completed_points", "number", True, ["completed", "done_points", "velocity", "points_completed",
                                               "story_points_completed", "completed_story_points"]),
        C("committed_points", "number", False, ["committed", "planned_points", "points_committed",
                                                "commitment", "committed_story_points"]),
        C("start_date", "date", False, ["start", "started", "started_at", "begin"]),
        C("team", "text", False, ["team_name", "squad", "board"]),
    ), "end_date", "How much each sprint planned and delivered.", ("sprint", "sprints", "iterations", "velocity")),
    Dataset("defects", "one defect", (
        C("defect_id", "id", True, ["bug_id", "issue_key", "key", "issue_id", "id", "ticket_id"]),
        C("found_date", "date", True, ["found", "found_at", "created", "created_at", "reported",
                                       "reported_at", "opened_at", "date", "created_date", "date_created", "opened"]),
        C("stage", "text", True, ["found_in", "environment", "phase", "detected_in", "found_stage",
                                   "found_in_environment", "detected_in_environment"]),
        C("severity", "text", False, ["priority", "sev", "impact", "severity_level", "bug_severity"]),
        C("component", "text", False, ["module", "area", "components", "area_path", "subsystem"]),
    ), "found_date", "Bugs, and whether tests or customers found them.", ("defect", "defects", "bugs", "issues")),
    Dataset("codebase", "the size of the code base on a date", (
        C("date", "date", True, ["measured_at", "snapshot_date", "as_of"]),
        C("kloc", "number", True, ["kloc_count", "thousand_lines", "lines_k", "size_kloc"]),
    ), "date", "How big the code is (thousands of lines).", ("codebase", "code", "loc", "kloc")),
    Dataset("test_runs", "one run of a test suite", (
        C("run_id", "id", True, ["run", "build_id", "build", "job_id", "id", "pipeline_id"]),
        C("started_at", "timestamp", True, ["started", "start", "start_time", "created_at", "timestamp", "date"]),
        C("duration_minutes", "number", True, ["duration", "duration_min", "minutes", "runtime_minutes",
                                               "elapsed_minutes"]),
        C("tests_total", "int", False, ["total", "total_tests", "tests", "test_count"]),
        C("tests_failed", "int", False, ["failed", "failures", "failed_tests", "test_failures"]),
    ), "started_at", "Each run of the test suite: how long, how many failed.",
        ("test_runs", "tests", "ci", "builds", "pipelines")),
    Dataset("tickets", "one support ticket", (
        C("ticket_id", "id", True, ["ticket", "id", "case_id", "conversation_id", "ticketid", "ticket_number"]),
        C("created_at", "timestamp", True, ["created", "opened_at", "submitted_at", "date", "created_date",
                                            "created_time", "conversation_started_at"]),
        C("first_response_at", "timestamp", False, ["first_response", "first_reply_at", "first_replied_at",
                                                    "responded_at", "initial_response_time"]),
        C("resolved_at", "timestamp", False, ["solved_at", "closed_at", "resolved", "resolution_date",
                                                "resolved_time", "closed_time"]),
        C("escalated", "bool", False, ["is_escalated", "escalation", "was_escalated"]),
        C("cost", "number", False, ["handling_cost", "support_cost", "ticket_cost"]),
        C("customer_id", "id", False, ["customer", "requester_external_id", "requester_id", "user_id",
                                       "account_id", "organization_id"]),
    ), "created_at", "Support tickets: response times, escalations, cost.",
        ("ticket", "tickets", "support", "helpdesk", "cases", "conversations")),
    Dataset("incidents", "one outage", (
        C("started_at", "timestamp", True, ["start", "started", "start_time", "began_at", "created_at",
                                            "impact_started_at"]),
        C("ended_at", "timestamp", True, ["end", "ended", "end_time", "resolved_at", "recovered_at",
                                          "impact_ended_at", "mitigated_at"]),
        C("service", "text", False, ["component", "system", "components", "affected_service"]),
        C("severity", "text", False, ["impact", "urgency", "priority", "sev", "level"]),
    ), "started_at", "Outages: when a service was down.", ("incident", "incidents", "outages", "status", "downtime")),
    Dataset("compliance", "one compliance check", (
        C("date", "date", True, ["checked_at", "check_date", "audit_date", "tested_at"]),
        C("control", "text", True, ["control_id", "check", "rule", "requirement", "control_name"]),
        C("passed", "bool", True, ["pass", "result", "status", "compliant", "ok", "is_passed"]),
        C("standard", "text", False, ["framework", "regulation", "policy"]),
    ), "date", "Compliance checks and whether they passed.", ("compliance", "controls", "audit", "audits")),
    Dataset("kpi_values", "one value of a KPI computed elsewhere", (
        C("date", "date", True, ["period", "day", "as_of", "month"]),
        C("kpi", "text", True, ["metric", "kpi_id", "kpi_name", "metric_name", "measure", "name"]),
        C("value", "number", True, ["amount", "metric_value", "kpi_value", "val"]),
        C("segment", "text", False, ["dimension", "group", "breakdown"]),
    ), "date", "KPI values computed in another tool.", ("kpi_values", "kpis", "metrics", "kpi")),
)}

DATASET_ORDER = tuple(DATASETS)


def normalise_name(name: str) -> str:
    """Header words compared case, space and punctuation insensitively: 'Created At (UTC)' -> 'createdatutc'."""
    return re.sub(r"[^a-z0-9]+", "", str(name).lower())


def primary_date_sql(dataset: str, prefix: str = "") -> str:
    """The column whose date places a row in time (timestamps cut to their calendar date);
    ``prefix``: a table alias and a dot, e.g. ``x.``."""
    ds = DATASETS[dataset]
    col = ds.column(ds.primary_date)
    quoted = f'{prefix}"{col.name}"'
    return f"CAST({quoted} AS DATE)" if col.type == "timestamp" else quoted
