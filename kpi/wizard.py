"""The planning flow's core: the KPI wizard's state, its hint at the product's stage, its one-click
balance fixes and the targets it saves — and how an objective's progress rolls up from its key results.

Everything here is pure Python over plain values and the engine's tidy frames (``compute``'s
output at month grain), so the wizard page only reads widgets, calls these and draws the result.
The knowledge it applies is ``lifecycle.md`` (stages, goals, balance) and ``goals.md`` (targets,
SMART check, status); the rules this module adds are written next to the code that applies them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from . import catalog, lifecycle
from .formatting import format_value
from .goals import _as_date  # one reading of dates for goals and the wizard
from .goals import (GoalsDoc, Objective, Status, Target, add_months, default_baseline, period_end,
                    period_start, suggested_target)

STEPS = ("Goals", "Stage", "KPIs", "Balance", "Targets", "Save")
STEP_HELP = (
    "What are you trying to achieve?",
    "Where is your product in its life?",
    "The KPIs that fit, and the ones you add",
    "Does the set give a balanced picture?",
    "Where should each KPI be, and by when?",
    "Check and save your KPI set",
)
WIZARD_GRAIN = "month"   # the wizard judges targets month by month (goals.md's default grain)


# ---------------------------------------------------------------------------------------------
# The wizard's state: what a PM chose so far, saved in the workspace at every step
# ---------------------------------------------------------------------------------------------
@dataclass
class WizardState:
    step: int = 0
    goals: list[str] = field(default_factory=list)
    stage: str | None = None
    kpis: list[str] = field(default_factory=list)
    proposed_for: list | None = None        # [goals, stage] the KPI list was proposed for
    targets: dict[str, dict] = field(default_factory=dict)   # kpi -> target, deadline, alert_below, alert_above
    objective: dict = field(default_factory=lambda: {"choice": "new", "title": "", "why": ""})
    saved_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "step": self.step, "goals": list(self.goals), "stage": self.stage,
                "kpis": list(self.kpis), "proposed_for": self.proposed_for,
                "targets": {k: dict(v) for k, v in self.targets.items()}, "objective": dict(self.objective),
                "saved_at": self.saved_at}

    @classmethod
    def from_dict(cls, raw: Any) -> "WizardState":
        """A state from what the workspace stored; anything unreadable falls back to a fresh start
        for that part, so an old or damaged document never blocks the wizard."""
        if not isinstance(raw, dict):
            return cls()
        goals = [g for g in raw.get("goals") or [] if g in lifecycle.GOALS]
        stage = raw.get("stage") if raw.get("stage") in lifecycle.STAGES else None
        kpis = [k for k in dict.fromkeys(raw.get("kpis") or []) if isinstance(k, str) and k]
        targets = {k: dict(v) for k, v in (raw.get("targets") or {}).items() if isinstance(v, dict)}
        objective = raw.get("objective") if isinstance(raw.get("objective"), dict) else {}
        try:
            step = min(max(int(raw.get("step", 0)), 0), len(STEPS) - 1)
        except (TypeError, ValueError):
            step = 0
        return cls(step=step, goals=goals, stage=stage, kpis=kpis,
                   proposed_for=raw.get("proposed_for"), targets=targets,
                   objective={"choice": "new", "title": "", "why": "", **objective},
                   saved_at=raw.get("saved_at"))

    def blocker(self) -> str | None:
        """Why the user cannot go on from this step yet (None: they can)."""
        if self.step == 0 and not self.goals:
            return "Pick at least one goal to continue."
        if self.step == 1 and not self.stage:
            return "Pick the stage that fits your product best."
        if self.step >= 2 and not self.kpis:
            return "Keep at least one KPI in your set."
        return None

    def needs_new_proposal(self) -> bool:
        return self.proposed_for != [sorted(self.goals), self.stage]


def default_objective_title(goals: Sequence[str]) -> str:
    """An objective title in the PM's words from the chosen goals: "Boost revenue and keep the customers we have"."""
    labels = [lifecycle.GOALS[g].label for g in goals if g in lifecycle.GOALS]
    if not labels:
        return ""
    text = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    return text[0].upper() + text[1:]


def propose_kpis(goals: Sequence[str], stage: str | None, computable: set[str] | None) -> list[str]:
    """The KPIs the wizard ticks to start with: the recommendation's primary KPIs that the data
    can compute (all primary ones when it can compute none, so a newcomer without data still
    sees a plan)."""
    recs = lifecycle.recommend(goals, stage, computable)
    primary = [r.kpi for r in recs if r.tier == "primary"]
    if computable is None:
        return primary
    ok = [k for k in primary if k in computable]
    return ok or primary


