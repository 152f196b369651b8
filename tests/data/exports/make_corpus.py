"""Writes the exports of tests/data/exports and their expected.json (run: python tests/data/exports/make_corpus.py).

Each file imitates one tool's export, its header taken from the tool's public documentation of that export
or API (NOTES.md says where); the rows are made up, small enough to check every figure by hand. The figures
in expected.json are worked out here from the rows, independently of KPI Explorer's code.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).parent
EXPECTED: dict[str, dict] = {}


def write(name: str, header: list[str], rows: list[list], *, before: list[str] = (), after: list[str] = (),
          extra_headers: list[list[str]] = (), delimiter: str = ",") -> None:
    out = io.StringIO()
    for line in before:
        out.write(line + "\n")
    w = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    w.writerow(header)
    for h in extra_headers:
        w.writerow(h)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    for line in after:
        out.write(line + "\n")
    (HERE / name).write_text(out.getvalue(), encoding="utf-8")


def expect(name: str, tool: str, dataset: str, mapping: dict, checks: dict, rules: list[str], **layout) -> None:
    EXPECTED[name] = {"tool": tool, "dataset": dataset, "mapping": mapping, "rules": rules, "checks": checks,
                      "layout": {"encoding": "utf-8", "line_end": "LF", "header_line": layout.get("header_line", 1),
                                 "header_rows": layout.get("header_rows", 1), "drop_rows": layout.get("drop_rows")}}


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp())


def mrr_on(day: str, subs: list[tuple[str, str | None, float]]) -> float:
    """MRR active on a day: start <= day < end (end empty: still active)."""
    return round(sum(m for s, e, m in subs if s <= day and (e is None or e > day)), 2)


# ---- billing: Lemon Squeezy orders (cents, several money columns, refunds, statuses) ----------------
def lemon_squeezy() -> None:
    header = ["id", "store_id", "customer_id", "identifier", "order_number", "user_name", "user_email", "currency",
              "currency_rate", "subtotal", "setup_fee", "discount_total", "tax", "total", "refunded_amount",
              "subtotal_usd", "discount_total_usd", "tax_usd", "total_usd", "refunded_amount_usd", "tax_name",
              "tax_rate", "tax_inclusive", "status", "status_formatted", "refunded", "refunded_at",
              "first_order_item.product_name", "first_order_item.variant_name", "first_order_item.price",
              "created_at", "updated_at"]
    orders = [  # (id, customer, subtotal, tax, status, refunded, refunded_at, product, created)
        (1001, 501, 4900, 980, "paid", 0, None, "Pro", "2024-04-02T09:14:03.000000Z"),
        (1002, 502, 1900, 0, "paid", 0, None, "Starter", "2024-04-03T11:40:51.000000Z"),
        (1003, 503, 4900, 980, "refunded", 5880, "2024-04-09T15:00:00.000000Z", "Pro", "2024-04-05T08:02:17.000000Z"),
        (1004, 504, 9900, 1980, "failed", 0, None, "Team", "2024-04-06T19:22:40.000000Z"),
        (1005, 505, 1900, 380, "paid", 0, None, "Starter", "2024-04-11T07:55:12.000000Z"),
        (1006, 501, 4900, 980, "paid", 0, None, "Pro", "2024-04-30T09:14:03.000000Z"),
        (1007, 506, 9900, 0, "pending", 0, None, "Team", "2024-04-30T22:10:09.000000Z"),
    ]
    rows = []
    for oid, cust, sub, tax, status, ref, ref_at, product, created in orders:
        total = sub + tax
        rows.append([oid, 7731, cust, f"104e18a2-d755-4d4b-80c4-a6c1dcb{oid:05d}", oid - 1000,
                     f"Customer {cust}", f"c{cust}@example.com", "USD", "1.0000", sub, 0, 0, tax, total, ref,
                     sub, 0, tax, total, ref, "VAT", "20.00" if tax else "0.00", "false", status,
                     status.capitalize(), "true" if status == "refunded" else "false", ref_at, product,
                     "Monthly", sub, created, created])
    write("lemon_squeezy_orders.csv", header, rows)
    paid = [o for o in orders if o[4] in ("paid", "refunded")]
    gross = sum(o[2] + o[3] for o in paid) / 100
    refunds = sum(o[5] for o in paid) / 100
    expect("lemon_squeezy_orders.csv", "Lemon Squeezy", "payments",
           {"customer_id": "customer_id", "date": "created_at", "amount": "total", "refund_amount": "refunded_amount",
            "refund_date": "refunded_at"},
           {"rows": len(orders), "loaded_rows": len(paid) + sum(1 for o in paid if o[5]),
            "left_out": len(orders) - len(paid), "revenue_gross": gross, "refunds": refunds,
            "revenue_net": round(gross - refunds, 2)},
           ["amounts are positive integers in cents (4900 = 49.00)",
            "status failed / pending is not revenue; refunded orders were paid, then refunded_amount went back",
            "total = subtotal + tax; subtotal, tax, discount_total and the *_usd copies are not the amount"])


# ---- billing: Maxio (Chargify) subscriptions API, flattened (count × unit, cents, trials, custom id) ----
def maxio() -> None:
    header = ["subscription.id", "subscription.state", "subscription.product_price_in_cents",
              "subscription.total_revenue_in_cents", "subscription.current_period_started_at",
              "subscription.current_period_ends_at", "subscription.trial_started_at", "subscription.trial_ended_at",
              "subscription.activated_at", "subscription.expires_at", "subscription.created_at",
              "subscription.canceled_at", "subscription.cancel_at_end_of_period", "subscription.customer.id",
              "subscription.customer.reference", "subscription.customer.email", "subscription.product.handle",
              "subscription.product.name", "subscription.product.interval", "subscription.product.interval_unit"]
    subs = [  # (id, state, price_cents, activated, trial_start, trial_end, canceled, ref, handle, interval, unit)
        (71001, "active", 4900, "2024-01-08T14:22:05-05:00", None, None, None, "u_10001", "pro", 1, "month"),
        (71002, "active", 13500, "2024-01-15T09:03:41-05:00", None, None, None, "u_10002", "pro-quarterly", 3, "month"),
        (71003, "active", 49000, "2024-01-22T18:45:10-05:00", None, None, None, "u_10003", "pro-annual", 12, "month"),
        (71004, "canceled", 1900, "2024-02-02T11:15:00-05:00", None, None, "2024-03-20T10:00:00-04:00", "u_10004",
         "starter", 1, "month"),
        (71005, "trialing", 4900, None, "2024-04-18T10:00:00-04:00", "2024-05-02T10:00:00-04:00", None, "u_10005",
         "pro", 1, "month"),
        (71006, "active", 26400, "2024-03-05T12:30:00-05:00", None, None, None, "u_10006", "team-half-year", 6,
         "month"),
    ]
    rows = []
    for sid, state, price, act, t0, t1, canceled, ref, handle, interval, unit in subs:
        created = act or t0
        rows.append([sid, state, price, price if act else 0, act or t0, None, t0, t1, act, canceled, created,
                     canceled, "false", 900000 + sid % 1000, ref, f"{ref}@example.com", handle,
                     handle.replace("-", " ").title(), interval, unit])
    write("maxio_subscriptions.csv", header, rows)
    monthly = []
    for sid, state, price, act, t0, t1, canceled, ref, handle, interval, unit in subs:
        start = (act or t1)[:10]
        end = canceled[:10] if canceled else None
        monthly.append((start, end, price / 100 / interval))
    expect("maxio_subscriptions.csv", "Maxio (Chargify)", "subscriptions",
           {"customer_id": "subscription.customer.reference", "start_date": "subscription.activated_at",
            "end_date": "subscription.canceled_at", "amount": "subscription.product_price_in_cents",
            "period_count": "subscription.product.interval", "billing_period": "subscription.product.interval_unit"},
           {"rows": len(subs), "loaded_rows": len(subs), "mrr_on": "2024-04-30",
            "mrr": mrr_on("2024-04-30", monthly), "mrr_after_trial_on": "2024-05-15",
            "mrr_after_trial": mrr_on("2024-05-15", monthly)},
           ["price in integer cents (product_price_in_cents); the period is interval × interval_unit (3 × month)",
            "a trialing subscription has no activated_at: it starts paying at trial_ended_at",
            "customer.reference is the app's user id; customer.id is Maxio's own"])


# ---- billing: Zuora rate plan charges (dotted Object.Field headers, its own MRR column) ----------------
def zuora() -> None:
    header = ["Subscription.Name", "Subscription.Status", "Account.AccountNumber", "Account.Name",
              "Subscription.SubscriptionStartDate", "Subscription.CancelledDate", "RatePlan.Name",
              "RatePlanCharge.ChargeNumber", "RatePlanCharge.ChargeType", "RatePlanCharge.BillingPeriod",
              "RatePlanCharge.Quantity", "RatePlanChargeTier.Price", "RatePlanCharge.MRR", "RatePlanCharge.TCV",
              "RatePlanCharge.EffectiveStartDate", "RatePlanCharge.EffectiveEndDate"]
    subs = [  # (name, status, account, start, cancelled, plan, period, qty, price, months)
        ("A-S00000101", "Active", "A00000011", "2024-01-01", None, "Analytics Pro", "Month", 1, 49.00, 1),
        ("A-S00000102", "Active", "A00000012", "2024-01-10", None, "Analytics Pro", "Annual", 1, 490.00, 12),
        ("A-S00000103", "Active", "A00000013", "2024-02-01", None, "Analytics Team", "Quarter", 5, 30.00, 3),
        ("A-S00000104", "Cancelled", "A00000014", "2024-02-15", "2024-04-15", "Analytics Pro", "Month", 1, 49.00, 1),
        ("A-S00000105", "Active", "A00000015", "2024-03-01", None, "Analytics Team", "Semi-Annual", 2, 150.00, 6),
    ]
    rows = []
    for i, (name, status, acct, start, cancelled, plan, period, qty, price, months) in enumerate(subs):
        mrr_tool = 0.0 if status == "Cancelled" else round(price * qty / months, 2)
        rows.append([name, status, acct, f"Customer {acct[-2:]}", start, cancelled, plan, f"C-{i + 1:08d}",
                     "Recurring", period, qty, f"{price:.2f}", f"{mrr_tool:.2f}", f"{price * qty * 12 / months:.2f}",
                     start, cancelled])
    write("zuora_subscriptions.csv", header, rows)
    monthly = [(s[3], s[4], s[8] * s[7] / s[9]) for s in subs]
    expect("zuora_subscriptions.csv", "Zuora", "subscriptions",
           {"customer_id": "Account.AccountNumber", "start_date": "Subscription.SubscriptionStartDate",
            "end_date": "Subscription.CancelledDate", "amount": "RatePlanChargeTier.Price",
            "quantity": "RatePlanCharge.Quantity", "billing_period": "RatePlanCharge.BillingPeriod"},
           {"rows": len(subs), "loaded_rows": len(subs), "mrr_on": "2024-03-31", "mrr": mrr_on("2024-03-31", monthly)},
           ["headers are Object.Field; BillingPeriod Month / Quarter / Annual / Semi-Annual",
            "RatePlanCharge.MRR is Zuora's current MRR (0 once cancelled): MRR = price × quantity ÷ months instead"])


# ---- billing: Stripe invoices from the API, flattened (epoch seconds, cents, due/paid/remaining) --------
def stripe_invoices() -> None:
    header = ["id", "object", "customer", "customer_email", "status", "currency", "created", "period_start",
              "period_end", "subtotal", "total", "amount_due", "amount_paid", "amount_remaining",
              "lines.data.0.price.id", "lines.data.0.price.recurring.interval", "metadata.user_id"]
    inv = [  # (id, customer, status, created, total, paid, user)
        ("in_1P0a", "cus_Q1", "paid", "2024-03-01T10:00:00", 4900, 4900, "u_10001"),
        ("in_1P0b", "cus_Q2", "paid", "2024-03-03T12:30:00", 1900, 1900, "u_10002"),
        ("in_1P0c", "cus_Q3", "open", "2024-03-20T08:00:00", 9900, 0, "u_10003"),
        ("in_1P0d", "cus_Q1", "paid", "2024-04-01T10:00:00", 4900, 4900, "u_10001"),
        ("in_1P0e", "cus_Q4", "void", "2024-04-02T09:00:00", 4900, 0, "u_10004"),
        ("in_1P0f", "cus_Q2", "paid", "2024-04-03T12:30:00", 1900, 1900, "u_10002"),
    ]
    rows = []
    for iid, cust, status, created, total, paid, user in inv:
        t = epoch(created)
        rows.append([iid, "invoice", cust, f"{user}@example.com", status, "usd", t, t, t + 2592000, total, total,
                     total, paid, total - paid, "price_1Oaziuy", "month", user])
    write("stripe_invoices_api.csv", header, rows)
    counted = [i for i in inv if i[2] not in ("open", "void", "draft", "uncollectible")]
    expect("stripe_invoices_api.csv", "Stripe (invoices API)", "payments",
           {"customer_id": "metadata.user_id", "date": "created", "amount": "amount_paid"},
           {"rows": len(inv), "loaded_rows": len(counted), "revenue_net": sum(i[5] for i in inv) / 100},
           ["created is epoch seconds; amounts are integer cents",
            "revenue is amount_paid: an open invoice's total / amount_due is not money received",
            "open and void invoices are not payments"])


# ---- analytics: RudderStack tracks table (anonymous rows, epoch-ms session ids) --------------------------
def rudderstack() -> None:
    header = ["id", "anonymous_id", "user_id", "event", "event_text", "timestamp", "sent_at", "received_at",
              "original_timestamp", "context_library_name", "context_session_id", "context_page_path", "uuid_ts"]
    ev = [  # (user, event, time, session ms)
        ("u_10001", "logged_in", "2024-04-02 08:30:52", 1712046600000),
        ("u_10001", "report_created", "2024-04-02 08:34:00", 1712046600000),
        ("", "page_viewed", "2024-04-02 09:00:00", 1712048400000),
        ("u_10002", "logged_in", "2024-04-05 09:37:33", 1712309800000),
        ("u_10002", "csv_exported", "2024-04-05 09:41:10", 1712309800000),
        ("u_10003", "logged_in", "2024-04-08 14:25:31", 1712586300000),
        ("", "signup_started", "2024-04-09 10:00:00", 1712656800000),
        ("u_10004", "logged_in", "2024-04-12 16:02:11", 1712937700000),
        ("u_10001", "logged_in", "2024-04-20 07:50:40", 1713599400000),
    ]
    rows = []
    for i, (user, name, when, sess) in enumerate(ev):
        t = when.replace(" ", "T") + ".000Z"
        rows.append([f"b7e4c1d2-{i:04d}-4a8e-9f00-5c2d1e7a{i:04d}", f"a1f0c3b2-77aa-4c1d-8e2b-00000000{i % 3:04d}",
                     user or None, name, name.replace("_", " ").title(), t, t, t, t, "RudderLabs JavaScript SDK",
                     sess, "/app", t])
    write("rudderstack_tracks.csv", header, rows)
    known = [e for e in ev if e[0]]
    expect("rudderstack_tracks.csv", "RudderStack", "events",
           {"user_id": "user_id", "timestamp": "timestamp", "event": "event", "session_id": "context_session_id"},
           {"rows": len(ev), "loaded_rows": len(known), "distinct_users": len({e[0] for e in known}),
            "sessions": len({e[3] for e in known})},
           ["anonymous events have an empty user_id (anonymous_id only): not users",
            "context_session_id is a number of epoch-millisecond size but an id, not a time",
            "received_at / sent_at are delivery times"])


# ---- CI: GitLab pipelines API (duration in seconds without a unit; started/finished) --------------------
def gitlab() -> None:
    header = ["id", "iid", "project_id", "sha", "ref", "status", "source", "created_at", "updated_at",
              "started_at", "finished_at", "committed_at", "duration", "queued_duration", "coverage", "web_url"]
    runs = [  # (id, status, start, seconds)
        (61201, "success", "2024-04-01T09:00:05.000Z", 512),
        (61202, "failed", "2024-04-01T13:20:00.000Z", 300),
        (61203, "success", "2024-04-02T10:05:30.000Z", 488),
        (61204, "success", "2024-04-03T16:45:00.000Z", 530),
        (61205, "canceled", "2024-04-04T08:00:00.000Z", 65),
        (61206, "running", "2024-04-04T09:00:00.000Z", None),
    ]
    rows = []
    for rid, status, start, secs in runs:
        s = datetime.fromisoformat(start.replace("Z", "+00:00"))
        fin = (s + timedelta(seconds=secs)).isoformat(timespec="milliseconds").replace("+00:00", "Z") if secs else None
        created = (s - timedelta(seconds=12)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        rows.append([rid, rid - 61000, 278964, f"8d2f5c7a9b1e3f4d6c8a0b2e4f6a8c0d2e4f{rid % 10000:04d}", "main",
                     status, "push", created, fin or start, start, fin, created, secs, 12.0, "81.5",
                     f"https://gitlab.example.com/acme/app/-/pipelines/{rid}"])
    write("gitlab_pipelines.csv", header, rows)
    done = [r for r in runs if r[3]]
    expect("gitlab_pipelines.csv", "GitLab CI", "test_runs",
           {"run_id": "id", "started_at": "started_at", "finished_at": "finished_at"},
           {"rows": len(runs), "loaded_rows": len(done), "total_duration_minutes": round(sum(r[3] for r in done) / 60, 4)},
           ["duration is seconds (the header does not say): minutes = finished_at - started_at",
            "a running pipeline has no finished_at and is left out"])


# ---- CI: CircleCI insights workflow runs (created_at / stopped_at) -------------------------------------
def circleci() -> None:
    header = ["id", "branch", "duration", "created_at", "stopped_at", "credits_used", "status", "is_approval"]
    runs = [("5d3b2c1a-0001-4e6f-9a7b-1c2d3e4f5a01", "main", 402, "2024-04-02T10:00:00Z", "success"),
            ("5d3b2c1a-0002-4e6f-9a7b-1c2d3e4f5a02", "main", 377, "2024-04-02T15:30:00Z", "failed"),
            ("5d3b2c1a-0003-4e6f-9a7b-1c2d3e4f5a03", "feature/export", 455, "2024-04-03T09:12:00Z", "success"),
            ("5d3b2c1a-0004-4e6f-9a7b-1c2d3e4f5a04", "main", 390, "2024-04-05T11:00:00Z", "success"),
            ("5d3b2c1a-0005-4e6f-9a7b-1c2d3e4f5a05", "main", 120, "2024-04-05T18:00:00Z", "canceled")]
    rows = []
    for rid, branch, secs, created, status in runs:
        c = datetime.fromisoformat(created.replace("Z", "+00:00"))
        stop = (c + timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append([rid, branch, secs, created, stop, secs // 6, status, "false"])
    write("circleci_workflow_runs.csv", header, rows)
    expect("circleci_workflow_runs.csv", "CircleCI", "test_runs",
           {"run_id": "id", "started_at": "created_at", "finished_at": "stopped_at"},
           {"rows": len(runs), "loaded_rows": len(runs), "total_duration_minutes": round(sum(r[2] for r in runs) / 60, 4)},
           ["duration is seconds (the API's schema says so, the header does not)", "a workflow run list is test runs"])


# ---- incidents: PagerDuty incidents API, flattened (service.summary, urgency) ----------------------------
def pagerduty() -> None:
    header = ["id", "incident_number", "title", "status", "urgency", "created_at", "updated_at", "resolved_at",
              "service.id", "service.summary", "priority.summary", "escalation_policy.summary", "html_url"]
    inc = [("Q1R2S3T4", 1201, "API latency above SLO", "resolved", "high", "2024-03-02T10:00:00Z", 95, "API", "P1"),
           ("Q1R2S3T5", 1202, "Dashboard tiles failing", "resolved", "low", "2024-03-09T14:30:00Z", 40, "Dashboards", "P3"),
           ("Q1R2S3T6", 1203, "Login errors", "resolved", "high", "2024-03-21T07:15:00Z", 210, "Auth", "P1"),
           ("Q1R2S3T7", 1204, "Ingestion backlog", "resolved", "high", "2024-04-04T22:00:00Z", 130, "Ingestion", "P2"),
           ("Q1R2S3T8", 1205, "Slow exports", "acknowledged", "low", "2024-04-28T09:00:00Z", None, "Exports", "P4")]
    rows = []
    for iid, num, title, status, urg, created, minutes, svc, prio in inc:
        c = datetime.fromisoformat(created.replace("Z", "+00:00"))
        res = (c + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ") if minutes else None
        rows.append([iid, num, title, status, urg, created, res or created, res, f"PSV{num}", svc, prio,
                     "Platform on-call", f"https://acme.pagerduty.com/incidents/{iid}"])
    write("pagerduty_incidents.csv", header, rows)
    done = [i for i in inc if i[6]]
    expect("pagerduty_incidents.csv", "PagerDuty", "incidents",
           {"started_at": "created_at", "ended_at": "resolved_at", "service": "service.summary", "severity": "urgency"},
           {"rows": len(inc), "loaded_rows": len(done), "total_downtime_minutes": sum(i[6] for i in done),
            "services": sorted({i[7] for i in done})},
           ["service and severity under PagerDuty's words: service.summary, urgency (priority.summary kept too)",
            "an unresolved incident has no resolved_at and is left out"])


# ---- issue tracker: GitHub issues API, flattened (labels list; only production marked) -------------------
def github_issues() -> None:
    header = ["number", "title", "state", "labels", "user.login", "assignee.login", "milestone.title", "comments",
              "created_at", "updated_at", "closed_at", "html_url"]
    issues = [(841, "Export drops rows", "closed", "bug, production", "2024-03-05T10:12:00Z"),
              (842, "Tiles flicker", "closed", "bug", "2024-03-06T14:03:00Z"),
              (843, "Quarterly billing", "closed", "enhancement", "2024-03-07T09:00:00Z"),
              (844, "SSO login loop", "closed", "bug, production, p1", "2024-03-19T07:55:00Z"),
              (845, "Dark mode", "open", "enhancement, good first issue", "2024-03-20T11:00:00Z"),
              (846, "Wrong totals in CSV", "closed", "bug", "2024-04-02T08:30:00Z"),
              (847, "Billing page 500", "open", "bug, production", "2024-04-24T19:00:00Z")]
    rows = [[n, t, s, labels, "dev", "dev2", "2024.3", 2, c, c, c if s == "closed" else None,
             f"https://github.com/acme/app/issues/{n}"] for n, t, s, labels, c in issues]
    write("github_issues.csv", header, rows)
    bugs = [i for i in issues if "bug" in i[3].split(", ")]
    expect("github_issues.csv", "GitHub Issues", "defects",
           {"defect_id": "number", "found_date": "created_at"},
           {"rows": len(issues), "defect_count": len(bugs),
            "production_defects": sum("production" in i[3] for i in bugs), "every_issue": len(issues)},
           ["labels is one cell listing every label ('bug, production')",
            "only bugs are defects; only production is marked: every other bug was found before release"])


# ---- issue tracker: YouTrack issues CSV (Type column, a 'Found in' custom field) -------------------------
def youtrack() -> None:
    header = ["Issue Id", "Project", "Summary", "Reporter", "Created", "Updated", "Resolved", "Priority", "Type",
              "State", "Assignee", "Subsystem", "Fix versions", "Affected versions", "Found in"]
    issues = [("APP-101", "Critical", "Bug", "Production", "2024-03-04 10:00"),
              ("APP-102", "Normal", "Feature", "", "2024-03-05 11:00"),
              ("APP-103", "Major", "Bug", "Testing", "2024-03-11 09:30"),
              ("APP-104", "Normal", "Task", "", "2024-03-12 15:00"),
              ("APP-105", "Major", "Bug", "Production", "2024-04-01 08:15"),
              ("APP-106", "Minor", "Bug", "Testing", "2024-04-08 13:45"),
              ("APP-107", "Normal", "Bug", "Testing", "2024-04-15 10:20")]
    rows = [[i, "Acme App", f"Issue {i}", "pm", c, c, None, p, t, "Fixed" if t == "Bug" else "Open", "dev",
             "Backend", "2024.2", "2024.1", f] for i, p, t, f, c in issues]
    write("youtrack_issues.csv", header, rows)
    bugs = [i for i in issues if i[2] == "Bug"]
    expect("youtrack_issues.csv", "YouTrack", "defects",
           {"defect_id": "Issue Id", "found_date": "Created", "severity": "Priority", "component": "Subsystem"},
           {"rows": len(issues), "defect_count": len(bugs), "production_defects": sum(i[3] == "Production" for i in bugs)},
           ["Type says which issues are bugs", "the custom field 'Found in' holds the stage"])


# ---- help desk: Gorgias tickets API, flattened (tags list says escalated) ---------------------------------
def gorgias() -> None:
    header = ["id", "external_id", "status", "channel", "via", "priority", "subject", "customer.id", "customer.email",
              "customer.external_id", "assignee_user.email", "tags", "created_datetime", "opened_datetime",
              "last_message_datetime", "closed_datetime", "spam"]
    t = [(9101, "closed", "email", "urgent, escalated", "2024-04-01T09:00:00+00:00", 95, 1440, "u_10001"),
         (9102, "closed", "chat", "billing", "2024-04-02T10:30:00+00:00", 5, 60, "u_10002"),
         (9103, "closed", "email", "bug", "2024-04-03T14:00:00+00:00", 240, 2880, "u_10003"),
         (9104, "open", "email", "escalated", "2024-04-10T08:00:00+00:00", 30, None, "u_10004"),
         (9105, "closed", "chat", "", "2024-04-11T16:20:00+00:00", 2, 30, "u_10001")]
    rows = []
    for tid, status, channel, tags, created, first, res, ext in t:
        c = datetime.fromisoformat(created)
        closed = (c + timedelta(minutes=res)).isoformat() if res else None
        rows.append([tid, None, status, channel, "helpdesk", "normal", f"Ticket {tid}", 440000 + tid % 100,
                     f"{ext}@example.com", ext, "agent@acme.io", tags, created,
                     (c + timedelta(minutes=first)).isoformat(), closed or created, closed, "false"])
    write("gorgias_tickets.csv", header, rows)
    expect("gorgias_tickets.csv", "Gorgias", "tickets",
           {"ticket_id": "id", "created_at": "created_datetime", "resolved_at": "closed_datetime",
            "customer_id": "customer.external_id"},
           {"rows": len(t), "loaded_rows": len(t), "escalated": sum("escalated" in x[3] for x in t),
            "resolved": sum(1 for x in t if x[6])},
           ["tags is a list in one cell; 'escalated' marks an escalation",
            "customer.external_id is the app's user id; customer.id is Gorgias' own"])


# ---- surveys: Qualtrics (three header rows; ExternalReference holds the app's user id) --------------------
def qualtrics() -> None:
    header = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished",
              "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
              "ExternalReference", "LocationLatitude", "LocationLongitude", "DistributionChannel", "UserLanguage",
              "Q1", "Q2"]
    texts = ["Start Date", "End Date", "Response Type", "IP Address", "Progress", "Duration (in seconds)", "Finished",
             "Recorded Date", "Response ID", "Recipient Last Name", "Recipient First Name", "Recipient Email",
             "External Data Reference", "Location Latitude", "Location Longitude", "Distribution Channel",
             "User Language", "How likely are you to recommend Acme Analytics to a friend or colleague?",
             "What is the main reason for your score?"]
    imports = ['{"ImportId":"startDate","timeZone":"America/Denver"}', '{"ImportId":"endDate","timeZone":"America/Denver"}',
               '{"ImportId":"status"}', '{"ImportId":"ipAddress"}', '{"ImportId":"progress"}', '{"ImportId":"duration"}',
               '{"ImportId":"finished"}', '{"ImportId":"recordedDate","timeZone":"America/Denver"}', '{"ImportId":"_recordId"}',
               '{"ImportId":"recipientLastName"}', '{"ImportId":"recipientFirstName"}', '{"ImportId":"recipientEmail"}',
               '{"ImportId":"externalDataReference"}', '{"ImportId":"locationLatitude"}', '{"ImportId":"locationLongitude"}',
               '{"ImportId":"distributionChannel"}', '{"ImportId":"userLanguage"}', '{"ImportId":"QID1"}',
               '{"ImportId":"QID2_TEXT"}']
    answers = [("u_10001", 10, "2024-04-03 10:11:12"), ("u_10002", 8, "2024-04-03 12:40:09"),
               ("u_10003", 9, "2024-04-04 08:02:51"), ("u_10004", 3, "2024-04-04 17:20:33"),
               ("u_10005", 6, "2024-04-06 09:15:00"), ("u_10006", 10, "2024-04-08 11:00:00"),
               ("u_10007", 9, "2024-04-09 14:30:00")]
    rows = []
    for i, (user, score, when) in enumerate(answers):
        rows.append([when, when, "IP Address", "203.0.113.7", 100, 48, "True", when, f"R_3kF{i:02d}xQ9Lw2mZpA",
                     "", "", "", user, "39.7", "-104.9", "anonymous", "EN", score, "reason"])
    write("qualtrics_nps.csv", header, rows, extra_headers=[texts, imports])
    promoters = sum(a[1] >= 9 for a in answers)
    detractors = sum(a[1] <= 6 for a in answers)
    expect("qualtrics_nps.csv", "Qualtrics", "surveys",
           {"date": "RecordedDate", "score": "Q1", "respondent_id": "ExternalReference"},
           {"rows": len(answers), "loaded_rows": len(answers), "nps": round(100 * (promoters - detractors) / len(answers), 2)},
           ["three header rows: short ids, the question texts, import ids as JSON",
            "ResponseId is the response's own id; ExternalReference holds the app's user id"],
           header_rows=3)


# ---- ads: Microsoft Advertising campaign report (preamble lines, a copyright footer) ----------------------
def microsoft_ads() -> None:
    before = ['"Report Name: Campaign performance"', '"Report Time: 4/1/2024 - 4/7/2024"',
              '"Time Zone: (GMT-08:00) Pacific Time (US & Canada); Tijuana"', '"Last Completed Available Day: 4/8/2024"',
              '"Rows: 7"', '']
    header = ["Time period", "Account name", "Campaign name", "Campaign status", "Impr.", "Clicks", "CTR", "Avg. CPC",
              "Spend", "Conversions"]
    days = [("2024-04-01", 812, 31, 24.18), ("2024-04-02", 790, 28, 22.40), ("2024-04-03", 905, 40, 31.20),
            ("2024-04-04", 650, 22, 17.16), ("2024-04-05", 700, 25, 19.75), ("2024-04-06", 420, 12, 9.60),
            ("2024-04-07", 388, 11, 8.91)]
    rows = [[d, "Acme", "Brand - Bing", "Active", i, c, f"{100 * c / i:.2f}%", f"{s / c:.2f}", f"{s:.2f}", 1]
            for d, i, c, s in days]
    write("microsoft_ads_campaigns.csv", header, rows, before=before,
          after=['', '"©2024 Microsoft Corporation. All rights reserved. "'])
    expect("microsoft_ads_campaigns.csv", "Microsoft Advertising", "marketing",
           {"date": "Time period", "campaign": "Campaign name", "spend": "Spend", "visitors": "Clicks"},
           {"rows": len(days), "total_spend": round(sum(d[3] for d in days), 2), "total_clicks": sum(d[2] for d in days),
            "channel": "Microsoft Ads"},
           ["report lines above the header and a copyright line below the data",
            "no channel column: the file name names the platform"], header_line=7)


# ---- ads: TikTok Ads Manager custom report by day ----------------------------------------------------------
def tiktok_ads() -> None:
    header = ["By Day", "Campaign name", "Campaign ID", "Cost", "CPC (destination)", "CPM", "Impressions",
              "Clicks (destination)", "CTR (destination)", "Conversions", "Currency"]
    days = [("2024-04-01", "Spring launch", 52.30, 12040, 88), ("2024-04-01", "Retargeting", 18.75, 4100, 31),
            ("2024-04-02", "Spring launch", 49.90, 11810, 80), ("2024-04-02", "Retargeting", 20.10, 4420, 35),
            ("2024-04-03", "Spring launch", 55.05, 12900, 95)]
    rows = [[d, n, 1790000000000000 + k, f"{s:.2f}", f"{s / c:.2f}", f"{1000 * s / i:.2f}", i, c,
             f"{100 * c / i:.2f}%", 2, "USD"] for k, (d, n, s, i, c) in enumerate(days)]
    write("tiktok_ads_daily.csv", header, rows)
    expect("tiktok_ads_daily.csv", "TikTok Ads", "marketing",
           {"date": "By Day", "campaign": "Campaign name", "spend": "Cost", "visitors": "Clicks (destination)"},
           {"rows": len(days), "total_spend": round(sum(d[2] for d in days), 2), "total_clicks": sum(d[4] for d in days),
            "channel": "TikTok Ads"},
           ["clicks under TikTok's words: Clicks (destination)", "the platform is the channel (file name)"])


DEVELOPMENT = (lemon_squeezy, maxio, zuora, stripe_invoices, rudderstack, gitlab, circleci, pagerduty, github_issues,
               youtrack, gorgias, qualtrics, microsoft_ads, tiktok_ads)

if __name__ == "__main__":
    for make in DEVELOPMENT:
        make()
    try:
        from make_holdout import HOLDOUT  # written last, to check that unseen exports load with no change
        for make in HOLDOUT:
            make()
        import make_corpus   # the holdout wrote into this module's own copy of EXPECTED
        EXPECTED.update(make_corpus.EXPECTED)
    except ImportError:
        pass
    (HERE / "expected.json").write_text(json.dumps(EXPECTED, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
