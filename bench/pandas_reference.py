"""The heavy KPIs at month grain in plain pandas, straight from the CSV files: the benchmark's yardstick.

This is how a competent analyst would compute them without KPI Explorer: ``pandas.read_csv``,
then vectorised groupby / merge / cumsum, never a Python loop over rows (the only loops run over
the ~25 snapshot days of the MRR family). It follows ``../shared/spec/kpis.md`` to the letter, so
it doubles as an independent oracle for ``kpi.compute`` (``tests/test_bench_reference.py``).

    python bench/pandas_reference.py FOLDER        # prints kpi, period, value
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd

# The KPIs the benchmark computes on both sides.
KPIS = (
    "active_users", "dau", "mau", "stickiness", "retention_rate",
    "avg_session_duration", "actions_per_session",
    "mrr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr",
    "customer_churn_rate", "trial_conversion_rate",
)

# The primary date column of each dataset: the as-of date is the latest of them (kpis.md).
PRIMARY_DATES = {
    "events": "timestamp", "customers": "signup_date", "subscriptions": "start_date", "payments": "date",
    "marketing": "date", "surveys": "date", "releases": "released_date", "sprints": "end_date",
    "defects": "found_date", "codebase": "date", "test_runs": "started_at", "tickets": "created_at",
    "incidents": "started_at", "compliance": "date", "kpi_values": "date",
}
SESSION_GAP = pd.Timedelta(minutes=30)
MONTH = "datetime64[M]"
DAY = "datetime64[D]"


# -------------------------------------------------------------------------------------------
# Reading
# -------------------------------------------------------------------------------------------
def read_inputs(folder: str | Path) -> dict[str, pd.DataFrame]:
    """The three datasets these KPIs read, with only the columns they use (optional ones may be absent)."""
    folder = Path(folder)

    def read(name, ids, dates, others=()):
        wanted = set(ids) | set(dates) | set(others)
        header = set(pd.read_csv(folder / f"{name}.csv", nrows=0).columns)
        frame = pd.read_csv(folder / f"{name}.csv", usecols=lambda c: c in wanted,
                            dtype={c: str for c in ids if c in header},
                            parse_dates=[c for c in dates if c in header])
        for c in wanted - set(frame.columns):   # an optional column the file does not have
            frame[c] = pd.Series(pd.NaT if c in dates else None, index=frame.index,
                                 dtype="datetime64[ns]" if c in dates else object)
        return frame

    return {
        "events": read("events", ["user_id", "session_id"], ["timestamp"]),
        "customers": read("customers", ["customer_id"], ["signup_date", "trial_start", "converted_date"]),
        "subscriptions": read("subscriptions", ["customer_id"], ["start_date", "end_date"], ["mrr"]),
    }


def as_of_date(folder: str | Path, frames: dict[str, pd.DataFrame], today: dt.date | None = None) -> pd.Timestamp:
    """The latest date, not after today, on which any dataset in the folder has a row."""
    today = pd.Timestamp(today or dt.date.today())
    latest = []
    for name, column in PRIMARY_DATES.items():
        if name in frames:
            values = frames[name][column]
        elif (Path(folder) / f"{name}.csv").exists():
            values = pd.to_datetime(pd.read_csv(Path(folder) / f"{name}.csv", usecols=[column])[column],
                                    errors="coerce")
        else:
            continue
        days = values.dt.normalize()
        days = days[days <= today]
        if len(days):
            latest.append(days.max())
    return max(latest)


# -------------------------------------------------------------------------------------------
# Helpers
# -------------------------------------------------------------------------------------------
def month_grid(first_day: pd.Timestamp, as_of: pd.Timestamp) -> pd.DatetimeIndex:
    """Month starts from the month holding first_day up to the month holding the as-of date."""
    return pd.date_range(first_day.to_period("M").to_timestamp(), as_of.to_period("M").to_timestamp(), freq="MS")


def month_of(days: pd.Series) -> np.ndarray:
    return days.values.astype(MONTH).astype("datetime64[ns]")


def _tidy(kpi: str, values: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"kpi": kpi, "period": [p.date() for p in values.index],
                         "value": values.to_numpy(dtype=float)})


def ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den, null where den is 0 or missing (never 0, never an error)."""
    return num.astype(float) / den.astype(float).where(den != 0)


