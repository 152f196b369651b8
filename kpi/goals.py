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
- *Current value.* A flow KPI's ``V`` is its latest complete period *that has a value* (a
  month without a survey does not blank a target); a stock's is its latest period with a value,
  normally the one holding the as-of date. The running period of a flow KPI is kept as "so far".
- *Status order* (:func:`evaluate`): not started, then the deadline's judgement, then no data,
  then met early, then the worse of the pace and forecast readings (pace on a tie).
- *At the deadline.* The target is judged on the period holding ``D`` computed *as of* ``D``
  (the scorecard passes that series): a stock's level on ``D``, a flow's value of that period up
  to ``D`` (the whole period when ``D`` is its last day, as deadlines usually are). Afterwards
  ``period``/``value`` stay those judged, so a page never shows "Missed" beside a value that
  meets the target; alerts still read the value now.
- *No baseline value*: a target cannot be judged before its deadline (``no_data``) and reads as
  an improvement target.
- *Periods left* count whole periods of the target's grain between two periods' indexes: from
  the current period to the deadline's period for the run-rate (at least 1), from the
  baseline's period to the deadline's period for the SMART check and suggested targets.
- *Projection* fits ``value = a + b * period index`` through the non-null values of the last 6
  complete periods (at least 3) and reads it off at the index of the period holding the
  deadline; it and its 80 % band are clipped to :func:`value_bounds`.
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

from .colours import COLOUR_HEX, status_colour, status_hex
from .errors import InputError
from .formatting import (display_step, format_change, format_date, format_pace, format_progress, format_value,
                         period_label)

GRAINS = ("day", "week", "month", "quarter", "year")
DIRECTIONS = ("higher", "lower")
CADENCES = {"weekly": 7, "biweekly": 14, "monthly": 1, "quarterly": 3}  # days, or months

STATUSES = ("achieved", "on_track", "at_risk", "off_track", "missed", "not_started", "no_data")
STATUS_WORDS = {"achieved": "Achieved", "on_track": "On track", "at_risk": "At risk", "off_track": "Off track",
                "missed": "Missed", "not_started": "Not started", "no_data": "No data"}
# (words, colour name): the colour from the one colour language of kpi/colours.py.
STATUS_STYLE: dict[str, tuple[str, str]] = {s: (STATUS_WORDS[s], status_colour(s)) for s in STATUSES}

AT_RISK_MARGIN = 0.10     # progress may lag the time gone by this much before "off track"
PROJECTION_PERIODS = 6
MIN_PROJECTION_VALUES = 3  # a straight line through fewer says nothing about where a KPI is heading
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
                raise _bad(source, where, key, "is missing", "every goal needs kpi, target and deadline")
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


# ----------------------------------------------------------------------------- values a KPI can take

# What a catalog KPI can take, where its unit alone would say otherwise: growth can be negative,
# retention of revenue can pass 100 %, net new MRR is negative in a shrinking month, NPS runs
# from -100 to 100 and survey scores stay within the 0-10 scale of the surveys dataset.
_CATALOG_BOUNDS = {"mrr_growth_rate": (-1.0, None), "net_mrr_retention": (0.0, None),
                   "net_new_mrr": (None, None), "nps": (-100.0, 100.0),
                   "employee_satisfaction": (0.0, 10.0)}
_UNIT_BOUNDS = {"rate": (0.0, 1.0), "currency": (0.0, None), "count": (0.0, None), "minutes": (0.0, None),
                "hours": (0.0, None), "days": (0.0, None), "points": (0.0, None), "per_kloc": (0.0, None),
                "ratio": (0.0, None)}
# A custom or imported KPI may be any sum or ratio the team defined: only what cannot be negative.
_CUSTOM_BOUNDS = {"count": (0.0, None), "minutes": (0.0, None), "hours": (0.0, None), "days": (0.0, None)}


def value_bounds(kpi: str | None, unit: str | None) -> tuple[float | None, float | None]:
    """The lowest and highest values ``kpi`` can take (None: no limit), for clipping projections
    and suggested targets: rates 0-100 %, counts, money and durations 0 or more, NPS -100 to 100,
    survey scores 0 to 10 (with the catalog's exceptions above). A KPI the catalog does not know
    is only kept at 0 or more when its unit is a count or a duration."""
    from .catalog import CATALOG        # the catalog imports nothing from here; imported late all the same
    if kpi in _CATALOG_BOUNDS:
        return _CATALOG_BOUNDS[kpi]
    if kpi is not None and kpi in CATALOG:
        return _UNIT_BOUNDS.get(CATALOG[kpi].unit, (None, None))
    if kpi is None and unit is not None:
        return _UNIT_BOUNDS.get(unit, (None, None))
    return _CUSTOM_BOUNDS.get(unit or "", (None, None))


