"""Goals: objectives, KPI targets and reviews, and how a KPI's series stands against its target.

Pure Python (no DuckDB): every function takes one KPI's series at one grain as the engine
returns it — a DataFrame with ``period`` (first day of the period), ``value`` (float, NaN for
null) and ``partial`` (the period's last day is after the as-of date) — plus plain values.
The rules are those of ``../shared/spec/goals.md``; the JSON shapes those of ``cli.md``.

Choices the spec leaves open, made once here:

- *Baseline.* Without a stored ``baseline``, ``B`` is the value of the latest complete period
  (``partial`` false, last day on or before the as-of date) that has a value and whose last
  day is on or before the ``baseline_date`` — or, without a ``baseline_date``, the latest such
  period of all, ``D0`` then being that period's last day. With a ``baseline`` but no
  ``baseline_date``, ``D0`` is the last day of the latest complete period. Either default moves
  as time passes, so the app stores what :func:`default_baseline` gives when a target is set.
- *Status order.* ``no_data`` without a current value, ``achieved`` when it meets the target
  (even after the deadline), ``missed`` after the deadline, ``no_data`` without a baseline,
  then on track / at risk / off track.
- *Periods left* count whole periods of the target's grain between two periods' indexes: from
  the current period to the deadline's period for the run-rate (at least 1), from the
  baseline's period to the deadline's period for the SMART check and suggested targets.
- *Projection* fits ``value = a + b * period index`` through the non-null values of the last 6
  complete periods and reads it off at the index of the period holding the deadline.
- *Past changes* are those of the last 12 complete periods, each against the period before it
  (so up to 13 values are read); a change needs both values.
"""
from __future__ import annotations

import calendar
import json
import math
import os
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import InputError

GRAINS = ("day", "week", "month", "quarter", "year")
DIRECTIONS = ("higher", "lower")
CADENCES = {"weekly": 7, "biweekly": 14, "monthly": 1, "quarterly": 3}  # days, or months

STATUSES = ("achieved", "on_track", "at_risk", "off_track", "missed", "no_data")
STATUS_STYLE: dict[str, tuple[str, str]] = {
    "achieved": ("Achieved", "green"),
    "on_track": ("On track", "green"),
    "at_risk": ("At risk", "amber"),
    "off_track": ("Off track", "red"),
    "missed": ("Missed", "red"),
    "no_data": ("No data", "grey"),
}
COLOUR_HEX = {"green": "#1a7f37", "amber": "#b7791f", "red": "#cf222e", "grey": "#6e7781"}

AT_RISK_MARGIN = 0.10     # progress may lag the time gone by this much before "off track"
PROJECTION_PERIODS = 6
HISTORY_PERIODS = 12
MIN_PAST_CHANGES = 3
STRONG_PERCENTILE = 75    # "the best 25 % of past changes"
_TIE = 1e-9               # a hand-computed tie (0.5 - 0.1 vs 0.4) counts as the better status

TARGET_KEYS = ("id", "kpi", "objective", "target", "deadline", "baseline", "baseline_date",
               "grain", "alert_below", "alert_above")


# ----------------------------------------------------------------------------- periods

def period_start(day: date, grain: str) -> date:
    """The first day of the period of ``grain`` holding ``day`` (weeks start on Monday)."""
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if grain == "year":
        return date(day.year, 1, 1)
    raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


def period_end(start: date, grain: str) -> date:
    """The last day of the period of ``grain`` holding ``start``."""
    first = period_start(start, grain)
    if grain == "day":
        return first
    if grain == "week":
        return first + timedelta(days=6)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    return add_months(first, months) - timedelta(days=1)


def period_index(day: date, grain: str) -> int:
    """A running number of the period holding ``day``: consecutive periods differ by 1."""
    if grain == "day":
        return day.toordinal()
    if grain == "week":
        return (day.toordinal() - 1) // 7  # ordinal 1 (0001-01-01) is a Monday
    if grain == "month":
        return day.year * 12 + day.month - 1
    if grain == "quarter":
        return day.year * 4 + (day.month - 1) // 3
    if grain == "year":
        return day.year
    raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


def periods_between(first: date, last: date, grain: str) -> int:
    """How many periods of ``grain`` the period of ``last`` lies after the period of ``first``."""
    return period_index(last, grain) - period_index(first, grain)


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months, kept to the month's last day (Jan 31 → Feb 28)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# ----------------------------------------------------------------------------- data model

