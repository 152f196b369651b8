"""Shared helpers for the KPI oracle tests: tiny workspaces and one-value look-ups.

The oracle tests build a workspace from a handful of hand-written rows, compute one KPI and
compare it with a number worked out by hand from ``shared/spec/kpis.md``.
"""
from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from kpi import derived
from kpi.workspace import Workspace

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


def make_ws(settings: dict | None = None, **tables) -> Workspace:
    """An in-memory workspace holding the given tables (dataset name -> dict of columns or frame)."""
    ws = Workspace(None)
    for name, table in tables.items():
        frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
        ws.load_frame(name, frame)
    for key, value in (settings or {}).items():
        ws.set_setting(key, value)
    return ws


def d(text: str | date) -> date:
    """A date from 'YYYY-MM-DD' (dates pass through)."""
    return text if isinstance(text, date) else date.fromisoformat(text)


def run(ws: Workspace, kpis, grain: str = "month", as_of=None, segment=None, start=None, end=None) -> pd.DataFrame:
    """compute() with the tests' habits: one id or a list, as_of given as text or date."""
    from kpi.compute import compute
    if isinstance(kpis, str):
        kpis = [kpis]
    return compute(ws, kpis=list(kpis), grain=grain, start=start, end=end,
                   as_of=None if as_of is None else d(as_of), segment=segment)


def _period_key(value) -> date:
    """A period label as a plain date (the engine may hand back dates, datetimes or Timestamps)."""
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def rows_of(frame: pd.DataFrame, kpi: str, period=None, segment=None, any_segment: bool = False) -> pd.DataFrame:
    """The frame's rows of one KPI (and one period / segment; segment None = whole data or '(none)')."""
    sel = frame[frame["kpi"] == kpi]
    if period is not None:
        p = d(period)
        sel = sel[sel["period"].map(_period_key) == p]
    if not any_segment:
        if segment is None:
            sel = sel[sel["segment"].isna()]
        else:
            sel = sel[sel["segment"] == segment]
    return sel


def row_of(frame: pd.DataFrame, kpi: str, period, segment=None) -> pd.Series:
    sel = rows_of(frame, kpi, period, segment)
    assert len(sel) == 1, (f"expected one row for {kpi} {period} segment={segment!r}, got {len(sel)}:\n"
                           f"{frame.to_string()}")
    return sel.iloc[0]


def value_of(frame: pd.DataFrame, kpi: str, period, segment=None) -> float:
    """The value of one KPI in one period (and segment); NaN when the KPI has no value there."""
    v = row_of(frame, kpi, period, segment)["value"]
    return float("nan") if v is None or pd.isna(v) else float(v)


def periods_of(frame: pd.DataFrame, kpi: str, segment=None) -> list[date]:
    return [_period_key(p) for p in rows_of(frame, kpi, segment=segment)["period"]]


def approx(expected: float):
    return pytest.approx(expected, rel=1e-9, abs=1e-9)


def assert_value(frame: pd.DataFrame, kpi: str, period, expected, segment=None) -> None:
    """expected None means null (no value)."""
    got = value_of(frame, kpi, period, segment)
    if expected is None:
        assert math.isnan(got), f"{kpi} {period} segment={segment!r}: expected null, got {got}"
    else:
        assert got == approx(expected), f"{kpi} {period} segment={segment!r}: expected {expected}, got {got}"


def movements_subscriptions() -> pd.DataFrame:
    """A hand-made subscriptions table with all five MRR movements in February 2025.

    On t(Jan) = 2025-01-31 and t(Feb) = 2025-02-28 (as-of 2025-02-28):
      A  100 -> 150   expansion 50     (plan change Feb 10: basic -> pro)
      B  200 -> 120   contraction 80   (Feb 15: pro -> basic)
      C   60 ->   0   churned 60       (ends Feb 20)
      D    0 ->  40   new 40           (starts Feb 3)
      E    0 ->  90   reactivation 90  (paid Dec 1 - Jan 10, back Feb 12)
      G    0 ->  25   new 25           (a free mrr-0 row since Dec 1 does not make first_mrr early)
      H    0 ->  15   reactivation 15  (paid Jan 5 - Jan 20 only, i.e. not on Jan 31; back Feb 10)
    mrr(Dec) = 70 (E), mrr(Jan) = 100 + 200 + 60 = 360, mrr(Feb) = 150 + 120 + 40 + 90 + 25 + 15 = 440.
    """
    rows = [
        ("A", "2025-01-01", "2025-02-10", 100, "basic"),
        ("A", "2025-02-10", None, 150, "pro"),
        ("B", "2025-01-01", "2025-02-15", 200, "pro"),
        ("B", "2025-02-15", None, 120, "basic"),
        ("C", "2025-01-05", "2025-02-20", 60, "basic"),
        ("D", "2025-02-03", None, 40, "pro"),
        ("E", "2024-12-01", "2025-01-10", 70, "basic"),
        ("E", "2025-02-12", None, 90, "basic"),
        ("G", "2024-12-01", "2025-02-05", 0, "free"),
        ("G", "2025-02-05", None, 25, "basic"),
        ("H", "2025-01-05", "2025-01-20", 15, "pro"),
        ("H", "2025-02-10", None, 15, "pro"),
    ]
    return pd.DataFrame(rows, columns=["customer_id", "start_date", "end_date", "mrr", "plan"])


def sample_subset(datasets: tuple[str, ...], events: int) -> Workspace:
    """An in-memory workspace with some of ``sample_data/`` (values as written) and its first
    ``events`` events: small enough for a test, with every story of the sample in it."""
    ws = Workspace(None)
    for name in datasets:
        ws.load_frame(name, pd.read_csv(SAMPLE / f"{name}.csv", dtype=str, keep_default_na=False).replace("", None))
    frame = pd.read_csv(SAMPLE / "events.csv", dtype=str, keep_default_na=False).replace("", None)
    ws.load_frame("events", frame.iloc[:events])
    return ws


def without_prepared(ws: Workspace) -> Workspace:
    """The same data with none of the tables prepared at ingest: every KPI takes the raw path."""
    raw = Workspace(None)
    with ws.cursor() as src:
        for name in ws.datasets():
            raw.load_frame(name, src.execute(f'SELECT * FROM "{name}"').df())
    with raw.cursor() as cur:
        for table in derived.ALL_TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
    return raw
