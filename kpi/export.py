"""The scorecard as files to send to stakeholders: CSV for a spreadsheet, a one-page HTML report,
and the Markdown digest of ``python -m kpi scorecard --format markdown``.

Every KPI of the set is a row: one with a target takes its numbers from the scorecard (the target's
grain, the same as the CLI's JSON); one without takes its latest value from the KPI frame the page
shows. Text that came from users (custom KPI names) is made harmless for each format: a CSV cell a
spreadsheet would run as a formula is prefixed with ``'``; every HTML text is escaped.
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

from .formatting import format_change, format_value
from .goals import COLOUR_HEX, STATUS_STYLE, Status, summary_line
from .scorecard import kpi_label, scorecard_markdown
from .workspace import Workspace

CSV_COLUMNS = ("kpi", "name", "unit", "grain", "period", "value", "previous", "change", "target", "deadline",
               "baseline", "progress", "expected", "status", "alert", "projection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ReportRow:
    """One KPI of the set as the exports show it."""
    kpi: str
    name: str
    unit: str
    record: dict          # the scorecard's JSON record, or the same keys without a target


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT


def report_rows(kpis: Sequence[str], statuses: Iterable[Status], frame: pd.DataFrame | None = None, *,
                grain: str = "month", ws: Workspace | None = None) -> list[ReportRow]:
    """Every KPI of ``kpis``, then any KPI with a target that is not among them, in that order.

    ``frame`` is a ``compute`` result (kpi, period, segment, value, partial); only its rows without a
    segment are read, for the KPIs that have no target.
    """
    by_kpi: dict[str, Status] = {}
    for s in statuses:
        by_kpi.setdefault(s.kpi, s)
    order = list(dict.fromkeys(list(kpis) + list(by_kpi)))
    rows = []
    for k in order:
        label = kpi_label(k, ws)
        if k in by_kpi:
            record = by_kpi[k].to_record()
        else:
            record = {c: None for c in CSV_COLUMNS if c not in ("kpi", "name", "unit")}
            record.update(kpi=k, grain=grain, status=None, alert=False)
            if frame is not None and len(frame):
                series = frame[(frame["kpi"] == k) & frame["segment"].isna()].dropna(subset=["value"])
                series = series.sort_values("period")
                if len(series):
                    last = series.iloc[-1]
                    record.update(period=pd.Timestamp(last["period"]).date().isoformat(), value=float(last["value"]))
                    if len(series) > 1:
                        record["previous"] = float(series.iloc[-2]["value"])
                        record["change"] = record["value"] - record["previous"]
        rows.append(ReportRow(k, label.name, label.unit, record))
    return rows


def safe_cell(value):
    """A CSV cell a spreadsheet shows as text instead of running it (OWASP "CSV injection")."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def scorecard_csv(rows: Sequence[ReportRow]) -> str:
    """One line per KPI; numbers stay numbers, text that looks like a formula is neutralised."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        cells = dict(row.record, kpi=row.kpi, name=row.name, unit=row.unit)
        writer.writerow({k: "" if _missing(v) else safe_cell(v) for k, v in cells.items()})
    return out.getvalue()


def scorecard_digest(statuses: Sequence[Status], as_of=None, ws: Workspace | None = None) -> str:
    """The Markdown digest: the CLI's ``scorecard --format markdown``."""
    return scorecard_markdown(list(statuses), as_of, ws)


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:60rem;color:#1f2328}
h1{font-size:1.5rem;margin:0 0 .25rem}p.sub{color:#59636e;margin:0 0 1.5rem}
table{border-collapse:collapse;width:100%}th,td{padding:.45rem .6rem;border-bottom:1px solid #d1d9e0;text-align:left}
th{font-size:.8rem;text-transform:uppercase;color:#59636e}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pill{display:inline-block;padding:.1rem .55rem;border-radius:1rem;color:#fff;font-size:.85rem;white-space:nowrap}
.none{color:#59636e}footer{margin-top:1.5rem;color:#59636e;font-size:.8rem}
@media print{body{margin:1cm}}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def scorecard_html(rows: Sequence[ReportRow], statuses: Sequence[Status], *, as_of=None,
                   title: str = "KPI scorecard") -> str:
    """A self-contained one-page report (no scripts, no external files): every KPI with its value,
    change, target and status in the status colours."""
    as_of_text = f" as of {as_of}" if as_of else ""
    lines = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{_e(title)}{_e(as_of_text)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{_e(title)}</h1>",
             f'<p class="sub">{_e(summary_line(list(statuses)) or "No targets set")}{_e(as_of_text)}</p>',
             "<table><thead><tr><th>KPI</th><th>Period</th><th>Value</th><th>Change</th><th>Target</th>"
             "<th>Deadline</th><th>Status</th></tr></thead><tbody>"]
    for row in rows:
        r = row.record
        status = r.get("status")
        if status in STATUS_STYLE:
            words, colour = STATUS_STYLE[status]
            pill = f'<span class="pill" style="background:{COLOUR_HEX[colour]}">{_e(words)}</span>'
            if r.get("alert"):
                pill += ' <span class="pill" style="background:{}">Alert</span>'.format(COLOUR_HEX["red"])
        else:
            pill = '<span class="none">No target</span>'
        lines.append(
            f'<tr><td>{_e(row.name)}</td><td>{_e(r.get("period") or "—")}</td>'
            f'<td class="num">{_e(format_value(r.get("value"), row.unit))}</td>'
            f'<td class="num">{_e(format_change(r.get("change"), row.unit))}</td>'
            f'<td class="num">{_e(format_value(r.get("target"), row.unit))}</td>'
            f'<td>{_e(r.get("deadline") or "—")}</td><td>{pill}</td></tr>')
    made = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines += ["</tbody></table>", f"<footer>Made by KPI Explorer on {_e(made)}.</footer>", "</body></html>"]
    return "\n".join(lines) + "\n"


# -- the same one-page report as an image or a PDF ----------------------------------------------
# Drawn as a Vega-Lite table (text and rectangle marks) and converted by vl-convert, the converter
# the chart downloads use: no browser and no extra dependency. Text from users is data, never markup.
_COLUMNS = (("name", "KPI", 12, "left", 260), ("period", "Period", 282, "left", 90),
            ("value", "Value", 470, "right", 0), ("change", "Change", 580, "right", 0),
            ("target", "Target", 690, "right", 0), ("deadline", "Deadline", 710, "left", 0))
_STATUS_X, _STATUS_W = 810, 96
_ROW_H, _WIDTH = 30, 920
IMAGE_FORMATS = ("png", "pdf")


def _clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def scorecard_report_spec(rows: Sequence[ReportRow], statuses: Sequence[Status], *, as_of=None,
                          title: str = "KPI scorecard") -> dict:
    """The one-page report as a Vega-Lite spec: title, summary line, one row per KPI with its
    value, change, target, deadline and status in the status colours."""
    data = []
    for i, row in enumerate(rows):
        r = row.record
        status = r.get("status")
        words, colour = STATUS_STYLE.get(status, ("No target", "grey")) if status else ("No target", None)
        if r.get("alert") and status:
            words += " · alert"
        data.append({"row": i, "name": _clip(row.name, 38), "period": r.get("period") or "—",
                     "value": format_value(r.get("value"), row.unit),
                     "change": format_change(r.get("change"), row.unit),
                     "target": format_value(r.get("target"), row.unit) if not _missing(r.get("target")) else "—",
                     "deadline": r.get("deadline") or "—", "status": words,
                     "fill": COLOUR_HEX[colour] if colour else "#ffffff",
                     "ink": "#ffffff" if colour else COLOUR_HEX["grey"], "stripe": i % 2})
    height = _ROW_H * (len(data) + 1)
    y = {"field": "row", "type": "ordinal", "axis": None, "scale": {"paddingInner": 0.2, "paddingOuter": 0.1}}
    header = [{"row": -1, **{key: label for key, label, *_ in _COLUMNS}, "status": "Status"}]
    layers = [
        {"mark": {"type": "rect", "color": "#f6f8fa"}, "transform": [{"filter": "datum.stripe == 1"}],
         "encoding": {"y": y, "x": {"value": 0}, "x2": {"value": _WIDTH}}},
    ]
    for key, _, x, align, limit in _COLUMNS:
        layers.append({"mark": {"type": "text", "align": align, "baseline": "middle", "fontSize": 13,
                                "color": "#1f2328", **({"limit": limit} if limit else {})},
                       "encoding": {"y": y, "x": {"value": x}, "text": {"field": key}}})
        layers.append({"data": {"values": header},
                       "mark": {"type": "text", "align": align, "baseline": "middle", "fontSize": 11,
                                "fontWeight": "bold", "color": COLOUR_HEX["grey"]},
                       "encoding": {"y": y, "x": {"value": x}, "text": {"field": key}}})
    layers += [
        {"mark": {"type": "rect", "cornerRadius": 9, "stroke": "#d1d9e0"},
         "encoding": {"y": {**y, "bandPosition": 0}, "x": {"value": _STATUS_X},
                      "x2": {"value": _STATUS_X + _STATUS_W + 20},
                      "color": {"field": "fill", "type": "nominal", "scale": None}}},
        {"mark": {"type": "text", "align": "center", "baseline": "middle", "fontSize": 12, "fontWeight": "bold"},
         "encoding": {"y": y, "x": {"value": _STATUS_X + (_STATUS_W + 20) / 2}, "text": {"field": "status"},
                      "color": {"field": "ink", "type": "nominal", "scale": None}}},
        {"data": {"values": header},
         "mark": {"type": "text", "align": "center", "baseline": "middle", "fontSize": 11, "fontWeight": "bold",
                  "color": COLOUR_HEX["grey"]},
         "encoding": {"y": y, "x": {"value": _STATUS_X + (_STATUS_W + 20) / 2}, "text": {"field": "status"}}},
    ]
    made = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = (summary_line(list(statuses)) or "No targets set") + (f" · as of {as_of}" if as_of else "")
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": {"text": title, "subtitle": [subtitle, f"Made by KPI Explorer on {made}"], "anchor": "start",
                  "fontSize": 20, "subtitleFontSize": 13, "subtitleColor": COLOUR_HEX["grey"], "offset": 14},
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