# ---------------------------------------------------------------------------------------------
# The stage hint: what the data says about where the product is
# ---------------------------------------------------------------------------------------------
# A handful of paying customers is too few to speak of growth; below this the product is early.
EARLY_BELOW_CUSTOMERS = 100
EARLY_BELOW_ACTIVE_USERS = 500
# Compound monthly growth that still counts as a growth stage (about 40 % a year).
GROWTH_FROM_MONTHLY = 0.03
HINT_MONTHS = 6


@dataclass(frozen=True)
class StageHint:
    stage: str
    message: str                 # "Looks like growth: 678 paying customers, MRR +7.7 %/month over the last 6 months."
    figures: dict


def _series(frame: pd.DataFrame, kpi: str) -> pd.DataFrame:
    if frame is None or frame.empty:
        return pd.DataFrame(columns=["period", "value", "partial"])
    rows = frame[(frame["kpi"] == kpi) & (frame["segment"].isna())]
    return rows[["period", "value", "partial"]].sort_values("period")


def _complete_values(frame: pd.DataFrame, kpi: str, as_of: date) -> list[tuple[date, float]]:
    """(period, value) of complete months with a value, oldest first."""
    out = []
    for p, v, partial in _series(frame, kpi).itertuples(index=False):
        p = _as_date(p)
        if not partial and period_end(p, "month") <= as_of and v is not None and not math.isnan(v):
            out.append((p, float(v)))
    return out


def monthly_growth(values: Sequence[tuple[date, float]], months: int = HINT_MONTHS) -> float | None:
    """Compound growth per month between the latest value and the one ``months`` before it
    (fewer when the history is shorter, at least 2); None when it cannot be told."""
    if len(values) < 3:
        return None
    span = min(months, len(values) - 1)
    start, end = values[-1 - span][1], values[-1][1]
    if start <= 0 or end < 0:
        return None
    return (end / start) ** (1 / span) - 1


def stage_hint(frame: pd.DataFrame, as_of: date | None) -> StageHint | None:
    """A guess at the lifecycle stage from a month-grain frame holding ``paying_customers`` and
    ``mrr`` (or else ``active_users``), with the figures it rests on.

    Rule: fewer than 100 paying customers (500 active users without billing data) → early;
    otherwise compound monthly growth of MRR (active users) over the last 6 complete months of
    3 % or more → growth; otherwise → mature. None when the frame holds neither.
    """
    if as_of is None:
        return None
    customers = _complete_values(frame, "paying_customers", as_of)
    mrr = _complete_values(frame, "mrr", as_of)
    if customers and mrr:
        count, what, growth_of, series = customers[-1][1], "paying customers", "MRR", mrr
        early_below = EARLY_BELOW_CUSTOMERS
    else:
        users = _complete_values(frame, "active_users", as_of)
        if not users:
            return None
        count, what, growth_of, series = users[-1][1], "active users a month", "active users", users
        early_below = EARLY_BELOW_ACTIVE_USERS
    growth = monthly_growth(series)
    span = min(HINT_MONTHS, len(series) - 1)
    figures = {"count": count, "what": what, "growth": growth, "growth_of": growth_of, "months": span,
               "period": series[-1][0]}
    count_text = f"{format_value(count, 'count')} {what}"
    growth_text = (f"{growth_of} {'+' if growth >= 0 else '−'}{abs(growth) * 100:.1f} %/month over the last "
                   f"{span} months" if growth is not None else f"too little history to tell {growth_of} growth")
    if count < early_below:
        stage = "early"
    elif growth is not None and growth >= GROWTH_FROM_MONTHLY:
        stage = "growth"
    elif growth is None:
        return StageHint("growth", f"Can't tell yet: {count_text}, {growth_text}.", figures)
    else:
        stage = "mature"
    return StageHint(stage, f"Looks like {stage}: {count_text}, {growth_text}.", figures)


# ---------------------------------------------------------------------------------------------
# Latest values and targets
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Latest:
    value: float | None
    period: date | None      # first day of the latest complete month with a value
    text: str                # "$395,536 in Oct 2026", or "no value yet"