@dataclass(frozen=True)
class Target:
    """A key result: one KPI should reach ``target`` by ``deadline``, judged at ``grain``."""
    kpi: str
    target: float
    deadline: date
    baseline: float | None = None
    baseline_date: date | None = None
    grain: str = "month"
    alert_below: float | None = None
    alert_above: float | None = None
    objective: str | None = None
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The goal's object of the goals file; optional fields left out when empty."""
        values = {"id": self.id, "kpi": self.kpi, "target": self.target,
                  "deadline": self.deadline.isoformat(), "baseline": self.baseline,
                  "baseline_date": _iso(self.baseline_date), "grain": self.grain,
                  "alert_below": self.alert_below, "alert_above": self.alert_above,
                  "objective": self.objective}
        return {k: v for k, v in values.items() if v is not None}

    @classmethod
    def from_dict(cls, raw: Any, *, source: str = "goals file", where: str = "goal") -> "Target":
        """Read one goal, raising :class:`InputError` that names ``source`` and the bad field."""
        if not isinstance(raw, dict):
            raise _bad(source, where, None, f"is {type(raw).__name__}, not an object",
                       'write each goal as {"kpi": ..., "target": ..., "deadline": ...}')
        kpi = raw.get("kpi")
        if isinstance(kpi, str) and kpi.strip():
            where = f"{where} ({kpi.strip()})"
        unknown = sorted(set(raw) - set(TARGET_KEYS))
        if unknown:
            raise _bad(source, where, unknown[0], "is not a goal field",
                       f"the fields are {', '.join(TARGET_KEYS)}")
        for key in ("kpi", "target", "deadline"):
            if raw.get(key) is None:
                raise _bad(source, where, key, "is missing", f"every goal needs kpi, target and deadline")
        if not isinstance(kpi, str) or not kpi.strip():
            raise _bad(source, where, "kpi", f"{kpi!r} is not a KPI id", 'write it as text, e.g. "mrr"')
        grain = raw.get("grain") or "month"
        if grain not in GRAINS:
            raise _bad(source, where, "grain", f"{grain!r} is not a grain", f"use one of {', '.join(GRAINS)}")
        return cls(
            kpi=kpi.strip(),
            target=_number(raw["target"], source, where, "target"),
            deadline=_date(raw["deadline"], source, where, "deadline"),
            baseline=_optional_number(raw.get("baseline"), source, where, "baseline"),
            baseline_date=_optional_date(raw.get("baseline_date"), source, where, "baseline_date"),
            grain=grain,
            alert_below=_optional_number(raw.get("alert_below"), source, where, "alert_below"),
            alert_above=_optional_number(raw.get("alert_above"), source, where, "alert_above"),
            objective=_optional_text(raw.get("objective"), source, where, "objective"),
            id=_optional_text(raw.get("id"), source, where, "id"),
        )


@dataclass(frozen=True)
class Objective:
    """The O of an OKR: what the team is trying to achieve, why, who owns it, and when."""
    id: str
    title: str
    why: str = ""
    owner: str = ""
    start: date | None = None
    end: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "why": self.why, "owner": self.owner,
                "start": _iso(self.start), "end": _iso(self.end)}

    @classmethod
    def from_dict(cls, raw: Any, *, source: str = "goals file", where: str = "objective") -> "Objective":
        if not isinstance(raw, dict):
            raise _bad(source, where, None, f"is {type(raw).__name__}, not an object",
                       'write each objective as {"id": ..., "title": ...}')
        for key in ("id", "title"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise _bad(source, where, key, "is missing", "every objective needs an id and a title")
        return cls(id=raw["id"].strip(), title=raw["title"].strip(),
                   why=_optional_text(raw.get("why"), source, where, "why") or "",
                   owner=_optional_text(raw.get("owner"), source, where, "owner") or "",
                   start=_optional_date(raw.get("start"), source, where, "start"),
                   end=_optional_date(raw.get("end"), source, where, "end"))


@dataclass(frozen=True)
class Review:
    """A review: on ``date`` the KPI set's statuses (scorecard records) and the reviewer's notes."""
    date: date
    statuses: tuple[dict, ...] = ()
    notes: str = ""

    def __post_init__(self):
        object.__setattr__(self, "statuses", tuple(self.statuses))

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "statuses": list(self.statuses), "notes": self.notes}

    @classmethod
    def from_dict(cls, raw: Any, *, source: str = "goals file", where: str = "review") -> "Review":
        if not isinstance(raw, dict):
            raise _bad(source, where, None, f"is {type(raw).__name__}, not an object",
                       'write each review as {"date": ..., "statuses": [...], "notes": ...}')
        if raw.get("date") is None:
            raise _bad(source, where, "date", "is missing", "every review needs a date")
        statuses = raw.get("statuses") or []
        if not isinstance(statuses, list) or not all(isinstance(s, dict) for s in statuses):
            raise _bad(source, where, "statuses", "is not a list of objects",
                       "store the scorecard records of the review")
        return cls(date=_date(raw["date"], source, where, "date"), statuses=tuple(statuses),
                   notes=_optional_text(raw.get("notes"), source, where, "notes") or "")