def clip(value: float | None, bounds: tuple[float | None, float | None] | None) -> float | None:
    """``value`` kept within ``bounds`` (a straight line can run past them, the KPI cannot)."""
    if value is None or bounds is None or (isinstance(value, float) and math.isnan(value)):
        return value
    low, high = bounds
    if low is not None:
        value = max(value, low)
    if high is not None:
        value = min(value, high)
    return float(value)


def tolerance(baseline: float | None, unit: str | None) -> float:
    """ε of goals.md: half a unit of the KPI's displayed precision, and at least 0.5 % of ``|B|``."""
    if baseline is None:
        return 0.0
    step = display_step(baseline, unit) if unit else 0.0
    return max(step / 2, 0.005 * abs(baseline))


def target_kind(target: float, baseline: float | None, direction: str, unit: str | None = None) -> str:
    """``improvement`` when the target is better than the baseline by more than ε, else ``hold``
    (a target at, within ε of, or on the worse side of the baseline: a floor or a ceiling to keep).
    Without a baseline a target can only be read as an improvement."""
    if baseline is None:
        return "improvement"
    sign = 1.0 if direction == "higher" else -1.0
    return "improvement" if sign * (target - baseline) > tolerance(baseline, unit) else "hold"


# ----------------------------------------------------------------------------- status