def latest_value(series: pd.DataFrame, as_of: date | None, unit: str, grain: str = WIZARD_GRAIN) -> Latest:
    """The KPI's value in its latest complete period (a month still running would mislead)."""
    if as_of is None or series is None or len(series) == 0:
        return Latest(None, None, "no value yet")
    value, end = default_baseline(series, as_of, grain)
    if value is None:
        return Latest(None, None, "no value yet")
    start = period_start(end, grain)
    return Latest(value, start, f"{format_value(value, unit)} in {period_name(start, grain)}")


def period_name(start: date, grain: str = "month") -> str:
    if grain == "month":
        return start.strftime("%b %Y")
    if grain == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if grain == "year":
        return str(start.year)
    if grain == "week":
        return f"week of {start:%d %b %Y}"
    return start.strftime("%d %b %Y")


def default_deadline(as_of: date | None, today: date | None = None) -> date:
    """The end of the quarter after the one holding the data's as-of date (or today)."""
    base = as_of or today or date.today()
    return period_end(add_months(period_start(base, "quarter"), 3), "quarter")


def input_scale(unit: str) -> tuple[float, str]:
    """How a target is typed: rates as percentages (5.3 for 0.053), everything else as is;
    with the suffix the input shows."""
    if unit == "rate":
        return 100.0, "%"
    return 1.0, {"currency": "$", "minutes": "min", "hours": "h", "days": "days", "points": "pts",
                 "per_kloc": "per KLOC", "ratio": "×"}.get(unit, "")


def achievable_words(report, unit: str, direction: str, grain: str = WIZARD_GRAIN) -> str | None:
    """The SMART check's Achievable reason with the changes in the KPI's own unit ("+0.4 pp a
    month" for a rate, "+$2,547 a month" for money); None to keep the check's own words."""
    from .formatting import format_change
    band, needed = report.achievable_band, report.needed_per_period
    if needed is None or band not in ("realistic", "stretch", "unrealistic"):
        return None
    if report.strong_change is None or report.best_change is None:
        return None
    if (needed <= 0) if direction == "higher" else (needed >= 0):
        return None                           # the baseline already meets the target: keep its words
    need, strong, best = (format_change(x, unit) for x in (needed, report.strong_change, report.best_change))
    if band == "realistic":
        return f"It needs {need} a {grain}, no more than a strong past {grain} ({strong})."
    if band == "stretch":
        return f"It needs {need} a {grain}: more than a strong past {grain} ({strong}), but within the best one ({best})."
    return f"It needs {need} a {grain}, more than the best {grain} of the past year ({best})."


@dataclass(frozen=True)
class TargetDraft:
    kpi: str
    baseline: float | None
    baseline_date: date | None
    suggested: float | None
    deadline: date
    kind: str | None = None       # pace | recover | hold (goals.suggested_target), None without a suggestion
    reason: str = ""              # the sentence that says which and why


def round_target(value: float | None, baseline: float | None, unit: str) -> float | None:
    """A suggested target as a person would write it: rates to a tenth of a percentage point,
    other values to 3 significant digits — rounded towards the baseline, so rounding never makes
    a target more ambitious than the pace it came from."""
    if value is None or math.isnan(value):
        return value
    step = 0.001 if unit == "rate" else (10 ** (math.floor(math.log10(abs(value))) - 2) if value else 1.0)
    toward_down = baseline is None or baseline <= value
    units = value / step
    # A hair of tolerance so 0.37 stays 0.37 instead of flooring to 0.369 by float noise.
    rounded = float(round((math.floor(units + 1e-9) if toward_down else math.ceil(units - 1e-9)) * step, 10))
    if baseline is not None and (value == baseline or (rounded - baseline) * (value - baseline) < 0):
        # "Hold the level", or a step smaller than the rounding: rounding must not carry the
        # target past the baseline, where it would count as achieved on the day it is set.
        return float(value)
    return rounded


def draft_target(kpi: str, series: pd.DataFrame, as_of: date | None, direction: str, unit: str,
                 deadline: date | None = None, grain: str = WIZARD_GRAIN, name: str | None = None) -> TargetDraft:
    """Baseline (latest complete period) and the core's suggested target (``goals.suggested_target``:
    a strong past pace, else recover a level reached, else an explicit "hold the level" — with the
    kind and the sentence that says why; never a silent target equal to the baseline)."""
    deadline = deadline or default_deadline(as_of)
    if as_of is None or series is None or len(series) == 0:
        return TargetDraft(kpi, None, None, None, deadline)
    found = suggested_target(series, as_of, direction, deadline, grain, unit, kpi, name)
    if found is None:
        baseline, when = default_baseline(series, as_of, grain)
        return TargetDraft(kpi, baseline, when, None, deadline)
    return TargetDraft(kpi, found.baseline, found.baseline_date, found.value, deadline, found.kind, found.sentence)