@dataclass(frozen=True)
class GoalsDoc:
    """Everything about goals a workspace stores: objectives, targets, reviews, review cadence."""
    objectives: tuple[Objective, ...] = ()
    targets: tuple[Target, ...] = ()
    reviews: tuple[Review, ...] = ()
    cadence: str = "monthly"

    def __post_init__(self):
        for name in ("objectives", "targets", "reviews"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.cadence not in CADENCES:
            raise ValueError(f"unknown review cadence {self.cadence!r}; expected one of {', '.join(CADENCES)}")

    def to_dict(self) -> dict[str, Any]:
        """The goals file's JSON: ``goals`` as in cli.md, with objectives, reviews and cadence."""
        return {"cadence": self.cadence,
                "objectives": [o.to_dict() for o in self.objectives],
                "goals": [t.to_dict() for t in self.targets],
                "reviews": [r.to_dict() for r in self.reviews]}

    @classmethod
    def from_dict(cls, raw: Any, *, source: str = "goals file") -> "GoalsDoc":
        """Read a goals document; a bare list is taken as the list of goals."""
        if isinstance(raw, list):
            raw = {"goals": raw}
        if not isinstance(raw, dict):
            raise InputError(f"{source}: expected a JSON object with a \"goals\" list — "
                             'write it as {"goals": [{"kpi": ..., "target": ..., "deadline": ...}]}',
                             file=source)
        unknown = sorted(set(raw) - {"goals", "objectives", "reviews", "cadence"})
        if unknown:
            raise _bad(source, "document", unknown[0], "is not a goals-file field",
                       "the fields are goals, objectives, reviews and cadence")
        lists = {}
        for key in ("goals", "objectives", "reviews"):
            value = raw.get(key) or []
            if not isinstance(value, list):
                raise _bad(source, "document", key, "is not a list", f'write it as "{key}": [...]')
            lists[key] = value
        cadence = raw.get("cadence") or "monthly"
        if cadence not in CADENCES:
            raise _bad(source, "document", "cadence", f"{cadence!r} is not a review cadence",
                       f"use one of {', '.join(CADENCES)}")
        return cls(
            objectives=tuple(Objective.from_dict(o, source=source, where=f"objective {i}")
                             for i, o in enumerate(lists["objectives"], 1)),
            targets=tuple(Target.from_dict(t, source=source, where=f"goal {i}")
                          for i, t in enumerate(lists["goals"], 1)),
            reviews=tuple(Review.from_dict(r, source=source, where=f"review {i}")
                          for i, r in enumerate(lists["reviews"], 1)),
            cadence=cadence)

    # Small edits the app needs; each returns a new document.
    def objective_by_id(self, objective_id: str) -> Objective | None:
        return next((o for o in self.objectives if o.id == objective_id), None)

    def targets_of(self, objective_id: str | None) -> tuple[Target, ...]:
        """The targets linked to an objective (``None``: those linked to none)."""
        return tuple(t for t in self.targets if t.objective == objective_id)

    def add_target(self, target: Target) -> "GoalsDoc":
        """Append ``target``, giving it a fresh id (``t1``, ``t2``, ...) when it has none."""
        if target.id is None:
            target = replace(target, id=_fresh_id("t", [t.id for t in self.targets]))
        return replace(self, targets=self.targets + (target,))

    def replace_target(self, target: Target) -> "GoalsDoc":
        """Swap in ``target`` for the stored target with the same id."""
        return replace(self, targets=tuple(target if t.id == target.id else t for t in self.targets))

    def remove_target(self, target_id: str) -> "GoalsDoc":
        return replace(self, targets=tuple(t for t in self.targets if t.id != target_id))

    def add_objective(self, objective: Objective) -> "GoalsDoc":
        return replace(self, objectives=tuple(o for o in self.objectives if o.id != objective.id)
                       + (objective,))

    def add_review(self, review: Review) -> "GoalsDoc":
        return replace(self, reviews=tuple(sorted(self.reviews + (review,), key=lambda r: r.date)))

    def next_review(self, today: date) -> date:
        """When the next review is due, from the latest review and the cadence."""
        last = max((r.date for r in self.reviews), default=None)
        return next_review_date(last, self.cadence, today)


def dumps(doc: GoalsDoc) -> str:
    """A goals document as indented JSON text."""
    return json.dumps(doc.to_dict(), indent=2, ensure_ascii=False)


def loads(text: str, *, source: str = "goals file") -> GoalsDoc:
    """A goals document from JSON text; bad JSON or fields raise :class:`InputError`."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{source}, line {err.lineno}: not valid JSON ({err.msg}, column {err.colno}) — "
                         'a goals file looks like {"goals": [{"kpi": "mrr", "target": 50000, '
                         '"deadline": "2026-06-30"}]}', file=source, line=err.lineno) from None
    return GoalsDoc.from_dict(raw, source=source)


def load_goals_file(path: str | os.PathLike) -> GoalsDoc:
    """Read a goals file (cli.md), raising :class:`InputError` that names the file and field."""
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise InputError(f"{name}: no such goals file — check the path", file=name) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{name}: cannot read the goals file ({err}) — save it as UTF-8 JSON",
                         file=name) from None
    return loads(text, source=name)


def next_review_date(last_review_date: date | None, cadence: str, today: date) -> date:
    """The day the next review is due: ``today`` when none has been held, else the last review
    plus 7 days (weekly), 14 (biweekly), one calendar month (monthly) or three (quarterly)."""
    if cadence not in CADENCES:
        raise InputError(f"review cadence {cadence!r} is unknown — use one of {', '.join(CADENCES)}")
    if last_review_date is None:
        return today
    if cadence in ("weekly", "biweekly"):
        return last_review_date + timedelta(days=CADENCES[cadence])
    return add_months(last_review_date, CADENCES[cadence])


# ----------------------------------------------------------------------------- status

@dataclass(frozen=True)
class Status:
    """Where one KPI stands against its target at the as-of date (goals.md's rules)."""
    kpi: str
    grain: str
    period: date | None
    value: float | None
    previous: float | None
    change: float | None
    target: float
    deadline: date
    baseline: float | None
    baseline_date: date | None
    progress: float | None
    expected: float | None
    status: str
    alert: bool
    alert_reason: str | None
    projection: float | None
    needed_per_period: float | None
    periods_left: int
    partial: bool

    @property
    def label(self) -> str:
        return STATUS_STYLE[self.status][0]

    @property
    def colour(self) -> str:
        """The status colour as hex, from :data:`STATUS_STYLE` and :data:`COLOUR_HEX`."""
        return COLOUR_HEX[STATUS_STYLE[self.status][1]]

    def to_record(self) -> dict[str, Any]:
        """The scorecard's JSON object (cli.md): dates as ISO text, missing numbers as None."""
        return {"kpi": self.kpi, "grain": self.grain, "period": _iso(self.period),
                "value": _num(self.value), "previous": _num(self.previous),
                "change": _num(self.change), "target": _num(self.target),
                "deadline": _iso(self.deadline), "baseline": _num(self.baseline),
                "progress": _num(self.progress), "expected": _num(self.expected),
                "status": self.status, "alert": bool(self.alert),
                "projection": _num(self.projection)}


def default_baseline(series: pd.DataFrame, as_of: date, grain: str = "month",
                     baseline_date: date | None = None) -> tuple[float | None, date | None]:
    """The baseline a new target gets: the value of the latest complete period that has one
    (ending on or before ``baseline_date`` when given) and that period's last day;
    ``(None, None)`` without one."""
    return _latest_complete_value(_tidy(series, as_of, grain), as_of, grain, baseline_date)


def evaluate(target: Target, series: pd.DataFrame, as_of: date, direction: str) -> Status:
    """The status of ``target`` given its KPI's ``series`` at ``target.grain`` (goals.md).

    Statuses are decided in this order: ``no_data`` without a current value; ``achieved`` when
    the value meets the target (also after the deadline); ``missed`` after the deadline;
    ``no_data`` without a baseline; then on track / at risk / off track by progress against the
    share of time gone. When the target is not better than the baseline (``T = B``, or a target
    on the wrong side of it) progress is 1 if met, else 0. ``needed_per_period`` is
    ``(T - V) / periods_left``, and 0 once the target is met.
    """
    _check_direction(direction)
    grain = target.grain
    rows = _tidy(series, as_of, grain)
    B, D0 = _baseline(target, rows, as_of, grain)
    T, D, A = float(target.target), target.deadline, as_of

    current = rows.iloc[-1] if not rows.empty else None
    period = current["period"] if current is not None else None
    V = _num(current["value"]) if current is not None else None
    partial = bool(current["partial"]) if current is not None else False
    previous = None
    if period is not None:
        before = rows[rows["index"] == period_index(period, grain) - 1]
        previous = _num(before["value"].iloc[-1]) if not before.empty else None
    change = V - previous if V is not None and previous is not None else None

    expected = None
    if D0 is not None:
        span = (D - D0).days
        expected = 1.0 if span <= 0 else min(max((A - D0).days / span, 0.0), 1.0)

    met = V is not None and _meets(V, T, direction)
    progress = None
    if V is not None and B is not None:
        if _better(T, B, direction):
            progress = (V - B) / (T - B)
        else:
            progress = 1.0 if met else 0.0

    if V is None:
        status = "no_data"
    elif met:
        status = "achieved"
    elif A > D:
        status = "missed"
    elif progress is None or expected is None:
        status = "no_data"
    elif progress >= expected - _TIE:
        status = "on_track"
    elif progress >= expected - AT_RISK_MARGIN - _TIE:
        status = "at_risk"
    else:
        status = "off_track"

    alert_reason = None
    if V is not None and target.alert_below is not None and V < target.alert_below:
        alert_reason = f"{_plain(V)} is below the alert threshold {_plain(target.alert_below)}"
    elif V is not None and target.alert_above is not None and V > target.alert_above:
        alert_reason = f"{_plain(V)} is above the alert threshold {_plain(target.alert_above)}"

    current_day = period if period is not None else as_of
    periods_left = max(periods_between(current_day, D, grain), 1)
    needed = None
    if V is not None:
        needed = 0.0 if met else (T - V) / periods_left

    return Status(kpi=target.kpi, grain=grain, period=period, value=V, previous=previous,
                  change=change, target=T, deadline=D, baseline=B, baseline_date=D0,
                  progress=progress, expected=expected, status=status,
                  alert=alert_reason is not None, alert_reason=alert_reason,
                  projection=projection(series, as_of, D, grain), needed_per_period=needed,
                  periods_left=periods_left, partial=partial)


def projection(series: pd.DataFrame, as_of: date, deadline: date, grain: str = "month") -> float | None:
    """Where the KPI is heading: the least-squares line ``value = a + b * period index`` through
    the non-null values of the last 6 complete periods, read off at the deadline's period
    (None with fewer than 2 such values)."""
    rows = _complete_rows(_tidy(series, as_of, grain), as_of, grain).tail(PROJECTION_PERIODS)
    rows = rows[rows["value"].notna()]
    if len(rows) < 2:
        return None
    x = rows["index"].to_numpy(dtype=float)
    y = rows["value"].to_numpy(dtype=float)
    # Centre x so the fit stays exact for day ordinals in the hundreds of thousands.
    x0 = x.mean()
    slope, intercept = np.polyfit(x - x0, y, 1)
    return float(intercept + slope * (period_index(deadline, grain) - x0))


# ----------------------------------------------------------------------------- SMART check

@dataclass(frozen=True)
class SmartCheck:
    """One letter of SMART: whether the target passes it, a one-word verdict and why."""
    letter: str
    name: str
    ok: bool | None       # None: cannot tell yet (Achievable without enough history)
    verdict: str
    reason: str


@dataclass(frozen=True)
class SmartReport:
    """The SMART check of a target: five checks in S, M, A, R, T order and the Achievable band."""
    checks: tuple[SmartCheck, ...]
    achievable_band: str                       # realistic | stretch | unrealistic | unknown
    needed_per_period: float | None = None     # (T - B) / periods left
    strong_change: float | None = None         # 75th percentile of past good-direction changes
    best_change: float | None = None           # the best past change, good direction

    def __post_init__(self):
        object.__setattr__(self, "checks", tuple(self.checks))

    @property
    def ok(self) -> bool:
        """True when every letter passes (an Achievable that cannot be told does not pass)."""
        return all(c.ok for c in self.checks)


def past_changes(series: pd.DataFrame, as_of: date, grain: str = "month") -> list[float]:
    """The period-to-period changes of the last 12 complete periods, each against the period
    before it, where both values are present (oldest first, in the KPI's own direction)."""
    rows = _complete_rows(_tidy(series, as_of, grain), as_of, grain).tail(HISTORY_PERIODS + 1)
    values = dict(zip(rows["index"], rows["value"]))
    changes = []
    for idx in list(values)[-HISTORY_PERIODS:]:
        now, before = values[idx], values.get(idx - 1)
        if before is not None and not (math.isnan(now) or math.isnan(before)):
            changes.append(float(now - before))
    return changes


def achievable_band(needed: float | None, changes: Sequence[float], direction: str) -> str:
    """Compare a needed change per period with past changes, in the good direction.

    Changes are turned to the good direction (negated when lower is better). The needed change
    is *realistic* when it is at most the 75th percentile of those past changes (numpy's
    linear-interpolation percentile), i.e. at least a quarter of past periods did as well;
    *stretch* when it is at most the best past change; *unrealistic* beyond. A target that
    needs no improvement (already met at the baseline) is realistic; with fewer than 3 past
    changes, or no needed change, the band is *unknown*.
    """
    _check_direction(direction)
    if needed is None or math.isnan(needed):
        return "unknown"
    sign = 1.0 if direction == "higher" else -1.0
    need = sign * needed
    if need <= _TIE:
        return "realistic"
    if len(changes) < MIN_PAST_CHANGES:
        return "unknown"
    good = [sign * c for c in changes]
    if need <= float(np.percentile(good, STRONG_PERCENTILE)) + _TIE:
        return "realistic"
    if need <= max(good) + _TIE:
        return "stretch"
    return "unrealistic"


def smart_check(target: Target, series: pd.DataFrame, as_of: date, direction: str, *,
                has_definition: bool, computable: bool, missing: Sequence[str] = ()) -> SmartReport:
    """The SMART check of goals.md. Achievable uses ``(T - B) / periods left`` with periods left
    counted from the baseline's period to the deadline's period (at least 1); see
    :func:`achievable_band` for the exact percentile rule."""
    _check_direction(direction)
    grain = target.grain
    noun = grain
    rows = _tidy(series, as_of, grain)
    B, D0 = _baseline(target, rows, as_of, grain)
    T = float(target.target)

    specific = SmartCheck("S", "Specific", has_definition, "yes" if has_definition else "no",
                          f"It names one KPI, {target.kpi}, with a written definition."
                          if has_definition else
                          f"{target.kpi} has no definition: add it to the catalog or give it a formula.")
    if computable:
        measurable = SmartCheck("M", "Measurable", True, "yes",
                                f"The loaded data can compute {target.kpi}.")
    else:
        what = ", ".join(missing) if missing else "its datasets"
        measurable = SmartCheck("M", "Measurable", False, "no",
                                f"The loaded data cannot compute {target.kpi} yet: it needs {what}.")

    needed = strong = best = None
    changes = past_changes(series, as_of, grain) if computable else []
    if B is not None and D0 is not None:
        left = max(periods_between(D0, target.deadline, grain), 1)
        needed = (T - B) / left
    band = achievable_band(needed, changes, direction)
    if changes:
        sign = 1.0 if direction == "higher" else -1.0
        good = [sign * c for c in changes]
        strong = sign * float(np.percentile(good, STRONG_PERCENTILE))
        best = sign * max(good)
    if band == "unknown":
        reason = ("There is no baseline value to start from, so the change it needs is unknown."
                  if needed is None else
                  f"It needs {_signed(needed)} a {noun}, but there are fewer than "
                  f"{MIN_PAST_CHANGES} past {noun}-to-{noun} changes to compare with.")
    elif (1.0 if direction == "higher" else -1.0) * needed <= _TIE:
        reason = f"The baseline {_plain(B)} already meets the target {_plain(T)}."
    elif band == "realistic":
        reason = (f"It needs {_signed(needed)} a {noun}, no more than a strong past {noun} "
                  f"({_signed(strong)}, the best quarter of the last {len(changes)} changes).")
    elif band == "stretch":
        reason = (f"It needs {_signed(needed)} a {noun}: more than a strong past {noun} "
                  f"({_signed(strong)}) but within the best one ({_signed(best)}).")
    else:
        reason = (f"It needs {_signed(needed)} a {noun}, more than the best {noun} of the last "
                  f"{len(changes)} ({_signed(best)}).")
    achievable = SmartCheck("A", "Achievable", None if band == "unknown" else band != "unrealistic",
                            band, reason)

    relevant = SmartCheck("R", "Relevant", bool(target.objective), "yes" if target.objective else "no",
                          f"It is linked to the objective {target.objective}." if target.objective
                          else "It is not linked to an objective: link it to say why it matters.")
    start = target.baseline_date or D0 or as_of
    timely = target.deadline > start
    time_bound = SmartCheck("T", "Time-bound", timely, "yes" if timely else "no",
                            f"Its deadline {target.deadline.isoformat()} is after the baseline date "
                            f"{start.isoformat()}." if timely else
                            f"Its deadline {target.deadline.isoformat()} is not after the baseline "
                            f"date {start.isoformat()}: set a later deadline.")
    return SmartReport((specific, measurable, achievable, relevant, time_bound), band,
                       needed, strong, best)


def suggest_target(series: pd.DataFrame, as_of: date, direction: str, deadline: date,
                   grain: str = "month", unit: str | None = None) -> float | None:
    """A target that continues a strong past pace to the deadline.

    The baseline (latest complete period) plus, for each period from the baseline's period to
    the deadline's, the KPI's trend over the last 12 complete periods (the least-squares slope)
    when it points the good way, capped at the 75th-percentile good-direction change. A noisy
    KPI's month-to-month swings alone would ask for far too much; the cap keeps the suggestion in
    the *realistic* band by construction, and a KPI that got worse is asked to hold its level.
    Rates are kept in [0, 1] and other non-score units at 0 or more. None with fewer than 3
    past changes or no baseline.
    """
    _check_direction(direction)
    B, D0 = default_baseline(series, as_of, grain)
    changes = past_changes(series, as_of, grain)
    if B is None or len(changes) < MIN_PAST_CHANGES:
        return None
    sign = 1.0 if direction == "higher" else -1.0
    strong = max(float(np.percentile([sign * c for c in changes], STRONG_PERCENTILE)), 0.0)
    step = min(max(sign * _trend_per_period(series, as_of, grain), 0.0), strong)
    left = max(periods_between(D0, deadline, grain), 1)
    suggestion = B + sign * step * left
    # Clamping only ever shortens the way to go, so the band stays realistic.
    if unit == "rate":
        suggestion = min(max(suggestion, 0.0), 1.0)
    elif unit is not None and unit != "score":
        suggestion = max(suggestion, 0.0)
    return float(suggestion)


def _trend_per_period(series: pd.DataFrame, as_of: date, grain: str) -> float:
    """The least-squares slope, per period, of the last 12 complete periods' values."""
    rows = _complete_rows(_tidy(series, as_of, grain), as_of, grain).tail(HISTORY_PERIODS + 1)
    rows = rows[rows["value"].notna()]
    if len(rows) < 2:
        return 0.0
    x = rows["index"].to_numpy(dtype=float)
    slope, _ = np.polyfit(x - x.mean(), rows["value"].to_numpy(dtype=float), 1)
    return float(slope)


def summary_line(statuses: Iterable[Status | str]) -> str:
    """One line for a KPI set, e.g. "5 on track · 1 at risk · 1 off track" (zero counts left out)."""
    names = [s.status if isinstance(s, Status) else s for s in statuses]
    parts = [f"{names.count(s)} {STATUS_STYLE[s][0].lower()}" for s in STATUSES if names.count(s)]
    return " · ".join(parts) if parts else "No targets set yet"


# ----------------------------------------------------------------------------- helpers

def _tidy(series: pd.DataFrame, as_of: date, grain: str) -> pd.DataFrame:
    """The series sorted by period, with dates, float values, ``end`` and ``index`` columns,
    limited to periods starting on or before the as-of date."""
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")
    if series is None or len(series) == 0:
        return pd.DataFrame({"period": [], "value": [], "partial": [], "end": [], "index": []})
    periods = [_as_date(p) for p in series["period"]]
    values = pd.to_numeric(pd.Series(list(series["value"]), dtype=object), errors="coerce").astype(float)
    ends = [period_end(p, grain) for p in periods]
    if "partial" in series.columns:
        partial = [bool(x) if not pd.isna(x) else e > as_of for x, e in zip(series["partial"], ends)]
    else:
        partial = [e > as_of for e in ends]
    rows = pd.DataFrame({"period": periods, "value": values.to_numpy(), "partial": partial,
                         "end": ends, "index": [period_index(p, grain) for p in periods]})
    rows = rows[[p <= as_of for p in rows["period"]]]
    return rows.sort_values("index", kind="stable").reset_index(drop=True)


def _complete_rows(rows: pd.DataFrame, as_of: date, grain: str) -> pd.DataFrame:
    # Trust the engine's flag, and also the calendar in case the series came from elsewhere.
    if rows.empty:
        return rows
    keep = [(not p) and e <= as_of for p, e in zip(rows["partial"], rows["end"])]
    return rows[keep]


def _latest_complete_value(rows: pd.DataFrame, as_of: date, grain: str,
                           until: date | None = None) -> tuple[float | None, date | None]:
    # A null month (no release, no survey) should not leave a target without a baseline, so
    # the latest complete period that has a value is taken.
    complete = _complete_rows(rows, as_of, grain)
    if complete.empty:
        return None, None
    keep = [pd.notna(v) and (until is None or e <= until) for v, e in zip(complete["value"], complete["end"])]
    found = complete[keep]
    if found.empty:
        return None, None
    return float(found["value"].iloc[-1]), found["end"].iloc[-1]


def _baseline(target: Target, rows: pd.DataFrame, as_of: date, grain: str) -> tuple[float | None, date | None]:
    """``(B, D0)`` by the rules in the module docstring."""
    if target.baseline is not None:
        if target.baseline_date is not None:
            return float(target.baseline), target.baseline_date
        complete = _complete_rows(rows, as_of, grain)
        return float(target.baseline), (complete["end"].iloc[-1] if not complete.empty else None)
    if target.baseline_date is not None:
        return _latest_complete_value(rows, as_of, grain, target.baseline_date)[0], target.baseline_date
    return _latest_complete_value(rows, as_of, grain)


def _meets(value: float, target: float, direction: str) -> bool:
    return value >= target - _TIE if direction == "higher" else value <= target + _TIE


def _better(a: float, b: float, direction: str) -> bool:
    return a > b if direction == "higher" else a < b


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'higher' or 'lower', not {direction!r}")


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()


def _num(value: Any) -> float | None:
    """A plain float, or None for null/NaN."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _plain(x: float | None) -> str:
    if x is None:
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}".rstrip("0").rstrip(".")
    return f"{x:.3g}"


def _signed(x: float | None) -> str:
    if x is None:
        return "—"
    return ("+" if x >= 0 else "−") + _plain(abs(x))


def _fresh_id(prefix: str, taken: Iterable[str | None]) -> str:
    used = set(taken)
    n = 1
    while f"{prefix}{n}" in used:
        n += 1
    return f"{prefix}{n}"


def _bad(source: str, where: str, key: str | None, problem: str, hint: str) -> InputError:
    """An InputError like "goals.json, goal 2 (mrr), field deadline: '2026-13-01' is not a date — ..."."""
    place = f"{source}, {where}" + (f", field {key}" if key else "")
    return InputError(f"{place}: {problem} — {hint}", file=source, column=key, hint=hint)


def _number(raw: Any, source: str, where: str, key: str) -> float:
    # bool is an int in Python, but "target": true is a mistake, not the number 1.
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise _bad(source, where, key, f"{raw!r} is not a number", "write a plain number such as 50000 or 0.05")
    try:
        number = float(raw)
    except ValueError:
        raise _bad(source, where, key, f"{raw!r} is not a number",
                   "write a plain number such as 50000 or 0.05 (rates as fractions, no %)") from None
    if not math.isfinite(number):
        raise _bad(source, where, key, f"{raw!r} is not a finite number", "write a plain number")
    return number


def _optional_number(raw: Any, source: str, where: str, key: str) -> float | None:
    return None if raw is None else _number(raw, source, where, key)


def _date(raw: Any, source: str, where: str, key: str) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            try:
                return datetime.fromisoformat(text).date()
            except ValueError:
                pass
    raise _bad(source, where, key, f"{raw!r} is not a date", "write it as YYYY-MM-DD, e.g. 2026-06-30")


def _optional_date(raw: Any, source: str, where: str, key: str) -> date | None:
    return None if raw is None or raw == "" else _date(raw, source, where, key)


def _optional_text(raw: Any, source: str, where: str, key: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise _bad(source, where, key, f"{raw!r} is not text", "write it in double quotes")
    return raw.strip() or None


__all__ = [
    "GRAINS", "DIRECTIONS", "CADENCES", "STATUSES", "STATUS_STYLE", "COLOUR_HEX",
    "Target", "Objective", "Review", "GoalsDoc", "Status", "SmartCheck", "SmartReport",
    "load_goals_file", "dumps", "loads", "next_review_date", "default_baseline", "evaluate",
    "projection", "past_changes", "achievable_band", "smart_check", "suggest_target",
    "summary_line", "period_start", "period_end", "period_index", "periods_between", "add_months",
]