# -------------------------------------------------------------------------------------------
# Events: active users, DAU/MAU, stickiness, retention, sessions
# -------------------------------------------------------------------------------------------
def event_kpis(events: pd.DataFrame, as_of: pd.Timestamp) -> list[pd.DataFrame]:
    events = events[events["timestamp"].dt.normalize() <= as_of]
    user = pd.Series(pd.factorize(events["user_id"])[0], index=events.index)  # ints group faster than text
    day = events["timestamp"].dt.normalize()
    first_event = day.min()
    months = month_grid(first_event, as_of)

    # One row per user and active day.
    user_days = pd.DataFrame({"user": user.to_numpy(), "day": day.to_numpy()}).drop_duplicates()
    user_days["month"] = month_of(user_days["day"])
    active_users = user_days.groupby("month")["user"].nunique().reindex(months, fill_value=0)

    # DAU(d) on every day from the first event's date to A, days without events counting 0.
    days = pd.date_range(first_event, as_of, freq="D")
    dau_by_day = user_days.groupby("day").size().reindex(days, fill_value=0)

    # MAU30(d): a user counts on d when active on some day of [d-29, d]. Each active day e covers
    # [e, e+29]; a user's covers merge into islands (a gap of more than 30 days starts a new one),
    # and a +1/-1 difference array over the days turns the islands into a count per day.
    ud = user_days.sort_values(["user", "day"])
    gap = ud["day"].diff().dt.days
    new_island = (ud["user"] != ud["user"].shift()) | (gap > 30)
    island = new_island.cumsum()
    islands = ud.groupby(island.to_numpy()).agg(start=("day", "min"), end=("day", "max"))
    start = ((islands["start"] - first_event).dt.days).to_numpy()
    stop = ((islands["end"] - first_event).dt.days + 30).to_numpy()   # first day no longer covered
    n_days = len(days)
    delta = np.bincount(start, minlength=n_days + 31) - np.bincount(stop, minlength=n_days + 31)
    mau_by_day = pd.Series(np.cumsum(delta)[:n_days], index=days)

    day_month = month_of(pd.Series(days))
    dau_sum = dau_by_day.groupby(day_month).sum().reindex(months)
    mau_sum = mau_by_day.groupby(day_month).sum().reindex(months)
    n_in_month = pd.Series(1, index=days).groupby(day_month).sum().reindex(months, fill_value=0)
    dau = ratio(dau_sum, n_in_month)
    mau = ratio(mau_sum, n_in_month)
    stickiness = ratio(dau_sum, mau_sum)

    # Retention: users active in both P-1 and P over users active in P-1.
    user_months = user_days[["user", "month"]].drop_duplicates()
    next_month = (user_months["month"].values.astype(MONTH) + 1).astype("datetime64[ns]")
    previous = user_months.assign(month=next_month)   # a user of P-1, filed under P
    kept = previous.merge(user_months, on=["user", "month"], how="inner")
    retention = ratio(kept.groupby("month").size().reindex(months, fill_value=0),
                      previous.groupby("month").size().reindex(months, fill_value=0))

    # Sessions: (user_id, session_id) when there is an id; otherwise 30-minute gaps per user.
    has_id = events["session_id"].notna() & (events["session_id"] != "")
    with_id = (pd.DataFrame({"user": user[has_id], "session": events.loc[has_id, "session_id"],
                             "ts": events.loc[has_id, "timestamp"]})
               .groupby(["user", "session"], sort=False)["ts"].agg(["min", "max", "size"]))
    no_id = pd.DataFrame({"user": user[~has_id], "ts": events.loc[~has_id, "timestamp"]}).sort_values(["user", "ts"])
    starts = (no_id["user"] != no_id["user"].shift()) | (no_id["ts"].diff() > SESSION_GAP)
    gapped = no_id.groupby(starts.cumsum().to_numpy())["ts"].agg(["min", "max", "size"])
    sessions = pd.concat([with_id.reset_index(drop=True), gapped.reset_index(drop=True)], ignore_index=True)
    sessions["month"] = month_of(sessions["min"].dt.normalize())
    sessions["minutes"] = (sessions["max"] - sessions["min"]).dt.total_seconds() / 60.0
    per_month = sessions.groupby("month").agg(minutes=("minutes", "sum"), events=("size", "sum"),
                                              sessions=("size", "size")).reindex(months, fill_value=0)
    avg_duration = ratio(per_month["minutes"], per_month["sessions"])
    actions = ratio(per_month["events"], per_month["sessions"])

    return [_tidy("active_users", active_users), _tidy("dau", dau), _tidy("mau", mau),
            _tidy("stickiness", stickiness), _tidy("retention_rate", retention),
            _tidy("avg_session_duration", avg_duration), _tidy("actions_per_session", actions)]


