"""The KPI card and the scorecard's summary: one place that draws a KPI's value, changes, sparkline,
target status, projection and flags, used by every page that shows a KPI at a glance.

Status colours come from ``kpi.goals`` only (``Status.colour`` / ``COLOUR_HEX``). The only HTML
written here is built from the app's own words (status labels, formatted numbers), escaped all
the same; names and notes a user typed are always passed as plain text or Markdown.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import streamlit as st

from kpi import analysis
from kpi.formatting import format_change, format_value
from kpi.goals import COLOUR_HEX, STATUS_STYLE, STATUSES, Status, summary_line
from ui.text import plain

MODES = ("Executive", "Team")
# Worst first: what a reader should see before anything else.
SEVERITY = {"off_track": 0, "missed": 1, "at_risk": 2, "no_data": 3, "on_track": 4, "achieved": 5, None: 6}
TRENDS_PAGE = "pages/trends.py"


@dataclass(frozen=True)
class Card:
    """Everything one KPI card shows, worked out before drawing."""
    kpi: str
    name: str
    unit: str
    direction: str
    perspective: str
    description: str
    formula: str
    grain: str
    head: analysis.Headline
    status: Status | None = None              # the card's target (the worst one when several)
    more_statuses: tuple[Status, ...] = ()
    flags: tuple[str, ...] = ()               # how far to trust the numbers (partial, history, anomaly)
    warnings: tuple[str, ...] = ()            # data-quality rule breaks in the datasets it reads
    alert_levels: dict = field(default_factory=dict)   # (target, deadline) -> (alert_below, alert_above)

    @property
    def severity(self) -> tuple[int, int]:
        return (SEVERITY.get(self.status.status if self.status else None, 6),
                0 if self.status is not None and self.status.alert else 1)

    @property
    def needs_attention(self) -> bool:
        return self.status is not None and (self.status.status in ("off_track", "missed") or self.status.alert)


def build_cards(kpis: list[str], frame: pd.DataFrame, statuses: list[Status], *, grain: str, as_of: date,
                labels: dict, texts: dict, warnings: dict | None = None, targets=()) -> list[Card]:
    """Cards for ``kpis`` (in that order) from a compute frame at ``grain`` and the goal statuses.

    ``labels``: kpi -> object with name, unit, direction (``scorecard.kpi_label``). ``texts``: kpi ->
    (perspective, description, formula). ``warnings``: kpi -> data-quality sentences. ``targets``:
    the goals' targets, for their alert levels.
    """
    levels: dict[str, dict] = {}
    for t in targets:
        levels.setdefault(t.kpi, {})[(float(t.target), t.deadline)] = (t.alert_below, t.alert_above)
    by_kpi: dict[str, list[Status]] = {}
    for s in statuses:
        by_kpi.setdefault(s.kpi, []).append(s)
    cards = []
    for k in kpis:
        label = labels[k]
        series = analysis.series_of(frame, k)
        mine = sorted(by_kpi.get(k, []), key=lambda s: SEVERITY.get(s.status, 6))
        persp, description, formula = texts[k]
        cards.append(Card(
            kpi=k, name=label.name, unit=label.unit, direction=label.direction, perspective=persp,
            description=description, formula=formula, grain=grain,
            head=analysis.headline(series, grain),
            status=mine[0] if mine else None, more_statuses=tuple(mine[1:]),
            flags=tuple(analysis.quality_flags(series, grain, as_of, label.unit)),
            warnings=tuple((warnings or {}).get(k, ())), alert_levels=levels.get(k, {})))
    return cards


# ---------------------------------------------------------------------------------------------
# Small pieces of text
# ---------------------------------------------------------------------------------------------
def status_badge_html(status: str, extra: str = "") -> str:
    """A filled pill in the status colour: our own label, escaped anyway."""
    label, colour = STATUS_STYLE[status]
    text = html.escape(label + (f" · {extra}" if extra else ""))
    return (f'<span style="background:{COLOUR_HEX[colour]};color:#fff;border-radius:999px;'
            f'padding:0.12rem 0.6rem;font-weight:600;font-size:0.85rem;white-space:nowrap">{text}</span>')


def summary_html(statuses: list[Status]) -> str:
    """goals.summary_line, each part in its status colour ("5 on track · 1 at risk · 1 off track")."""
    names = [s.status for s in statuses]
    parts = []
    for key in STATUSES:
        n = names.count(key)
        if n:
            label, colour = STATUS_STYLE[key]
            parts.append(f'<span style="color:{COLOUR_HEX[colour]}">{n} {html.escape(label.lower())}</span>')
    body = " · ".join(parts) if parts else html.escape(summary_line([]))
    return f'<div style="font-size:1.7rem;font-weight:700;line-height:1.3">{body}</div>'


def metric_delta(change: float | None, unit: str) -> str | None:
    """The change as st.metric reads it: an ASCII minus for a fall, so the arrow and colour follow."""
    if change is None:
        return None
    return format_change(change, unit).replace("−", "-", 1)


def delta_colour(direction: str, change: float | None) -> str:
    if change is None or change == 0:
        return "off"
    return "inverse" if direction == "lower" else "normal"


def change_words(change: float | None, before: float | None, unit: str, direction: str, against: str) -> str:
    """':green[+$12,300 (+3.3 %)] on Oct 2025' — coloured by whether the change is good."""
    if change is None:
        return f"no value for {against}"
    text = format_change(change, unit)
    rel = analysis.relative_change(change, before)
    if rel is not None and unit != "rate":
        text += f" ({format_change(rel, 'rate').replace(' pp', ' %')})"
    good = (change > 0) if direction == "higher" else (change < 0)
    colour = "gray" if change == 0 else ("green" if good else "red")
    return f":{colour}[{text}] on {against}"


def help_text(card: Card) -> str:
    better = "Higher is better." if card.direction == "higher" else "Lower is better."
    parts = [plain(card.description.strip() or card.name),
             f"**How it is worked out:** {plain(card.formula)}" if card.formula else "",
             better]
    return "\n\n".join(p for p in parts if p)


def target_words(s: Status, unit: str) -> str:
    return f"Target **{format_value(s.target, unit)}** by {s.deadline:%d %b %Y}"


def progress_words(s: Status) -> str:
    if s.progress is None:
        return "Progress: no baseline to measure from yet"
    if s.progress < 0:
        return (f"Further from the target than at the baseline ({s.baseline_date:%d %b %Y})"
                if s.baseline_date else "Further from the target than at the baseline")
    expected = f" · {s.expected * 100:.0f} % of the time gone" if s.expected is not None else ""
    return f"Progress **{round(s.progress * 100)} %** of the way{expected}"


def projection_words(s: Status, unit: str, grain: str) -> str:
    bits = []
    if s.projection is not None:
        bits.append(f"Heading for **{format_value(analysis.clamp_to_unit(s.projection, unit), unit)}** "
                    "by the deadline")
    if s.needed_per_period is not None and s.status not in ("achieved", "missed"):
        bits.append(f"needs {format_change(s.needed_per_period, unit)} a {grain} "
                    f"for {s.periods_left} more {grain}{'s' if s.periods_left != 1 else ''}")
    return " · ".join(bits)


def alert_words(s: Status, card: Card) -> str:
    """The alert in the KPI's unit: '8.6 % is above the alert level of 7.0 %'."""
    t = card.alert_levels.get((s.target, s.deadline)) if card.alert_levels else None
    if t is not None:
        below, above = t
        if below is not None and s.value is not None and s.value < below:
            return f"{format_value(s.value, card.unit)} is below the alert level of {format_value(below, card.unit)}"
        if above is not None and s.value is not None and s.value > above:
            return f"{format_value(s.value, card.unit)} is above the alert level of {format_value(above, card.unit)}"
    return s.alert_reason or "outside its alert levels"