@dataclass(frozen=True)
class Status:
    """Where one KPI stands against its target at the as-of date: the one answer (goals.md) that
    every page, export, digest, banner and the CLI show.

    ``period``/``value`` are the current value ``V`` (the latest complete period for a flow KPI,
    the level in the period holding the as-of date for a stock) — once the deadline has passed,
    the deadline's period and the value it was judged on. ``so_far`` is a flow KPI's running
    period, ``so_far_days`` of its ``period_days`` counted. ``pace`` and ``forecast`` are the two
    readings; ``decided_by`` names the one the status stands on (or ``deadline``).
    """
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
    target_kind: str = "improvement"
    decided_by: str | None = None
    pace: str | None = None
    forecast: str | None = None
    met_now: bool = False
    projection_low: float | None = None
    projection_high: float | None = None
    tolerance: float = 0.0
    unit: str | None = None
    direction: str = "higher"
    so_far: float | None = None
    so_far_period: date | None = None
    so_far_days: int | None = None
    period_days: int | None = None
    as_of: date | None = None
    current_value: float | None = None     # V now, for alerts, also once the deadline has passed
    note: str | None = None                # why there is no status (no_data), in plain words

    @property
    def label(self) -> str:
        return STATUS_STYLE[self.status][0]

    @property
    def colour(self) -> str:
        """The status colour as hex (kpi/colours.py)."""
        return status_hex(self.status)

    @property
    def is_hold(self) -> bool:
        return self.target_kind == "hold"

    def to_record(self) -> dict[str, Any]:
        """The scorecard's JSON object, field by field as cli.md lists them: dates as ISO text,
        missing numbers as None, ``progress`` None for a hold target, ``projection`` clipped."""
        return {"kpi": self.kpi, "grain": self.grain, "period": _iso(self.period),
                "value": _num(self.value), "previous": _num(self.previous),
                "change": _num(self.change), "target": _num(self.target),
                "deadline": _iso(self.deadline), "baseline": _num(self.baseline),
                "progress": _num(self.progress), "expected": _num(self.expected),
                "status": self.status, "alert": bool(self.alert),
                "projection": _num(self.projection), "target_kind": self.target_kind,
                "decided_by": self.decided_by}

    # -- the words a page shows beside the pill (all pages take them from here) ------------------
    def target_words(self) -> str:
        """'Target 4.0 % by 31 Mar 2027', or for a hold target 'Hold at or below 2.1 % until 31 Mar 2027'."""
        shown = format_value(self.target, self.unit or "")
        if self.is_hold:
            side = "at or above" if self.direction == "higher" else "at or below"
            return f"Hold {side} {shown} until {format_date(self.deadline)}"
        return f"Target {shown} by {format_date(self.deadline)}"

    def reason(self) -> str:
        """Which reading decided the status, in a few words: 'behind pace: 20 % of the way with
        45 % of the time gone', 'heading for 4.7 % by 31 Mar 2027', 'met early', 'missed: 4.2 %
        in Mar 2027'."""
        unit = self.unit or ""
        heading = (f"heading for {format_value(self.projection, unit)} by {format_date(self.deadline)}"
                   if self.projection is not None else "")
        if self.status == "not_started":
            return (f"starts on {format_date(self.baseline_date)}, its baseline date"
                    if self.baseline_date else "not started yet")
        if self.status == "no_data":
            return self.note or "no value to judge yet"
        if self.decided_by == "deadline":
            when = period_label(self.period, self.grain) if self.period else format_date(self.deadline)
            return f"{format_value(self.value, unit)} in {when}, judged at the deadline"
        if self.status == "achieved":
            return "met early"
        if self.met_now and self.decided_by == "forecast":
            side = "below" if self.direction == "higher" else "above"
            return f"met now, heading {side} the target by the deadline ({heading})"
        if self.decided_by == "forecast":
            return heading
        if self.is_hold:
            if self.pace == "on_track":
                return f"holding: {format_value(self.value, unit)}"
            gap = abs(self.value - self.target) if self.value is not None else None
            side = "below" if self.direction == "higher" else "above"
            return f"{format_change(gap, unit).lstrip('+±−')} {side} the level to hold"
        left = format_progress(self.progress)
        gone = f"{round((self.expected or 0) * 100):d} % of the time gone"
        if self.pace == "on_track":
            return f"on pace: {left} of the way with {gone}" if left not in ("far ahead",) else f"on pace: far ahead with {gone}"
        return f"behind pace: {left} of the way with {gone}" if left not in ("far behind",) else f"behind pace: far behind with {gone}"

    def progress_words(self) -> str:
        """'45 % of the way', 'far ahead', or 'hold: no progress figure'."""
        if self.is_hold:
            return "hold: no progress figure"
        if self.progress is None:
            return "no baseline to measure from"
        shown = format_progress(self.progress)
        return shown if shown.startswith("far") else f"{shown} of the way"

    def so_far_words(self) -> str:
        """'Nov 2026 so far (4 of 30 days): 1.2 %' for a flow KPI's running period, else ''."""
        if self.so_far_period is None or self.so_far_days is None:
            return ""
        return (f"{period_label(self.so_far_period, self.grain)} so far ({self.so_far_days} of "
                f"{self.period_days} days): {format_value(self.so_far, self.unit or '')}")

    def run_rate_words(self) -> str:
        """'needs +0.4 pp a month for 5 more months' (empty once achieved, judged or met)."""
        if self.needed_per_period is None or self.status in ("achieved", "missed", "not_started", "no_data"):
            return ""
        if self.needed_per_period == 0:
            return ""
        n = self.periods_left
        return (f"needs {format_pace(self.needed_per_period, self.unit or '')} a {self.grain} "
                f"for {n} more {self.grain}{'s' if n != 1 else ''}")

    def projection_words(self) -> str:
        """'heading for 4.7 % by 31 Mar 2027 (80 % band 2.1 % to 7.3 %)' or ''."""
        if self.projection is None:
            return ""
        unit = self.unit or ""
        band = (f" (80 % band {format_value(self.projection_low, unit)} to "
                f"{format_value(self.projection_high, unit)})" if self.projection_low is not None else "")
        return f"heading for {format_value(self.projection, unit)} by {format_date(self.deadline)}{band}"


def default_baseline(series: pd.DataFrame, as_of: date, grain: str = "month",
                     baseline_date: date | None = None) -> tuple[float | None, date | None]:
    """The baseline a new target gets: the value of the latest complete period that has one
    (ending on or before ``baseline_date`` when given) and that period's last day;
    ``(None, None)`` without one."""
    return _latest_complete_value(_tidy(series, as_of, grain), as_of, grain, baseline_date)


def deadline_is_valid(target: Target) -> bool:
    """goals.md: a deadline must be after the baseline date (when the target has one)."""
    return target.baseline_date is None or target.deadline > target.baseline_date


def check_targets(doc: "GoalsDoc", source: str = "goals file") -> None:
    """Refuse a goal whose deadline is not after its baseline date, naming it (bad input)."""
    for i, t in enumerate(doc.targets, 1):
        if not deadline_is_valid(t):
            raise _bad(source, f"goal {i} ({t.kpi})", "deadline",
                       f"{t.deadline.isoformat()} is not after the baseline date {t.baseline_date.isoformat()}",
                       "set a deadline after the baseline date")


