"""The scorecard: every target of a goals document evaluated against the workspace's data.

Shared by the app's Scorecard and Goals pages, the alerts banner, the exports and
``python -m kpi scorecard|check``: statuses are decided once, by :func:`kpi.goals.evaluate`, here.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from . import catalog
from .compute import as_of_date, compute
from .formatting import format_change, format_date, format_progress, format_value, period_label
from .goals import GoalsDoc, Status, evaluate, summary_line, value_bounds
from .workspace import Workspace


@dataclass(frozen=True)
class KpiLabel:
    """What a page needs to show a KPI that may be a catalog one or a custom/imported one."""
    id: str
    name: str
    unit: str
    direction: str
    kind: str = "flow"       # stock: a level on the period's last day; flow: what happened in it


def kpi_label(kpi_id: str, ws: Workspace | None = None) -> KpiLabel:
    """Name, unit and direction of a catalog KPI, or — given the workspace — of one of its custom
    KPIs (kpi/custom.py), else of an imported name. Custom and imported KPIs count what happened
    in a period: flows."""
    meta = catalog.CATALOG.get(kpi_id)
    if meta:
        return KpiLabel(meta.id, meta.name, meta.unit, meta.direction, meta.kind)
    if ws is not None:
        from .custom import load_custom_kpis
        mine = load_custom_kpis(ws).get(kpi_id)
        if mine:
            return KpiLabel(mine.id, mine.name, mine.unit, mine.direction)
    # Imported (kpi_values) names are custom KPIs: unit ratio, higher is better (kpis.md).
    return KpiLabel(kpi_id, kpi_id.replace("_", " ").capitalize(), "ratio", "higher")


def scorecard(ws: Workspace, doc: GoalsDoc, as_of=None) -> list[Status]:
    """Evaluate each target at its own grain as of ``as_of`` (default: the data's as-of date).

    One compute call per grain for the statuses, and one per (grain, deadline) for targets whose
    deadline has passed: those are judged on the series as of their deadline (goals.md).
    """
    as_of = as_of or as_of_date(ws) or dt.date.today()
    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of)
    by_grain: dict[str, list] = {}
    for t in doc.targets:
        by_grain.setdefault(t.grain, []).append(t)
    statuses: dict[int, Status] = {}
    for grain, targets in by_grain.items():
        frame = _whole(compute(ws, [t.kpi for t in targets], grain=grain, as_of=as_of))
        at_deadline = {}
        for deadline in sorted({t.deadline for t in targets if t.deadline <= as_of}):
            kpis = [t.kpi for t in targets if t.deadline == deadline]
            at_deadline[deadline] = _whole(compute(ws, kpis, grain=grain, as_of=deadline))
        for t in targets:
            label = kpi_label(t.kpi, ws)
            series = frame[frame["kpi"] == t.kpi][["period", "value", "partial"]]
            judged = at_deadline.get(t.deadline)
            if judged is not None:
                judged = judged[judged["kpi"] == t.kpi][["period", "value", "partial"]]
            statuses[id(t)] = evaluate(t, series, as_of, label.direction, kind=label.kind, unit=label.unit,
                                       bounds=value_bounds(t.kpi, label.unit), deadline_series=judged)
    return [statuses[id(t)] for t in doc.targets]


def _whole(frame):
    return frame[frame["segment"].isna()] if len(frame) else frame


def scorecard_records(statuses: list[Status]) -> list[dict]:
    return [s.to_record() for s in statuses]


def status_text(s: Status) -> str:
    """The status as exports and digests print it: 'Off track (heading for 4.7 % by 31 Mar 2027)',
    with ' · alert' when one is raised."""
    text = f"{s.label} ({s.reason()})"
    return text + (" · alert" if s.alert else "")


def scorecard_markdown(statuses: list[Status], as_of=None, ws: Workspace | None = None) -> str:
    """The digest a PM pastes into a chat or an e-mail (the same content as the JSON). ``ws`` names
    its custom KPIs (their name and unit, not their id)."""
    when = f" as of {format_date(as_of)}" if as_of else ""
    head = f"**KPI scorecard**{when} — {summary_line(statuses) or 'no targets'}"
    lines = [head, "", "| KPI | Period | Value | Change | Target | Progress | Status |",
             "|---|---|---|---|---|---|---|"]
    for s in statuses:
        label = kpi_label(s.kpi, ws)
        progress = "hold" if s.is_hold else format_progress(s.progress)
        lines.append(f"| {_cell(label.name)} | {period_label(s.period, s.grain)} | "
                     f"{format_value(s.value, label.unit)} | {format_change(s.change, label.unit)} | "
                     f"{_cell(s.target_words())} | {progress} | {_cell(status_text(s))} |")
    so_far = [f"{kpi_label(s.kpi, ws).name}: {s.so_far_words()}" for s in statuses if s.so_far_words()]
    if so_far:
        lines += ["", "Running periods, not yet judged: " + "; ".join(_cell(x) for x in so_far) + "."]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def needs_attention(statuses: list[Status]) -> list[Status]:
    """Targets `check` and the alerts banner report: off track, missed, raising an alert, or with
    no data to judge them on (no value, no baseline value, or none for the deadline's period): a
    goal that cannot be judged needs someone to fix its data or its baseline — waiting for the
    deadline would only hide it. Targets not started yet wait."""
    return [s for s in statuses if s.status in ("off_track", "missed", "no_data") or s.alert]


def attention_words(s: Status) -> str:
    """Why a target needs attention, in a few words ('off track: behind pace…', 'alert: 8.6 % is
    above the alert level of 7.0 %', 'no data: no baseline to measure from…')."""
    if s.alert and s.status not in ("off_track", "missed"):
        return f"alert: {s.alert_reason}"
    return f"{s.label.lower()}: {s.reason()}" + (f"; alert: {s.alert_reason}" if s.alert else "")
