"""The analyses behind the Scorecard and Trends pages, as plain functions the pages only draw.

Series functions take one KPI's series as :func:`kpi.compute.compute` returns it (``period``,
``value``, ``partial``, and for ratio KPIs ``numerator``/``denominator``) and return small pandas
frames. Functions that need rows the engine does not keep (cohorts, funnels, daily active users,
releases) run their own SQL on the workspace: event names and dates go in as bound parameters,
column and table names are quoted.

The rules, stated once here and in the words the pages show:

- *Headline*, like for like: a flow KPI's latest complete period against the period before and
  the same period a year before (52 weeks before for weeks), its running period shown apart as
  "so far"; a stock KPI's level now against the level at the end of the period before.
- *Projection band*: the straight line of :func:`kpi.goals.line_fit` (least squares through the
  last 6 complete periods with a value, at least 3) carried to the deadline, with an 80 %
  prediction interval (Student's t, n - 2 degrees of freedom) around it, both clipped to what the
  KPI can take — the same line and numbers as the status's projection.
- *Anomaly*: a complete period whose value lies more than 5 median absolute deviations (MAD) from
  the median of the previous 6 periods (at least 4 of them with a value). A MAD below 1 % of the
  median's size is raised to that, so a flat series does not flag every small wiggle. (5 MADs is
  about 3.4 standard deviations of normal noise; on the sample data 3 MADs flagged steady growth.)
- *Contribution* of each segment to a KPI's change between two periods: for sums and counts the
  segment's own change; for ratios ``R = sum(N) / sum(D)`` the exact decomposition
  ``c_i = (N_i,b - R_a D_i,b) / D_b - (N_i,a - R_a D_i,a) / D_a``, whose sum is ``R_b - R_a``. What
  the segments do not add up to (users in several segments) is reported as a remainder.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from . import catalog, quality
from .compute import REGISTRY
from .formatting import format_change, format_date, format_value, period_label
from .goals import (PROJECTION_PERIODS, add_months, clip, line_fit, period_end, period_index, period_start,
                    t_quantile_80, value_bounds)
from .workspace import Workspace

ANOMALY_WINDOW = 6
ANOMALY_THRESHOLD = 5.0
ANOMALY_MIN_HISTORY = 4
ANOMALY_MAD_FLOOR = 0.01
COUNT_MAD_FACTOR = 0.6745   # the MAD of normal noise is 0.6745 standard deviations; a count's is sqrt(mean)
BAND_LEVEL = 0.80
SPARK_PERIODS = 12

GRAIN_NOUN = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"}
PERSPECTIVE_ORDER = ("financial", "customer", "internal process", "learning and growth")
PERSPECTIVE_TITLE = {"financial": "Financial", "customer": "Customer", "internal process": "Internal process",
                     "learning and growth": "Learning and growth", "other": "Other KPIs"}
# The default scorecard before a KPI set is saved: the first one or two computable KPIs of each
# perspective from these lists (headline KPIs a PM reads first), then any computable one.
DEFAULT_PREFERENCES = {
    "financial": ("mrr", "revenue", "arpa", "net_new_mrr", "cac"),
    "customer": ("customer_churn_rate", "nps", "active_users", "signups", "retention_rate", "dau"),
    "internal process": ("escalation_rate", "defect_density", "uptime", "releases_shipped", "velocity",
                         "time_to_market"),
    "learning and growth": ("employee_satisfaction",),
}


def usual_spread(grain: str = "month") -> str:
    """'the usual month-to-month spread': the plain words for the MAD the anomaly rule uses."""
    noun = GRAIN_NOUN[grain]
    return f"the usual {noun}-to-{noun} spread"


def anomaly_rule(grain: str = "month", window: int = ANOMALY_WINDOW, threshold: float = ANOMALY_THRESHOLD) -> str:
    """The anomaly rule in the words the page shows."""
    return (f"unusually far from the median of the previous {window} {GRAIN_NOUN[grain]}s: more than "
            f"{threshold:g} times {usual_spread(grain)} (the median absolute deviation, MAD)")


def anomaly_rule_sentence(grain: str = "month") -> str:
    """The rule as a full sentence, with what the usual spread is."""
    noun = GRAIN_NOUN[grain]
    return (f"A {noun} is marked unusual when its value is {anomaly_rule(grain)}. The usual spread is how "
            f"far those {ANOMALY_WINDOW} values typically sit from their median (the median of their "
            f"distances to it): one odd {noun} cannot inflate it. It is taken as at least 1 % of the median, "
            f"and for counts as at least 0.67 × √median (what chance alone gives). Partial {noun}s are not judged.")


def how_unusual(deviation: float, direction: str, median: float | None, unit: str, grain: str) -> str:
    """'5.5 × the usual month-to-month spread above the median (10.0 %)', or 'above a flat 10.0 %'."""
    if math.isinf(deviation):
        return f"{direction} a flat {format_value(median, unit)}"
    return f"{abs(deviation):.1f} × {usual_spread(grain)} {direction} the median ({format_value(median, unit)})"


BAND_RULE = ("a straight line through the last 6 complete periods, carried forward; the band is where "
             "80 % of values would fall if the line's scatter so far continues")


# ---------------------------------------------------------------------------------------------
# Periods and series
# ---------------------------------------------------------------------------------------------
def year_before(period: date, grain: str) -> date:
    """The first day of the same period a year earlier (52 weeks earlier for weeks)."""
    if grain == "week":
        return period - timedelta(weeks=52)
    if grain == "day":
        return add_months(period, -12)
    return period_start(add_months(period, -12), grain)


def series_of(frame: pd.DataFrame, kpi: str, segment=None) -> pd.DataFrame:
    """One KPI's rows of a compute frame (the whole data when ``segment`` is None), by period."""
    if frame is None or frame.empty:
        return pd.DataFrame(columns=["period", "value", "numerator", "denominator", "partial"])
    rows = frame[frame["kpi"] == kpi]
    rows = rows[rows["segment"].isna()] if segment is None else rows[rows["segment"] == segment]
    cols = [c for c in ("period", "value", "numerator", "denominator", "partial") if c in rows.columns]
    return rows[cols].sort_values("period").reset_index(drop=True)


