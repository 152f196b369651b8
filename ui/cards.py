"""The KPI card and the scorecard's summary: one place that draws a KPI's value, changes, sparkline,
target status, projection and flags, used by every page that shows a KPI at a glance.

Every colour comes from the one colour language of ``kpi/colours.py`` (green good news, amber at
risk, red bad news, grey no status), every status word from ``kpi.goals.Status``. The only HTML
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
from kpi.colours import COLOUR_HEX, STREAMLIT_NAME, card_colour, change_colour, status_hex
from kpi.formatting import display_step, format_change, format_progress, format_value
from kpi.goals import STATUS_STYLE, STATUSES, Status, summary_line
from ui.text import plain

MODES = ("Executive", "Team")
# Worst first: what a reader should see before anything else.
SEVERITY = {"off_track": 0, "missed": 1, "at_risk": 2, "no_data": 3, "not_started": 4, "on_track": 5, "achieved": 6,
            None: 7}
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
        return (SEVERITY.get(self.status.status if self.status else None, 7),
                0 if self.status is not None and self.status.alert else 1)

    @property
    def needs_attention(self) -> bool:
        from kpi.scorecard import needs_attention
        return self.status is not None and bool(needs_attention([self.status]))


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
        mine = sorted(by_kpi.get(k, []), key=lambda s: SEVERITY.get(s.status, 7))
        persp, description, formula = texts[k]
        cards.append(Card(
            kpi=k, name=label.name, unit=label.unit, direction=label.direction, perspective=persp,
            description=description, formula=formula, grain=grain,
            head=analysis.headline(series, grain, kind=getattr(label, "kind", None), as_of=as_of),
            status=mine[0] if mine else None, more_statuses=tuple(mine[1:]),
            flags=tuple(analysis.quality_flags(series, grain, as_of, label.unit)),
            warnings=tuple((warnings or {}).get(k, ())), alert_levels=levels.get(k, {})))
    return cards


# ---------------------------------------------------------------------------------------------
# Small pieces of text
# ---------------------------------------------------------------------------------------------
def status_badge_html(status: str, extra: str = "") -> str:
    """A filled pill in the status colour: our own label, escaped anyway."""
    label = STATUS_STYLE[status][0]
    text = html.escape(label + (f" · {extra}" if extra else ""))
    return (f'<span style="background:{status_hex(status)};color:#fff;border-radius:999px;'
            f'padding:0.12rem 0.6rem;font-weight:600;font-size:0.85rem;white-space:nowrap">{text}</span>')


def summary_html(statuses: list[Status]) -> str:
    """goals.summary_line, each part in its status colour ("5 on track · 1 at risk · 1 off track")."""
    names = [s.status for s in statuses]
    parts = []
    for key in STATUSES:
        n = names.count(key)
        if n:
            parts.append(f'<span style="color:{status_hex(key)}">{n} {html.escape(STATUS_STYLE[key][0].lower())}</span>')
    body = " · ".join(parts) if parts else html.escape(summary_line([]))
    return f'<div style="font-size:1.7rem;font-weight:700;line-height:1.3">{body}</div>'


def metric_delta(change: float | None, unit: str) -> str | None:
    """The change as st.metric reads it: an ASCII minus for a fall, so the arrow follows."""
    if change is None:
        return None
    return format_change(change, unit).replace("−", "-", 1)


def delta_colour(direction: str, change: float | None, unit: str | None = None, trend: float | None = None) -> str:
    """st.metric's colour for a card's change and sparkline, from the one colour language: green
    when the change (and the sparkline's trend) go the KPI's better way — a falling churn rate —,
    red when they go the worse way, grey when they disagree or round to nothing."""
    negligible = display_step(change, unit) / 2 if unit and change is not None else 0.0
    return STREAMLIT_NAME[card_colour(change, trend, direction, negligible=negligible)]


def change_words(change: float | None, before: float | None, unit: str, direction: str, against: str) -> str:
    """':green[+$12,300 (+3.3 %)] on Oct 2025' — coloured by whether the change is good news."""
    if change is None:
        return f"no value for {against}"
    text = format_change(change, unit)
    rel = analysis.relative_change(change, before)
    if rel is not None and unit != "rate":
        text += f" ({format_change(rel, 'rate').replace(' pp', ' %')})"
    negligible = display_step(change, unit) / 2
    return f":{STREAMLIT_NAME[change_colour(change, direction, negligible=negligible)]}[{plain(text)}] on {against}"


def help_text(card: Card) -> str:
    better = "Higher is better." if card.direction == "higher" else "Lower is better."
    parts = [plain(card.description.strip() or card.name),
             f"**How it is worked out:** {plain(card.formula)}" if card.formula else "",
             better]
    return "\n\n".join(p for p in parts if p)


def target_words(s: Status, unit: str | None = None) -> str:
    """'Target **$598** by 31 Mar 2027' or 'Hold at or below **2.1 %** until 31 Mar 2027'."""
    words = s.target_words()
    shown = format_value(s.target, s.unit or unit or "")
    before, _, after = words.partition(shown)
    return f"{plain(before)}**{plain(shown)}**{plain(after)}"


def progress_words(s: Status) -> str:
    """'Progress **45 %** of the way · 40 % of the time gone', 'far behind', or why there is none."""
    if s.is_hold:
        return "A hold target: no progress figure — it is judged on staying at the level"
    if s.progress is None:
        return "Progress: " + s.progress_words()
    expected = f" · {round(s.expected * 100):d} % of the time gone" if s.expected is not None else ""
    shown = format_progress(s.progress)
    return (f"Progress **{shown}**" if shown.startswith("far") else f"Progress **{shown}** of the way") + expected


def projection_words(s: Status, unit: str | None = None, grain: str | None = None) -> str:
    """'Heading for **4.7 %** by 31 Mar 2027 (80 % band …) · needs +0.4 pp a month for 5 more months'."""
    bits = []
    heading = s.projection_words()
    if heading and s.decided_by == "forecast" and s.projection_low is not None:
        # The status line already says where it is heading: only the band is new here.
        heading = heading[heading.index("(") + 1:-1]
    elif heading and s.decided_by == "forecast":
        heading = ""
    if heading:
        bits.append(heading[0].upper() + heading[1:])
    needed = s.run_rate_words()
    if needed:
        bits.append(needed)
    return plain(" · ".join(bits))     # markdown-safe: two "$" on a line would read as a formula


def alert_words(s: Status, card: Card | None = None) -> str:
    """The alert in the KPI's unit: '8.6 % is above the alert level of 7.0 %'."""
    return s.alert_reason or "outside its alert levels"


def partial_words(head: analysis.Headline, grain: str, as_of: date) -> str:
    """'Nov 2026 so far (4 of 30 days): 2.1 %' — a flow KPI's running period, never compared."""
    if head.so_far_period is None:
        return ""
    days = f" ({head.so_far_days} of {head.period_days} days)" if head.so_far_days else ""
    return f"{analysis.period_label(head.so_far_period, grain)} so far{days}"


# ---------------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------------
def kpi_card(card: Card, *, mode: str = "Team", as_of: date, key: str) -> None:
    """One KPI card. Executive: value, change, status and target in few words. Team: everything.

    The value is like for like (analysis.headline): a flow KPI's latest complete period against
    the one before, its running period beside it as "so far"; a stock's level now."""
    h = card.head
    with st.container(border=True, key=f"card_{key}"):
        prev_label = analysis.period_label(h.previous_period, card.grain) if h.previous_period else None
        against = (f"since the end of {prev_label}" if h.partial else f"vs {prev_label}") if prev_label else None
        st.metric(
            label=plain(card.name), value=format_value(h.value, card.unit),
            delta=metric_delta(h.change, card.unit), delta_color=delta_colour(card.direction, h.change, card.unit, h.trend),
            delta_arrow="off" if not h.change else "auto",
            delta_description=(f"{analysis.period_label(h.period, card.grain)}, {against}"
                               if against and h.change is not None else
                               analysis.period_label(h.period, card.grain) if h.period else None),
            chart_data=[v for v in h.spark if v is not None] or None, chart_type="line",
            help=help_text(card))
        badges = []
        s = card.status
        if s is not None:
            badges.append(status_badge_html(s.status))
        if s is not None and s.alert:
            badges.append(_alert_html())
        if h.so_far_period is not None:
            badges.append(_chip_html(partial_words(h, card.grain, as_of)))
        if badges:
            st.markdown(" ".join(badges), unsafe_allow_html=True)
        if s is not None:
            line = target_words(s, card.unit)
            if mode == "Executive":
                shown = "hold" if s.is_hold else (format_progress(s.progress) if s.progress is not None else "")
                line += f" · {shown}" + (" of the way" if "%" in shown else "") if shown else ""
                st.markdown(line)
                reason = s.reason()
                st.caption(plain(reason[:1].upper() + reason[1:]))
            else:
                st.markdown(line + (plain(f" · judged {s.grain}ly on {format_value(s.value, card.unit)}"
                                          f" ({analysis.period_label(s.period, s.grain)})")
                                    if s.grain != card.grain and s.period is not None else ""))
                st.markdown(f"**{s.label}**: {plain(s.reason())}")
                if s.progress is not None and not s.is_hold:
                    st.progress(min(max(s.progress, 0.0), 1.0), text=progress_words(s))
                else:
                    st.caption(progress_words(s))
                words = projection_words(s)
                if words:
                    st.markdown(words)
                if s.alert:
                    st.markdown(f":red[:material/warning: Alert: {plain(alert_words(s))}]")
                for more in card.more_statuses:
                    st.caption(plain(f"Also: {STATUS_STYLE[more.status][0]} against "
                                     f"{more.target_words()[:1].lower()}{more.target_words()[1:]}"))
        elif mode == "Team":
            st.caption("No target yet: set one on the Goals page.")
        if mode == "Team":
            if h.year_ago_period is not None:
                st.markdown(change_words(h.year_change, h.year_ago, card.unit, card.direction,
                                         analysis.period_label(h.year_ago_period, card.grain)))
            if h.so_far_period is not None:
                st.caption(plain(f"{partial_words(h, card.grain, as_of)}: {format_value(h.so_far, card.unit)}. "
                                 f"A running {card.grain} is not compared with whole ones."))
            for flag in card.flags:
                if not flag.startswith("The current"):
                    st.caption(f":material/info: {flag}")
            for warning in card.warnings:
                st.caption(f"⚠️ Data: {plain(warning)}")
        st.page_link(TRENDS_PAGE, label="Open in Trends", icon=":material/show_chart:",
                     query_params={"kpi": card.kpi}, help=f"See {plain(card.name)} over time, its anomalies and what drove them")


def _alert_html() -> str:
    red = COLOUR_HEX["red"]
    return (f'<span style="border:1.5px solid {red};color:{red};border-radius:999px;'
            f'padding:0.05rem 0.5rem;font-weight:600;font-size:0.85rem;white-space:nowrap">⚠ Alert</span>')


def _chip_html(text: str) -> str:
    grey = COLOUR_HEX["grey"]
    return (f'<span style="border:1px solid {grey};color:{grey};border-radius:999px;'
            f'padding:0.05rem 0.5rem;font-size:0.85rem;white-space:nowrap">{html.escape(text)}</span>')


def attention_list(cards: list[Card]) -> None:
    """The KPIs to look at first (kpi.scorecard.needs_attention), worst first, each with its link."""
    todo = sorted([c for c in cards if c.needs_attention], key=lambda c: c.severity)
    if not todo:
        return
    with st.container(border=True, key="attention"):
        st.markdown("**Needs attention**")
        for c in todo:
            s = c.status
            left, right = st.columns([5, 2], vertical_alignment="center")
            with left:
                st.markdown(status_badge_html(s.status) + (" " + _alert_html() if s.alert else ""),
                            unsafe_allow_html=True)
                goal = target_words(s, c.unit)
                why = s.reason() + (f"; alert: {s.alert_reason}" if s.alert else "")   # the pill says the status
                st.markdown(f"**{plain(c.name)}** — {plain(format_value(s.value, c.unit))}; {goal[:1].lower()}{goal[1:]}: "
                            f"{plain(why)}")
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
