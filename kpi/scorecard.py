"""The scorecard: every target of a goals document evaluated against the workspace's data.

Shared by the app's Scorecard page, the exports and ``python -m kpi scorecard|check``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from . import catalog
from .compute import as_of_date, compute
from .formatting import format_change, format_value
from .goals import GoalsDoc, Status, evaluate, summary_line
from .workspace import Workspace


@dataclass(frozen=True)
class KpiLabel:
    """What a page needs to show a KPI that may be a catalog one or a custom/imported one."""
    id: str
    name: str
    unit: str
    direction: str


def kpi_label(kpi_id: str, ws: Workspace | None = None) -> KpiLabel:
    """Name, unit and direction of a catalog KPI, or — given the workspace — of one of its custom
    KPIs (kpi/custom.py), else of an imported name."""
    meta = catalog.CATALOG.get(kpi_id)
    if meta:
        return KpiLabel(meta.id, meta.name, meta.unit, meta.direction)
    if ws is not None:
        from .custom import load_custom_kpis
        mine = load_custom_kpis(ws).get(kpi_id)
        if mine:
            return KpiLabel(mine.id, mine.name, mine.unit, mine.direction)
    # Imported (kpi_values) names are custom KPIs: unit ratio, higher is better (kpis.md).
    return KpiLabel(kpi_id, kpi_id.replace("_", " ").capitalize(), "ratio", "higher")


def scorecard(ws: Workspace, doc: GoalsDoc, as_of=None) -> list[Status]:
    """Evaluate each target at its own grain; one compute call per grain."""
    as_of = as_of or as_of_date(ws) or dt.date.today()
    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of)
    by_grain: dict[str, list] = {}
    for t in doc.targets:
        by_grain.setdefault(t.grain, []).append(t)
    statuses: dict[int, Status] = {}
    for grain, targets in by_grain.items():
        frame = compute(ws, [t.kpi for t in targets], grain=grain, as_of=as_of)
        frame = frame[frame["segment"].isna()]
        for t in targets:
            series = frame[frame["kpi"] == t.kpi][["period", "value", "partial"]]
            statuses[id(t)] = evaluate(t, series, as_of, kpi_label(t.kpi, ws).direction)
    return [statuses[id(t)] for t in doc.targets]


def scorecard_records(statuses: list[Status]) -> list[dict]:
    return [s.to_record() for s in statuses]


def scorecard_markdown(statuses: list[Status], as_of=None, ws: Workspace | None = None) -> str:
    """The digest a PM pastes into a chat or an e-mail (same content as the JSON). ``ws`` names
    its custom KPIs (their name and unit, not their id)."""
    head = f"**KPI scorecard**{f' as of {as_of}' if as_of else ''} — {summary_line(statuses) or 'no targets'}"
    lines = [head, "", "| KPI | Period | Value | Change | Target | Deadline | Progress | Status |",
             "|---|---|---|---|---|---|---|---|"]
    for s in statuses:
        label = kpi_label(s.kpi, ws)
        period = f"{s.period}{' (partial)' if s.partial else ''}" if s.period else "—"
        progress = "—" if s.progress is None else f"{round(s.progress * 100)} %"
        status = s.label + (" ⚠ alert" if s.alert else "")
        lines.append(f"| {_cell(label.name)} | {period} | {format_value(s.value, label.unit)} | "
                     f"{format_change(s.change, label.unit)} | {format_value(s.target, label.unit)} | "
                     f"{s.deadline} | {progress} | {status} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def needs_attention(statuses: list[Status]) -> list[Status]:
    """Targets `check` reports: off track, missed, or raising an alert."""
    return [s for s in statuses if s.status in ("off_track", "missed") or s.alert]