_ORDER = {"on_track": 0, "at_risk": 1, "off_track": 2}


def _worse(a: str, b: str | None) -> str:
    return a if b is None or _ORDER[a] >= _ORDER[b] else b


def _gap(value: float, target: float, direction: str) -> float:
    """How far ``value`` is on the wrong side of ``target`` (0 when it meets it)."""
    return max(target - value, 0.0) if direction == "higher" else max(value - target, 0.0)


def _reading(gap: float, margin: float) -> str:
    if gap <= _TIE * max(1.0, margin):
        return "on_track"
    return "at_risk" if gap <= margin + _TIE * max(1.0, margin) else "off_track"


def evaluate(target: Target, series: pd.DataFrame, as_of: date, direction: str, *, kind: str = "flow",
             unit: str | None = None, bounds: tuple[float | None, float | None] | None = None,
             deadline_series: pd.DataFrame | None = None) -> Status:
    """The status of ``target`` given its KPI's ``series`` at ``target.grain`` (goals.md), read in
    this order:

    1. *not started* when the baseline date is after the as-of date;
    2. at or after the deadline, judged once on the deadline's period: *achieved* when it meets
       the target, else *missed* (``deadline_series``, the series as of the deadline, gives the
       value at the deadline; without it the deadline's period of ``series`` is read);
    3. *no data* without a current value or a baseline;
    4. an improvement target already met is *achieved* ("met early") unless the forecast reading
       is worse, which then stands ("met now, heading below the target by the deadline");
    5. otherwise the worse of the pace reading and the forecast reading (pace on a tie).

    ``kind`` is the KPI's (stock or flow), ``unit`` sets the tolerance ε, ``bounds`` (default
    :func:`value_bounds`) clip the projection and its band.
    """
    _check_direction(direction)
    grain = target.grain
    if bounds is None:
        bounds = value_bounds(target.kpi, unit)
    rows = _tidy(series, as_of, grain)
    B, D0 = _baseline(target, rows, as_of, grain)
    T, D, A = float(target.target), target.deadline, as_of
    eps = tolerance(B, unit)
    kind_of_target = target_kind(T, B, direction, unit)
    hold = kind_of_target == "hold"

    current = _current(rows, as_of, grain, kind)
    period = current["period"] if current is not None else None
    V = _num(current["value"]) if current is not None else None
    partial = bool(current["partial"]) if current is not None else False
    so_far = so_far_period = so_far_days = period_days = None
    if kind != "stock" and not rows.empty and bool(rows.iloc[-1]["partial"]) and rows.iloc[-1]["period"] != period:
        last = rows.iloc[-1]
        so_far, so_far_period = _num(last["value"]), last["period"]
        so_far_days = (min(as_of, last["end"]) - so_far_period).days + 1
        period_days = (last["end"] - so_far_period).days + 1

    alert_reason = None
    if V is not None and target.alert_below is not None and V < target.alert_below:
        alert_reason = (f"{format_value(V, unit or '')} is below the alert level of "
                        f"{format_value(target.alert_below, unit or '')}") if unit else \
            f"{_plain(V)} is below the alert threshold {_plain(target.alert_below)}"
    elif V is not None and target.alert_above is not None and V > target.alert_above:
        alert_reason = (f"{format_value(V, unit or '')} is above the alert level of "
                        f"{format_value(target.alert_above, unit or '')}") if unit else \
            f"{_plain(V)} is above the alert threshold {_plain(target.alert_above)}"

    expected = None
    if D0 is not None:
        span = (D - D0).days
        expected = 1.0 if span <= 0 else min(max((A - D0).days / span, 0.0), 1.0)

    common = dict(kpi=target.kpi, grain=grain, target=T, deadline=D, baseline=B, baseline_date=D0,
                  alert=alert_reason is not None, alert_reason=alert_reason, target_kind=kind_of_target,
                  tolerance=eps, unit=unit, direction=direction, as_of=A, current_value=V,
                  so_far=so_far, so_far_period=so_far_period, so_far_days=so_far_days, period_days=period_days)

    def progress_of(value: float | None) -> float | None:
        if hold or value is None or B is None:
            return None
        return (value - B) / (T - B) + 0.0      # + 0.0: never a "-0 %"

    previous_of = _previous_value(rows, grain)

    # 1. Not started: the target was set after the date being viewed.
    if D0 is not None and D0 > A:
        return Status(period=period, value=V, previous=previous_of(period), change=_diff(V, previous_of(period)),
                      progress=None, expected=0.0, status="not_started", projection=None,
                      needed_per_period=None, periods_left=max(periods_between(A, D, grain), 1), partial=partial,
                      note=None, **common)

    # 2. At or after the deadline: the deadline's period, judged once.
    if A >= D:
        judged_rows = _tidy(deadline_series, D, grain) if deadline_series is not None else rows
        hit = judged_rows[judged_rows["index"] == period_index(D, grain)]
        judged = _num(hit["value"].iloc[-1]) if not hit.empty else None
        judged_period = period_start(D, grain)
        before = previous_of(judged_period)
        if judged is None:
            return Status(period=judged_period, value=None, previous=before, change=None, progress=None,
                          expected=1.0, status="no_data", projection=None, needed_per_period=None, periods_left=0,
                          partial=False, note=f"no value for {period_label(judged_period, grain)}, the deadline's "
                                              f"{grain}", **common)
        met = _meets(judged, T, direction)
        return Status(period=judged_period, value=judged, previous=before, change=_diff(judged, before),
                      progress=progress_of(judged), expected=1.0, status="achieved" if met else "missed",
                      decided_by="deadline", projection=None, needed_per_period=None, periods_left=0,
                      partial=bool(hit["partial"].iloc[-1]) if "partial" in hit else False, **common)

    F, low, high = projection_range(series, as_of, D, grain, bounds)
    periods_left = max(periods_between(period if period is not None else A, D, grain), 1)
    previous = previous_of(period)
    base = dict(period=period, value=V, previous=previous, change=_diff(V, previous), expected=expected,
                projection=F, projection_low=low, projection_high=high, periods_left=periods_left,
                partial=partial, **common)

    # 3. Nothing to judge.
    if V is None or B is None or D0 is None:
        note = ("no value yet" if V is None else "no baseline to measure from: the data has no complete "
                f"{grain} up to the baseline date")
        return Status(progress=None, status="no_data", needed_per_period=None, note=note, **base)

    met = _meets(V, T, direction)
    needed = 0.0 if met else (T - V) / periods_left
    forecast = None
    if hold:
        pace = "on_track" if met else _reading(_gap(V, T, direction), eps + AT_RISK_MARGIN * abs(T))
        if F is not None:
            forecast = _reading(_gap(F, T, direction), AT_RISK_MARGIN * abs(T))
        status = _worse(pace, forecast)
        decided = "forecast" if forecast is not None and _ORDER[forecast] > _ORDER[pace] else "pace"
        return Status(progress=None, status=status, decided_by=decided, pace=pace, forecast=forecast,
                      needed_per_period=needed, **base)

    progress = progress_of(V)
    e = expected
    pace = ("on_track" if progress >= e - _TIE else
            "at_risk" if progress >= e - AT_RISK_MARGIN - _TIE else "off_track")
    if F is not None:
        forecast = _reading(_gap(F, T, direction), AT_RISK_MARGIN * abs(T - B))
    if met:
        if forecast in ("at_risk", "off_track"):
            return Status(progress=progress, status=forecast, decided_by="forecast", pace="on_track",
                          forecast=forecast, met_now=True, needed_per_period=0.0, **base)
        return Status(progress=progress, status="achieved", decided_by="pace", pace="on_track",
                      forecast=forecast, met_now=True, needed_per_period=0.0, **base)
    status = _worse(pace, forecast)
    decided = "forecast" if forecast is not None and _ORDER[forecast] > _ORDER[pace] else "pace"
    return Status(progress=progress, status=status, decided_by=decided, pace=pace, forecast=forecast,
                  needed_per_period=needed, **base)