def partial_words(head: analysis.Headline, grain: str, as_of: date) -> str:
    if not head.partial or head.period is None:
        return ""
    return f"{analysis.period_label(head.period, grain)} so far (data up to {as_of:%d %b})"


# ---------------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------------
def kpi_card(card: Card, *, mode: str = "Team", as_of: date, key: str) -> None:
    """One KPI card. Executive: value, change, status and target in few words. Team: everything."""
    h = card.head
    with st.container(border=True, key=f"card_{key}"):
        prev_label = analysis.period_label(h.previous_period, card.grain) if h.previous_period else None
        st.metric(
            label=plain(card.name), value=format_value(h.value, card.unit),
            delta=metric_delta(h.change, card.unit), delta_color=delta_colour(card.direction, h.change),
            delta_arrow="off" if h.change == 0 else "auto",
            delta_description=f"vs {prev_label}" if prev_label and h.change is not None else None,
            chart_data=[v for v in h.spark if v is not None] or None, chart_type="line",
            help=help_text(card))
        badges = []
        s = card.status
        if s is not None:
            badges.append(status_badge_html(s.status))
        if s is not None and s.alert:
            badges.append(_alert_html())
        if h.partial:
            badges.append(_chip_html("Partial " + card.grain))
        if badges:
            st.markdown(" ".join(badges), unsafe_allow_html=True)
        if s is not None:
            line = target_words(s, card.unit)
            if mode == "Executive":
                if s.progress is not None:
                    line += (f" · {round(s.progress * 100)} % of the way" if s.progress >= 0
                             else " · moving away from it")
                st.markdown(line)
            else:
                st.markdown(line + (f" · judged {s.grain}ly on {format_value(s.value, card.unit)}"
                                    if s.grain != card.grain else ""))
                if s.progress is not None:
                    st.progress(min(max(s.progress, 0.0), 1.0), text=progress_words(s))
                else:
                    st.caption(progress_words(s))
                words = projection_words(s, card.unit, s.grain)
                if words:
                    st.markdown(words)
                if s.alert:
                    st.markdown(f"⚠️ Alert: {alert_words(s, card)}")
                for more in card.more_statuses:
                    st.caption(f"Also: {STATUS_STYLE[more.status][0]} against "
                               f"{format_value(more.target, card.unit)} by {more.deadline:%d %b %Y}")
        elif mode == "Team":
            st.caption("No target yet: set one on the Goals page.")
        if mode == "Team":
            if h.year_ago_period is not None:
                st.markdown(change_words(h.year_change, h.year_ago, card.unit, card.direction,
                                         analysis.period_label(h.year_ago_period, card.grain)))
            if h.partial and h.last_complete_period is not None:
                st.caption(f"{partial_words(h, card.grain, as_of)}. Last complete "
                           f"{card.grain}, {analysis.period_label(h.last_complete_period, card.grain)}: "
                           f"{format_value(h.last_complete, card.unit)}")
            for flag in card.flags:
                if not flag.startswith("The current"):
                    st.caption(f":material/info: {flag}")
            for warning in card.warnings:
                st.caption(f"⚠️ Data: {plain(warning)}")
        st.page_link(TRENDS_PAGE, label="Open in Trends", icon=":material/show_chart:",
                     query_params={"kpi": card.kpi}, help=f"See {plain(card.name)} over time, its anomalies and what drove them")