def _values(series: pd.DataFrame) -> dict[date, float]:
    return {p: (float(v) if pd.notna(v) else math.nan) for p, v in zip(series["period"], series["value"])}


def _complete(series: pd.DataFrame) -> pd.DataFrame:
    if series.empty:
        return series
    return series[~series["partial"].astype(bool)]


# ---------------------------------------------------------------------------------------------
# Headline numbers of a card
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Headline:
    """What a KPI card shows about one series, like for like (see :func:`headline`)."""
    period: date | None
    partial: bool
    value: float | None
    previous_period: date | None
    previous: float | None
    change: float | None
    year_ago_period: date | None
    year_ago: float | None
    year_change: float | None
    last_complete_period: date | None
    last_complete: float | None
    spark: tuple[float | None, ...] = field(default_factory=tuple)
    periods: int = 0          # how many periods of history the series has
    kind: str = "flow"
    trend: float | None = None          # the sparkline's least-squares change from its first to last point
    so_far_period: date | None = None   # a flow KPI's running period, shown beside, never compared
    so_far: float | None = None
    so_far_days: int | None = None
    period_days: int | None = None


def headline(series: pd.DataFrame, grain: str, spark_periods: int = SPARK_PERIODS, *, kind: str | None = None,
             as_of: date | None = None) -> Headline:
    """A card's headline, like for like: a flow KPI's latest *complete* period with a value,
    against the period before it and the same period a year before — never a partial period
    against a whole one (the running period is kept as "so far", with the days it covers when
    ``as_of`` is given). A stock KPI (``kind="stock"``) is a level, so its latest period (the one
    holding the as-of date, partial or not) is compared with the level at the end of the period
    before. Without ``kind`` the flow rule applies (the safe one). The sparkline is the complete
    periods (and a stock's level now)."""
    kind = kind or "flow"
    if series is None or series.empty:
        return Headline(None, False, None, None, None, None, None, None, None, None, None, (), 0, kind)
    values = _values(series)
    complete = _complete(series)
    complete_valued = complete[complete["value"].notna()]
    lc_p = complete_valued["period"].iloc[-1] if not complete_valued.empty else None
    lc = _num(complete_valued["value"].iloc[-1]) if not complete_valued.empty else None
    last = series.iloc[-1]
    so_far_p = so_far = so_far_days = period_days = None
    if kind == "stock":
        valued = series[series["value"].notna()]
        row = valued.iloc[-1] if not valued.empty else None
        spark_from = series
    else:
        row = complete_valued.iloc[-1] if not complete_valued.empty else None
        spark_from = complete
        if bool(last["partial"]):
            so_far_p, so_far = last["period"], _num(last["value"])
            end = period_end(so_far_p, grain)
            period_days = (end - so_far_p).days + 1
            so_far_days = (min(as_of, end) - so_far_p).days + 1 if as_of is not None else None
    spark = tuple(_num(v) for v in spark_from["value"].tail(spark_periods))
    trend = _trend(spark)
    if row is None:
        return Headline(None, False, None, None, None, None, None, None, None, lc_p, lc, spark, len(series), kind,
                        trend=trend, so_far_period=so_far_p, so_far=so_far, so_far_days=so_far_days,
                        period_days=period_days)
    period = row["period"]
    value = _num(row["value"])
    prev_p = period_start(period - timedelta(days=1), grain)
    prev = _num(values.get(prev_p))
    year_p = year_before(period, grain)
    year = _num(values.get(year_p))
    return Headline(period=period, partial=bool(row["partial"]), value=value,
                    previous_period=prev_p, previous=prev,
                    change=value - prev if value is not None and prev is not None else None,
                    year_ago_period=year_p if year is not None else None, year_ago=year,
                    year_change=value - year if value is not None and year is not None else None,
                    last_complete_period=lc_p, last_complete=lc, spark=spark, periods=len(series), kind=kind,
                    so_far_period=so_far_p, so_far=so_far, so_far_days=so_far_days, period_days=period_days,
                    trend=trend)