def build_targets(kpis: Sequence[str], entries: Mapping[str, Mapping], drafts: Mapping[str, TargetDraft],
                  objective_id: str | None, grain: str = WIZARD_GRAIN) -> list[Target]:
    """The key results to save: one per KPI of the set that has a target value; the baseline
    is stored as set now (goals.md), so it does not move as time passes."""
    out = []
    for k in kpis:
        entry = entries.get(k) or {}
        value = _number(entry.get("target"))
        if value is None:
            continue
        draft = drafts.get(k)
        deadline = _as_date(entry.get("deadline")) if entry.get("deadline") else (
            draft.deadline if draft else default_deadline(None))
        out.append(Target(kpi=k, target=value, deadline=deadline,
                          baseline=draft.baseline if draft else None,
                          baseline_date=draft.baseline_date if draft else None, grain=grain,
                          alert_below=_number(entry.get("alert_below")),
                          alert_above=_number(entry.get("alert_above")), objective=objective_id))
    return out


def fresh_objective_id(doc: GoalsDoc) -> str:
    used = {o.id for o in doc.objectives}
    n = 1
    while f"o{n}" in used:
        n += 1
    return f"o{n}"


def apply_to_goals(doc: GoalsDoc, targets: Sequence[Target], *, kpi_set: Sequence[str],
                   previous_set: Sequence[str] = (), objective: Objective | None = None) -> GoalsDoc:
    """The goals document after the wizard saves a set.

    Rule: a new target replaces the stored target of the same KPI at the same grain (keeping its
    id); targets of KPIs that were in the previously saved set but are not in the new one are
    dropped (the wizard made them); every other target — made on the Goals page — is kept.
    """
    if objective is not None:
        doc = doc.add_objective(objective)
    new_by_key = {(t.kpi, t.grain): t for t in targets}
    dropped = set(previous_set) - set(kpi_set)
    kept: list[Target] = []
    used_ids: set[str] = set()
    for old in doc.targets:
        new = new_by_key.pop((old.kpi, old.grain), None)
        if new is not None:
            kept.append(replace(new, id=old.id))
            used_ids.add(old.id)
        elif old.kpi not in dropped:
            kept.append(old)
    doc = replace(doc, targets=tuple(kept))
    for t in targets:
        if (t.kpi, t.grain) in new_by_key:
            doc = doc.add_target(t)
    return doc


# ---------------------------------------------------------------------------------------------
# One-click balance fixes
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fix:
    add: str | None
    remove: str | None
    label: str          # the button: "Add Customer acquisition cost" / "Swap Daily active users for Uptime"


@dataclass(frozen=True)
class _Tags:
    leading: bool
    input: bool
    qualitative: bool
    perspective: str | None


def _tags(kpi: str, extra_tags: Mapping[str, Mapping] | None) -> _Tags:
    k = catalog.CATALOG.get(kpi)
    if k:
        return _Tags(k.leading, k.input, k.qualitative, k.perspective)
    t = (extra_tags or {}).get(kpi) or {}
    return _Tags(bool(t.get("leading")), bool(t.get("input")), bool(t.get("qualitative")), t.get("perspective"))


def kpi_name(kpi: str, names: Mapping[str, str] | None = None) -> str:
    if names and kpi in names:
        return names[kpi]
    k = catalog.CATALOG.get(kpi)
    return k.name if k else kpi


def _sole_carriers(kpis: Sequence[str], extra_tags, surveys_loaded: bool) -> set[str]:
    """KPIs that alone give the set a leading, lagging, input, output or qualitative KPI."""
    tags = {k: _tags(k, extra_tags) for k in kpis}
    tests = [lambda t: t.leading, lambda t: not t.leading, lambda t: t.input, lambda t: not t.input]
    if surveys_loaded:
        tests.append(lambda t: t.qualitative)
    sole = set()
    for test in tests:
        carriers = [k for k, t in tags.items() if test(t)]
        if len(carriers) == 1:
            sole.add(carriers[0])
    return sole


def _least_important(candidates: Iterable[str], order: Sequence[str]) -> str | None:
    """The candidate recommended last; KPIs the user added themselves (not recommended) go last of all."""
    rank = {k: i for i, k in enumerate(order)}
    ranked = [k for k in candidates if k in rank]
    return max(ranked, key=rank.get) if ranked else None


