"""What the loaded data covers of the KPI catalog, and the catalog in a PM's words: the KPI library and coverage matrix.

``availability`` (catalog.py) says KPI by KPI what the data lacks. This module turns that into
what a person asks of it: which KPIs each category has ready, which one dataset would unlock the
most KPIs next, and which KPIs match a search. It also spells out a KPI's unit, direction and data
needs in plain words, so the app's library and any export read the same.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

import pandas as pd

from .catalog import CATALOG, CATEGORIES, KPI, Availability, Step, unlock_hint
from .datasets import DATASETS
from .stages import GOALS, STAGES

UNIT_WORDS = {
    "currency": "money",
    "rate": "percentage",
    "count": "count",
    "score": "score",
    "minutes": "minutes",
    "hours": "hours",
    "days": "days",
    "points": "story points",
    "ratio": "ratio (×)",
    "per_kloc": "per 1,000 lines of code",
}
TIMING = ("leading", "lagging")


def unit_words(unit: str) -> str:
    return UNIT_WORDS.get(unit, unit)


def direction_words(direction: str) -> str:
    return "Higher is better" if direction == "higher" else "Lower is better"


def kind_words(kind: str) -> str:
    return ("a level, read on the last day of each period" if kind == "stock"
            else "a total of what happened during each period")


def timing_words(k: KPI) -> str:
    return "leading (moves before results do)" if k.leading else "lagging (shows results after the fact)"


def _need_words(need: str) -> str:
    options = []
    for alt in need.split("|"):
        ds, _, col = alt.partition(".")
        options.append(f"{ds} with {col}" if col else ds)
    return " or ".join(options)


def needs_words(k: KPI) -> str:
    """'subscriptions', 'customers with trial_start, customers with converted_date', 'subscriptions or payments'."""
    return ", ".join(_need_words(n) for n in k.needs)


def needed_datasets(k: KPI) -> tuple[str, ...]:
    """Every dataset the KPI's needs name, alternatives included, in order."""
    out: list[str] = []
    for need in k.needs:
        for alt in need.split("|"):
            ds = alt.partition(".")[0]
            if ds not in out:
                out.append(ds)
    return tuple(out)


def stage_words(k: KPI) -> str:
    return ", ".join(STAGES[s].label for s in k.stages) if k.stages else "—"


def goal_words(k: KPI) -> str:
    return ", ".join(GOALS[g].label for g in k.goals) if k.goals else "—"


def first_sentence(text: str) -> str:
    found = re.match(r"(.+?[.!?])(\s|$)", text.strip())
    return found.group(1) if found else text.strip()


# -- the coverage matrix ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CategoryCoverage:
    category: str
    ready: tuple[str, ...]          # KPI ids the data can compute, in catalog order
    locked: tuple[tuple[str, str], ...]   # (KPI id, what would unlock it)

    @property
    def total(self) -> int:
        return len(self.ready) + len(self.locked)


def coverage_by_category(availability: Mapping[str, Availability]) -> list[CategoryCoverage]:
    """Every catalog KPI, grouped by category (catalog order): ready now, or locked with its unlock hint."""
    out = []
    for category in CATEGORIES:
        ids = [k.id for k in CATALOG.values() if k.category == category]
        ready = tuple(i for i in ids if availability[i].computable)
        locked = tuple((i, unlock_hint(availability[i])) for i in ids if not availability[i].computable)
        out.append(CategoryCoverage(category, ready, locked))
    return out


def coverage_frame(availability: Mapping[str, Availability]) -> pd.DataFrame:
    """One row per catalog KPI: category, id, name, ready, what would unlock it (empty when ready)."""
    rows = [{"category": k.category, "kpi": k.id, "name": k.name, "ready": availability[k.id].computable,
             "unlock": unlock_hint(availability[k.id])} for k in CATALOG.values()]
    return pd.DataFrame(rows, columns=["category", "kpi", "name", "ready", "unlock"])


@dataclass(frozen=True)
class NextDataset:
    """One dataset to add (or complete) and the KPIs that doing only that would unlock."""
    dataset: str
    action: str                 # "add" (not loaded yet) or "map" (loaded, a column is missing)
    columns: tuple[str, ...]    # the columns it must hold for those KPIs
    kpis: tuple[str, ...]


def _columns_for(step: Step, dataset: str) -> tuple[str, ...]:
    """The columns of ``dataset`` a step asks for (an alternatives step names one column per dataset)."""
    if len(step.datasets) == 1:
        return tuple(step.columns)
    col = step.columns[step.datasets.index(dataset)] if step.columns else ""
    return (col,) if col else ()


