"""The scorecard as files to send to stakeholders: CSV for a spreadsheet, a one-page HTML report
(also as PDF and PNG), and the Markdown digest of ``python -m kpi scorecard --format markdown``.

Every KPI of the set is a row: one with a target takes its numbers and words from the scorecard's
:class:`kpi.goals.Status` (the target's grain, the same as the CLI's JSON); one without takes its
like-for-like headline from the KPI frame the page shows. Text that came from users (custom KPI
names) is made harmless for each format: a CSV cell a spreadsheet would run as a formula is
prefixed with ``'``; every HTML text is escaped; the image draws it as data, never markup.
"""
from __future__ import annotations

import csv
import datetime as dt
import html
import io
import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import pandas as pd

from .colours import GREY, status_hex
from .formatting import (format_change, format_date, format_progress, format_value, period_label,
                         round_for_file)
from .goals import Status, summary_line
from .scorecard import kpi_label, scorecard_markdown
from .workspace import Workspace

# The scorecard's JSON fields (cli.md), with the KPI's name and unit, and the words a page shows.
RECORD_FIELDS = ("kpi", "grain", "period", "value", "previous", "change", "target", "deadline", "baseline",
                 "progress", "expected", "status", "alert", "projection", "target_kind", "decided_by")
CSV_COLUMNS = ("kpi", "name", "unit") + RECORD_FIELDS[1:] + ("progress_shown", "status_reason", "so_far")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Numbers a spreadsheet gets in the KPI's unit, rounded a little finer than the page shows them.
_IN_UNIT = ("value", "previous", "change", "target", "baseline", "projection")


@dataclass(frozen=True)
class ReportRow:
    """One KPI of the set as the exports show it."""
    kpi: str
    name: str
    unit: str
    record: dict                  # the scorecard's JSON record, or the same keys without a target
    status: Status | None = None  # the full status, for the words beside it
    so_far: str = ""              # a flow KPI's running period: "Nov 2026 so far (4 of 30 days): 2.1 %"


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT


def report_rows(kpis: Sequence[str], statuses: Iterable[Status], frame: pd.DataFrame | None = None, *,
                grain: str = "month", ws: Workspace | None = None, as_of: dt.date | None = None) -> list[ReportRow]:
    """Every KPI of ``kpis``, then any KPI with a target that is not among them, in that order.

    A KPI with a target takes its numbers from the scorecard; one without takes its like-for-like
    headline (:func:`kpi.analysis.headline`) from ``frame``, a ``compute`` result of which only
    the rows without a segment are read: a flow KPI's latest complete period, a stock's level now.
    """
    from .analysis import headline, series_of
    by_kpi: dict[str, Status] = {}
    for s in statuses:
        by_kpi.setdefault(s.kpi, s)
    order = list(dict.fromkeys(list(kpis) + list(by_kpi)))
    rows = []
    for k in order:
        label = kpi_label(k, ws)
        if k in by_kpi:
            s = by_kpi[k]
            rows.append(ReportRow(k, label.name, label.unit, s.to_record(), s, s.so_far_words()))
            continue
        record = {c: None for c in RECORD_FIELDS}
        record.update(kpi=k, grain=grain, alert=False)
        so_far = ""
        if frame is not None and len(frame):
            head = headline(series_of(frame, k), grain, kind=label.kind, as_of=as_of)
            if head.period is not None:
                record.update(period=head.period.isoformat(), value=head.value, previous=head.previous,
                              change=head.change)
            if head.so_far_period is not None:
                days = f" ({head.so_far_days} of {head.period_days} days)" if head.so_far_days else ""
                so_far = (f"{period_label(head.so_far_period, grain)} so far{days}: "
                          f"{format_value(head.so_far, label.unit)}")
        rows.append(ReportRow(k, label.name, label.unit, record, None, so_far))
    return rows