def _current(rows: pd.DataFrame, as_of: date, grain: str, kind: str):
    """The row of the current value: a stock's latest period with a value (the one holding the
    as-of date, partial or not); a flow's latest complete period with a value."""
    if rows.empty:
        return None
    pool = rows if kind == "stock" else _complete_rows(rows, as_of, grain)
    pool = pool[pool["value"].notna()]
    return pool.iloc[-1] if not pool.empty else None


def _previous_value(rows: pd.DataFrame, grain: str):
    values = dict(zip(rows["index"], rows["value"]))

    def previous_of(period: date | None) -> float | None:
        if period is None:
            return None
        return _num(values.get(period_index(period, grain) - 1))
    return previous_of


def _diff(a: float | None, b: float | None) -> float | None:
    return a - b if a is not None and b is not None else None


# -- the projection: one straight line, shared by the status, Trends and every export -------------

# Two-sided 80 % Student's t quantiles (the 90th percentile) by degrees of freedom; 1.2816 beyond.
_T80 = {1: 3.0777, 2: 1.8856, 3: 1.6377, 4: 1.5332, 5: 1.4759, 6: 1.4398, 7: 1.4149, 8: 1.3968,
        9: 1.3830, 10: 1.3722, 12: 1.3562, 15: 1.3406, 20: 1.3253, 30: 1.3104}


