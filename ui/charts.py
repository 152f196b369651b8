"""Altair charts every page shares: a KPI over time with its target, pace, projection, anomalies and
annotations; segment lines; contributions; cohorts; funnels; MRR movements; active users.

Each function takes frames the core (``kpi/analysis.py``, ``kpi/compute.py``) already computed and
only shapes them for drawing. Numbers in tooltips are the app's own formatted strings, so a
tooltip shows exactly what a card shows; every colour with a meaning comes from the one colour
language of ``kpi/colours.py`` (green good news, amber at risk, red bad news, grey no status; target
lines in one neutral ink).
"""
from __future__ import annotations

import datetime as dt
import json
import math

import altair as alt
import pandas as pd
import streamlit as st

from kpi.analysis import ANOMALY_WINDOW, how_unusual, period_label
from kpi.colours import COLOUR_HEX, TARGET_LINE, change_colour, status_hex
from kpi.formatting import format_change, format_date, format_value
from kpi.goals import period_end, period_index, period_start

HEIGHT = 360   # Streamlit's theme fits title, axes and legend inside it
GREEN, AMBER, RED, GREY = COLOUR_HEX["green"], COLOUR_HEX["amber"], COLOUR_HEX["red"], COLOUR_HEX["grey"]
ACTUAL = "#3b5bdb"        # the theme's primary colour: the KPI itself
COMPARE = "#9aa4b2"
AVERAGE = "#8250df"
RELEASE = "#8c959f"
NOTE = "#bf3989"
# Segments get colours that carry no status meaning (no pure green or red).
SEGMENT_COLOURS = ["#3b5bdb", "#f08c00", "#7048e8", "#0c8599", "#c2255c", "#74b816", "#495057", "#e8590c",
                   "#1098ad", "#ae3ec9"]

UNIT_WORDS = {"currency": "$", "rate": "%", "count": "count", "score": "score", "minutes": "minutes",
              "hours": "hours", "days": "days", "points": "points", "ratio": "×", "per_kloc": "per KLOC"}
AXIS_FORMAT = {"rate": ".1%", "currency": "$,.0f", "count": ",.0f", "score": ",.1f", "ratio": ",.2f",
               "per_kloc": ",.2f", "minutes": ",.1f", "hours": ",.1f", "days": ",.1f", "points": ",.1f"}
# Time axes: one label per labelled period, in the app's date words ("31 Oct 2026", "Oct 2026",
# "Q4 2026", "2026"); tick_label is the Python twin of what the axis draws.
X_FORMAT = {"day": "%d %b %Y", "week": "%d %b %Y", "month": "%b %Y", "quarter": "%Y", "year": "%Y"}
AXIS_LABELS = 12   # at most this many labels on a time axis: beyond it, every 2nd, 3rd … period
NICE_STEPS = {"day": (1, 2, 7, 14, 28), "week": (1, 2, 4, 13, 26, 52), "month": (1, 2, 3, 6, 12, 24),
              "quarter": (1, 2, 4, 8), "year": (1, 2, 5, 10, 20, 50)}
# Months, quarters and years are labelled on calendar boundaries (every 3rd month: Jan, Apr, Jul,
# Oct); days and weeks counting back from the latest, so the latest period always has its label.
CALENDAR_ALIGNED = ("month", "quarter", "year")


def tick_label(period, grain: str) -> str:
    """The label a time axis writes under a period: '05 Feb 2024', 'Feb 2024', 'Q1 2024', '2024' —
    the period's label without "week of" (an axis of weeks is read by the dates of their Mondays)."""
    return period_label(pd.Timestamp(period).date(), "day" if grain == "week" else grain)


def axis_periods(first, last, grain: str) -> list:
    """Every period start of ``grain`` from the period holding ``first`` to the one holding ``last``."""
    start, end = period_start(pd.Timestamp(first).date(), grain), pd.Timestamp(last).date()
    out = []
    while start <= end:
        out.append(start)
        start = period_end(start, grain) + dt.timedelta(days=1)
    return out