def plan_fix(kpis: Sequence[str], finding: lifecycle.Finding, *, order: Sequence[str],
             surveys_loaded: bool, computable: set[str] | None = None,
             extra_tags: Mapping[str, Mapping] | None = None,
             names: Mapping[str, str] | None = None, keep: Iterable[str] = ()) -> Fix | None:
    """What one click does for a finding: add exactly the KPI its message names
    (``finding.suggestion``, chosen once by :func:`kpi.lifecycle.balance_check`), or — when more
    than half the set looks from one perspective and the set has at least 5 KPIs — swap the least
    important of those KPIs (never one that alone keeps another rule satisfied) for it. Above 7
    KPIs, drop the least important KPI of the most crowded perspective. KPIs in ``keep`` (see
    :func:`last_primaries`) are dropped only when nothing else can be. None when there is nothing
    to click."""
    kpis = list(kpis)
    keep = set(keep)
    if finding.severity == "ok":
        return None
    if finding.rule == "size" and len(kpis) > lifecycle.BAND_HIGH:
        # Drop from the perspective the set has most of, so the cut does not unbalance it.
        tags = {k: _tags(k, extra_tags) for k in kpis}
        per = [t.perspective for t in tags.values()]
        most = max((per.count(t.perspective) for t in tags.values() if t.perspective), default=0)
        pool = [k for k in kpis if k not in _sole_carriers(kpis, extra_tags, surveys_loaded)]
        crowded = [k for k in pool if tags[k].perspective and per.count(tags[k].perspective) == most]
        drop = (_least_important([k for k in crowded if k not in keep], order)
                or _least_important(crowded, order) or _least_important(pool, order))
        return Fix(None, drop, f"Drop {kpi_name(drop, names)}") if drop else None
    if not finding.suggestion or finding.suggestion in kpis:
        return None
    add = finding.suggestion
    if finding.rule == "perspective" and len(kpis) >= lifecycle.BAND_LOW:
        tags = {k: _tags(k, extra_tags) for k in kpis}
        counts: dict[str, int] = {}
        for t in tags.values():
            if t.perspective:
                counts[t.perspective] = counts.get(t.perspective, 0) + 1
        top = max(counts, key=counts.get) if counts else None
        sole = _sole_carriers(kpis, extra_tags, surveys_loaded)
        pool = [k for k in kpis if tags[k].perspective == top and k not in sole]
        drop = _least_important([k for k in pool if k not in keep], order) or _least_important(pool, order)
        if drop:
            return Fix(add, drop, f"Swap {kpi_name(drop, names)} for {kpi_name(add, names)}")
    return Fix(add, None, f"Add {kpi_name(add, names)}")


def last_primaries(kpis: Sequence[str], goals: Sequence[str], stage: str | None) -> set[str]:
    """The KPIs that are the only primary KPI of the stage or of a goal left in the set: a fix
    that drops one would leave what the team said it wants unwatched."""
    sources = ([lifecycle.STAGES[stage].primary] if stage in lifecycle.STAGES else []) + \
        [lifecycle.GOALS[g].primary for g in dict.fromkeys(goals) if g in lifecycle.GOALS]
    out = set()
    for primary in sources:
        mine = [k for k in kpis if k in primary]
        if len(mine) == 1:
            out.add(mine[0])
    return out


def apply_fix(kpis: Sequence[str], fix: Fix) -> list[str]:
    out = [k for k in kpis if k != fix.remove]
    if fix.add and fix.add not in out:
        if fix.remove and fix.remove in kpis:
            out.insert(list(kpis).index(fix.remove), fix.add)   # a swap keeps the place
        else:
            out.append(fix.add)
    return out


def importance_order(goals: Sequence[str], stage: str | None) -> list[str]:
    """The recommended KPIs from most to least important, for choosing what a fix drops: the
    goals' primary KPIs taken in turn from each goal (the goal is what the team said it wants),
    then the stage's primary ones, then the secondary ones in the same way."""
    goal_sources = [lifecycle.GOALS[g] for g in dict.fromkeys(goals) if g in lifecycle.GOALS]
    stage_sources = [lifecycle.STAGES[stage]] if stage in lifecycle.STAGES else []
    out: list[str] = []
    for tier in ("primary", "secondary"):
        for sources in (goal_sources, stage_sources):
            lists = [getattr(s, tier) for s in sources]
            for i in range(max((len(x) for x in lists), default=0)):
                for x in lists:
                    if i < len(x) and x[i] not in out:
                        out.append(x[i])
    return out