def safe_cell(value):
    """A CSV cell a spreadsheet shows as text instead of running it (OWASP "CSV injection")."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _cells(row: ReportRow) -> dict:
    """The words of one report row, the same in the HTML, the PDF and the PNG (and on the page)."""
    r, s, unit = row.record, row.status, row.unit
    return {"name": row.name, "period": period_label(r.get("period"), r.get("grain") or "month"),
            "value": format_value(r.get("value"), unit), "change": format_change(r.get("change"), unit),
            "target": s.target_words() if s is not None else "—",
            "progress": ("hold" if s.is_hold else format_progress(s.progress)) if s is not None else "—",
            "status": (s.label + (" · alert" if s.alert else "")) if s is not None else "No target",
            "reason": (s.reason() + (f"; alert: {s.alert_reason}" if s.alert else "")) if s is not None else "",
            "so_far": row.so_far}


def scorecard_csv(rows: Sequence[ReportRow]) -> str:
    """One line per KPI: the scorecard's JSON fields (cli.md) with the KPI's name and unit. Numbers
    in the KPI's unit are rounded two decimals finer than the page shows (40.83 users, not
    40.8333); dates stay ISO text for the spreadsheet to read; ``progress`` is a fraction only where
    the page shows a number (``progress_shown`` holds the page's words: '45 %', 'far ahead',
    'hold'); ``status_reason`` says which reading decided the status. Text that looks like a
    formula is neutralised."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        r = dict(row.record)
        for key in _IN_UNIT:
            r[key] = round_for_file(r.get(key), row.unit)
        s = row.status
        shown = _cells(row)["progress"] if s is not None else ""
        r["progress"] = round(r["progress"], 4) if not _missing(r.get("progress")) and "%" in shown else None
        r["expected"] = None if _missing(r.get("expected")) else round(r["expected"], 4)
        cells = dict(r, kpi=row.kpi, name=row.name, unit=row.unit, progress_shown=shown,
                     status_reason=s.reason() if s is not None else "", so_far=row.so_far)
        writer.writerow({k: "" if _missing(v) else safe_cell(v) for k, v in cells.items()})
    return out.getvalue()