def _alert_html() -> str:
    return (f'<span style="border:1.5px solid {COLOUR_HEX["red"]};color:{COLOUR_HEX["red"]};border-radius:999px;'
            f'padding:0.05rem 0.5rem;font-weight:600;font-size:0.85rem;white-space:nowrap">⚠ Alert</span>')


def _chip_html(text: str) -> str:
    return (f'<span style="border:1px solid {COLOUR_HEX["grey"]};color:{COLOUR_HEX["grey"]};border-radius:999px;'
            f'padding:0.05rem 0.5rem;font-size:0.85rem;white-space:nowrap">{html.escape(text)}</span>')


def attention_list(cards: list[Card]) -> None:
    """The KPIs to look at first: off track, missed, or alerting, worst first, each with its link."""
    todo = sorted([c for c in cards if c.needs_attention], key=lambda c: c.severity)
    if not todo:
        return
    with st.container(border=True, key="attention"):
        st.markdown("**Needs attention**")
        for c in todo:
            s = c.status
            left, right = st.columns([5, 2], vertical_alignment="center")
            with left:
                reason = alert_words(s, c) if s.alert and s.status not in ("off_track", "missed") else (
                    f"{format_value(s.value, c.unit)} against a target of {format_value(s.target, c.unit)} "
                    f"by {s.deadline:%d %b %Y}")
                st.markdown(status_badge_html(s.status) + (" " + _alert_html() if s.alert else ""),
                            unsafe_allow_html=True)
                st.markdown(f"**{plain(c.name)}** — {reason}")
            with right:
                st.page_link(TRENDS_PAGE, label="Open in Trends", icon=":material/show_chart:",
                             query_params={"kpi": c.kpi})


def safe_page_link(page: str, *, label: str, icon: str | None = None, **kwargs) -> None:
    """st.page_link, or the label as plain text while that page is not part of the app (yet)."""
    from streamlit.errors import StreamlitAPIException
    try:
        st.page_link(page, label=label, icon=icon, **kwargs)
    except StreamlitAPIException:
        st.caption(f"{label} (that page is not available in this version)")


def require_dated_data(ws, as_of: date | None, *, what: str, nothing: str) -> date:
    """Stop a page that needs dated rows, saying what to do; otherwise the data's as-of date.

    ``what`` completes "Load some data first: ... worked out from your tables"; ``nothing`` ends
    "The loaded data has no dated rows yet, so there is ...".
    """
    if not ws.datasets():
        st.info(f"Load some data first: {what} worked out from your tables.")
        safe_page_link("pages/data.py", label="Go to Data", icon=":material/upload_file:")
        st.stop()
    if as_of is None:
        st.info(f"The loaded data has no dated rows yet, so there is {nothing}.")
        st.stop()
    return as_of