FIX_STEPS = 8   # one-click fixes "Balance it for me" makes before it searches instead


def balance_by_fixes(kpis: Sequence[str], *, surveys_loaded: bool, computable: set[str] | None,
                     goals: Sequence[str] = (), stage: str | None = None,
                     extra_tags: Mapping[str, Mapping] | None = None) -> list[str] | None:
    """The set reached by clicking the balance check's fixes in turn — each time the first
    problem's, else the size note's — until it is balanced with 5 to 7 KPIs; None when the fixes
    run out, go round in a circle or take more than :data:`FIX_STEPS` clicks. Every KPI it adds
    is one a message named at that step, and none the data cannot compute."""
    order = importance_order(goals, stage)
    current = list(dict.fromkeys(kpis))
    seen = {frozenset(current)}
    for _ in range(FIX_STEPS + 1):
        report = lifecycle.balance_check(current, surveys_loaded=surveys_loaded, computable=computable,
                                         goals=goals, stage=stage, extra_tags=extra_tags)
        if report.balanced and lifecycle.BAND_LOW <= len(current) <= lifecycle.BAND_HIGH:
            return current
        findings = report.problems + [f for f in report.findings if f.severity == "note"]
        keep = last_primaries(current, goals, stage)
        fixes = (plan_fix(current, f, order=order, surveys_loaded=surveys_loaded, computable=computable,
                          extra_tags=extra_tags, keep=keep) for f in findings)
        fix = next((f for f in fixes if f is not None), None)
        if fix is None or (fix.add and computable is not None and fix.add not in computable):
            return None
        current = apply_fix(current, fix)
        if frozenset(current) in seen:
            return None
        seen.add(frozenset(current))
    return None


# What "Balance it for me" values in a KPI set (a search over small sets, see auto_balance).
KEEP_WEIGHT = 50          # a KPI already in the set: change as little as possible
COMPUTABLE_WEIGHT = 10    # the data can compute it today
UNMEASURABLE_WEIGHT = -200  # the data cannot: a set to act on needs numbers
COVERAGE_WEIGHT = 40      # the stage and each goal keep at least one of their primary KPIs
POOL_LIMIT = 15   # recommendations kept in the search (current KPIs always are)


