"""Scorecard exports: the CSV holds the scorecard's numbers with formula cells neutralised, the HTML
report shows every KPI of the set and escapes what users typed, the digest is the CLI's Markdown.

payments: Jan 100, Feb 200, Mar 300, Apr 400, May 500, June (as of 2026-06-05) 50. Revenue in June
is 50, in May 500: change -450. The target 2,000 by 2026-06-30 from 500 on 2026-05-31 is off track.
"""
from __future__ import annotations

import csv
import datetime as dt
import io

import pandas as pd
import pytest

from kpi import custom, export
from kpi.compute import compute
from kpi.custom import CustomKpi, Measure
from kpi.goals import COLOUR_HEX, GoalsDoc, Target
from kpi.scorecard import scorecard, scorecard_markdown
from kpi.workspace import Workspace

PAYMENTS = pd.DataFrame({"customer_id": ["a", "b", "a", "b", "a", "b"],
                         "date": ["2026-01-10", "2026-02-10", "2026-03-10", "2026-04-10", "2026-05-10", "2026-06-05"],
                         "amount": [100.0, 200.0, 300.0, 400.0, 500.0, 50.0]})
HOSTILE = '=HYPERLINK("http://evil.example","x")<script>alert(1)</script>'
AS_OF = dt.date(2026, 6, 5)
GOALS = GoalsDoc(targets=(Target("revenue", 2000, dt.date(2026, 6, 30), baseline=500,
                                 baseline_date=dt.date(2026, 5, 31), id="t1"),))


@pytest.fixture
def ws():
    w = Workspace(None)
    w.load_frame("payments", PAYMENTS)
    custom.save_custom_kpi(w, CustomKpi("hostile", HOSTILE, Measure("payments", "count")))
    yield w
    w.close()


def _rows(ws):
    statuses = scorecard(ws, GOALS, AS_OF)
    kpis = ["hostile", "paying_customers"]
    frame = compute(ws, kpis, grain="month", as_of=AS_OF)
    return statuses, export.report_rows(kpis, statuses, frame, grain="month", ws=ws)


def test_the_csv_holds_the_scorecards_numbers(ws):
    statuses, rows = _rows(ws)
    table = list(csv.DictReader(io.StringIO(export.scorecard_csv(rows))))
    assert [r["kpi"] for r in table] == ["hostile", "paying_customers", "revenue"]
    revenue = table[2]
    record = statuses[0].to_record()
    assert float(revenue["value"]) == record["value"] == 50.0
    assert float(revenue["change"]) == record["change"] == -450.0   # a negative number stays a number
    assert float(revenue["target"]) == 2000.0
    assert revenue["status"] == record["status"] == "off_track"
    assert revenue["name"] == "Revenue" and revenue["deadline"] == "2026-06-30"
    # A KPI without a target: its latest value and the change on the period before (June 1 payment,
    # May 1 payment), no status.
    hostile = table[0]
    assert (float(hostile["value"]), float(hostile["change"]), hostile["status"]) == (1.0, 0.0, "")


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(ws):
    _, rows = _rows(ws)
    table = list(csv.DictReader(io.StringIO(export.scorecard_csv(rows))))
    assert table[0]["name"] == "'" + HOSTILE
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert export.safe_cell(start + "1+1") == "'" + start + "1+1"
    assert export.safe_cell("Revenue") == "Revenue"
    assert export.safe_cell(-3.5) == -3.5


def test_the_html_report_shows_every_kpi_and_escapes_user_text(ws):
    statuses, rows = _rows(ws)
    page = export.scorecard_html(rows, statuses, as_of=AS_OF)
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "=HYPERLINK(&quot;http://evil.example&quot;" in page
    for name in ("Revenue", "Paying customers"):
        assert f"<td>{name}</td>" in page
    assert COLOUR_HEX["red"] in page and "Off track" in page       # revenue is off track
    assert "$50.00" in page and "$2,000" in page and "−$450.00" in page
    assert page.count("<tr>") == 1 + len(rows)                    # the header and one row per KPI
    assert "<link" not in page and "src=" not in page              # self-contained


def test_the_digest_is_the_clis_markdown(ws):
    statuses, _ = _rows(ws)
    assert export.scorecard_digest(statuses, AS_OF) == scorecard_markdown(statuses, AS_OF)


def test_the_report_as_pdf_and_png_shows_every_kpi_with_its_status_colour(ws):
    statuses, rows = _rows(ws)
    spec = export.scorecard_report_spec(rows, statuses, as_of=AS_OF)
    data = [d for d in spec["data"]["values"] if d["row"] >= 0]
    assert [d["name"] for d in data] == [r.name[:37] + "…" if len(r.name) > 38 else r.name for r in rows]
    revenue = data[2]
    # Revenue: June's 50, down 450 from May; target 2,000 by 30 Jun 2026; off track, in red.
    assert (revenue["value"], revenue["change"], revenue["target"]) == ("$50.00", "−$450.00", "$2,000")
    assert revenue["status"] == "Off track" and revenue["fill"] == COLOUR_HEX["red"]
    assert data[0]["status"] == "No target" and data[0]["fill"] == "#ffffff"
    assert spec["title"]["subtitle"][0] == "1 off track · as of 2026-06-05"
    # A name typed by a user is data for a text mark, never markup or an expression.
    assert data[0]["name"].startswith('=HYPERLINK("http://evil.example"')

    png = export.scorecard_image(rows, statuses, fmt="png", as_of=AS_OF)
    pdf = export.scorecard_image(rows, statuses, fmt="pdf", as_of=AS_OF)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and pdf.startswith(b"%PDF")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > 1800 and height > 2 * 30 * (len(rows) + 1)       # 2× scale: sharp, one row per KPI
    with pytest.raises(ValueError):
        export.scorecard_image(rows, statuses, fmt="gif")