def t_quantile_80(dof: int) -> float:
    """The 90th percentile of Student's t with ``dof`` degrees of freedom (two-sided 80 %)."""
    if dof <= 0:
        return math.nan
    keys = sorted(_T80)
    if dof in _T80:
        return _T80[dof]
    if dof > keys[-1]:
        return 1.2816
    lower = max(k for k in keys if k < dof)
    upper = min(k for k in keys if k > dof)
    # Linear in 1/dof is how t tables are interpolated.
    w = (1 / lower - 1 / dof) / (1 / lower - 1 / upper)
    return _T80[lower] + w * (_T80[upper] - _T80[lower])


@dataclass(frozen=True)
class LineFit:
    """A least-squares line ``value = intercept + slope * (index - x0)`` through ``n`` complete
    periods, with what its 80 % prediction band needs."""
    x0: float
    slope: float
    intercept: float
    n: int
    s: float          # residual standard deviation (n - 2 degrees of freedom; NaN for n = 2)
    sxx: float
    last_period: date

    def at(self, index: int) -> float:
        return float(self.intercept + self.slope * (index - self.x0))

    def half_band(self, index: int) -> float | None:
        dof = self.n - 2
        if dof <= 0 or self.sxx <= 0 or math.isnan(self.s):
            return None
        xi = index - self.x0
        return t_quantile_80(dof) * self.s * math.sqrt(1 + 1 / self.n + xi ** 2 / self.sxx)


def line_fit(series: pd.DataFrame, as_of: date | None, grain: str, fit_periods: int = PROJECTION_PERIODS,
             min_values: int = MIN_PROJECTION_VALUES) -> LineFit | None:
    """The least-squares line through the non-null values of the last ``fit_periods`` complete
    periods (goals.md: 6, at least 3 values, else None). ``as_of`` None trusts the series' own
    ``partial`` flags."""
    rows = _tidy(series, as_of or date.max, grain)
    rows = _complete_rows(rows, as_of or date.max, grain).tail(fit_periods)
    rows = rows[rows["value"].notna()]
    if len(rows) < max(min_values, 2):
        return None
    x = rows["index"].to_numpy(dtype=float)
    y = rows["value"].to_numpy(dtype=float)
    # Centre x so the fit stays exact for day ordinals in the hundreds of thousands.
    x0 = float(x.mean())
    slope, intercept = np.polyfit(x - x0, y, 1)
    n = len(x)
    resid = y - (intercept + slope * (x - x0))
    s = math.sqrt(float((resid ** 2).sum()) / (n - 2)) if n > 2 else math.nan
    return LineFit(x0, float(slope), float(intercept), n, s, float(((x - x0) ** 2).sum()), rows["period"].iloc[-1])


def projection_range(series: pd.DataFrame, as_of: date, deadline: date, grain: str = "month",
                     bounds: tuple[float | None, float | None] | None = None
                     ) -> tuple[float | None, float | None, float | None]:
    """``(F, low, high)``: the line of :func:`line_fit` read off at the deadline's period, and its
    80 % band, each clipped to ``bounds``; Nones without a line."""
    fit = line_fit(series, as_of, grain)
    if fit is None:
        return None, None, None
    idx = period_index(deadline, grain)
    centre = fit.at(idx)
    half = fit.half_band(idx)
    low, high = (centre - half, centre + half) if half is not None else (None, None)
    return clip(centre, bounds), clip(low, bounds), clip(high, bounds)


def projection(series: pd.DataFrame, as_of: date, deadline: date, grain: str = "month",
               bounds: tuple[float | None, float | None] | None = None) -> float | None:
    """Where the KPI is heading by the deadline (:func:`projection_range`'s ``F``)."""
    return projection_range(series, as_of, deadline, grain, bounds)[0]


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
    target_kind: str = "improvement"

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


def past_levels(series: pd.DataFrame, as_of: date, grain: str = "month") -> list[float]:
    """The values of the last 12 complete periods that have one (oldest first)."""
    rows = _complete_rows(_tidy(series, as_of, grain), as_of, grain).tail(HISTORY_PERIODS)
    return [float(v) for v in rows["value"] if pd.notna(v)]


