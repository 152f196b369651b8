"""The shortcuts that make kpi.compute fast give the numbers of a plain reading of kpis.md.

Each test builds small random data where a shortcut could go wrong (month-end starts, rows that
end on a renewal day, feature use outside every adoption window, prepared tables made by an
older version) and checks the engine against a brute-force Python reading of the spec, or
against the raw-data path.
"""
from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import date, timedelta

import pandas as pd
import pytest
from dateutil.relativedelta import relativedelta

from kpi import custom, derived
from kpi.compute import OUTPUT_COLUMNS, compute
from kpi.custom import CustomKpi, Measure
from kpi_helpers import make_ws, sample_subset, without_prepared

GRAINS = ("day", "week", "month", "quarter", "year")


def period_of(day: date, grain: str) -> date:
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def engine_values(frame: pd.DataFrame, kpi: str) -> dict:
    rows = frame[(frame["kpi"] == kpi) & frame["segment"].isna()]
    return {p: v for p, v in zip(rows["period"], rows["value"])}


def assert_same(engine: dict, expected: dict, what: str) -> None:
    """Every period the engine shows has the brute-force value (None: no value), and the
    brute force has no value the engine left out."""
    for p, v in engine.items():
        want = expected.get(p)
        if want is None:
            assert v is None or math.isnan(v), f"{what} {p}: engine {v}, expected no value"
        else:
            assert v == pytest.approx(want, rel=1e-12), f"{what} {p}: engine {v}, expected {want}"
    assert not [p for p, v in expected.items() if v is not None and p not in engine], what


# ---- renewals: month-end starts, ends on and around renewal days --------------------------------
MONTHS = {"month": 1, "quarter": 3, "year": 12}
STARTS = [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 5, 31), date(2024, 8, 30),
          date(2024, 11, 30), date(2024, 12, 31), date(2025, 1, 15), date(2025, 1, 31), date(2025, 4, 1)]


