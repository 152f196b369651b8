"""A short Stripe-like billing export: four months (Jan - Apr 2024) of subscriptions and payments,
with the columns Stripe writes — ids, e-mails, names, timestamps, yes/no flags, free text — and a
customer country kept in the metadata. Written as CSV files, so tests ingest them like an upload.

Thirteen customers on three plans (Starter $19 a month, Team $49 a month, Business $990 a year =
$82.50 a month). MRR by plan at each month's end, worked out by hand from ``SUBSCRIPTIONS``:

============  =======  =====  ========  ======
month end     Starter  Team   Business  total
============  =======  =====  ========  ======
31 Jan 2024     38       98     82.50   218.50   c01 c02 | c03 c04 | c05
29 Feb 2024     57      147     82.50   286.50   c03 ended 10 Feb; c06, c07, c08 started
31 Mar 2024     76      196    165.00   437.00   c09, c10, c11 started
21 Apr 2024     95      196    165.00   456.00   (as-of date, partial) c07 ended 14 Apr; c12, c13 started
============  =======  =====  ========  ======

Team in February: 98 at the start, new 49 + 49 (c07, c08), churned 49 (c03): 98 + 98 - 49 = 147.
"""
from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

AS_OF = date(2024, 4, 21)   # the last payment (c08's monthly renewal)
PLANS = {"Starter": ("month", 19.0), "Team": ("month", 49.0), "Business": ("year", 990.0)}
COUNTRIES = ("US", "DE", "US", "GB", "FR", "US", "DE", "US", "GB", "US", "FR", "US", "DE")
# customer, plan, start, ended at (Stripe's "Ended At"), cancel at period end
SUBSCRIPTIONS = (
    ("c01", "Starter", date(2024, 1, 3), None, False),
    ("c02", "Starter", date(2024, 1, 9), None, False),
    ("c03", "Team", date(2024, 1, 12), date(2024, 2, 10), False),
    ("c04", "Team", date(2024, 1, 20), None, False),
    ("c05", "Business", date(2024, 1, 25), None, False),
    ("c06", "Starter", date(2024, 2, 2), None, False),
    ("c07", "Team", date(2024, 2, 14), None, True),       # canceled at the period end: 14 Apr
    ("c08", "Team", date(2024, 2, 21), None, False),
    ("c09", "Starter", date(2024, 3, 5), None, False),
    ("c10", "Business", date(2024, 3, 11), None, False),
    ("c11", "Team", date(2024, 3, 28), None, False),
    ("c12", "Starter", date(2024, 4, 4), None, False),
    ("c13", "Team", date(2024, 4, 10), None, False),
)
MRR_BY_PLAN = {   # month start -> plan -> MRR at the month's end (April: at the as-of date)
    date(2024, 1, 1): {"Starter": 38.0, "Team": 98.0, "Business": 82.5},
    date(2024, 2, 1): {"Starter": 57.0, "Team": 147.0, "Business": 82.5},
    date(2024, 3, 1): {"Starter": 76.0, "Team": 196.0, "Business": 165.0},
    date(2024, 4, 1): {"Starter": 95.0, "Team": 196.0, "Business": 165.0},
}
REASONS = ("too_expensive", "missing_features")
TOPICS = ("onboarding", "pricing", "reporting", "security")

SUB_HEADER = ["id", "Customer ID", "Customer Description", "Customer Email", "Plan", "Product", "Quantity",
              "Interval", "Amount", "Status", "Created (UTC)", "Start (UTC)", "Start Date (UTC)",
              "Current Period Start (UTC)", "Current Period End (UTC)", "Trial Start (UTC)", "Trial End (UTC)",
              "Canceled At (UTC)", "Cancel At Period End", "Ended At (UTC)", "Cancellation Reason",
              "Customer Name", "country (metadata)"]
PAY_HEADER = ["id", "Created date (UTC)", "Amount", "Amount Refunded", "Currency", "Captured", "Description",
              "Fee", "Status", "Seller Message", "Card Brand", "Card Last4", "Card Exp Month", "Customer ID",
              "Customer Email", "Invoice ID"]