def achievable_band(needed: float | None, changes: Sequence[float], direction: str, slack: float = 0.0) -> str:
    """Compare a needed change per period with past changes, in the good direction.

    Changes are turned to the good direction (negated when lower is better). The needed change
    is *realistic* when it is at most the 75th percentile of those past changes (numpy's
    linear-interpolation percentile), i.e. at least a quarter of past periods did as well;
    *stretch* when it is at most the best past change; *unrealistic* beyond. A target that
    needs no improvement (already met at the baseline) is realistic; with fewer than 3 past
    changes, or no needed change, the band is *unknown*. ``slack`` (per period) forgives the
    rounding of a target to its shown precision.
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
    if need <= float(np.percentile(good, STRONG_PERCENTILE)) + slack + _TIE:
        return "realistic"
    if need <= max(good) + slack + _TIE:
        return "stretch"
    return "unrealistic"


def smart_check(target: Target, series: pd.DataFrame, as_of: date, direction: str, *,
                has_definition: bool, computable: bool, missing: Sequence[str] = (),
                unit: str | None = None) -> SmartReport:
    """The SMART check of goals.md. Achievable uses ``(T - B) / periods left`` with periods left
    counted from the baseline's period to the deadline's period (at least 1); see
    :func:`achievable_band` for the exact percentile rule. A *hold* target is realistic when the
    KPI met it in at least half of the last 12 complete periods. ``unit`` sets ε and forgives a
    target's rounding to the shown precision."""
    _check_direction(direction)
    grain = target.grain
    noun = grain
    rows = _tidy(series, as_of, grain)
    B, D0 = _baseline(target, rows, as_of, grain)
    T = float(target.target)
    kind = target_kind(T, B, direction, unit)

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
    left = None
    if B is not None and D0 is not None:
        left = max(periods_between(D0, target.deadline, grain), 1)
        needed = (T - B) / left
    if changes:
        sign = 1.0 if direction == "higher" else -1.0
        good = [sign * c for c in changes]
        strong = sign * float(np.percentile(good, STRONG_PERCENTILE))
        best = sign * max(good)
    shown = (lambda x: format_value(x, unit)) if unit else _plain
    if kind == "hold" and B is not None:
        levels = past_levels(series, as_of, grain) if computable else []
        if len(levels) < MIN_PAST_CHANGES:
            band = "unknown"
            reason = (f"A hold target: fewer than {MIN_PAST_CHANGES} complete {noun}s to see how often "
                      f"{target.kpi} met {shown(T)}.")
        else:
            times = sum(1 for v in levels if _meets(v, T, direction))
            band = "realistic" if times * 2 >= len(levels) else "stretch"
            reason = (f"A hold target: {target.kpi} met {shown(T)} in {times} of the last {len(levels)} "
                      f"{noun}s" + (", at least half of them." if band == "realistic" else
                                    ", fewer than half of them: holding it asks for better than usual."))
    else:
        slack = (display_step(T, unit) / left) if unit and left else 0.0
        band = achievable_band(needed, changes, direction, slack)
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
                            f"Its deadline {format_date(target.deadline)} is after the baseline date "
                            f"{format_date(start)}." if timely else
                            f"Its deadline {format_date(target.deadline)} is not after the baseline "
                            f"date {format_date(start)}: set a later deadline.")
    return SmartReport((specific, measurable, achievable, relevant, time_bound), band,
                       needed, strong, best, kind)


# ----------------------------------------------------------------------------- suggested targets

SUGGESTION_KINDS = ("pace", "recover", "hold")


@dataclass(frozen=True)
class Suggestion:
    """A suggested target (goals.md's last section): its value, which of the three rules gave it
    (``pace``, ``recover`` or ``hold``) and the sentence that says why."""
    value: float
    kind: str
    sentence: str
    baseline: float
    baseline_date: date


