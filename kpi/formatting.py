"""Numbers and dates as a person reads them: one formatter per unit, shared by the app, exports and the CLI.

Each unit is shown at one precision (:func:`display_step`): money in whole units from 100 up and
to the cent below, rates to a tenth of a percentage point, counts (users, tickets) as whole
numbers, scores and durations to one decimal, ratios to two. The goals rules read the same
precision (the tolerance of a target is half of it), so what a page shows and what the status
compares never disagree by a hidden decimal.
"""
from __future__ import annotations

import datetime as _dt
import math

UNIT_SUFFIX = {"minutes": "min", "hours": "h", "days": "days", "points": "pts", "per_kloc": "per KLOC",
               "score": "", "ratio": "×", "count": ""}
# Progress is shown between these; beyond them in words (goals.md).
PROGRESS_SHOWN = (-1.0, 2.0)


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def display_step(value, unit: str | None) -> float:
    """The smallest difference :func:`format_value` shows for ``value`` in ``unit``."""
    if unit == "currency":
        return 1.0 if not is_missing(value) and abs(float(value)) >= 100 else 0.01
    if unit == "rate":
        return 0.001
    if unit == "count":
        return 1.0
    if unit in ("ratio", "per_kloc"):
        return 0.01
    if unit in ("score", "minutes", "hours", "days", "points"):
        return 0.1
    return 0.01


def format_value(value, unit: str, *, currency: str = "$", compact: bool = False) -> str:
    """'$12,345', '$40.83', '5.3 %', '1,204', '4.2 min', '3.10×'; '—' for a missing value."""
    if is_missing(value):
        return "—"
    v = float(value)
    if unit == "currency":
        if compact and abs(v) >= 1_000_000:
            return f"{currency}{v / 1_000_000:,.2f}M"
        if compact and abs(v) >= 10_000:
            return f"{currency}{v / 1_000:,.1f}k"
        text = f"{abs(v):,.0f}" if abs(v) >= 100 else f"{abs(v):,.2f}"
        return f"-{currency}{text}" if v < 0 and text.strip("0.,") else f"{currency}{text}"
    if unit == "rate":
        return f"{_no_negative_zero(v * 100, 1):,.1f} %"
    if unit == "count":
        return f"{_no_negative_zero(v, 0):,.0f}"
    if unit == "score":
        return f"{_no_negative_zero(v, 1):,.1f}"
    if unit == "ratio":
        return f"{_no_negative_zero(v, 2):,.2f}×"
    if unit == "per_kloc":
        return f"{_no_negative_zero(v, 2):,.2f} per KLOC"
    suffix = UNIT_SUFFIX.get(unit, "")
    return f"{_no_negative_zero(v, 1):,.1f} {suffix}".strip()


def _no_negative_zero(v: float, decimals: int) -> float:
    # -0.04 shown to one decimal is "0.0", not "-0.0".
    return 0.0 if round(v, decimals) == 0 else v


def format_change(change, unit: str) -> str:
    """A signed change in the KPI's unit; rates change in percentage points. A change that rounds
    to nothing at the shown precision is '±0'."""
    if is_missing(change):
        return "—"
    sign = "±" if abs(change) < display_step(change, unit) / 2 else ("+" if change > 0 else "−")
    if unit == "rate":
        return f"{sign}{abs(change) * 100:,.1f} pp"
    return sign + format_value(abs(change), unit)


def format_pace(change, unit: str) -> str:
    """A change *per period* ('+1.5 a month' of users): like :func:`format_change`, but a count keeps
    one decimal, since a pace of 1.5 users a month shown as '+2' would not add up over the months."""
    if unit == "count" and not is_missing(change) and abs(change) < 100 and round(change, 1) != round(change):
        sign = "+" if change > 0 else "−"
        return f"{sign}{abs(change):,.1f}"
    return format_change(change, unit)


def format_date(day) -> str:
    """The app's one date format: '31 Oct 2026', '05 Jun 2026' ('—' for none)."""
    if day is None:
        return "—"
    if isinstance(day, str):
        try:
            day = _dt.date.fromisoformat(day[:10])
        except ValueError:
            return day
    return f"{day:%d %b %Y}"


def period_label(period, grain: str) -> str:
    """A period by its name: '14 Oct 2026', 'week of 12 Oct 2026', 'Oct 2026', 'Q4 2026', '2026'."""
    if period is None:
        return "—"
    if isinstance(period, str):
        period = _dt.date.fromisoformat(period[:10])
    if grain == "day":
        return format_date(period)
    if grain == "week":
        return f"week of {format_date(period)}"
    if grain == "month":
        return f"{period:%b %Y}"
    if grain == "quarter":
        return f"Q{(period.month - 1) // 3 + 1} {period.year}"
    return f"{period.year}"


def format_progress(progress) -> str:
    """Progress as a person reads it: '45 %' between −100 % and 200 %, else 'far behind' / 'far
    ahead'; '—' when there is none (a hold target has no progress)."""
    if is_missing(progress):
        return "—"
    low, high = PROGRESS_SHOWN
    if progress < low:
        return "far behind"
    if progress > high:
        return "far ahead"
    shown = round(progress * 100) + 0
    return f"{'−' if shown < 0 else ''}{abs(shown):d} %"


def round_for_file(value, unit: str | None, extra: int = 2):
    """A number for a CSV or a report cell: rounded to ``extra`` more decimals than the page shows
    (40.8333 users → 40.83), so a spreadsheet gets readable numbers that still sum correctly."""
    if is_missing(value):
        return None
    if unit == "currency":
        return round(float(value), 2)       # money never needs more than cents
    step = display_step(value, unit)
    decimals = max(0, -int(math.floor(math.log10(step)))) + extra
    return round(float(value), decimals) + 0.0


__all__ = ["UNIT_SUFFIX", "PROGRESS_SHOWN", "is_missing", "display_step", "format_value", "format_change", "format_pace",
           "format_date", "period_label", "format_progress", "round_for_file"]
