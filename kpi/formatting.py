"""Numbers as a person reads them: one formatter per unit, shared by the app, exports and the CLI."""
from __future__ import annotations

import math

UNIT_SUFFIX = {"minutes": "min", "hours": "h", "days": "days", "points": "pts", "per_kloc": "per KLOC",
               "score": "", "ratio": "×", "count": ""}


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(value, unit: str, *, currency: str = "$", compact: bool = False) -> str:
    """'$12,345', '5.3 %', '1,204', '4.2 min', '3.1×'; '—' for a missing value."""
    if is_missing(value):
        return "—"
    v = float(value)
    if unit == "currency":
        if compact and abs(v) >= 1_000_000:
            return f"{currency}{v / 1_000_000:,.2f}M"
        if compact and abs(v) >= 10_000:
            return f"{currency}{v / 1_000:,.1f}k"
        text = f"{abs(v):,.0f}" if abs(v) >= 1000 else f"{abs(v):,.2f}"
        return f"-{currency}{text}" if v < 0 else f"{currency}{text}"
    if unit == "rate":
        return f"{v * 100:,.1f} %"
    if unit == "count":
        return f"{v:,.0f}" if float(v).is_integer() or abs(v) >= 100 else f"{v:,.1f}"
    if unit == "score":
        return f"{v:,.1f}"
    if unit == "ratio":
        return f"{v:,.2f}×"
    if unit == "per_kloc":
        return f"{v:,.2f} per KLOC"
    suffix = UNIT_SUFFIX.get(unit, "")
    return f"{v:,.1f} {suffix}".strip()


def format_change(change, unit: str) -> str:
    """A signed change in the KPI's unit; rates change in percentage points."""
    if is_missing(change):
        return "—"
    sign = "+" if change > 0 else ("−" if change < 0 else "±")
    if unit == "rate":
        return f"{sign}{abs(change) * 100:,.1f} pp"
    return sign + format_value(abs(change), unit)