# -------------------------------------------------------------------------------------------
# Subscriptions: MRR and its movements, customer churn
# -------------------------------------------------------------------------------------------
def subscription_kpis(subs: pd.DataFrame, as_of: pd.Timestamp) -> list[pd.DataFrame]:
    subs = subs[subs["start_date"] <= as_of]
    months = month_grid(subs["start_date"].min(), as_of)
    # Negative mrr, or an end_date not after start_date: left out of every KPI.
    subs = subs[(subs["mrr"] >= 0) & (subs["end_date"].isna() | (subs["end_date"] > subs["start_date"]))]
    customer = pd.Series(pd.factorize(subs["customer_id"])[0], index=subs.index)
    first_mrr = subs[subs["mrr"] > 0].groupby(customer[subs["mrr"] > 0])["start_date"].min()

    t = pd.Series(np.minimum(months + pd.offsets.MonthEnd(0), as_of), index=months)   # t(P)
    prev_t = pd.Series(months - pd.Timedelta(days=1), index=months)                   # t(P-1)

    # c(x, d) of every paying customer on each day the movements look at.
    mrr_on = {}
    for d in sorted(set(t) | set(prev_t)):
        active = (subs["start_date"] <= d) & (subs["end_date"].isna() | (subs["end_date"] > d))
        c = subs.loc[active, "mrr"].groupby(customer[active]).sum()
        mrr_on[d] = c[c > 0]

    rows = []
    for p in months:
        ab = pd.concat({"a": mrr_on[prev_t[p]], "b": mrr_on[t[p]]}, axis=1).fillna(0.0)
        a, b = ab["a"], ab["b"]
        first = first_mrr.reindex(ab.index)
        starting = (a == 0) & (b > 0)
        rows.append({
            "period": p,
            "mrr": b.sum(),
            "new_mrr": b[starting & (first > prev_t[p])].sum(),
            "reactivation_mrr": b[starting & (first <= prev_t[p])].sum(),
            "expansion_mrr": (b - a)[(a > 0) & (b > a)].sum(),
            "contraction_mrr": (a - b)[(a > 0) & (b > 0) & (b < a)].sum(),
            "churned_mrr": a[(a > 0) & (b == 0)].sum(),
            "churned_customers": int(((a > 0) & (b == 0)).sum()),
            "paying_before": int((a > 0).sum()),
        })
    moves = pd.DataFrame(rows).set_index("period")
    out = [_tidy(k, moves[k]) for k in
           ("mrr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr")]
    out.append(_tidy("customer_churn_rate", ratio(moves["churned_customers"], moves["paying_before"])))
    return out


# -------------------------------------------------------------------------------------------
# Customers: trial conversion
# -------------------------------------------------------------------------------------------
def trial_kpis(customers: pd.DataFrame, as_of: pd.Timestamp) -> list[pd.DataFrame]:
    # A customer listed twice: the row with the earliest signup_date counts.
    customers = (customers.sort_values("signup_date", kind="stable")
                 .drop_duplicates("customer_id", keep="first"))
    customers = customers[customers["signup_date"] <= as_of]
    months = month_grid(customers["signup_date"].min(), as_of)
    trials = customers[customers["trial_start"] <= as_of]
    month = month_of(trials["trial_start"])
    converted = (trials["converted_date"] <= as_of).groupby(month).sum().reindex(months, fill_value=0)
    started = trials.groupby(month).size().reindex(months, fill_value=0)
    return [_tidy("trial_conversion_rate", ratio(converted, started))]


# -------------------------------------------------------------------------------------------
# The entry points
# -------------------------------------------------------------------------------------------
def compute_frames(frames: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> pd.DataFrame:
    parts = (event_kpis(frames["events"], as_of) + subscription_kpis(frames["subscriptions"], as_of)
             + trial_kpis(frames["customers"], as_of))
    return pd.concat(parts, ignore_index=True)


def compute_reference(folder: str | Path, as_of=None, today: dt.date | None = None) -> pd.DataFrame:
    """kpi, period, value of every KPI in ``KPIS`` at month grain, from the CSV files in ``folder``."""
    frames = read_inputs(folder)
    as_of = pd.Timestamp(as_of) if as_of is not None else as_of_date(folder, frames, today)
    return compute_frames(frames, as_of)


def differences(reference: pd.DataFrame, engine: pd.DataFrame, rel: float = 1e-9, abs_: float = 1e-9) -> pd.DataFrame:
    """Rows (kpi, period) where the two disagree: a value on one side only, null against a number,
    or numbers further apart than ``rel`` (relative; ``abs_`` only for values that are both ~0).
    ``engine`` is ``kpi.compute.compute`` output without a segment."""
    engine = engine[engine["kpi"].isin(reference["kpi"].unique())]
    both = reference[["kpi", "period", "value"]].merge(engine[["kpi", "period", "value"]], on=["kpi", "period"],
                                                      how="outer", suffixes=("_pandas", "_engine"), indicator=True)
    p, e = both["value_pandas"].astype(float), both["value_engine"].astype(float)
    close = np.isclose(p, e, rtol=rel, atol=abs_, equal_nan=True) & (p.isna() == e.isna())
    bad = both[(both["_merge"] != "both") | ~close].copy()
    bad["only_in"] = bad["_merge"].map({"left_only": "pandas", "right_only": "engine", "both": ""}).astype(str)
    return bad.drop(columns="_merge").sort_values(["kpi", "period"]).reset_index(drop=True)


if __name__ == "__main__":
    pd.set_option("display.max_rows", None)
    print(compute_reference(sys.argv[1]).to_string(index=False))