def scorecard_digest(statuses: Sequence[Status], as_of=None, ws: Workspace | None = None) -> str:
    """The Markdown digest: the CLI's ``scorecard --format markdown``."""
    return scorecard_markdown(list(statuses), as_of, ws)


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:66rem;color:#1f2328}
h1{font-size:1.5rem;margin:0 0 .25rem}p.sub{color:#59636e;margin:0 0 1.5rem}
table{border-collapse:collapse;width:100%}th,td{padding:.45rem .6rem;border-bottom:1px solid #d1d9e0;text-align:left;vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;color:#59636e}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pill{display:inline-block;padding:.1rem .55rem;border-radius:1rem;color:#fff;font-size:.85rem;white-space:nowrap}
.none{color:#59636e}.why{color:#59636e;font-size:.8rem;margin-top:.15rem}
footer{margin-top:1.5rem;color:#59636e;font-size:.8rem}
@media print{body{margin:1cm}}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _made() -> str:
    made = dt.datetime.now(dt.timezone.utc)
    return f"{format_date(made.date())} at {made:%H:%M} UTC"


def scorecard_html(rows: Sequence[ReportRow], statuses: Sequence[Status], *, as_of=None,
                   title: str = "KPI scorecard") -> str:
    """A self-contained one-page report (no scripts, no external files): every KPI with its value,
    change, target, progress and status in the status colours, and why each status is what it is."""
    as_of_text = f" as of {format_date(as_of)}" if as_of else ""
    lines = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{_e(title)}{_e(as_of_text)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{_e(title)}</h1>",
             f'<p class="sub">{_e(summary_line(list(statuses)) or "No targets set")}{_e(as_of_text)}</p>',
             "<table><thead><tr><th>KPI</th><th>Period</th><th>Value</th><th>Change</th><th>Target</th>"
             "<th>Progress</th><th>Status</th></tr></thead><tbody>"]
    for row in rows:
        c = _cells(row)
        if row.status is not None:
            pill = (f'<span class="pill" style="background:{status_hex(row.status.status)}">{_e(c["status"])}</span>'
                    f'<div class="why">{_e(c["reason"])}</div>')
        else:
            pill = '<span class="none">No target</span>'
        extra = f'<div class="why">{_e(c["so_far"])}</div>' if c["so_far"] else ""
        lines.append(
            f'<tr><td>{_e(c["name"])}{extra}</td><td>{_e(c["period"])}</td>'
            f'<td class="num">{_e(c["value"])}</td><td class="num">{_e(c["change"])}</td>'
            f'<td>{_e(c["target"])}</td><td class="num">{_e(c["progress"])}</td><td>{pill}</td></tr>')
    lines += ["</tbody></table>",
              "<footer>Each value is the latest complete period (a stock KPI such as MRR: its level on the "
              f"as-of date); a running period is shown as “so far”. Made by KPI Explorer on {_e(_made())}.</footer>",
              "</body></html>"]
    return "\n".join(lines) + "\n"


# -- the same one-page report as an image or a PDF ----------------------------------------------
# Drawn as a Vega-Lite table (text and rectangle marks) and converted by vl-convert, the converter
# the chart downloads use: no browser and no extra dependency. Text from users is data, never markup.
_COLUMNS = (("name", "KPI", 12, "left", 230), ("period", "Period", 250, "left", 80),
            ("value", "Value", 440, "right", 0), ("change", "Change", 540, "right", 0),
            ("target", "Target", 556, "left", 250), ("progress", "Progress", 880, "right", 0))
_STATUS_X, _STATUS_W = 896, 130
_ROW_H, _WIDTH = 46, 1040
_MAIN_DY, _NOTE_DY = -7, 11   # a row's main line, and its smaller second line (why; so far)
IMAGE_FORMATS = ("png", "pdf")


def _clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def scorecard_report_spec(rows: Sequence[ReportRow], statuses: Sequence[Status], *, as_of=None,
                          title: str = "KPI scorecard") -> dict:
    """The one-page report as a Vega-Lite spec: title, summary line, one row per KPI with its
    value, change, target, progress and status in the status colours, and under each row why the
    status is what it is (and a running period "so far")."""
    data = []
    for i, row in enumerate(rows):
        c = _cells(row)
        status = row.status.status if row.status is not None else None
        data.append({"row": i, "name": _clip(c["name"], 34), "period": c["period"], "value": c["value"],
                     "change": c["change"], "target": _clip(c["target"], 42), "progress": c["progress"],
                     "status": c["status"], "reason": _clip(c["reason"], 84), "so_far": _clip(c["so_far"], 64),
                     "fill": status_hex(status) if status else "#ffffff",
                     "ink": "#ffffff" if status else GREY, "stripe": i % 2})
    height = _ROW_H * (len(data) + 1)
    y = {"field": "row", "type": "ordinal", "axis": None, "scale": {"paddingInner": 0.1, "paddingOuter": 0.05}}
    header = [{"row": -1, **{key: label for key, label, *_ in _COLUMNS}, "status": "Status"}]

    def text(field: str, x: float, *, align: str = "left", size: int = 13, dy: int = _MAIN_DY, colour: str = "#1f2328",
             limit: int = 0, bold: bool = False, values=None) -> dict:
        mark = {"type": "text", "align": align, "baseline": "middle", "fontSize": size, "dy": dy, "color": colour,
                **({"limit": limit} if limit else {}), **({"fontWeight": "bold"} if bold else {})}
        layer = {"mark": mark, "encoding": {"y": y, "x": {"value": x}, "text": {"field": field}}}
        return {"data": {"values": values}, **layer} if values is not None else layer

    layers = [{"mark": {"type": "rect", "color": "#f6f8fa"}, "transform": [{"filter": "datum.stripe == 1"}],
               "encoding": {"y": y, "x": {"value": 0}, "x2": {"value": _WIDTH}}}]
    for key, _, x, align, limit in _COLUMNS:
        layers.append(text(key, x, align=align, limit=limit))
        layers.append(text(key, x, align=align, size=11, dy=0, colour=GREY, bold=True, values=header))
    layers.append(text("so_far", 12, size=11, dy=_NOTE_DY, colour=GREY, limit=520))
    layers.append(text("reason", 556, size=11, dy=_NOTE_DY, colour=GREY, limit=470))
    pill_centre = _STATUS_X + _STATUS_W / 2
    layers += [
        {"mark": {"type": "rect", "cornerRadius": 9, "stroke": "#d1d9e0", "height": 20, "yOffset": _MAIN_DY},
         "encoding": {"y": {**y, "bandPosition": 0.5}, "x": {"value": _STATUS_X}, "x2": {"value": _STATUS_X + _STATUS_W},
                      "color": {"field": "fill", "type": "nominal", "scale": None}}},
        {"mark": {"type": "text", "align": "center", "baseline": "middle", "fontSize": 12, "fontWeight": "bold",
                  "dy": _MAIN_DY},
         "encoding": {"y": y, "x": {"value": pill_centre}, "text": {"field": "status"},
                      "color": {"field": "ink", "type": "nominal", "scale": None}}},
        text("status", pill_centre, align="center", size=11, dy=0, colour=GREY, bold=True, values=header),
    ]
    subtitle = (summary_line(list(statuses)) or "No targets set") + (f" · as of {format_date(as_of)}" if as_of else "")
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": {"text": title, "subtitle": [subtitle, f"Made by KPI Explorer on {_made()}"], "anchor": "start",
                  "fontSize": 20, "subtitleFontSize": 13, "subtitleColor": GREY, "offset": 14},
        "width": _WIDTH, "height": height, "padding": 24, "background": "#ffffff",
        "config": {"view": {"stroke": None}, "font": "Helvetica, Arial, sans-serif"},
        "data": {"values": data + header},
        "transform": [{"filter": "datum.row >= 0"}],
        "layer": layers,
    }


def scorecard_image(rows: Sequence[ReportRow], statuses: Sequence[Status], *, fmt: str = "png", as_of=None,
                    title: str = "KPI scorecard") -> bytes:
    """The one-page report as PNG (2× scale, sharp on a retina screen) or PDF bytes."""
    import vl_convert
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"unknown report format {fmt!r}: use png or pdf")
    spec = scorecard_report_spec(rows, statuses, as_of=as_of, title=title)
    return vl_convert.vegalite_to_png(spec, scale=2) if fmt == "png" else vl_convert.vegalite_to_pdf(spec)
