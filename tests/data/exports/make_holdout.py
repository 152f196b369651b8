"""Exports written after the general rules were finished, to check that files never used in development load
with no change to the code (NOTES.md says how they did). Run through make_corpus.py."""
from __future__ import annotations

from datetime import datetime, timedelta

from make_corpus import expect, write


def braintree() -> None:
    header = ["Transaction ID", "Subscription ID", "Transaction Type", "Transaction Status", "Escrow Status",
              "Created Datetime", "Created Timezone", "Settlement Date", "Disbursement Date", "Merchant Account",
              "Currency ISO Code", "Amount Authorized", "Amount Submitted For Settlement", "Service Fee",
              "Tax Amount", "Tax Exempt", "Purchase Order Number", "Order ID", "Refunded Transaction ID",
              "Payment Instrument Type", "Card Type", "Customer ID", "Customer First Name", "Customer Last Name",
              "Customer Email"]
    tx = [("k1a2b3c4", "sale", "settled", "2024-04-01 10:02:11", 49.00, "u_10001"),
          ("k1a2b3c5", "sale", "settled", "2024-04-02 12:40:00", 19.00, "u_10002"),
          ("k1a2b3c6", "sale", "processor_declined", "2024-04-03 09:00:00", 49.00, "u_10003"),
          ("k1a2b3c7", "credit", "settled", "2024-04-05 15:30:00", 19.00, "u_10002"),
          ("k1a2b3c8", "sale", "submitted_for_settlement", "2024-04-06 08:20:00", 99.00, "u_10004"),
          ("k1a2b3c9", "sale", "gateway_rejected", "2024-04-07 11:11:11", 99.00, "u_10005")]
    rows = [[t, "sub_9x", kind, status, "", when, "UTC", when[:10] if status == "settled" else "", "",
             "acme_USD", "USD", f"{amt:.2f}", f"{amt:.2f}" if "declined" not in status and "rejected" not in status
             else "0.00", "", "0.00", "false", "", f"ord-{i}", "k1a2b3c5" if kind == "credit" else "", "credit_card",
             "Visa", cust, "Ana", "K", f"{cust}@example.com"] for i, (t, kind, status, when, amt, cust) in enumerate(tx)]
    write("braintree_transactions.csv", header, rows)
    ok = [x for x in tx if x[2] in ("settled", "submitted_for_settlement")]
    net = sum(-x[4] if x[1] == "credit" else x[4] for x in ok)
    expect("braintree_transactions.csv", "Braintree", "payments",
           {"customer_id": "Customer ID", "date": "Created Datetime"},
           {"rows": len(tx), "loaded_rows": len(ok), "revenue_net": round(net, 2)},
           ["Transaction Type credit is a refund (negative)", "declined and rejected transactions are not revenue"])


def buildkite() -> None:
    header = ["id", "number", "state", "blocked", "message", "commit", "branch", "source", "created_at",
              "scheduled_at", "started_at", "finished_at", "pipeline.slug", "creator.name", "web_url"]
    b = [(1812, "passed", "2024-04-01T09:00:00.000Z", 420), (1813, "failed", "2024-04-01T14:00:00.000Z", 610),
         (1814, "passed", "2024-04-02T10:30:00.000Z", 395), (1815, "canceled", "2024-04-02T16:00:00.000Z", 30),
         (1816, "passed", "2024-04-03T08:45:00.000Z", 445)]
    rows = []
    for n, state, start, secs in b:
        s = datetime.fromisoformat(start.replace("Z", "+00:00"))
        fin = (s + timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        made = (s - timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        rows.append([f"0190f1a2-{n:04d}-4c3b-8d2e-1f0a9b8c7d6e", n, state, "false", "Merge pull request",
                     f"a1b2c3d4e5f6{n:04d}", "main", "webhook", made, made, start, fin, "acme-app", "Dev",
                     f"https://buildkite.com/acme/acme-app/builds/{n}"])
    write("buildkite_builds.csv", header, rows)
    expect("buildkite_builds.csv", "Buildkite", "test_runs",
           {"run_id": "id", "started_at": "started_at", "finished_at": "finished_at"},
           {"rows": len(b), "loaded_rows": len(b), "total_duration_minutes": round(sum(x[3] for x in b) / 60, 4)},
           ["builds list: duration = finished_at - started_at"])


def incident_io() -> None:
    header = ["ID", "Reference", "Name", "Status", "Severity", "Incident Type", "Reported at", "Impact started at",
              "Resolved at", "Affected services", "Incident Lead", "Slack channel"]
    inc = [("INC-41", "Checkout errors", "Closed", "Critical", "2024-03-03 09:10:00", 12, 96, "Billing"),
           ("INC-42", "Slow dashboards", "Closed", "Minor", "2024-03-12 15:00:00", 5, 45, "Dashboards"),
           ("INC-43", "Webhook delays", "Closed", "Major", "2024-04-02 07:30:00", 20, 130, "API"),
           ("INC-44", "Search degraded", "Investigating", "Minor", "2024-04-29 11:00:00", 3, None, "Search")]
    rows = []
    for i, (ref, name, status, sev, reported, before, minutes, svc) in enumerate(inc):
        r = datetime.fromisoformat(reported)
        start = r - timedelta(minutes=before)
        end = (start + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S") if minutes else ""
        rows.append([f"01HT{i:022d}", ref, name, status, sev, "Default", reported, start.strftime("%Y-%m-%d %H:%M:%S"),
                     end, svc, "On-call lead", f"#inc-{ref.lower()}"])
    write("incident_io_incidents.csv", header, rows)
    done = [x for x in inc if x[6]]
    expect("incident_io_incidents.csv", "incident.io", "incidents",
           {"started_at": "Impact started at", "ended_at": "Resolved at", "service": "Affected services",
            "severity": "Severity"},
           {"rows": len(inc), "loaded_rows": len(done), "total_downtime_minutes": sum(x[6] for x in done),
            "services": sorted({x[7] for x in done})},
           ["impact started before the incident was reported: started_at = Impact started at"])


def jotform() -> None:
    header = ["Submission Date", "How likely are you to recommend Acme Analytics to a friend or colleague?",
              "What could we do better?", "Email", "User ID", "Submission ID", "Submission IP", "Last Update Date"]
    ans = [("Apr 3, 2024", 9, "u_10001"), ("Apr 3, 2024", 7, "u_10002"), ("Apr 4, 2024", 10, "u_10003"),
           ("Apr 5, 2024", 2, "u_10004"), ("Apr 9, 2024", 9, "u_10006"), ("Apr 10, 2024", 10, "u_10008")]
    rows = [[d, s, "", f"{u}@example.com", u, 5890000000000000000 + i, "198.51.100.4", d]
            for i, (d, s, u) in enumerate(ans)]
    write("jotform_submissions.csv", header, rows)
    nps = round(100 * (sum(a[1] >= 9 for a in ans) - sum(a[1] <= 6 for a in ans)) / len(ans), 2)
    expect("jotform_submissions.csv", "Jotform", "surveys",
           {"date": "Submission Date", "respondent_id": "User ID",
            "score": "How likely are you to recommend Acme Analytics to a friend or colleague?"},
           {"rows": len(ans), "loaded_rows": len(ans), "nps": nps},
           ["dates written 'Apr 3, 2024'; the User ID hidden field is the app's id; Submission ID is Jotform's own"])


HOLDOUT = (braintree, buildkite, incident_io, jotform)