def _trend(values: Sequence[float | None]) -> float | None:
    """How much a straight line through the points rises from the first to the last (None under 3)."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 3:
        return None
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    slope = float(np.polyfit(x - x.mean(), y, 1)[0])
    return slope * (x[-1] - x[0])


def relative_change(change: float | None, before: float | None) -> float | None:
    """A change as a fraction of the earlier value (None when that is 0 or missing)."""
    if change is None or before is None or before == 0:
        return None
    return change / abs(before)


# ---------------------------------------------------------------------------------------------
# Projection with an uncertainty band
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProjectionBand:
    """The projected line to ``until`` and its 80 % band, plus the figures to state beside it."""
    points: pd.DataFrame     # period, value, low, high: from the last complete period to ``until``
    slope: float             # change per period
    fitted: int              # periods the line is fitted through
    at_end: float            # the line's value at the last period
    low: float | None        # the band at the last period (None with fewer than 3 fitted periods)
    high: float | None


def clamp_to_unit(value: float | None, unit: str | None, kpi: str | None = None) -> float | None:
    """A value kept within what the KPI can take (:func:`kpi.goals.value_bounds`: a rate in 0-100 %,
    a count at 0 or more, NPS within -100 to 100…): a straight line can run past them, the KPI cannot."""
    if value is None or (kpi is None and unit is None):
        return value
    return clip(value, value_bounds(kpi, unit))


def projection_band(series: pd.DataFrame, grain: str, until: date | None = None,
                    ahead: int = 6, fit_periods: int = PROJECTION_PERIODS, unit: str | None = None,
                    kpi: str | None = None) -> ProjectionBand | None:
    """The straight-line projection of goals.md, with its 80 % prediction band: the very line of
    the status (:func:`kpi.goals.line_fit`, least squares through the non-null values of the last
    ``fit_periods`` complete periods, at least 3) read off at every period from the last complete
    one to the period holding ``until`` (or ``ahead`` periods on). The band at index ``x`` is
    ``t * s * sqrt(1 + 1/n + (x - mean)^2 / Sxx)``, ``s`` the residual standard deviation with
    ``n - 2`` degrees of freedom. Given ``kpi`` or ``unit``, the line and band are clipped to what
    the KPI can take (:func:`kpi.goals.value_bounds`), as the status's projection is.
    """
    fit = line_fit(series, None, grain, fit_periods)
    if fit is None:
        return None
    bounds = value_bounds(kpi, unit) if (kpi is not None or unit is not None) else None
    last = fit.last_period
    end = period_start(until, grain) if until is not None else None
    periods = [last]
    p = last
    while True:
        p = period_start(period_end(p, grain) + timedelta(days=1), grain)
        if end is not None and p > end:
            break
        if end is None and len(periods) > ahead:
            break
        periods.append(p)
        if len(periods) > 400:  # a far deadline at day grain: stop drawing, the end value is still exact
            break
    if end is not None and periods[-1] < end:
        periods.append(end)
    out = []
    for p in periods:
        idx = period_index(p, grain)
        centre = fit.at(idx)
        half = fit.half_band(idx)
        low, high = (centre - half, centre + half) if half is not None else (None, None)
        out.append((p, clip(centre, bounds), clip(low, bounds), clip(high, bounds)))
    points = pd.DataFrame(out, columns=["period", "value", "low", "high"])
    return ProjectionBand(points=points, slope=fit.slope, fitted=fit.n, at_end=out[-1][1],
                          low=out[-1][2], high=out[-1][3])


# ---------------------------------------------------------------------------------------------
# Anomalies, moving average, comparison lines
# ---------------------------------------------------------------------------------------------
def anomalies(series: pd.DataFrame, window: int = ANOMALY_WINDOW, threshold: float = ANOMALY_THRESHOLD,
              min_history: int = ANOMALY_MIN_HISTORY, unit: str | None = None) -> pd.DataFrame:
    """Every complete period judged by the anomaly rule (see the module docstring).

    Returns period, value, median, mad, deviation (signed, in MADs), anomaly (bool) and
    direction ('above'/'below'); periods without enough history have null median and are never
    anomalies. Partial periods are not judged: half a month always looks low. For a ``count``
    the MAD is at least ``0.67 * sqrt(median)``, the spread chance alone gives a count (Poisson
    noise), so 13 tickets after a run of 7s is not called unusual.
    """
    cols = ["period", "value", "median", "mad", "deviation", "anomaly", "direction"]
    if series is None or series.empty:
        return pd.DataFrame(columns=cols)
    rows = series.sort_values("period")
    periods = rows["period"].tolist()
    values = rows["value"].astype(float).tolist()
    partial = rows["partial"].astype(bool).tolist()
    out = []
    for i, v in enumerate(values):
        history = [h for h in values[max(0, i - window):i] if not math.isnan(h)]
        med = mad = dev = None
        flag = False
        if len(history) >= min_history and not math.isnan(v) and not partial[i]:
            med = float(statistics.median(history))
            mad = float(statistics.median([abs(h - med) for h in history]))
            scale = max(mad, ANOMALY_MAD_FLOOR * abs(med))
            if unit == "count":
                scale = max(scale, COUNT_MAD_FACTOR * math.sqrt(abs(med)))
            if scale > 0:
                dev = (v - med) / scale
                flag = abs(dev) > threshold
            elif v != med:
                dev = math.copysign(math.inf, v - med)
                flag = True
            else:
                dev = 0.0
        out.append((periods[i], v, med, mad, dev, flag,
                    None if dev is None or dev == 0 else ("above" if dev > 0 else "below")))
    return pd.DataFrame(out, columns=cols)


def moving_average(series: pd.DataFrame, window: int) -> pd.DataFrame:
    """The trailing mean of the last ``window`` complete periods (needs all of them to have a value)."""
    rows = _complete(series)[["period", "value"]].copy()
    rows["value"] = rows["value"].astype(float).rolling(window, min_periods=window).mean()
    return rows[rows["value"].notna()].reset_index(drop=True)


def comparison(series: pd.DataFrame, grain: str, against: str = "year") -> pd.DataFrame:
    """For each period, the value of the period it is compared with: 'previous' or 'year' before.

    Returns period, earlier_period, value (the earlier value) and change (this minus earlier).
    """
    if against not in ("previous", "year"):
        raise ValueError("compare against 'previous' or 'year'")
    values = _values(series)
    out = []
    for p, v in values.items():
        earlier = year_before(p, grain) if against == "year" else period_start(p - timedelta(days=1), grain)
        if earlier in values and not math.isnan(values[earlier]):
            before = values[earlier]
            out.append((p, earlier, before, None if math.isnan(v) else v - before))
    return pd.DataFrame(out, columns=["period", "earlier_period", "value", "change"])


def change_periods(series: pd.DataFrame, judged: pd.DataFrame | None = None,
                   unit: str | None = None) -> tuple[date, date] | None:
    """The two periods "what changed" compares by default: the start of the latest run of unusual
    periods against the period before it; without one, the last complete period against the one
    before. None with fewer than two periods."""
    periods = list(series["period"])
    if len(periods) < 2:
        return None
    if judged is None:
        judged = anomalies(series, unit=unit)
    odd = set(judged.loc[judged["anomaly"].astype(bool), "period"]) if not judged.empty else set()
    if odd:
        i = max(periods.index(p) for p in odd if p in periods)
        while i > 0 and periods[i - 1] in odd:
            i -= 1
        if i > 0:
            return periods[i - 1], periods[i]
    complete = [p for p, part in zip(series["period"], series["partial"]) if not part]
    after = complete[-1] if len(complete) >= 2 else periods[-1]
    i = periods.index(after)
    return (periods[i - 1], after) if i > 0 else (periods[0], periods[1])


def releases_near(releases: pd.DataFrame, period: date, grain: str) -> pd.DataFrame:
    """Releases shipped in ``period`` or in the period before it: what might explain a change."""
    if releases is None or releases.empty:
        return pd.DataFrame(columns=["date", "label"])
    first = period_start(period - timedelta(days=1), grain)
    last = period_end(period, grain)
    keep = [(first <= d <= last) for d in releases["date"]]
    return releases[keep].sort_values("date").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# What changed: segment contributions
# ---------------------------------------------------------------------------------------------
def contribution(by_segment: pd.DataFrame, totals: pd.DataFrame, kpi: str, before: date, after: date) -> pd.DataFrame:
    """Each segment's share of the change of ``kpi`` from period ``before`` to period ``after``.

    ``by_segment`` is a compute frame broken down by one segment column, ``totals`` the same KPI
    without a breakdown. Returns segment, before, after, change (the segment's own change),
    weight (its share of the earlier period's value or denominator) and contribution (in the
    KPI's unit; they add up to the total change), largest first by size. ``weight`` is the segment's
    size: its share of the earlier period's total (sums) or denominator (ratios, and means that
    report one); None when unknown. ``attrs`` holds
    ``total_before``, ``total_after``, ``total_change``, ``method`` ('sum', 'ratio' or 'none'),
    ``remainder`` (what the segments do not explain) and ``note`` (a sentence for the page).
    """
    tot = series_of(totals, kpi)
    tb, ta = _value_at(tot, before), _value_at(tot, after)
    segs = by_segment[by_segment["kpi"] == kpi]
    names = list(dict.fromkeys(segs["segment"].tolist()))
    rows = {s: segs[segs["segment"].eq(s) if s is not None else segs["segment"].isna()] for s in names}

    def at(frame, p, col):
        hit = frame[frame["period"] == p]
        return _num(hit[col].iloc[0]) if not hit.empty and col in hit.columns else None

    is_ratio = (not segs.empty and segs["denominator"].notna().any()
                and REGISTRY.get(kpi) is not None and REGISTRY[kpi].fill == "ratio")
    additive = REGISTRY.get(kpi) is not None and REGISTRY[kpi].fill == "zero"
    total_change = ta - tb if ta is not None and tb is not None else None
    out = []
    if is_ratio and tb is not None:
        d_a = sum(at(f, before, "denominator") or 0.0 for f in rows.values())
        d_b = sum(at(f, after, "denominator") or 0.0 for f in rows.values())
        for s, f in rows.items():
            na, da = at(f, before, "numerator") or 0.0, at(f, before, "denominator") or 0.0
            nb, db = at(f, after, "numerator") or 0.0, at(f, after, "denominator") or 0.0
            c = ((nb - tb * db) / d_b if d_b else 0.0) - ((na - tb * da) / d_a if d_a else 0.0)
            vb, va = at(f, before, "value"), at(f, after, "value")
            out.append((s, vb, va, _diff(va, vb), da / d_a if d_a else None, c))
        method = "ratio"
        note = ("For a ratio, a segment's contribution combines how its own rate moved and how its weight "
                "changed; the contributions add up to the total change.")
    elif additive:
        base = sum(at(f, before, "value") or 0.0 for f in rows.values())
        for s, f in rows.items():
            vb, va = at(f, before, "value") or 0.0, at(f, after, "value") or 0.0
            out.append((s, vb, va, va - vb, vb / base if base else None, va - vb))
        method = "sum"
        note = "Each segment's contribution is its own change; together they make the total change."
    else:
        # A mean or median has no additive base; its size is its share of the denominator (rows,
        # users or tickets it averages over) where the KPI reports one.
        d_a = sum(at(f, before, "denominator") or 0.0 for f in rows.values())
        for s, f in rows.items():
            vb, va = at(f, before, "value"), at(f, after, "value")
            da = at(f, before, "denominator")
            out.append((s, vb, va, _diff(va, vb), da / d_a if da is not None and d_a else None, None))
        method = "none"
        note = ("This KPI is a median, a mean or a rolling figure, so segments' changes do not add up to "
                "the total: each segment's own change is shown instead.")
    frame = pd.DataFrame(out, columns=["segment", "before", "after", "change", "weight", "contribution"])
    key = frame["contribution"] if method != "none" else frame["change"]
    frame = frame.assign(_k=key.abs().fillna(-1)).sort_values("_k", ascending=False, kind="stable")
    frame = frame.drop(columns="_k").reset_index(drop=True)
    remainder = None
    if method != "none" and total_change is not None:
        remainder = total_change - float(frame["contribution"].fillna(0).sum())
        scale = max(abs(total_change), abs(tb or 0), abs(ta or 0), 1e-12)
        if abs(remainder) <= 1e-9 * scale:
            remainder = 0.0
        else:
            note += (" The segments do not add up to the whole (a user or customer can be in several), "
                     "so part of the change is left as a remainder.")
    frame.attrs.update(total_before=tb, total_after=ta, total_change=total_change, method=method,
                       remainder=remainder, note=note)
    return frame


def driver(contrib: pd.DataFrame) -> dict | None:
    """The segment that drove the change: the largest contribution in the direction of the total
    change among segments that contributed more than their weight.

    ``excess = contribution - total change * weight``: a segment that changed in line with the
    others has excess 0, so a big segment that merely moved with the rest is not named. Returns
    segment, contribution, share (of the total change, the score to compare breakdowns by),
    weight and excess; None when there is nothing to explain.
    """
    total = contrib.attrs.get("total_change")
    if contrib.empty or contrib.attrs.get("method") == "none" or not total:
        return None
    best = None
    for r in contrib.itertuples(index=False):
        if r.contribution is None or pd.isna(r.contribution):
            continue
        w = 0.0 if r.weight is None or pd.isna(r.weight) else float(r.weight)
        excess = float(r.contribution) - total * w
        share = float(r.contribution) / total
        if excess / total <= 0 or share <= 0:
            continue
        if best is None or share > best["share"]:
            best = {"segment": r.segment, "contribution": float(r.contribution), "share": share,
                    "weight": w, "excess": excess, "score": share}
    return best


def _value_at(series: pd.DataFrame, p: date) -> float | None:
    hit = series[series["period"] == p]
    return _num(hit["value"].iloc[0]) if not hit.empty else None


def _diff(a, b):
    return a - b if a is not None and b is not None else None


# ---------------------------------------------------------------------------------------------
# MRR movements and active users
# ---------------------------------------------------------------------------------------------
MRR_MOVEMENTS = (("new_mrr", "New", 1), ("expansion_mrr", "Expansion", 1), ("reactivation_mrr", "Reactivation", 1),
                 ("contraction_mrr", "Contraction", -1), ("churned_mrr", "Churned", -1))


def mrr_movements(frame: pd.DataFrame) -> pd.DataFrame:
    """Signed MRR movements per period (gains positive, losses negative) and the net per period.

    Returns period, movement, amount, partial; ``attrs['net']`` is a frame of period, net, partial
    where net = new + expansion + reactivation - contraction - churned.
    """
    parts = []
    for kpi, label, sign in MRR_MOVEMENTS:
        s = series_of(frame, kpi)
        if s.empty:
            continue
        parts.append(pd.DataFrame({"period": s["period"], "movement": label,
                                   "amount": sign * s["value"].astype(float), "partial": s["partial"]}))
    if not parts:
        out = pd.DataFrame(columns=["period", "movement", "amount", "partial"])
        out.attrs["net"] = pd.DataFrame(columns=["period", "net", "partial"])
        return out
    out = pd.concat(parts, ignore_index=True)
    net = out.groupby("period", as_index=False).agg(net=("amount", "sum"), partial=("partial", "max"))
    out.attrs["net"] = net
    return out


ACTIVE_WINDOWS = {"dau": 1, "wau": 7, "mau": 30}


def active_users_daily(ws: Workspace, as_of: date, start: date | None = None) -> pd.DataFrame:
    """DAU, WAU (7 days) and MAU (30 days) for every day from the first event to ``as_of``.

    ``AU(d - w + 1, d)``: distinct users with an event in the ``w`` days ending on ``d``. A user's
    active days closer than ``w`` days apart merge into one covered stretch, so counting stretches
    that cover a day counts distinct users without a join per day.
    """
    if not ws.has("events"):
        return pd.DataFrame(columns=["day", "dau", "wau", "mau"])
    parts = []
    params: list = []
    for name, w in ACTIVE_WINDOWS.items():
        parts.append(f"""
            SELECT '{name}' AS metric, a AS day, 1 AS c FROM isl_{name}
            UNION ALL SELECT '{name}', CAST(b + 1 AS DATE), -1 FROM isl_{name}""")
    ctes = []
    for name, w in ACTIVE_WINDOWS.items():
        ctes.append(f"""
        m_{name} AS (SELECT user_id, d, CASE WHEN d - lag(d) OVER (PARTITION BY user_id ORDER BY d) <= {w}
                                           THEN 0 ELSE 1 END AS brk FROM ud),
        n_{name} AS (SELECT user_id, d, sum(brk) OVER (PARTITION BY user_id ORDER BY d
                                                      ROWS UNBOUNDED PRECEDING) AS island FROM m_{name}),
        isl_{name} AS (SELECT min(d) AS a, CAST(max(d) + {w - 1} AS DATE) AS b FROM n_{name}
                       GROUP BY user_id, island)""")
    sql = f"""
        WITH ud AS (SELECT DISTINCT user_id, CAST("timestamp" AS DATE) AS d FROM events
                    WHERE CAST("timestamp" AS DATE) BETWEEN ? AND ? AND user_id IS NOT NULL),
        {','.join(ctes)},
        deltas AS ({' UNION ALL '.join(parts)}),
        days AS (SELECT CAST(x AS DATE) AS day FROM generate_series(
                    CAST((SELECT min(d) FROM ud) AS TIMESTAMP), CAST(? AS TIMESTAMP), INTERVAL 1 DAY) g(x)),
        per_day AS (SELECT metric, day, sum(c) AS c FROM deltas GROUP BY 1, 2),
        grid AS (SELECT days.day, mt.metric, COALESCE(pd.c, 0) AS c
                 FROM days CROSS JOIN (SELECT DISTINCT metric FROM deltas) mt
                 LEFT JOIN per_day pd ON pd.day = days.day AND pd.metric = mt.metric)
        SELECT day, metric, sum(c) OVER (PARTITION BY metric ORDER BY day ROWS UNBOUNDED PRECEDING) AS users
        FROM grid ORDER BY day"""
    params = [quality.first_period_date(ws), as_of, as_of]   # no day grid from year 1 (implausible dates)
    long = ws.df(sql, params)
    if long.empty:
        return pd.DataFrame(columns=["day", "dau", "wau", "mau"])
    wide = long.pivot(index="day", columns="metric", values="users").reset_index()
    wide["day"] = pd.to_datetime(wide["day"]).dt.date
    wide = wide[["day", "dau", "wau", "mau"]].astype({"dau": float, "wau": float, "mau": float})
    if start is not None:
        wide = wide[wide["day"] >= start]
    return wide.reset_index(drop=True)


def active_users_by_period(daily: pd.DataFrame, grain: str, as_of: date) -> pd.DataFrame:
    """Mean DAU, WAU and MAU over each period's days, and stickiness = mean DAU / mean MAU.

    The same means as the catalog's ``dau`` and ``mau`` (days from the first event up to the as-of
    date); ``partial`` marks the period holding an as-of date before its last day.
    """
    if daily.empty:
        return pd.DataFrame(columns=["period", "dau", "wau", "mau", "stickiness", "partial"])
    d = daily.copy()
    d["period"] = [period_start(x, grain) for x in d["day"]]
    out = d.groupby("period", as_index=False)[["dau", "wau", "mau"]].mean()
    out["stickiness"] = out["dau"] / out["mau"].where(out["mau"] > 0)
    out["partial"] = [period_end(p, grain) > as_of for p in out["period"]]
    return out


# ---------------------------------------------------------------------------------------------
# Cohorts and funnels (SQL on the workspace)
# ---------------------------------------------------------------------------------------------
COHORT_MEASURES = ("users", "revenue")


def _month_diff(a: str, b: str) -> str:
    """Whole calendar months from month ``b`` to month ``a`` (standard SQL)."""
    return f"((EXTRACT(YEAR FROM {a}) - EXTRACT(YEAR FROM {b})) * 12 + EXTRACT(MONTH FROM {a}) - EXTRACT(MONTH FROM {b}))"


def cohort_matrix(ws: Workspace, as_of: date, measure: str = "users", max_age: int = 12) -> pd.DataFrame:
    """Retention by signup month: one row per (cohort, months since), up to ``max_age`` months.

    *users*: the cohort is the customers who signed up in a month (``customers.signup_date``; the
    month of a user's first event when customers are not loaded); ``value`` counts those with an
    event in the month ``age`` months later, ``size`` is the cohort's headcount.
    *revenue*: the cohort is the customers whose first paid subscription started in a month;
    ``value`` is their MRR at the end of the month ``age`` months later (on the as-of date for the
    current month), ``size`` their MRR at the end of their first month (net MRR retention).
    ``share = value / size``; ``members`` is the number of customers or users in the cohort;
    ``partial`` marks the month holding the as-of date when it is not its last day.
    """
    if measure not in COHORT_MEASURES:
        raise ValueError(f"measure must be one of {', '.join(COHORT_MEASURES)}")
    cols = ["cohort", "age", "members", "size", "value", "share", "partial"]
    month_end = "CAST(CAST(date_trunc('month', {0}) AS DATE) + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE)"
    if measure == "users":
        if not ws.has("events"):
            return pd.DataFrame(columns=cols)
        if ws.has("customers"):
            members = ("SELECT customer_id AS id, CAST(date_trunc('month', min(signup_date)) AS DATE) AS cohort "
                       "FROM customers WHERE signup_date <= ? AND customer_id IS NOT NULL GROUP BY customer_id")
        else:
            members = ("SELECT user_id AS id, CAST(date_trunc('month', min(CAST(\"timestamp\" AS DATE))) AS DATE) "
                       "AS cohort FROM events WHERE CAST(\"timestamp\" AS DATE) <= ? AND user_id IS NOT NULL "
                       "GROUP BY user_id")
        sql = f"""
            WITH lim AS (SELECT CAST(? AS DATE) AS a),
            c AS ({members}),
            act AS (SELECT DISTINCT user_id AS id, CAST(date_trunc('month', CAST("timestamp" AS DATE)) AS DATE) AS m
                    FROM events WHERE CAST("timestamp" AS DATE) <= ?),
            sizes AS (SELECT cohort, count(*) AS members, CAST(count(*) AS DOUBLE) AS size FROM c GROUP BY cohort),
            cells AS (SELECT c.cohort, {_month_diff('a.m', 'c.cohort')} AS age, count(DISTINCT c.id) AS value
                      FROM c JOIN act a ON a.id = c.id AND a.m >= c.cohort GROUP BY 1, 2)
            SELECT s.cohort, g.age, s.members, s.size, CAST(COALESCE(cells.value, 0) AS DOUBLE) AS value
            FROM sizes s CROSS JOIN (SELECT CAST(x AS INTEGER) AS age FROM generate_series(0, ?) g(x)) g
            LEFT JOIN cells ON cells.cohort = s.cohort AND cells.age = g.age
            CROSS JOIN lim WHERE {_month_diff('lim.a', 's.cohort')} >= g.age
            ORDER BY 1, 2"""
        params = [as_of, as_of, as_of, max_age]
    else:
        if not ws.has("subscriptions"):
            return pd.DataFrame(columns=cols)
        # The same rows every MRR KPI uses: negative MRR or an end not after the start are left out.
        sql = f"""
            WITH lim AS (SELECT CAST(? AS DATE) AS a),
            s AS (SELECT customer_id, start_date, end_date, mrr FROM subscriptions
                       WHERE mrr >= 0 AND (end_date IS NULL OR end_date > start_date) AND start_date <= ?),
            fm AS (SELECT customer_id, CAST(date_trunc('month', min(start_date)) AS DATE) AS cohort
                   FROM s WHERE mrr > 0 GROUP BY customer_id),
            months AS (SELECT CAST(x AS DATE) AS m,
                              LEAST({month_end.format('CAST(x AS DATE)')}, CAST(? AS DATE)) AS t
                       FROM generate_series(CAST((SELECT min(cohort) FROM fm) AS TIMESTAMP),
                                            CAST(? AS TIMESTAMP), INTERVAL 1 MONTH) g(x)),
            cm AS (SELECT mo.m, s.customer_id, sum(s.mrr) AS mrr FROM months mo
                   JOIN s ON s.start_date <= mo.t AND (s.end_date IS NULL OR s.end_date > mo.t)
                   GROUP BY 1, 2),
            cells AS (SELECT fm.cohort, {_month_diff('cm.m', 'fm.cohort')} AS age, sum(cm.mrr) AS value
                      FROM fm JOIN cm ON cm.customer_id = fm.customer_id AND cm.m >= fm.cohort GROUP BY 1, 2),
            sizes AS (SELECT cohort, count(*) AS members FROM fm GROUP BY cohort)
            SELECT s.cohort, g.age, s.members, COALESCE(z.value, 0) AS size, CAST(COALESCE(cells.value, 0) AS DOUBLE) AS value
            FROM sizes s CROSS JOIN (SELECT CAST(x AS INTEGER) AS age FROM generate_series(0, ?) g(x)) g
            LEFT JOIN cells ON cells.cohort = s.cohort AND cells.age = g.age
            LEFT JOIN (SELECT cohort, value FROM cells WHERE age = 0) z ON z.cohort = s.cohort
            CROSS JOIN lim WHERE {_month_diff('lim.a', 's.cohort')} >= g.age
            ORDER BY 1, 2"""
        params = [as_of, as_of, as_of, as_of, max_age]
    df = ws.df(sql, params)
    if df.empty:
        return pd.DataFrame(columns=cols)
    df["cohort"] = pd.to_datetime(df["cohort"]).dt.date
    df["age"] = df["age"].astype(int)
    df["members"] = df["members"].astype(int)
    df["size"] = df["size"].astype(float)
    df["value"] = df["value"].astype(float)
    df["share"] = df["value"] / df["size"].where(df["size"] > 0)
    current = period_start(as_of, "month")
    month_done = period_end(current, "month") <= as_of
    df["partial"] = [(not month_done) and add_months(c, a) == current for c, a in zip(df["cohort"], df["age"])]
    return df[cols]


def event_names(ws: Workspace, as_of: date | None = None) -> pd.DataFrame:
    """The distinct event names with how many times and by how many users each occurred."""
    if not ws.has("events"):
        return pd.DataFrame(columns=["event", "events", "users"])
    where = "WHERE event IS NOT NULL" + (" AND CAST(\"timestamp\" AS DATE) <= ?" if as_of else "")
    return ws.df(f"SELECT event, count(*) AS events, count(DISTINCT user_id) AS users FROM events {where} "
                 "GROUP BY event ORDER BY events DESC, event", [as_of] if as_of else [])


def funnel(ws: Workspace, steps: Sequence[str], window_days: int = 7, start: date | None = None,
           end: date | None = None, as_of: date | None = None) -> pd.DataFrame:
    """Users through an ordered sequence of events, each step within ``window_days`` of the first.

    A user enters at their first event of step 1 dated in ``[start, end]`` (and not after
    ``as_of``); they reach step k when they have an event of step k at or after the time they
    reached step k-1 (strictly after when both steps are the same event) and no later than
    ``window_days`` days after entering. Returns step (1-based), event, users, of_first (share of
    step 1's users), of_previous (share of the step before) and dropped (lost since the step before).
    """
    cols = ["step", "event", "users", "of_first", "of_previous", "dropped"]
    steps = [s for s in steps if s]
    if not steps or not ws.has("events"):
        return pd.DataFrame(columns=cols)
    window = int(window_days)
    if window < 0:
        raise ValueError("the conversion window must be 0 days or more")
    params: list = []
    conds = ["CAST(\"timestamp\" AS DATE) <= ?"]
    params.append(as_of or date.max)
    names = list(dict.fromkeys(steps))
    conds.append(f"event IN ({', '.join('?' for _ in names)})")
    params += names
    first_conds = []
    first_params: list = []
    if start is not None:
        first_conds.append("CAST(ts AS DATE) >= ?")
        first_params.append(start)
    if end is not None:
        first_conds.append("CAST(ts AS DATE) <= ?")
        first_params.append(end)
    ctes = [f"e AS (SELECT user_id, \"timestamp\" AS ts, event FROM events WHERE {' AND '.join(conds)})",
            "s1 AS (SELECT user_id, min(ts) AS t0, min(ts) AS t FROM e WHERE event = ?"
            + "".join(f" AND {c}" for c in first_conds) + " GROUP BY user_id)"]
    params += [steps[0]] + first_params
    for k in range(2, len(steps) + 1):
        op = ">" if steps[k - 1] == steps[k - 2] else ">="
        ctes.append(f"s{k} AS (SELECT p.user_id, p.t0, min(e.ts) AS t FROM s{k - 1} p JOIN e "
                    f"ON e.user_id = p.user_id AND e.event = ? AND e.ts {op} p.t "
                    f"AND e.ts <= p.t0 + INTERVAL '1' DAY * ? GROUP BY p.user_id, p.t0)")
        params += [steps[k - 1], window]
    counts = " UNION ALL ".join(f"SELECT {k} AS step, count(*) AS users FROM s{k}" for k in range(1, len(steps) + 1))
    df = ws.df(f"WITH {', '.join(ctes)} {counts} ORDER BY step", params)
    users = [int(u) for u in df["users"]]
    out = []
    for i, (ev, n) in enumerate(zip(steps, users)):
        prev = users[i - 1] if i else None
        out.append((i + 1, ev, n, n / users[0] if users[0] else None,
                    (n / prev if prev else None) if i else 1.0 if n else None,
                    (prev - n) if i else 0))
    return pd.DataFrame(out, columns=cols)


def releases(ws: Workspace, as_of: date | None = None) -> pd.DataFrame:
    """Released features as chart annotations: date, label, product (when loaded)."""
    if not ws.has("releases"):
        return pd.DataFrame(columns=["date", "label", "product"])
    cond = "WHERE released_date IS NOT NULL" + (" AND released_date <= ?" if as_of else "")
    df = ws.df(f"SELECT released_date AS date, feature AS label, product FROM releases {cond} "
               "ORDER BY released_date, feature", [as_of] if as_of else [])
    df["date"] = pd.to_datetime(df["date"]).dt.date
    return df


# ---------------------------------------------------------------------------------------------
# The scorecard's KPI set and its flags
# ---------------------------------------------------------------------------------------------
def default_kpi_set(computable: Iterable[str], per_perspective: int = 2, extra: Iterable[str] = ()) -> list[str]:
    """A starting scorecard from what the data can compute: one or two KPIs per perspective; when
    that gives fewer than three, up to two of ``extra`` (the workspace's own custom or imported
    KPIs) as well."""
    can = set(computable)
    chosen: list[str] = []
    for persp in PERSPECTIVE_ORDER:
        picks = [k for k in DEFAULT_PREFERENCES.get(persp, ()) if k in can][:per_perspective]
        if not picks:
            picks = [k for k, m in catalog.CATALOG.items() if m.perspective == persp and k in can][:1]
        chosen += picks
    if len(chosen) < 3:
        chosen += [k for k in dict.fromkeys(extra) if k not in chosen][:per_perspective]
    return chosen


def perspective_of(kpi: str) -> str:
    meta = catalog.CATALOG.get(kpi)
    return meta.perspective if meta else "other"


def group_by_perspective(kpis: Iterable[str]) -> list[tuple[str, list[str]]]:
    """The KPIs in balanced-scorecard order: financial, customer, internal process, learning, other."""
    groups: dict[str, list[str]] = {}
    for k in dict.fromkeys(kpis):
        groups.setdefault(perspective_of(k), []).append(k)
    order = list(PERSPECTIVE_ORDER) + ["other"]
    return [(p, groups[p]) for p in order if p in groups]


def quality_flags(series: pd.DataFrame, grain: str, as_of: date, unit: str | None = None) -> list[str]:
    """Plain-words notes on how far to trust a card's numbers."""
    flags = []
    if series is None or series.empty:
        return ["No values: the loaded data has nothing for this KPI yet."]
    last = series.iloc[-1]
    if bool(last["partial"]):
        days = (as_of - last["period"]).days + 1
        total = (period_end(last["period"], grain) - last["period"]).days + 1
        flags.append(f"The current {grain} is partial: {days} of {total} days, up to {format_date(as_of)}.")
    if pd.isna(last["value"]):
        flags.append(f"No value in the latest {grain}: nothing to count or divide by yet.")
    n = int(series["value"].notna().sum())
    if n < ANOMALY_MIN_HISTORY + 2:
        flags.append(f"Only {n} {grain}s with a value: changes and projections are rough.")
    judged = anomalies(series, unit=unit)
    recent = judged[judged["anomaly"]].tail(1)
    if not recent.empty:
        r = recent.iloc[0]
        complete = _complete(series)
        if not complete.empty and r["period"] == complete["period"].iloc[-1]:
            flags.append(f"{period_label(r['period'], grain)} is unusual: {abs(r['deviation']):.1f} MADs "
                         f"{r['direction']} the median of the previous {ANOMALY_WINDOW} {grain}s.")
    return flags



# ---------------------------------------------------------------------------------------------
# The sentences the Trends page shows (pure, so the tests read the same words)
# ---------------------------------------------------------------------------------------------
def latest_sentence(head: Headline, unit: str, grain: str) -> str | None:
    """'Latest complete month, Oct 2026: **8.6 %**, −0.4 pp on the month before · Nov 2026 so far
    (4 of 30 days): 2.1 %' — like for like, as the cards show it."""
    noun = GRAIN_NOUN[grain]
    so_far = ""
    if head.so_far_period is not None:
        days = f" ({head.so_far_days} of {head.period_days} days)" if head.so_far_days else ""
        so_far = f"{period_label(head.so_far_period, grain)} so far{days}: {format_value(head.so_far, unit)}"
    if head.value is None:
        return so_far or None
    which = "Now" if head.kind == "stock" else f"Latest complete {noun}"
    text = (f"{which}, {period_label(head.period, grain)}{' (so far)' if head.partial else ''}: "
            f"**{format_value(head.value, unit)}**")
    if head.change is not None:
        text += (f", {format_change(head.change, unit)} on the end of the {noun} before" if head.partial else
                 f", {format_change(head.change, unit)} on the {noun} before")
    return text + (f" · {so_far}" if so_far else "")


def projection_sentence(band: ProjectionBand, unit: str, grain: str, deadline: date | None = None) -> str:
    """Where the straight line lands, with its 80 % band."""
    to = (f"by {format_date(deadline)}" if deadline is not None else
          f"in {period_label(band.points['period'].iloc[-1], grain)}")
    spread = (f" (80 % band {format_value(band.low, unit)} to {format_value(band.high, unit)})"
              if band.low is not None else "")
    return (f"If the last {band.fitted} complete {GRAIN_NOUN[grain]}s' straight-line trend continues: "
            f"**{format_value(band.at_end, unit)}** {to}{spread}.")


def target_sentence(status, unit: str | None = None) -> str:
    """'Target 4.0 % by 31 Mar 2027: **Off track** — heading for 5.1 % by 31 Mar 2027; needs −0.9 pp
    a month for 5 more months' — the status's own words (kpi.goals.Status), as every page shows them."""
    text = f"{status.target_words()}: **{status.label}** — {status.reason()}"
    needed = status.run_rate_words()
    return text + (f"; {needed}" if needed else "")


def anomaly_lines(judged: pd.DataFrame, releases_frame: pd.DataFrame | None, unit: str, grain: str,
                  limit: int = 5) -> list[str]:
    """One line per unusual period, latest first: its value, how far off, and what shipped near it."""
    noun = GRAIN_NOUN[grain]
    odd = judged[judged["anomaly"].astype(bool)].sort_values("period", ascending=False)
    lines = []
    for r in odd.head(limit).itertuples(index=False):
        why = how_unusual(r.deviation, r.direction, r.median, unit, grain)
        near = releases_near(releases_frame, r.period, grain)
        shipped = ("; released in this or the previous " + noun + ": " + ", ".join(
            f"{label} ({d:%d %b})" for d, label in zip(near["date"], near["label"]))) if not near.empty else ""
        lines.append(f"- {period_label(r.period, grain)}: **{format_value(r.value, unit)}**, {why}{shipped}")
    return lines


def change_sentence(name: str, contrib: pd.DataFrame, unit: str, before_label: str, after_label: str) -> str | None:
    """'Ticket escalation rate rose from **6.1 %** (Apr 2026) to **23.9 %** (May 2026): +17.8 pp.'"""
    tb, ta, tc = contrib.attrs["total_before"], contrib.attrs["total_after"], contrib.attrs["total_change"]
    if tc is None:
        return None
    moved = "rose" if tc > 0 else "fell" if tc < 0 else "stayed"
    return (f"{name} {moved} from **{format_value(tb, unit)}** ({before_label}) to **{format_value(ta, unit)}** "
            f"({after_label}): {format_change(tc, unit)}.")


def driver_sentence(column: str, drv: dict | None, contrib: pd.DataFrame, unit: str, before_label: str) -> str | None:
    """'**topic = bug** drove it most: +9.2 pp of the +17.8 pp while holding 26 % of the Apr 2026 base.'"""
    tc = contrib.attrs.get("total_change")
    if drv is None or not tc:
        return None
    weight = (f" while holding {drv['weight'] * 100:.0f} % of the {before_label} "
              f"{'base' if contrib.attrs['method'] == 'ratio' else 'total'}") if drv["weight"] else ""
    segment = drv["segment"] if drv["segment"] is not None else "(none)"
    return (f"**{column.replace('_', ' ')} = {segment}** drove it most: {format_change(drv['contribution'], unit)} "
            f"of the {format_change(tc, unit)}{weight}.")


def _num(v) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


__all__ = [
    "ANOMALY_WINDOW", "ANOMALY_THRESHOLD", "BAND_LEVEL", "BAND_RULE", "MRR_MOVEMENTS", "COHORT_MEASURES",
    "PERSPECTIVE_ORDER", "PERSPECTIVE_TITLE", "Headline", "ProjectionBand",
    "anomaly_rule", "usual_spread", "how_unusual", "period_label", "year_before", "series_of", "headline", "relative_change",
    "t_quantile_80", "projection_band", "anomalies", "moving_average", "comparison", "releases_near",
    "contribution", "driver", "change_periods", "clamp_to_unit", "mrr_movements", "active_users_daily", "active_users_by_period",
    "cohort_matrix", "event_names", "funnel", "releases", "default_kpi_set", "perspective_of",
    "group_by_perspective", "quality_flags", "latest_sentence", "projection_sentence", "target_sentence",
    "anomaly_lines", "change_sentence", "driver_sentence",
]