def auto_balance(kpis: Sequence[str], *, surveys_loaded: bool, computable: set[str] | None,
                 goals: Sequence[str] = (), stage: str | None = None,
                 extra_tags: Mapping[str, Mapping] | None = None) -> list[str]:
    """The balanced set of 5 to 7 KPIs closest to ``kpis``: what "Balance it for me" proposes.

    First it makes the one-click fixes the balance check offers, one after the other
    (:func:`balance_by_fixes`), so the button adds the KPIs the messages name. When that does not
    reach a balanced set, it searches every set of 5 to 7 KPIs drawn from the current ones, the recommendations and,
    for each balanced-scorecard perspective and each kind the rules ask for, the catalog KPI
    most often recommended; a set must pass every rule of the balance check, and the one kept
    scores best: +50 for each KPI already chosen, +30 down to 0 by importance
    (:func:`importance_order`), +10 when the data can compute it and -200 when it cannot, and +40
    for the stage and for each goal that keeps one of its primary KPIs. The current set comes
    back unchanged when no set passes.
    """
    current = list(dict.fromkeys(kpis))
    fixed = balance_by_fixes(current, surveys_loaded=surveys_loaded, computable=computable, goals=goals,
                             stage=stage, extra_tags=extra_tags)
    if fixed is not None:
        return fixed
    order = importance_order(goals, stage)
    tags = {}

    def tag(k: str) -> _Tags:
        if k not in tags:
            tags[k] = _tags(k, extra_tags)
        return tags[k]

    def can(k: str) -> bool:
        return computable is None or k in computable or k not in catalog.CATALOG

    pool = current + [k for k in order if k not in current]
    if len(pool) > POOL_LIMIT:   # keep the search small: drop the least important recommendations
        pool = current + [k for k in order if k not in current][:max(3, POOL_LIMIT - len(current))]
    # One fallback per perspective and per kind, so a balanced set always exists when the data allows.
    def popularity(k: str) -> tuple:
        entry = catalog.CATALOG[k]
        return (not can(k), -(len(entry.stages) + len(entry.goals)), list(catalog.CATALOG).index(k))
    wants = [lambda t, p=p: t.perspective == p for p in catalog.PERSPECTIVES]
    wants += [lambda t: t.leading, lambda t: not t.leading, lambda t: t.input, lambda t: not t.input]
    if surveys_loaded:
        wants.append(lambda t: t.qualitative)
    for want in wants:
        options = sorted((k for k in catalog.CATALOG if k not in pool and want(tag(k))), key=popularity)
        if options and not any(want(tag(k)) and can(k) for k in pool):
            pool.append(options[0])

    rank = {k: i for i, k in enumerate(order)}

    def weight(k: str) -> float:
        w = (KEEP_WEIGHT if k in current else 0) + (max(0, 30 - rank[k]) if k in rank else 0)
        return w + (COMPUTABLE_WEIGHT if can(k) else UNMEASURABLE_WEIGHT)

    sources = ([lifecycle.STAGES[stage].primary] if stage in lifecycle.STAGES else []) + \
        [lifecycle.GOALS[g].primary for g in dict.fromkeys(goals) if g in lifecycle.GOALS]

    def balanced(combo: tuple[str, ...]) -> bool:
        ts = [tag(k) for k in combo]
        if not (any(t.leading for t in ts) and any(not t.leading for t in ts)
                and any(t.input for t in ts) and any(not t.input for t in ts)):
            return False
        if surveys_loaded and not any(t.qualitative for t in ts):
            return False
        per: dict[str, int] = {}
        for t in ts:
            if t.perspective:
                per[t.perspective] = per.get(t.perspective, 0) + 1
        return all(2 * c <= len(combo) for c in per.values())

    from itertools import combinations
    weights = {k: weight(k) for k in pool}
    best, best_score = None, None
    for size in range(lifecycle.BAND_HIGH, lifecycle.BAND_LOW - 1, -1):
        for combo in combinations(pool, size):
            score = sum(weights[k] for k in combo)
            if best_score is not None and score + COVERAGE_WEIGHT * len(sources) <= best_score:
                continue
            score += COVERAGE_WEIGHT * sum(1 for src in sources if any(k in src for k in combo))
            if (best_score is None or score > best_score) and balanced(combo):
                best, best_score = combo, score
    if best is None:
        return current
    chosen = set(best)
    # Keep the user's order for what stays, then the additions in pool order.
    return [k for k in current if k in chosen] + [k for k in pool if k in chosen and k not in current]


# ---------------------------------------------------------------------------------------------
# Objectives: progress rolled up from their key results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ObjectiveProgress:
    objective: str
    progress: float | None       # mean of the key results' progress, each clamped to [0, 1]
    key_results: int
    measured: int                # key results with a progress value
    statuses: tuple[str, ...]


def objective_progress(doc: GoalsDoc, statuses: Sequence[Status]) -> dict[str, ObjectiveProgress]:
    """Each objective's progress from its key results (``statuses`` in ``doc.targets`` order, as
    ``scorecard.scorecard`` returns them).

    Rule: the mean, over the objective's key results that have a progress value, of that progress
    clamped to [0, 1] — an achieved key result counts 1, one with no data is left out (and shown
    as not measured). None when none of its key results can be measured yet.
    """
    by_target = {id(t): s for t, s in zip(doc.targets, statuses)}
    out = {}
    for o in doc.objectives:
        krs = [t for t in doc.targets if t.objective == o.id]
        values, names = [], []
        for t in krs:
            s = by_target.get(id(t))
            if s is None:
                continue
            names.append(s.status)
            if s.status == "achieved":
                values.append(1.0)
            elif s.progress is not None and not math.isnan(s.progress):
                values.append(min(max(float(s.progress), 0.0), 1.0))
        progress = sum(values) / len(values) if values else None
        out[o.id] = ObjectiveProgress(o.id, progress, len(krs), len(values), tuple(names))
    return out


def plan_objective(state: WizardState, doc: GoalsDoc, start: date | None, end: date | None) -> Objective | None:
    """The objective the wizard's targets are linked to: an existing one, a new one from the
    title the user gave (or the goals' words), or none."""
    choice = state.objective.get("choice") or "new"
    if choice == "none":
        return None
    if choice != "new":
        return doc.objective_by_id(choice)
    title = (state.objective.get("title") or "").strip() or default_objective_title(state.goals)
    if not title:
        return None
    return Objective(id=fresh_objective_id(doc), title=title, why=(state.objective.get("why") or "").strip(),
                     start=start, end=end)


