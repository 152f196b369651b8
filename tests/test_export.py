"""Scorecard exports: the CSV holds the scorecard's numbers with formula cells neutralised, the HTML
report shows every KPI of the set and escapes what users typed, the digest is the CLI's Markdown.

payments: Jan 100, Feb 200, Mar 300, Apr 400, May 500, June (as of 2026-06-05) 50. Revenue is a
flow: its value is May's 500 (the latest complete month), +100 on April; June's 50 is "so far" (5 of
30 days), never compared with a whole month. The target 2,000 by 2026-06-30 from 500 on 2026-05-31:
progress 0 with 5/30 of the time gone, and the line through Jan..May reaches 600 in June -> off track.
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
from kpi.colours import COLOUR_HEX
from kpi.goals import GoalsDoc, Target
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
    return statuses, export.report_rows(kpis, statuses, frame, grain="month", ws=ws, as_of=AS_OF)


def test_the_csv_holds_the_scorecards_numbers(ws):
    statuses, rows = _rows(ws)
    table = list(csv.DictReader(io.StringIO(export.scorecard_csv(rows))))
    assert [r["kpi"] for r in table] == ["hostile", "paying_customers", "revenue"]
    revenue = table[2]
    record = statuses[0].to_record()
    assert float(revenue["value"]) == record["value"] == 500.0 and revenue["period"] == "2026-05-01"
    assert float(revenue["change"]) == record["change"] == 100.0
    assert float(revenue["target"]) == 2000.0 and float(revenue["projection"]) == pytest.approx(600)
    assert revenue["status"] == record["status"] == "off_track"
    assert (revenue["target_kind"], revenue["decided_by"], revenue["progress"], revenue["progress_shown"]) == \
        ("improvement", "pace", "0.0", "0 %")
    assert revenue["status_reason"] == "behind pace: 0 % of the way with 17 % of the time gone"
    assert revenue["so_far"] == "Jun 2026 so far (5 of 30 days): $50.00"
    assert revenue["name"] == "Revenue" and revenue["deadline"] == "2026-06-30"
    assert list(table[0]) == list(export.CSV_COLUMNS)
    # A KPI without a target: its like-for-like headline (May's 1 payment, April's 1: change 0) and
    # June so far, no status.
    hostile = table[0]
    assert (float(hostile["value"]), float(hostile["change"]), hostile["status"]) == (1.0, 0.0, "")
    assert hostile["period"] == "2026-05-01" and hostile["so_far"].startswith("Jun 2026 so far (5 of 30 days)")


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
        assert f"<td>{name}" in page
    assert COLOUR_HEX["red"] in page and "Off track" in page       # revenue is off track
    assert "$500" in page and "Target $2,000 by 30 Jun 2026" in page and "+$100" in page
    assert "behind pace: 0 % of the way with 17 % of the time gone" in page and "as of 05 Jun 2026" in page
    assert page.count("<tr>") == 1 + len(rows)                    # the header and one row per KPI
    assert "<link" not in page and "src=" not in page              # self-contained


def test_the_digest_is_the_clis_markdown(ws):
    statuses, _ = _rows(ws)
    assert export.scorecard_digest(statuses, AS_OF) == scorecard_markdown(statuses, AS_OF)


def test_the_report_as_pdf_and_png_shows_every_kpi_with_its_status_colour(ws):
    statuses, rows = _rows(ws)
    spec = export.scorecard_report_spec(rows, statuses, as_of=AS_OF)
    data = [d for d in spec["data"]["values"] if d["row"] >= 0]
    assert [d["name"] for d in data] == [r.name[:33] + "…" if len(r.name) > 34 else r.name for r in rows]
    revenue = data[2]
    # Revenue: May's 500, up 100 on April; target 2,000 by 30 Jun 2026; off track, in red.
    assert (revenue["period"], revenue["value"], revenue["change"], revenue["target"]) == \
        ("May 2026", "$500", "+$100", "Target $2,000 by 30 Jun 2026")
    assert revenue["status"] == "Off track" and revenue["fill"] == COLOUR_HEX["red"]
    assert revenue["reason"] == "behind pace: 0 % of the way with 17 % of the time gone"
    assert data[0]["status"] == "No target" and data[0]["fill"] == "#ffffff"
    assert spec["title"]["subtitle"][0] == "1 off track · as of 05 Jun 2026"
    # A name typed by a user is data for a text mark, never markup or an expression.
    assert data[0]["name"].startswith('=HYPERLINK("http://evil.example"')

    png = export.scorecard_image(rows, statuses, fmt="png", as_of=AS_OF)
    pdf = export.scorecard_image(rows, statuses, fmt="pdf", as_of=AS_OF)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and pdf.startswith(b"%PDF")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > 2000 and height > 2 * 46 * (len(rows) + 1)       # 2× scale: sharp, one row per KPI
    with pytest.raises(ValueError):
        export.scorecard_image(rows, statuses, fmt="gif")


def _no_absurd_number(text: str) -> None:
    """No run of 7 or more digits, and no progress beyond what a page shows (−100 % to 200 %)."""
    import re
    assert not re.search(r"\d{7,}", text.replace(",", "")), re.search(r"\d{7,}", text.replace(",", ""))
    for shown in re.findall(r"([−-]?\d+) % of the way", text):
        assert -100 <= int(shown.replace("−", "-")) <= 200


def test_a_tiny_difference_from_the_baseline_never_becomes_a_huge_progress_figure(ws):
    """The issue's 338692939079582528 %: a target 3e-17 above its baseline. It is a hold target,
    so no output computes a progress figure for it: JSON null, CSV empty, 'hold' in words."""
    import json
    from kpi.goals import evaluate
    from kpi.scorecard import scorecard_records
    rate = Target("trial_conversion_rate", 0.21782178217821785, dt.date(2026, 12, 31),
                  baseline=0.21782178217821782, baseline_date=dt.date(2026, 5, 31))
    series = pd.DataFrame({"period": [dt.date(2026, 4, 1), dt.date(2026, 5, 1), dt.date(2026, 6, 1)],
                           "value": [0.25, 0.2, 0.1], "partial": [False, False, True]})
    rate_status = evaluate(rate, series, AS_OF, "higher", unit="rate")
    money = GoalsDoc(targets=(Target("revenue", 500.00000000000006, dt.date(2026, 12, 31), baseline=500,
                                     baseline_date=dt.date(2026, 5, 31), id="t1"),))
    statuses = scorecard(ws, money, AS_OF) + [rate_status]
    assert [s.target_kind for s in statuses] == ["hold", "hold"]
    assert [r["progress"] for r in json.loads(json.dumps(scorecard_records(statuses)))] == [None, None]
    rows = export.report_rows(["revenue"], statuses, compute(ws, ["revenue"], as_of=AS_OF), ws=ws, as_of=AS_OF)
    table = list(csv.DictReader(io.StringIO(export.scorecard_csv(rows))))
    assert [(r["progress"], r["progress_shown"]) for r in table] == [("", "hold"), ("", "hold")]
    spec = export.scorecard_report_spec(rows, statuses, as_of=AS_OF)
    words = [str(v) for d in spec["data"]["values"] for k, v in d.items() if k not in ("fill", "ink")]
    for text in (scorecard_markdown(statuses, AS_OF), export.scorecard_html(rows, statuses, as_of=AS_OF),
                 " ".join(words), " ".join(s.reason() + s.progress_words() for s in statuses)):
        _no_absurd_number(text)
        assert "338692939079582528" not in text and "hold" in text.lower()
