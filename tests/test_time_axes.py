"""Time axes (ui/charts.py): each period labelled once and correctly, for any length of history and
any grain — worked out by hand, then checked on the SVG that Vega itself draws (vl-convert), for the
trend chart, the segment chart and the Data page's rows-per-month chart."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pandas as pd
import pytest

from kpi.quality import QualityReport
from ui import charts
from ui.data_page import rows_per_month_chart

FIRST = {"day": date(2024, 1, 30), "week": date(2024, 1, 1), "month": date(2024, 1, 1),
         "quarter": date(2024, 1, 1), "year": date(2001, 1, 1)}

# Labels by hand: all periods up to 12; beyond, every k-th (k the smallest step that fits in 12):
# months and quarters on calendar boundaries, days and weeks counted back from the latest.
EXPECTED = {
    ("day", 1): ["30 Jan 2024"],
    ("day", 2): ["30 Jan 2024", "31 Jan 2024"],
    ("day", 4): ["30 Jan 2024", "31 Jan 2024", "01 Feb 2024", "02 Feb 2024"],
    # 30 days, 30 Jan - 28 Feb: every 2nd gives 15, every 7th back from 28 Feb gives 5.
    ("day", 30): ["31 Jan 2024", "07 Feb 2024", "14 Feb 2024", "21 Feb 2024", "28 Feb 2024"],
    ("week", 1): ["01 Jan 2024"],
    ("week", 2): ["01 Jan 2024", "08 Jan 2024"],
    ("week", 4): ["01 Jan 2024", "08 Jan 2024", "15 Jan 2024", "22 Jan 2024"],
    # 30 weeks, 1 Jan - 22 Jul: every 4th back from 22 Jul.
    ("week", 30): ["08 Jan 2024", "05 Feb 2024", "04 Mar 2024", "01 Apr 2024", "29 Apr 2024", "27 May 2024",
                   "24 Jun 2024", "22 Jul 2024"],
    ("month", 1): ["Jan 2024"],
    ("month", 2): ["Jan 2024", "Feb 2024"],
    ("month", 4): ["Jan 2024", "Feb 2024", "Mar 2024", "Apr 2024"],
    # 30 months, Jan 2024 - Jun 2026: every 2nd is 15, every 3rd (Jan, Apr, Jul, Oct) is 10.
    ("month", 30): ["Jan 2024", "Apr 2024", "Jul 2024", "Oct 2024", "Jan 2025", "Apr 2025", "Jul 2025",
                    "Oct 2025", "Jan 2026", "Apr 2026"],
    ("quarter", 1): ["Q1 2024"],
    ("quarter", 2): ["Q1 2024", "Q2 2024"],
    ("quarter", 4): ["Q1 2024", "Q2 2024", "Q3 2024", "Q4 2024"],
    # 30 quarters, Q1 2024 - Q2 2031: every 2nd is 15, every 4th (Q1) is 8.
    ("quarter", 30): [f"Q1 {y}" for y in range(2024, 2032)],
    ("year", 1): ["2001"],
    ("year", 2): ["2001", "2002"],
    ("year", 4): ["2001", "2002", "2003", "2004"],
    # 30 years, 2001 - 2030: every 2nd is 15, every 5th (years divisible by 5) is 6.
    ("year", 30): ["2005", "2010", "2015", "2020", "2025", "2030"],
}


def periods(grain: str, n: int) -> list[date]:
    out = [FIRST[grain]]
    while len(out) < n:
        out.append(charts.period_end(out[-1], grain) + timedelta(days=1))
    return out


@pytest.mark.parametrize("grain,n", list(EXPECTED))
def test_tick_labels_by_hand(grain, n):
    ps = periods(grain, n)
    assert charts.axis_periods(ps[0], ps[-1], grain) == ps
    labels = [charts.tick_label(p, grain) for p in charts.tick_periods(ps, grain)]
    assert labels == EXPECTED[(grain, n)]
    assert len(labels) == len(set(labels)) <= charts.AXIS_LABELS


def x_labels(chart) -> list[str]:
    """The labels Vega draws on the chart's x axis (rendered to SVG by vl-convert)."""
    import vl_convert
    svg = vl_convert.vegalite_to_svg(charts._with_size(chart.to_dict()))
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        if (g.get("aria-label") or "").startswith("X-axis"):
            return [t.text for lab in g.iter("{http://www.w3.org/2000/svg}g")
                    if "role-axis-label" in (lab.get("class") or "") for t in lab.findall("s:text", ns)]
    return []


@pytest.mark.parametrize("grain,n", list(EXPECTED))
def test_the_trend_chart_draws_each_label_once(grain, n):
    ps = periods(grain, n)
    series = pd.DataFrame({"period": ps, "value": [float(i) for i in range(n)], "partial": [False] * (n - 1) + [True]})
    drawn = x_labels(charts.trend_chart(series, name="MRR", unit="currency", grain=grain))
    assert drawn == EXPECTED[(grain, n)]


def test_the_segment_chart_labels_its_last_twelve_months_once():
    months = periods("month", 4)
    frame = pd.DataFrame({"period": months * 2, "segment": ["basic"] * 4 + ["pro"] * 4,
                          "value": [1.0, 2, 3, 4, 5, 6, 7, 8], "partial": [False, False, False, True] * 2})
    drawn = x_labels(charts.segment_chart(frame, name="MRR", unit="currency", grain="month", segment_column="plan"))
    assert drawn == ["Jan 2024", "Feb 2024", "Mar 2024", "Apr 2024"]


@pytest.mark.parametrize("n", [1, 2, 4, 30])
def test_rows_per_month_stop_at_the_data(n):
    """The Data page's chart ran a year past a short history: now one bar per month of the data."""
    months = periods("month", n)
    report = QualityReport(dataset="payments", rows=n, first_date=months[0], last_date=months[-1] + timedelta(days=3),
                           rows_per_month=pd.DataFrame({"month": months, "rows": [5] * n}))
    drawn = x_labels(rows_per_month_chart(report))
    assert drawn == EXPECTED[("month", n)]
    assert all(re.fullmatch(r"[A-Z][a-z]{2} 20\d\d", label) for label in drawn)