def suggested_target(series: pd.DataFrame, as_of: date, direction: str, deadline: date, grain: str = "month",
                     unit: str | None = None, kpi: str | None = None, name: str | None = None) -> Suggestion | None:
    """The target goals.md suggests for an improvement goal, from the last 12 complete periods:

    - *pace*: when the strong pace ``s`` (the 75th percentile of the good-direction changes) is
      positive, ``B + s × periods to the deadline``, clipped to the values the KPI can take and
      rounded to its shown precision in the better direction, never onto or past ``B``;
    - *recover*: otherwise, the best level reached in at least a quarter of those periods (their
      75th percentile, direction-aware; rounded towards ``B`` so it is a level really reached),
      when that is better than ``B`` by more than ε;
    - *hold*: otherwise ``B`` itself, labelled "hold the level", with the reason.

    None without a baseline (no complete period with a value).
    """
    _check_direction(direction)
    B, D0 = default_baseline(series, as_of, grain)
    if B is None or D0 is None:
        return None
    bounds = value_bounds(kpi, unit)
    eps = tolerance(B, unit)
    sign = 1.0 if direction == "higher" else -1.0
    what = name or "It"
    noun = grain
    changes = past_changes(series, as_of, grain)
    levels = past_levels(series, as_of, grain)
    shown = (lambda x: format_value(x, unit)) if unit else _plain
    moved = (lambda x: format_pace(x, unit)) if unit else _signed
    left = max(periods_between(D0, deadline, grain), 1)

    if len(changes) >= MIN_PAST_CHANGES:
        strong = float(np.percentile([sign * c for c in changes], STRONG_PERCENTILE))
        if strong > _TIE:
            raw = clip(B + sign * strong * left, bounds)
            value = _round_away(raw, B, sign, unit)
            value = clip(value, bounds)
            if sign * (value - B) > eps:
                return Suggestion(value, "pace", (
                    f"Keeps up a strong pace: {moved(sign * strong)} a {noun} — as good as the best quarter "
                    f"of the last {len(changes)} {noun}-to-{noun} changes — for {left} {noun}"
                    f"{'s' if left != 1 else ''} from {shown(B)} ({period_label(period_start(D0, grain), grain)})."),
                    B, D0)
    if len(levels) >= MIN_PAST_CHANGES:
        best = float(np.percentile(levels, STRONG_PERCENTILE if sign > 0 else 100 - STRONG_PERCENTILE))
        value = clip(_round_toward(best, B, sign, unit), bounds)
        if sign * (value - B) > eps:
            return Suggestion(value, "recover", (
                f"{what} has mostly got worse lately, so: recover to {shown(value)}, a level reached in at "
                f"least a quarter of the last {len(levels)} {noun}s (now {shown(B)})."), B, D0)
        why = (f"{what} has mostly got worse lately and was rarely better than now in the last {len(levels)} "
               f"{noun}s")
    else:
        why = f"There are too few complete {noun}s ({len(levels)}) to suggest a change"
    side = "at or above" if direction == "higher" else "at or below"
    return Suggestion(float(B), "hold", f"{why}, so: hold the level — keep it {side} {shown(B)}.", B, D0)


def suggest_target(series: pd.DataFrame, as_of: date, direction: str, deadline: date,
                   grain: str = "month", unit: str | None = None, kpi: str | None = None) -> float | None:
    """The value of :func:`suggested_target` (None without a baseline)."""
    found = suggested_target(series, as_of, direction, deadline, grain, unit, kpi)
    return found.value if found else None


def _round_away(value: float, baseline: float, sign: float, unit: str | None) -> float:
    """``value`` rounded to the shown precision, in the better direction (away from ``baseline``)."""
    step = display_step(value, unit) if unit else None
    if not step:
        return float(value)
    units = value / step
    n = math.ceil(units - 1e-9) if sign > 0 else math.floor(units + 1e-9)
    return float(round(n * step, 10))


def _round_toward(value: float, baseline: float, sign: float, unit: str | None) -> float:
    """``value`` rounded to the shown precision towards ``baseline`` (never beyond a level reached)."""
    step = display_step(value, unit) if unit else None
    if not step:
        return float(value)
    units = value / step
    n = math.floor(units + 1e-9) if sign > 0 else math.ceil(units - 1e-9)
    return float(round(n * step, 10))


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
    "GRAINS", "DIRECTIONS", "CADENCES", "STATUSES", "STATUS_WORDS", "STATUS_STYLE", "COLOUR_HEX",
    "Target", "Objective", "Review", "GoalsDoc", "Status", "SmartCheck", "SmartReport", "Suggestion", "LineFit",
    "load_goals_file", "dumps", "loads", "next_review_date", "default_baseline", "evaluate", "check_targets",
    "deadline_is_valid", "value_bounds", "clip", "tolerance", "target_kind", "line_fit", "projection_range",
    "projection", "t_quantile_80", "past_changes", "past_levels", "achievable_band", "smart_check",
    "suggested_target", "suggest_target", "summary_line", "period_start", "period_end", "period_index",
    "periods_between", "add_months",
]