def next_datasets(availability: Mapping[str, Availability]) -> list[NextDataset]:
    """Which single dataset would unlock the most KPIs, best first.

    A KPI counts for a dataset when that dataset alone meets every need still missing: each of its
    missing steps names that dataset (so "subscriptions or payments" counts for both, and "marketing
    and subscriptions" for neither).
    """
    found: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for av in availability.values():
        if av.computable or not av.steps:
            continue
        everywhere = set.intersection(*(set(step.datasets) for step in av.steps))
        for ds in (d for d in av.steps[0].datasets if d in everywhere):
            steps = [step for step in av.steps if ds in step.datasets]
            action = "map" if all(step.action == "map" for step in steps) else "add"
            kpis, columns = found.setdefault((ds, action), ([], []))
            kpis.append(av.kpi)
            for step in steps:
                columns.extend(c for c in _columns_for(step, ds) if c not in columns)
    out = [NextDataset(ds, action, tuple(cols), tuple(kpis)) for (ds, action), (kpis, cols) in found.items()]
    order = list(DATASETS)
    return sorted(out, key=lambda n: (-len(n.kpis), order.index(n.dataset) if n.dataset in order else len(order)))


def next_dataset_words(n: NextDataset) -> str:
    """'Add subscriptions (with mrr)', 'Add customers (with trial_start, …)', 'Map product in payments'.

    Like ``unlock_hint``, a dataset added for itself names its required amount column: the file
    must hold it."""
    if n.action == "map":
        return f"Map {', '.join(n.columns)} in {n.dataset}" if n.columns else f"Complete {n.dataset}"
    columns = n.columns or tuple(c.name for c in DATASETS[n.dataset].columns if c.required and c.type == "number")[:1]
    return f"Add {n.dataset}" + (f" (with {', '.join(columns)})" if columns else "")


# -- the KPI library -------------------------------------------------------------------------------
def _haystack(k: KPI) -> str:
    parts = [k.id, k.id.replace("_", " "), k.name, k.category, k.description, k.formula, k.perspective,
             unit_words(k.unit), needs_words(k), stage_words(k), goal_words(k)]
    return " ".join(parts).lower()


def find_kpis(query: str = "", *, categories: Iterable[str] = (), stages: Iterable[str] = (),
              perspectives: Iterable[str] = (), timing: str | None = None, goals: Iterable[str] = (),
              only_ready: bool = False, availability: Mapping[str, Availability] | None = None) -> list[KPI]:
    """The catalog KPIs matching every given filter, in catalog order.

    ``query``: every word must appear in the KPI's id, name, description, formula, data or tags
    (case-insensitive). Empty filters match everything; within one filter any value may match.
    ``timing`` is "leading", "lagging" or None. ``only_ready`` needs ``availability``.
    """
    words = [w for w in re.split(r"\s+", (query or "").lower().strip()) if w]
    categories, stages, perspectives, goals = set(categories), set(stages), set(perspectives), set(goals)
    out = []
    for k in CATALOG.values():
        if categories and k.category not in categories:
            continue
        if stages and not stages & set(k.stages):
            continue
        if goals and not goals & set(k.goals):
            continue
        if perspectives and k.perspective not in perspectives:
            continue
        if timing == "leading" and not k.leading or timing == "lagging" and k.leading:
            continue
        if only_ready and availability is not None and not availability[k.id].computable:
            continue
        if words:
            hay = _haystack(k)
            if not all(w in hay for w in words):
                continue
        out.append(k)
    return out


def data_dictionary(availability: Mapping[str, Availability] | None = None) -> pd.DataFrame:
    """The catalog as a table a team can keep as its data dictionary (one row per KPI, plain words)."""
    rows = []
    for k in CATALOG.values():
        row = {"KPI": k.name, "id": k.id, "category": k.category, "description": k.description,
               "formula": k.formula, "unit": unit_words(k.unit), "better when": k.direction,
               "measured as": "level at period end" if k.kind == "stock" else "total over the period",
               "leading or lagging": "leading" if k.leading else "lagging",
               "input or output": "input" if k.input else "output",
               "perspective": k.perspective, "lifecycle stages": ", ".join(k.stages),
               "goals": ", ".join(k.goals), "data it needs": needs_words(k)}
        if availability is not None:
            av = availability[k.id]
            row["your data"] = "ready" if av.computable else unlock_hint(av)
        rows.append(row)
    return pd.DataFrame(rows)