def random_subscriptions(seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(60):
        customer = f"c{rng.randrange(25)}"
        start = rng.choice(STARTS) + timedelta(days=rng.choice([0, 0, 0, 1, 13]))
        billing = rng.choice(["month", "month", "quarter", "year", None])
        months = MONTHS.get(billing, 1)
        end = rng.choice([
            None,
            start + relativedelta(months=months * rng.randrange(1, 6)),   # exactly on a renewal day
            start + relativedelta(months=months * rng.randrange(1, 6)) + timedelta(days=rng.choice([-1, 1])),
            start + timedelta(days=rng.randrange(1, 500)),
        ])
        rows.append({"customer_id": customer, "start_date": start.isoformat(),
                     "end_date": end.isoformat() if end else None,
                     "mrr": rng.choice([0.0, 10.0, 25.5, 40.0]), "billing_period": billing})
    return pd.DataFrame(rows)


def renewal_oracle(subs: pd.DataFrame, as_of: date, grain: str) -> dict:
    """kpis.md, Renewals: each row with mrr > 0 is due on start + k billing periods (k >= 1) up
    to the as-of date while it had not ended by the previous due day; it is renewed when the
    customer still pays on that day."""
    rows = [dict(r, start=date.fromisoformat(r["start_date"]),
                 end=date.fromisoformat(r["end_date"]) if isinstance(r["end_date"], str) else None)
            for r in subs.to_dict("records")]
    rows = [r for r in rows if r["mrr"] >= 0 and (r["end"] is None or r["end"] > r["start"])]

    def pays(customer, day):
        return sum(r["mrr"] for r in rows if r["customer_id"] == customer and r["start"] <= day
                   and (r["end"] is None or r["end"] > day)) > 0

    num, den = defaultdict(int), defaultdict(int)
    for r in rows:
        if r["mrr"] <= 0 or r["start"] > as_of:
            continue
        months = MONTHS.get(r["billing_period"], 1)
        k = 1
        while True:
            due = r["start"] + relativedelta(months=k * months)
            before = r["start"] + relativedelta(months=(k - 1) * months)
            if due > as_of or (r["end"] is not None and r["end"] <= before):
                break
            p = period_of(due, grain)
            den[p] += 1
            num[p] += 1 if (r["end"] is None or r["end"] > due or pays(r["customer_id"], due)) else 0
            k += 1
    return {p: num[p] / den[p] for p in den}


@pytest.mark.parametrize("seed", range(6))
def test_renewal_rate_matches_a_brute_force_reading(seed):
    subs = random_subscriptions(seed)
    ws = make_ws(subscriptions=subs)
    for as_of in (date(2025, 2, 28), date(2025, 3, 31), date(2025, 8, 31), date(2026, 1, 30)):
        for grain in ("day", "week", "month", "quarter"):
            frame = compute(ws, ["renewal_rate"], grain=grain, as_of=as_of)
            assert_same(engine_values(frame, "renewal_rate"), renewal_oracle(subs, as_of, grain),
                        f"seed {seed}, as of {as_of}, {grain}")


# ---- MRR movements: an older prepared timeline is not read ---------------------------------------
MRR_KPIS = ["mrr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr",
            "customer_churn_rate", "paying_customers", "renewal_rate", "clv"]


def test_mrr_movements_same_from_prepared_old_and_raw_timelines():
    subs = pd.concat([random_subscriptions(s) for s in range(3)], ignore_index=True)
    subs["customer_id"] = [f"{c}-{i % 3}" for i, c in enumerate(subs["customer_id"])]
    ws = make_ws(subscriptions=subs)
    with ws.cursor() as cur:
        assert derived.has_timeline(cur)
    expected = {g: compute(ws, MRR_KPIS, grain=g) for g in GRAINS}
    with ws.cursor() as cur:  # as an older version made it: no prev_c, no first_mrr
        cur.execute(f"CREATE TABLE _old AS SELECT seg, customer_id, d, c, next_d FROM {derived.MRR_TIMELINE}")
        cur.execute(f"DROP TABLE {derived.MRR_TIMELINE}")
        cur.execute(f"ALTER TABLE _old RENAME TO {derived.MRR_TIMELINE}")
        assert not derived.has_timeline(cur)
    for g in GRAINS:
        pd.testing.assert_frame_equal(compute(ws, MRR_KPIS, grain=g), expected[g], check_exact=False, rtol=1e-12)
    with ws.cursor() as cur:
        cur.execute(f"DROP TABLE {derived.MRR_TIMELINE}")
    for g in GRAINS:
        pd.testing.assert_frame_equal(compute(ws, MRR_KPIS, grain=g), expected[g], check_exact=False, rtol=1e-12)


# ---- events: MAU30 from change points, retention, feature adoption from the prepared use days -----
def random_events(seed: int, users: int = 30, days: int = 150) -> pd.DataFrame:
    rng = random.Random(seed)
    first = date(2025, 1, 20)
    rows = []
    for u in range(users):
        active = rng.sample(range(days), rng.randrange(1, 25))
        for day in active:
            for _ in range(rng.randrange(1, 3)):
                rows.append({"user_id": f"u{u}", "timestamp": f"{first + timedelta(days=day)} {rng.randrange(24):02d}:00:00",
                             "event": rng.choice(["open", "export", "share", "invite"]), "customer_id": f"c{u % 7}"})
    return pd.DataFrame(rows)


RELEASES = pd.DataFrame({
    "feature": ["Export", "Share", "Export 2", "Invite"],
    "released_date": ["2025-02-10", "2025-03-20", "2025-05-01", "2025-09-01"],  # Invite: after the data
    "event": ["export", "share", "export", "invite"],
})


def events_oracle(events: pd.DataFrame, as_of: date, grain: str) -> dict:
    """MAU30, DAU and retention straight from kpis.md, day by day."""
    days_of = defaultdict(set)
    for u, ts in zip(events["user_id"], events["timestamp"]):
        day = date.fromisoformat(ts[:10])
        if day <= as_of:
            days_of[day].add(u)
    first = min(days_of)
    periods = defaultdict(list)
    day = first
    while day <= as_of:
        periods[period_of(day, grain)].append(day)
        day += timedelta(days=1)
    mau, dau, users = {}, {}, {}
    for p, span in periods.items():
        mau30 = [len(set().union(*(days_of.get(d - timedelta(days=i), set()) for i in range(30)))) for d in span]
        daily = [len(days_of.get(d, set())) for d in span]
        mau[p], dau[p] = sum(mau30) / len(span), sum(daily) / len(span)
        users[p] = set().union(*(days_of.get(d, set()) for d in span))
    ordered = sorted(users)
    retention = {q: (len(users[p] & users[q]) / len(users[p]) if users[p] else None)
                 for p, q in zip(ordered, ordered[1:])}
    stickiness = {p: (dau[p] / mau[p] if mau[p] else None) for p in mau}
    return {"mau": mau, "dau": dau, "retention_rate": retention, "stickiness": stickiness}


@pytest.mark.parametrize("seed", range(3))
def test_mau_stickiness_retention_match_a_day_by_day_reading(seed):
    events = random_events(seed)
    ws = make_ws(events=events)
    for as_of in (date(2025, 3, 17), date(2025, 6, 18)):
        for grain in ("week", "month", "quarter"):
            frame = compute(ws, ["mau", "dau", "stickiness", "retention_rate"], grain=grain, as_of=as_of)
            for kpi, expected in events_oracle(events, as_of, grain).items():
                assert_same(engine_values(frame, kpi), expected, f"{kpi} seed {seed}, as of {as_of}, {grain}")


def test_release_use_keeps_only_days_inside_an_adoption_window_and_adoption_matches_the_raw_path():
    events = random_events(7, users=40, days=240)
    ws = make_ws(events=events, releases=RELEASES, customers={"customer_id": [f"c{i}" for i in range(7)],
                                                              "signup_date": ["2025-01-01"] * 7,
                                                              "country": ["FR", "DE", "FR", "US", "US", "DE", "FR"]})
    with ws.cursor() as cur:
        outside = cur.execute(f"""SELECT count(*) FROM {derived.RELEASE_USE} u WHERE NOT EXISTS (
            SELECT 1 FROM releases r WHERE r.event = u.event AND u.d >= r.released_date
            AND u.d < r.released_date + {derived.ADOPTION_WINDOW_DAYS})""").fetchall()[0][0]
        kept = cur.execute(f"SELECT count(*) FROM {derived.RELEASE_USE}").fetchall()[0][0]
    assert outside == 0 and kept > 0
    cases = [(g, s, a) for g in ("day", "week", "month", "quarter") for s in (None, "country")
             for a in (None, date(2025, 4, 10), date(2025, 7, 31))]
    fast = {c: compute(ws, ["feature_adoption_rate"], grain=c[0], segment=c[1], as_of=c[2]) for c in cases}
    with ws.cursor() as cur:
        cur.execute(f"DROP TABLE {derived.RELEASE_USE}")
    for c in cases:
        slow = compute(ws, ["feature_adoption_rate"], grain=c[0], segment=c[1], as_of=c[2])
        assert len(slow) > 0
        pd.testing.assert_frame_equal(fast[c], slow, check_exact=True)


# ---- the output frame: one conversion for all catalog KPIs, in order with the others ------------
@pytest.mark.parametrize("segment", [None, "plan"])
def test_a_mix_of_catalog_imported_and_custom_kpis_keeps_order_types_and_values(segment):
    ws = make_ws(payments={"customer_id": ["a", "b", "a", "c"], "amount": [10.0, 20.0, -5.0, 7.5],
                           "date": ["2025-01-03", "2025-01-20", "2025-02-11", "2025-03-30"],
                           "plan": ["pro", None, "pro", "basic"]},
                 kpi_values={"date": ["2025-01-31", "2025-02-28"], "kpi": ["happiness", "happiness"],
                             "value": [7.0, 8.0]})
    custom.save_custom_kpi(ws, CustomKpi(id="big_payments", name="Big payments",
                                         numerator=Measure("payments", "sum", "amount")))
    catalog_only = ["revenue", "arppu", "new_customers"]
    for ids in (catalog_only, ["revenue", "happiness", "arppu", "big_payments", "new_customers"]):
        together = compute(ws, ids, grain="month", segment=segment)
        assert list(together["kpi"].unique()) == ids
        assert list(together.columns) == OUTPUT_COLUMNS
        assert together["segment"].dtype == object and together["period"].dtype == object
        assert together["segment"].map(lambda v: v is None or isinstance(v, str)).all()
        assert together["period"].map(type).eq(date).all()
        assert [str(together[c].dtype) for c in OUTPUT_COLUMNS[4:]] == ["float64"] * 3 + ["bool"]
        one_by_one = pd.concat([compute(ws, [k], grain="month", segment=segment) for k in ids], ignore_index=True)
        pd.testing.assert_frame_equal(together, one_by_one, check_exact=True)


# ---- customers: the window that drops repeated ids runs only when an id repeats -----------------
def test_signups_count_a_repeated_customer_once_and_unique_customers_all():
    repeated = make_ws(customers={"customer_id": ["c1", "c1", "c2", "c3"],
                                  "signup_date": ["2025-03-02", "2025-01-05", "2025-01-10", "2025-02-01"]})
    unique = make_ws(customers={"customer_id": ["c1", "c4", "c2", "c3"],
                                "signup_date": ["2025-03-02", "2025-01-05", "2025-01-10", "2025-02-01"]})
    for ws, expected in ((repeated, [2.0, 1.0, 0.0]), (unique, [2.0, 1.0, 1.0])):
        frame = compute(ws, ["signups", "trial_conversion_rate"], grain="month", as_of=date(2025, 3, 31))
        assert frame[frame["kpi"] == "signups"]["value"].tolist() == expected


# ---- the tables prepared at ingest give what the raw data gives (as tests/test_derived.py) ------
PREPARED_KPIS = ["active_users", "retention_rate", "arpu", "actions_per_user", "feature_adoption_rate", "arppu",
                 "new_customers", "cac", "ltv_cac_ratio", "mrr", "new_mrr", "reactivation_mrr", "churned_mrr",
                 "customer_churn_rate", "renewal_rate", "clv", "mau", "stickiness", "signups", "cpa"]


@pytest.fixture(scope="module")
def sample_ws():
    return sample_subset(("customers", "subscriptions", "payments", "releases", "marketing"), events=30_000)


@pytest.mark.parametrize("grain,segment,as_of", [
    ("month", None, None),
    ("month", None, "2026-03-17"),      # a month cut by the as-of date
    ("month", "country", "2025-12-31"),  # a customers column
    ("month", "product", None),          # a payments (and subscriptions) column: raw payments
    ("month", "plan", "2026-06-14"),     # a subscriptions column
    ("week", "country", None),           # the month-only tables are not read
])
def test_new_prepared_tables_match_the_raw_path(sample_ws, grain, segment, as_of):
    with sample_ws.cursor() as cur:
        assert derived.has_user_months(cur) and derived.has_payer_months(cur) and derived.has_first_paid(cur)
    raw = without_prepared(sample_ws)
    fast = compute(sample_ws, PREPARED_KPIS, grain=grain, segment=segment, as_of=as_of)
    slow = compute(raw, PREPARED_KPIS, grain=grain, segment=segment, as_of=as_of)
    assert set(fast["kpi"]) == set(slow["kpi"]) and len(fast) > 100
    pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-12)