def save_plan(ws, state: WizardState, drafts: Mapping[str, TargetDraft], as_of: date | None,
              now: datetime | None = None, *, wizard_version: int | None = None
              ) -> tuple[GoalsDoc, list[Target], Objective | None]:
    """Save the wizard's result: the KPI set (``store.save_kpi_set``), its targets and objective
    into the goals document (``store.save_goals``, see :func:`apply_to_goals`), and the wizard's
    state, which from now on links to that objective so saving again does not duplicate it.
    All in one write; with ``wizard_version`` (the saved wizard this state started from), a wizard
    someone else saved since is not overwritten (:class:`~kpi.errors.StaleWrite`)."""
    from . import store
    deadlines = [_as_date(e["deadline"]) for k, e in state.targets.items() if k in state.kpis and e.get("deadline")]
    saved_at = (now or datetime.now()).replace(microsecond=0).isoformat()
    made = {}

    def change(docs: dict) -> dict:
        # One write on the latest goals and KPI set: goals others saved meanwhile stay. It may run
        # again after a conflict, so it changes nothing outside what it returns.
        doc = store.goals_from(docs[store.GOALS])
        previous = (docs[store.KPI_SET] or {}).get("kpis", [])
        objective = plan_objective(state, doc, as_of, max(deadlines) if deadlines else None)
        is_new = objective is not None and doc.objective_by_id(objective.id) is None
        targets = build_targets(state.kpis, state.targets, drafts, objective.id if objective else None)
        doc = apply_to_goals(doc, targets, kpi_set=state.kpis, previous_set=previous,
                             objective=objective if is_new else None)
        saved = WizardState.from_dict(state.to_dict())
        if objective is not None:
            saved.objective = {"choice": objective.id, "title": objective.title, "why": objective.why}
        saved.saved_at = saved_at
        made.update(doc=doc, targets=targets, objective=objective, state=saved)
        return {store.KPI_SET: store.kpi_set_body(state.kpis, state.goals, state.stage),
                store.GOALS: doc.to_dict(), store.WIZARD: saved.to_dict()}
    ws.update_docs(change, {store.GOALS: None, store.KPI_SET: None, store.WIZARD: None},
                   expect=None if wizard_version is None else {store.WIZARD: wizard_version},
                   what="The KPI wizard's progress")
    state.objective, state.saved_at = made["state"].objective, saved_at
    return made["doc"], made["targets"], made["objective"]


def replace_objective(doc: GoalsDoc, objective: Objective) -> GoalsDoc:
    """``doc`` with the objective of the same id swapped for ``objective``, in place (or appended)."""
    if doc.objective_by_id(objective.id) is None:
        return doc.add_objective(objective)
    return replace(doc, objectives=tuple(objective if o.id == objective.id else o for o in doc.objectives))


def remove_objective(doc: GoalsDoc, objective_id: str, *, with_key_results: bool = False) -> GoalsDoc:
    """``doc`` without the objective; its key results are deleted too, or kept unlinked."""
    targets = tuple(t for t in doc.targets if not (with_key_results and t.objective == objective_id))
    targets = tuple(replace(t, objective=None) if t.objective == objective_id else t for t in targets)
    return replace(doc, objectives=tuple(o for o in doc.objectives if o.id != objective_id), targets=targets)


def data_fingerprint(ws) -> tuple:
    """What KPI values depend on — the loaded datasets (rows, load time), the custom KPI
    definitions and the settings used by formulas — but not goals, KPI sets or the wizard's own
    progress, whose saves bump the workspace's data version without changing any number."""
    info = ws.dataset_info()
    loaded = tuple(sorted((str(r["name"]), int(r["rows"] or 0), str(r["loaded_at"]))
                          for _, r in info.iterrows())) if len(info) else ()
    import json
    return (str(ws.path), loaded, json.dumps(ws.doc("custom_kpis", []), sort_keys=True, default=str),
            ws.setting("gross_margin"))


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


__all__ = ["STEPS", "STEP_HELP", "WizardState", "default_objective_title", "propose_kpis", "StageHint",
           "stage_hint", "monthly_growth", "Latest", "latest_value", "period_name", "default_deadline",
           "input_scale", "round_target", "achievable_words", "TargetDraft", "draft_target", "build_targets", "fresh_objective_id",
           "apply_to_goals", "Fix", "plan_fix", "apply_fix", "balance_by_fixes", "last_primaries", "auto_balance", "ObjectiveProgress",
           "objective_progress", "kpi_name", "importance_order", "replace_objective", "remove_objective",
           "data_fingerprint", "plan_objective", "save_plan"]