def tick_periods(periods, grain: str, max_labels: int = AXIS_LABELS) -> list:
    """The periods a time axis labels: all of them when they fit in ``max_labels``, else every
    k-th, k the smallest of NICE_STEPS[grain] that fits (then whatever fits) — each label once."""
    ps = sorted({pd.Timestamp(p).date() for p in periods})
    if len(ps) <= max_labels:
        return ps
    steps = [s for s in NICE_STEPS[grain]] + [-(-len(ps) // max_labels)]
    for step in steps:
        if grain in CALENDAR_ALIGNED:
            picked = [p for p in ps if period_index(p, grain) % step == 0]
        else:
            picked = ps[::-1][::step][::-1]
        if picked and len(picked) <= max_labels:
            return picked
    return ps[::-1][::steps[-1]][::-1]


def time_axis(dates, grain: str, max_labels: int = AXIS_LABELS) -> alt.Axis:
    """An x axis over the periods spanning ``dates`` (every date a layer draws), each labelled
    once at its start: explicit tick values, so the axis never repeats a month nor runs past the data."""
    ts = [pd.Timestamp(d) for d in dates if d is not None and not pd.isna(d)]
    if not ts:
        return alt.Axis(title=None, grid=False)
    ticks = tick_periods(axis_periods(min(ts), max(ts), grain), grain, max_labels)
    values = [alt.DateTime(year=p.year, month=p.month, date=p.day) for p in ticks]
    quarter = {"labelExpr": "'Q' + quarter(datum.value) + ' ' + timeFormat(datum.value, '%Y')"} \
        if grain == "quarter" else {}
    return alt.Axis(values=values, format=X_FORMAT[grain], labelOverlap=True, grid=False, labelFlush=False,
                    title=None, **quarter)


def axis_title(name: str, unit: str) -> str:
    """'Monthly recurring revenue ($)', 'Customer churn rate (%)'."""
    return f"{name} ({UNIT_WORDS.get(unit, unit)})"


def y_format(unit: str, values=None) -> str:
    if unit == "currency" and values is not None:
        finite = [abs(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
        if finite and max(finite) < 10:
            return "$,.2f"
    return AXIS_FORMAT.get(unit, ",.2f")


def _ts(values) -> pd.DatetimeIndex:
    # Positional, so it lines up with a filtered frame whatever that frame's index is.
    return pd.DatetimeIndex(pd.to_datetime(list(values)))


def _short(text: str, limit: int = 240) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _legend_scale(domain: list[str], colours: list[str]) -> alt.Scale:
    return alt.Scale(domain=domain, range=colours)


# ---------------------------------------------------------------------------------------------
# A KPI over time
# ---------------------------------------------------------------------------------------------
def trend_chart(series: pd.DataFrame, *, name: str, unit: str, grain: str, description: str = "",
                status=None, band=None, compare: pd.DataFrame | None = None, compare_label: str = "",
                moving: pd.DataFrame | None = None, moving_label: str = "", judged: pd.DataFrame | None = None,
                annotations: pd.DataFrame | None = None, title: str | None = None,
                height: int = HEIGHT, direction: str | None = None) -> alt.LayerChart:
    """One KPI over time.

    ``series``: period, value, partial. ``status``: a :class:`kpi.goals.Status` (target line in
    neutral ink, pace line from baseline to target, the projection in its forecast reading's
    colour). ``band``: a :class:`kpi.analysis.ProjectionBand`. ``compare``:
    ``analysis.comparison`` output. ``moving``: ``analysis.moving_average`` output. ``judged``:
    ``analysis.anomalies`` output (anomalies are ringed green or red by whether they went the KPI's
    better ``direction``, grey without one). ``annotations``: date, label, kind ('release' or 'note').
    """
    definition = _short(description) if description else name
    data = series[["period", "value", "partial"]].copy()
    data["t"] = _ts(data["period"])
    data["Period"] = [period_label(p, grain) + (" (partial)" if part else "")
                      for p, part in zip(data["period"], data["partial"])]
    data["Value"] = [format_value(v, unit) for v in data["value"]]
    data["What it is"] = definition
    data["series"] = "Actual"
    data = data.drop(columns=["period"])
    colour_domain, colour_range = ["Actual"], [ACTUAL]
    dash_domain, dash_range = ["Actual"], [[1, 0]]
    all_values = [v for v in data["value"] if pd.notna(v)]
    layers = []

    def legend_entry(label: str, colour: str, dash: list[int]):
        colour_domain.append(label)
        colour_range.append(colour)
        dash_domain.append(label)
        dash_range.append(dash)

    # The target is a fact, drawn in neutral ink; the projection carries the forecast reading's
    # colour (green reaches the target, amber falls a little short, red falls far short).
    projection_colour = status_hex(status.forecast) if status is not None and status.forecast else ACTUAL
    if status is not None and status.target is not None:
        legend_entry("Target", TARGET_LINE, [1, 0])
        legend_entry("Pace to target", GREY, [6, 4])
        all_values += [status.target]
        if status.baseline is not None:
            all_values.append(status.baseline)
    if band is not None:
        legend_entry("Projection", projection_colour, [2, 3])
        all_values += [v for v in band.points["value"] if pd.notna(v)]
    if compare is not None and not compare.empty:
        legend_entry(compare_label or "Earlier period", COMPARE, [4, 3])
        all_values += [v for v in compare["value"] if pd.notna(v)]
    if moving is not None and not moving.empty:
        legend_entry(moving_label or "Moving average", AVERAGE, [1, 0])
    notes = _notes_in_view(annotations, data)
    if notes is not None:
        for kind, label, colour in (("release", "Release", RELEASE), ("note", "Note", NOTE)):
            if (notes["kind"] == kind).any():
                legend_entry(label, colour, [2, 3])
    fmt = y_format(unit, all_values)

    # Three columns: the legend wraps on a phone instead of running off the edge.
    colour = alt.Color("series:N", scale=_legend_scale(colour_domain, colour_range),
                       legend=alt.Legend(orient="bottom", title=None, symbolStrokeWidth=3, labelLimit=160,
                                         columns=3))
    dash = alt.StrokeDash("series:N", scale=_legend_scale(dash_domain, dash_range), legend=None)
    span = list(data["t"])
    if status is not None and status.target is not None and status.baseline_date is not None:
        span += [status.baseline_date, status.deadline]
    if band is not None:
        span += list(band.points["period"])
    if notes is not None:
        span += list(notes["t"])
    x = alt.X("t:T", title=None, axis=time_axis(span, grain))
    y = alt.Y("value:Q", title=axis_title(name, unit), axis=alt.Axis(format=fmt, titleLimit=260),
              scale=alt.Scale(zero=False, nice=True))
    tooltip = [alt.Tooltip("Period:N"), alt.Tooltip("Value:N", title=name), alt.Tooltip("What it is:N")]

    complete = data[~data["partial"].astype(bool)]
    partial_rows = data[data["partial"].astype(bool)]
    base = alt.Chart(complete)
    layers.append(base.mark_line(strokeWidth=2.5).encode(x=x, y=y, color=colour, strokeDash=dash))
    if not partial_rows.empty:
        # The partial period is drawn dashed and lighter, joined to the last complete point.
        tail = pd.concat([complete.tail(1), partial_rows]).assign(series="Actual")
        layers.append(alt.Chart(tail).mark_line(strokeWidth=2, strokeDash=[4, 4], opacity=0.55,
                                                color=ACTUAL).encode(x=x, y=y))
    layers.append(alt.Chart(data).mark_point(size=45, filled=True, color=ACTUAL).encode(
        x=x, y=y, tooltip=tooltip,
        opacity=alt.condition("datum.partial", alt.value(0.45), alt.value(1.0)),
        shape=alt.condition("datum.partial", alt.value("diamond"), alt.value("circle"))))

    if status is not None and status.target is not None:
        target_text = f"{status.target_words()} — {status.label}: {status.reason()}"
        tgt = pd.DataFrame({"value": [status.target], "series": ["Target"], "Target": [target_text]})
        layers.append(alt.Chart(tgt).mark_rule(strokeWidth=2).encode(
            y="value:Q", color=colour, strokeDash=dash, tooltip=[alt.Tooltip("Target:N")]))
        if status.baseline is not None and status.baseline_date is not None:
            pace = pd.DataFrame({
                "t": _ts([status.baseline_date, status.deadline]),
                "value": [status.baseline, status.target], "series": ["Pace to target"] * 2,
                "Pace": [f"Baseline {format_value(status.baseline, unit)} on {format_date(status.baseline_date)}",
                         f"Target {format_value(status.target, unit)} on {format_date(status.deadline)}"]})
            layers.append(alt.Chart(pace).mark_line(strokeWidth=1.5).encode(
                x=x, y=y, color=colour, strokeDash=dash, tooltip=[alt.Tooltip("Pace:N", title="Pace line")]))

    if band is not None:
        pts = band.points.copy()
        pts["t"] = _ts(pts["period"])
        pts["series"] = "Projection"
        pts["Period"] = [period_label(p, grain) for p in pts["period"]]
        pts["Projected"] = [format_value(v, unit) for v in pts["value"]]
        pts["Band"] = [f"{format_value(lo, unit)} to {format_value(hi, unit)}" if lo is not None and pd.notna(lo)
                       else "—" for lo, hi in zip(pts["low"], pts["high"])]
        band_colour = projection_colour
        if pts["low"].notna().any():
            layers.append(alt.Chart(pts[pts["low"].notna()]).mark_area(opacity=0.14, color=band_colour).encode(
                x=x, y=alt.Y("low:Q"), y2="high:Q"))
        layers.append(alt.Chart(pts).mark_line(strokeWidth=2).encode(
            x=x, y=y, color=colour, strokeDash=dash,
            tooltip=[alt.Tooltip("Period:N"), alt.Tooltip("Projected:N"),
                     alt.Tooltip("Band:N", title="80 % band")]))

    if compare is not None and not compare.empty:
        cmp = compare.copy()
        cmp["t"] = _ts(cmp["period"])
        cmp["series"] = compare_label or "Earlier period"
        cmp["Compared with"] = [period_label(p, grain) for p in cmp["earlier_period"]]
        cmp["Earlier value"] = [format_value(v, unit) for v in cmp["value"]]
        cmp["Change"] = [format_change(c, unit) for c in cmp["change"]]
        layers.append(alt.Chart(cmp).mark_line(strokeWidth=1.5).encode(
            x=x, y=y, color=colour, strokeDash=dash,
            tooltip=[alt.Tooltip("Compared with:N"), alt.Tooltip("Earlier value:N"), alt.Tooltip("Change:N")]))

    if moving is not None and not moving.empty:
        mv = moving.copy()
        mv["t"] = _ts(mv["period"])
        mv["series"] = moving_label or "Moving average"
        mv["Period"] = [period_label(p, grain) for p in mv["period"]]
        mv["Average"] = [format_value(v, unit) for v in mv["value"]]
        layers.append(alt.Chart(mv).mark_line(strokeWidth=1.5, opacity=0.9).encode(
            x=x, y=y, color=colour, strokeDash=dash,
            tooltip=[alt.Tooltip("Period:N"), alt.Tooltip("Average:N", title=moving_label or "Average")]))

    if judged is not None and not judged.empty and judged["anomaly"].any():
        odd = judged[judged["anomaly"]].copy()
        odd["t"] = _ts(odd["period"])
        odd["Period"] = [period_label(p, grain) for p in odd["period"]]
        odd["Value"] = [format_value(v, unit) for v in odd["value"]]
        odd["Why unusual"] = [
            how_unusual(d, direction, m, unit, grain) + f" of the previous {ANOMALY_WINDOW} {grain}s"
            if not math.isinf(d) else
            f"{direction} the previous {ANOMALY_WINDOW} {grain}s, which were all {format_value(m, unit)}"
            for d, direction, m in zip(odd["deviation"], odd["direction"], odd["median"])]
        # Unusual is not bad by itself: a ring is green when the jump went the KPI's better way, red
        # when it went the worse way (grey when the chart does not know which way is better).
        odd["ring"] = [COLOUR_HEX[change_colour(1.0 if d == "above" else -1.0, direction)] if direction else GREY
                       for d in odd["direction"]]
        layers.append(alt.Chart(odd).mark_point(size=260, filled=False, strokeWidth=2.5).encode(
            x=x, y=y, color=alt.Color("ring:N", scale=None, legend=None),
            tooltip=[alt.Tooltip("Period:N"), alt.Tooltip("Value:N", title=name), alt.Tooltip("Why unusual:N")]))

    if notes is not None:
        notes["Date"] = [format_date(d) for d in notes["date"]]
        notes["Note"] = [("Released: " if k == "release" else "Note: ") + _short(lbl, 120)
                         for lbl, k in zip(notes["label"], notes["kind"])]
        notes["series"] = ["Release" if k == "release" else "Note" for k in notes["kind"]]
        layers.insert(0, alt.Chart(notes).mark_rule(strokeWidth=1.2).encode(
            x="t:T", color=colour, strokeDash=dash,
            opacity=alt.condition(alt.datum.kind == "note", alt.value(0.9), alt.value(0.35)),
            tooltip=[alt.Tooltip("Date:N"), alt.Tooltip("Note:N")]))

    chart = alt.layer(*layers).properties(height=height, title=alt.TitleParams(
        title or name, subtitle=_subtitle(grain, data), anchor="start"))
    return chart.resolve_scale(color="shared", strokeDash="shared")


def _notes_in_view(annotations: pd.DataFrame | None, data: pd.DataFrame) -> pd.DataFrame | None:
    """The releases and notes dated within the drawn periods (None when there are none)."""
    if annotations is None or annotations.empty or data.empty:
        return None
    notes = annotations.copy()
    notes["t"] = _ts(notes["date"])
    notes = notes[(notes["t"] >= data["t"].min()) & (notes["t"] <= data["t"].max() + pd.Timedelta(days=31))]
    return notes.reset_index(drop=True) if not notes.empty else None


def _subtitle(grain: str, data: pd.DataFrame) -> str:
    noun = {"day": "Daily", "week": "Weekly", "month": "Monthly", "quarter": "Quarterly", "year": "Yearly"}[grain]
    partial = data["partial"].astype(bool).any()
    return f"{noun} values" + (" · the dashed end is a partial period" if partial else "")


# ---------------------------------------------------------------------------------------------
# Breakdown by segment, and contributions
# ---------------------------------------------------------------------------------------------
def segment_chart(frame: pd.DataFrame, *, name: str, unit: str, grain: str, segment_column: str,
                  top: int = 8, last: int | None = 12, height: int = 380) -> alt.Chart:
    """One line per segment value (the ``top`` largest by their latest value; the rest left out),
    over the ``last`` periods (small segments' early periods are mostly noise)."""
    data = frame[["period", "segment", "value", "partial"]].copy()
    if last:
        keep_periods = sorted(data["period"].unique())[-last:]
        data = data[data["period"].isin(keep_periods)]
    data["segment"] = data["segment"].fillna("(none)").astype(str)
    latest = data[data["period"] == data["period"].max()].set_index("segment")["value"].abs().fillna(0)
    keep = list(latest.sort_values(ascending=False).index[:top])
    data = data[data["segment"].isin(keep)]
    data["t"] = _ts(data["period"])
    data["Period"] = [period_label(p, grain) + (" (partial)" if part else "")
                      for p, part in zip(data["period"], data["partial"])]
    data["Value"] = [format_value(v, unit) for v in data["value"]]
    seg_title = segment_column.replace("_", " ")
    x = alt.X("t:T", title=None, axis=time_axis(data["t"], grain))
    y = alt.Y("value:Q", title=axis_title(name, unit), axis=alt.Axis(format=y_format(unit, data["value"])),
              scale=alt.Scale(zero=False, nice=True))
    colour = alt.Color("segment:N", title=None, sort=keep, scale=alt.Scale(range=SEGMENT_COLOURS),
                       legend=alt.Legend(orient="bottom", columns=3, labelLimit=110))
    lines = alt.Chart(data).mark_line(strokeWidth=2).encode(
        x=x, y=y, color=colour,
        strokeDash=alt.condition("datum.partial", alt.value([4, 4]), alt.value([1, 0])))
    points = alt.Chart(data).mark_point(size=30, filled=True).encode(
        x=x, y=y, color=colour,
        tooltip=[alt.Tooltip("segment:N", title=seg_title), alt.Tooltip("Period:N"),
                 alt.Tooltip("Value:N", title=name)])
    left_out = latest.size - len(keep)
    sub = (f"Each line is one {seg_title}" + (f" (the {len(keep)} largest of {latest.size})" if left_out > 0 else "")
           + (f" · last {data['period'].nunique()} {grain}s" if last else ""))
    return alt.layer(lines, points).properties(height=height, title=alt.TitleParams(
        f"{name} by {seg_title}", subtitle=sub, anchor="start"))


def contribution_chart(contrib: pd.DataFrame, *, name: str, unit: str, direction: str, segment_column: str,
                       before_label: str, after_label: str, top: int = 10) -> alt.Chart:
    """Horizontal bars: each segment's contribution to the change, largest first; green helps, red hurts."""
    method = contrib.attrs.get("method")
    field = "contribution" if method != "none" else "change"
    data = contrib.head(top).copy()
    data.attrs = {}
    data["segment"] = data["segment"].fillna("(none)").astype(str)
    remainder = contrib.attrs.get("remainder")
    if remainder:
        data = pd.concat([data, pd.DataFrame({"segment": ["(not one segment)"], field: [remainder],
                                              "before": [None], "after": [None], "change": [None],
                                              "weight": [None]})], ignore_index=True)
    sign = 1 if direction == "higher" else -1
    data["effect"] = ["Other" if s == "(not one segment)" else ("Helped" if (v or 0) * sign > 0 else
                      "Hurt" if (v or 0) * sign < 0 else "No change") for s, v in zip(data["segment"], data[field])]
    data["amount"] = data[field].astype(float)
    data["Contribution"] = [format_change(v, unit) for v in data[field]]
    data["Before"] = [format_value(v, unit) for v in data["before"]]
    data["After"] = [format_value(v, unit) for v in data["after"]]
    data["Own change"] = [format_change(v, unit) for v in data["change"]]
    # Each bar says its segment's size (its share of the earlier period's base or total), so a big
    # contribution from a small segment stands out.
    share = [f"{w * 100:.0f} %" if w is not None and pd.notna(w) else None for w in data["weight"]]
    data["Size"] = [f"{s} of {before_label}" if s else "—" for s in share]
    data["segment"] = [f"{seg} · {s}" if s else seg for seg, s in zip(data["segment"], share)]
    seg_title = segment_column.replace("_", " ")
    order = list(data["segment"])
    axis = (alt.Axis(labelExpr="format(datum.value * 100, '.1f') + ' pp'") if unit == "rate"
            else alt.Axis(format=AXIS_FORMAT.get(unit, ",.2f")))
    bars = alt.Chart(data).mark_bar(cornerRadiusEnd=3).encode(
        y=alt.Y("segment:N", sort=order, title=seg_title, axis=alt.Axis(labelLimit=140)),
        x=alt.X("amount:Q", title=("Contribution" if method != "none" else "Own change")
                + f" ({UNIT_WORDS.get(unit, unit) if unit != 'rate' else 'pp'})", axis=axis),
        color=alt.Color("effect:N", scale=alt.Scale(domain=["Helped", "Hurt", "No change", "Other"],
                                                    range=[GREEN, RED, GREY, COMPARE]), legend=None),
        tooltip=[alt.Tooltip("segment:N", title=seg_title), alt.Tooltip("Contribution:N"),
                 alt.Tooltip("Size:N"), alt.Tooltip("Before:N", title=before_label),
                 alt.Tooltip("After:N", title=after_label), alt.Tooltip("Own change:N")])
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color=GREY).encode(x="x:Q")
    return alt.layer(bars, zero).properties(
        # Streamlit's theme fits title, axes and legend inside the height: leave room for them.
        height=30 * len(data) + 170,
        title=alt.TitleParams(f"What changed: {before_label} → {after_label}",
                              subtitle=f"Largest first · green helped, red hurt · each {seg_title} with its size "
                                       f"(share of {before_label})", anchor="start"))


# ---------------------------------------------------------------------------------------------
# Analysis views
# ---------------------------------------------------------------------------------------------
def cohort_heatmap(cohorts: pd.DataFrame, *, measure: str) -> alt.Chart:
    """Signup month × months since: the share still active (users) or MRR kept (revenue)."""
    data = cohorts.copy()
    unit_size = "users" if measure == "users" else "MRR"
    data["Cohort"] = [f"{c:%b %Y} · " + (f"{m:,} users" if measure == "users" else format_value(s, "currency", compact=True))
                      for c, m, s in zip(data["cohort"], data["members"], data["size"])]
    data["Months since"] = data["age"].astype(int)
    data["Share"] = [format_value(v, "rate") if pd.notna(v) else "—" for v in data["share"]]
    data["label"] = [f"{v * 100:.0f}" if pd.notna(v) else "" for v in data["share"]]
    data["Value"] = [(f"{v:,.0f} users" if measure == "users" else format_value(v, "currency")) for v in data["value"]]
    data["Cohort size"] = [(f"{m:,} customers" if measure == "users" else
                            f"{format_value(s, 'currency')} from {m:,} customers") for m, s in zip(data["members"], data["size"])]
    order = list(dict.fromkeys(data.sort_values("cohort")["Cohort"]))
    # Scaled to the darkest cell, so differences between cohorts show (a fixed 0-100 % washes out).
    top = float(data["share"].max() or 1.0) if data["share"].notna().any() else 1.0
    base = alt.Chart(data).encode(
        x=alt.X("Months since:O", title="Months since sign-up" if measure == "users" else "Months since first payment",
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("Cohort:N", sort=order, title=None, axis=alt.Axis(labelLimit=200)))
    rect = base.mark_rect().encode(
        color=alt.Color("share:Q", title="Still active" if measure == "users" else "MRR kept",
                        scale=alt.Scale(scheme="blues", domain=[0, top]),
                        legend=alt.Legend(format=".0%", orient="bottom")),
        tooltip=[alt.Tooltip("Cohort:N"), alt.Tooltip("Months since:O"), alt.Tooltip("Cohort size:N"),
                 alt.Tooltip("Value:N", title="Active users" if measure == "users" else "MRR then"),
                 alt.Tooltip("Share:N", title="Share of the cohort" if measure == "users" else "Share of first-month MRR")])
    text = base.mark_text(fontSize=10).encode(
        text="label:N",
        color=alt.condition(alt.datum.share > 0.55 * top, alt.value("white"), alt.value("#1f2328")))
    return alt.layer(rect, text).properties(
        height=24 * len(order) + 190,
        title=alt.TitleParams("Retention by cohort" if measure == "users" else "MRR retention by cohort",
                              subtitle=f"Each row is a month's new {'sign-ups' if measure == 'users' else 'paying customers'}; "
                                       f"cells show the % {'active' if measure == 'users' else 'of first-month MRR kept'} "
                                       f"(row label: cohort {unit_size})", anchor="start"))


def funnel_chart(steps: pd.DataFrame) -> alt.Chart:
    """Users reaching each step, with the share of step 1 and of the step before."""
    data = steps.copy()
    data["Step"] = [f"{s}. {e}" for s, e in zip(data["step"], data["event"])]
    data["Users"] = [f"{u:,}" for u in data["users"]]
    data["Of step 1"] = [format_value(v, "rate") for v in data["of_first"]]
    data["Of the step before"] = [format_value(v, "rate") for v in data["of_previous"]]
    data["Dropped"] = [f"{d:,}" for d in data["dropped"]]
    data["label"] = [f"{u:,} · {format_value(v, 'rate')}" for u, v in zip(data["users"], data["of_first"])]
    order = list(data["Step"])
    base = alt.Chart(data).encode(y=alt.Y("Step:N", sort=order, title=None, axis=alt.Axis(labelLimit=200)))
    bars = base.mark_bar(color=ACTUAL, cornerRadiusEnd=3).encode(
        x=alt.X("users:Q", title="Users (count)", axis=alt.Axis(format=",.0f")),
        tooltip=[alt.Tooltip("Step:N"), alt.Tooltip("Users:N"), alt.Tooltip("Of step 1:N"),
                 alt.Tooltip("Of the step before:N"), alt.Tooltip("Dropped:N", title="Lost since the step before")])
    text = base.mark_text(align="left", dx=4, fontSize=12).encode(x="users:Q", text="label:N")
    return alt.layer(bars, text).properties(height=48 * len(data) + 110,
                                            title=alt.TitleParams("Funnel", subtitle="Users reaching each step, "
                                                                  "and the share of step 1", anchor="start"))


MOVEMENT_COLOURS = {"New": GREEN, "Expansion": "#4ac26b", "Reactivation": "#8ddb8c",
                    "Contraction": "#f0883e", "Churned": RED}


def mrr_movements_chart(moves: pd.DataFrame, grain: str) -> alt.Chart:
    """Gains above zero, losses below, and the net change as a line."""
    data = moves.copy()
    data.attrs = {}   # the net frame rides in attrs; it is drawn as its own layer
    data["t"] = _ts(data["period"])
    data["Period"] = [period_label(p, grain) + (" (partial)" if part else "")
                      for p, part in zip(data["period"], data["partial"])]
    data["Amount"] = [format_value(v, "currency") for v in data["amount"]]
    x = alt.X("t:T", title=None, axis=time_axis(data["t"], grain))
    bars = alt.Chart(data).mark_bar().encode(
        x=x, y=alt.Y("amount:Q", title="MRR movement ($ per period)", axis=alt.Axis(format="$,.0f")),
        color=alt.Color("movement:N", scale=alt.Scale(domain=list(MOVEMENT_COLOURS), range=list(MOVEMENT_COLOURS.values())),
                        legend=alt.Legend(orient="bottom", title=None, columns=3)),
        opacity=alt.condition("datum.partial", alt.value(0.5), alt.value(1.0)),
        tooltip=[alt.Tooltip("Period:N"), alt.Tooltip("movement:N", title="Movement"), alt.Tooltip("Amount:N")])
    net = moves.attrs.get("net")
    layers = [bars]
    if net is not None and not net.empty:
        n = net.copy()
        n["t"] = _ts(n["period"])
        n["Period"] = [period_label(p, grain) for p in n["period"]]
        n["Net new MRR"] = [format_value(v, "currency") for v in n["net"]]
        layers.append(alt.Chart(n).mark_line(color="#1f2328", strokeWidth=2,
                                             point=alt.OverlayMarkDef(color="#1f2328", size=30)).encode(
            x=x, y="net:Q", tooltip=[alt.Tooltip("Period:N"), alt.Tooltip("Net new MRR:N")]))
    return alt.layer(*layers).properties(height=HEIGHT, title=alt.TitleParams(
        "MRR movements", subtitle="New, expansion and reactivation above zero; contraction and churn below; "
                                  "the line is net new MRR", anchor="start"))


def active_users_chart(periods: pd.DataFrame, grain: str) -> alt.Chart:
    """Mean DAU, WAU and MAU per period as three lines."""
    long = periods.melt(id_vars=["period", "partial"], value_vars=["dau", "wau", "mau"], var_name="metric",
                        value_name="users")
    names = {"dau": "DAU (daily)", "wau": "WAU (7 days)", "mau": "MAU (30 days)"}
    long["Metric"] = long["metric"].map(names)
    long["t"] = _ts(long["period"])
    long["Period"] = [period_label(p, grain) + (" (partial)" if part else "")
                      for p, part in zip(long["period"], long["partial"])]
    long["Users"] = [format_value(v, "count") for v in long["users"]]
    x = alt.X("t:T", title=None, axis=time_axis(long["t"], grain))
    return alt.Chart(long).mark_line(point=True, strokeWidth=2).encode(
        x=x, y=alt.Y("users:Q", title="Active users (count, mean per day)", axis=alt.Axis(format=",.0f")),
        color=alt.Color("Metric:N", sort=list(names.values()), scale=alt.Scale(range=SEGMENT_COLOURS[:3]),
                        legend=alt.Legend(orient="bottom", title=None, columns=3)),
        strokeDash=alt.condition("datum.partial", alt.value([4, 4]), alt.value([1, 0])),
        tooltip=[alt.Tooltip("Period:N"), alt.Tooltip("Metric:N"), alt.Tooltip("Users:N")],
    ).properties(height=HEIGHT, title=alt.TitleParams(
        "Active users", subtitle="Distinct users active in the day, the last 7 days and the last 30 days, "
                                 "averaged over the period's days", anchor="start"))


def stickiness_chart(periods: pd.DataFrame, grain: str) -> alt.Chart:
    data = periods.copy()
    data["t"] = _ts(data["period"])
    data["Period"] = [period_label(p, grain) + (" (partial)" if part else "")
                      for p, part in zip(data["period"], data["partial"])]
    data["Stickiness"] = [format_value(v, "rate") for v in data["stickiness"]]
    x = alt.X("t:T", title=None, axis=time_axis(data["t"], grain))
    return alt.Chart(data).mark_line(point=True, strokeWidth=2, color=ACTUAL).encode(
        x=x, y=alt.Y("stickiness:Q", title="Stickiness (%)", axis=alt.Axis(format=".0%"),
                     scale=alt.Scale(zero=True)),
        tooltip=[alt.Tooltip("Period:N"), alt.Tooltip("Stickiness:N", title="DAU / MAU")],
    ).properties(height=260, title=alt.TitleParams(
        "Stickiness (DAU / MAU)", subtitle="How many of the month's users come back on a given day", anchor="start"))


CHARTS = {}   # filled below: name -> chart function, for draw()


def draw(chart: str, /, *, key: str | None = None, **kwargs) -> None:
    """Draw one of this module's charts at full width, with PNG and SVG downloads under it.

    Building an Altair chart and validating it costs 0.2-0.4 s; the finished Vega-Lite spec is
    cached by the chart's inputs (frames included), so a re-render reuses it. Specs are checked
    against the schema once, in the tests, not on every run. The image files are made only when
    a download is clicked (a callable), so drawing stays fast.
    """
    spec = _spec(chart, kwargs)
    st.vega_lite_chart(spec=spec, width="stretch")
    name = key or chart
    png, svg, _ = st.columns([1, 1, 6])
    png.download_button("PNG", data=lambda: chart_png(spec), file_name=f"{name}.png", mime="image/png",
                        key=f"png_{name}", icon=":material/image:", on_click="ignore", type="tertiary")
    svg.download_button("SVG", data=lambda: chart_svg(spec), file_name=f"{name}.svg", mime="image/svg+xml",
                        key=f"svg_{name}", icon=":material/draw:", on_click="ignore", type="tertiary")


def chart_png(spec: dict) -> bytes:
    """The chart as a PNG image (twice the screen resolution), for slides and e-mails."""
    import vl_convert
    return vl_convert.vegalite_to_png(_with_size(spec), scale=2)


def chart_svg(spec: dict) -> str:
    """The chart as an SVG drawing."""
    import vl_convert
    return vl_convert.vegalite_to_svg(_with_size(spec))


def _with_size(spec: dict) -> dict:
    # On the page the chart takes the container's width; a file needs a width of its own. Dates
    # in the inline data go as ISO text (the converter takes plain JSON only).
    sized = json.loads(json.dumps(spec, default=str))
    if sized.get("width") in (None, "container"):
        sized["width"] = 900
    return sized


@st.cache_data(show_spinner=False, max_entries=512)
def _spec(chart: str, kwargs: dict) -> dict:
    return CHARTS[chart](**kwargs).to_dict(validate=False)


def status_colour(status: str) -> str:
    """The hex colour of a status key (achieved, on_track, ...): the one palette of the app."""
    return status_hex(status)


CHARTS.update({f.__name__: f for f in (trend_chart, segment_chart, contribution_chart, cohort_heatmap, funnel_chart,
                                       mrr_movements_chart, active_users_chart, stickiness_chart)})