NAMES = ("Ana Kowalski", "Ben Okafor", "Chen Wei", "Dana Ruiz", "Eli Novak", "Fay Larsen", "Gus Moreau",
         "Hana Sato", "Ivan Petrov", "Jo Mensah", "Kai Berg", "Lea Costa", "Mo Haddad")


def _month_later(d: date, months: int) -> date:
    total = d.year * 12 + d.month - 1 + months
    return date(total // 12, total % 12 + 1, min(d.day, 28))


def _stamp(d: date, i: int) -> str:
    return f"{d.isoformat()} {8 + i % 9:02d}:{(7 * i) % 60:02d}:{(13 * i) % 60:02d}"


def write_stripe_like_export(folder: Path) -> dict[str, Path]:
    """Write subscriptions.csv and payments.csv as Stripe's dashboard exports them; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    subs, pays = [], []
    for i, (cust, plan, start, ended, at_period_end) in enumerate(SUBSCRIPTIONS):
        interval, amount = PLANS[plan]
        step = 12 if interval == "year" else 1
        charges = []
        day = start
        while day <= AS_OF and (ended is None or day < ended):
            charges.append(day)
            day = _month_later(day, step)
        period_start = charges[-1]
        period_end = _month_later(period_start, step)
        if at_period_end:
            period_end = _month_later(start, 2)       # 14 Apr: the end of its second paid month
            charges = [c for c in charges if c < period_end]
        status = "canceled" if ended is not None else "active"
        subs.append({
            "id": f"sub_1Q{i:02d}x{cust.upper()}k9Zr", "Customer ID": f"cus_Q{i:02d}{cust}Xa7",
            "Customer Description": (f"Came from the {TOPICS[i // 4]} webinar and asked about a longer trial"
                                     if i % 4 == 0 else ""),
            "Customer Email": f"{NAMES[i].split()[0].lower()}@example.com", "Plan": plan,
            "Product": "Acme Analytics", "Quantity": "1", "Interval": interval, "Amount": f"{amount:.2f}",
            "Status": status, "Created (UTC)": _stamp(start, i), "Start (UTC)": _stamp(start, i),
            "Start Date (UTC)": _stamp(start, i), "Current Period Start (UTC)": _stamp(period_start, i),
            "Current Period End (UTC)": _stamp(period_end, i), "Trial Start (UTC)": "", "Trial End (UTC)": "",
            "Canceled At (UTC)": _stamp(ended - timedelta(days=3), i) if ended else (
                _stamp(date(2024, 3, 30), i) if at_period_end else ""),
            "Cancel At Period End": "true" if at_period_end else "false",
            "Ended At (UTC)": _stamp(ended, i) if ended else "",
            "Cancellation Reason": REASONS[i % 2] if ended or at_period_end else "",
            "Customer Name": NAMES[i], "country (metadata)": COUNTRIES[i]})
        for j, c in enumerate(charges):
            pays.append({
                "id": f"ch_3P{i:02d}{j:02d}q{cust}Lm", "Created date (UTC)": _stamp(c, i + j),
                "Amount": f"{amount:.2f}", "Amount Refunded": "0.00", "Currency": "usd", "Captured": "true",
                "Description": "Subscription creation" if j == 0 else "Subscription update",
                "Fee": f"{amount * 0.029 + 0.3:.2f}", "Status": "Paid", "Seller Message": "Payment complete.",
                "Card Brand": ("Visa", "MasterCard", "American Express")[i % 3], "Card Last4": f"{4000 + 37 * i}",
                "Card Exp Month": str(1 + (5 * i) % 12), "Customer ID": f"cus_Q{i:02d}{cust}Xa7",
                "Customer Email": f"{NAMES[i].split()[0].lower()}@example.com",
                "Invoice ID": f"in_1P{i:02d}{j:02d}{cust}Zq"})
    out = {}
    for name, header, rows in (("subscriptions", SUB_HEADER, subs), ("payments", PAY_HEADER, pays)):
        path = folder / f"stripe_{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)
        out[name] = path
    return out
