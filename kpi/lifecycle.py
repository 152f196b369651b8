"""Which KPIs fit a product's lifecycle stage and goals, and whether a chosen KPI set is balanced.

The stages and goals of ``../shared/spec/lifecycle.md``, with their primary and secondary KPIs, are
data in ``stages.py`` (the catalog reads them too); here are the two things the guided wizard asks
of them — ``recommend`` and ``balance_check``.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, Mapping

from .catalog import CATALOG
from .errors import InputError
from .stages import GOALS, STAGES, Goal, Stage  # noqa: F401 (the wizard reads them here)


# The balance check's numbers (lifecycle.md): the band a PM can keep in their head.
BAND_LOW, BAND_HIGH, OVERLOAD_ABOVE = 5, 7, 9


def _unknown(kind: str, name: str, known: Iterable[str]) -> InputError:
    known = list(known)
    close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(close)}?" if close else f"use one of {', '.join(known)}"
    return InputError(f"unknown {kind} {name!r} — {hint}", value=str(name), hint=hint)


# -- recommendations ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Recommendation:
    kpi: str
    tier: str                # "primary" | "secondary"
    why: str                 # one line: "Primary for the growth stage: scaling acquisition and deepening use"
    computable: bool | None  # None when the caller did not say what the data can compute


def _reason(source: Stage | Goal) -> tuple[str, str]:
    """(who asks for it, what that means) for the one-line 'why' of a recommendation."""
    if isinstance(source, Stage):
        return f"the {source.id} stage", source.meaning
    explanation = source.explanation.rstrip(".")
    return f"the goal “{source.label}”", explanation[0].lower() + explanation[1:]


def recommend(goals: Iterable[str], stage: str | None,
              computable: set[str] | None = None) -> list[Recommendation]:
    """The wizard's proposal: every primary KPI (stage first, then goals, in order, once each),
    then every secondary one not already proposed."""
    goals = list(goals or [])
    for g in goals:
        if g not in GOALS:
            raise _unknown("goal", g, GOALS)
    if stage is not None and stage not in STAGES:
        raise _unknown("stage", stage, STAGES)
    sources: list[Stage | Goal] = ([STAGES[stage]] if stage else []) + [GOALS[g] for g in dict.fromkeys(goals)]

    chosen: dict[str, tuple[str, list[Stage | Goal]]] = {}
    for tier in ("primary", "secondary"):
        for source in sources:
            for kpi in getattr(source, tier):
                if kpi not in chosen:
                    chosen[kpi] = (tier, [])
                if chosen[kpi][0] == tier:
                    chosen[kpi][1].append(source)

    out = []
    for kpi, (tier, named_by) in chosen.items():
        reasons = [_reason(s) for s in named_by]
        if len(reasons) == 1:
            why = f"{tier.capitalize()} for {reasons[0][0]}: {reasons[0][1]}"
        else:
            why = f"{tier.capitalize()} for " + " and ".join(r[0] for r in reasons)
        out.append(Recommendation(kpi, tier, why, None if computable is None else kpi in computable))
    return out


# -- the balance check -------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    rule: str                # "size" | "leading" | "lagging" | "input" | "output" | "qualitative" | "perspective"
    ok: bool                 # False only for a problem; a note is allowed
    severity: str            # "ok" | "note" | "problem"
    message: str
    suggestion: str | None   # a KPI id that would fix it


@dataclass(frozen=True)
class BalanceReport:
    balanced: bool
    findings: list[Finding]

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "problem"]


@dataclass(frozen=True)
class _Tags:
    leading: bool
    input: bool
    qualitative: bool
    perspective: str | None  # None: a custom KPI nobody placed on the scorecard


# A custom KPI is a result someone already reports; we don't know more, so it counts as the
# commonest kind (lagging, output, a number) and on no perspective.
_CUSTOM = _Tags(leading=False, input=False, qualitative=False, perspective=None)


def _tags(kpi_id: str, extra_tags: Mapping[str, Mapping] | None) -> _Tags:
    catalog = CATALOG
    if kpi_id in catalog:
        k = catalog[kpi_id]
        return _Tags(k.leading, k.input, k.qualitative, k.perspective)
    given = (extra_tags or {}).get(kpi_id)
    if not given:
        return _CUSTOM
    return _Tags(bool(given.get("leading", False)), bool(given.get("input", False)),
                 bool(given.get("qualitative", False)), given.get("perspective") or None)


def _named(kpi_id: str) -> str:
    k = CATALOG.get(kpi_id)
    return f"{k.name} ({kpi_id})" if k else kpi_id


def balance_check(kpi_ids: Iterable[str], *, surveys_loaded: bool, computable: set[str] | None = None,
                  goals: Iterable[str] = (), stage: str | None = None,
                  extra_tags: Mapping[str, Mapping] | None = None) -> BalanceReport:
    """Check a KPI set against every rule of lifecycle.md; one finding per rule, in the spec's order.

    A KPI id not in the catalog is a custom KPI, tagged by ``extra_tags[id]`` (keys ``leading``,
    ``input``, ``qualitative``, ``perspective``) when given.
    """
    chosen = list(dict.fromkeys(kpi_ids))
    goals = list(goals or ())
    tags = {k: _tags(k, extra_tags) for k in chosen}
    catalog = CATALOG
    # Suggestions come from what the wizard would recommend, then from the rest of the catalog;
    # a KPI the data can compute beats one it cannot, and one already chosen never fixes a gap.
    order = [r.kpi for r in recommend(goals, stage)] if (goals or stage) else []
    order += [k for k in catalog if k not in order]

    findings: list[Finding] = []
    n = len(chosen)
    per: dict[str, int] = {}
    for t in tags.values():
        if t.perspective:
            per[t.perspective] = per.get(t.perspective, 0) + 1

    def suggest(fits, size_after: int | None = None) -> str | None:
        """The KPI the finding names, and the one its one-click fix adds (wizard.plan_fix): a KPI
        the data can compute first, then one whose perspective stays at most half of the set
        once it is in (so following one suggestion does not break the perspective rule), then
        the order above. ``size_after``: the set's size once the fix is made (default n + 1)."""
        size = n + 1 if size_after is None else size_after

        def rank(k: str) -> tuple:
            others = per.get(catalog[k].perspective, 0)
            crowded = 2 * (others + 1) > size
            return (computable is not None and k not in computable, crowded, others if crowded else 0)
        candidates = sorted((k for k in order if k not in tags and fits(catalog[k])), key=rank)  # stable
        return candidates[0] if candidates else None

    def such_as(kpi_id: str | None) -> str:
        return f", such as {_named(kpi_id)}" if kpi_id else ""

    # 5 to 7 KPIs; fewer is allowed with a note; above 9 nobody reads them all.
    if n == 0:
        # With nothing chosen the other rules have nothing to say.
        first = suggest(lambda k: True)
        return BalanceReport(False, [Finding(
            "size", False, "problem", f"No KPIs chosen yet: pick {BAND_LOW} to {BAND_HIGH}{such_as(first)}.", first)])
    if n < BAND_LOW:
        more = suggest(lambda k: True)
        findings.append(Finding("size", True, "note",
                                f"{n} KPI{'s' if n > 1 else ''} is fine to start with, but {BAND_LOW} to "
                                f"{BAND_HIGH} give a fuller picture: consider adding one{such_as(more)}.", more))
    elif n <= BAND_HIGH:
        findings.append(Finding("size", True, "ok", f"{n} KPIs: within the {BAND_LOW} to {BAND_HIGH} band.", None))
    elif n <= OVERLOAD_ABOVE:
        findings.append(Finding("size", True, "note",
                                f"{n} KPIs is above the {BAND_LOW} to {BAND_HIGH} band: consider dropping "
                                "the ones you would not act on.", None))
    else:
        findings.append(Finding("size", False, "problem",
                                f"{n} KPIs is information overload: nobody watches that many. Keep the "
                                f"{BAND_LOW} to {BAND_HIGH} that matter most for your goal.", None))

    def presence(rule: str, has, fits, ok_text: str, missing_text: str) -> None:
        if any(has(t) for t in tags.values()):
            findings.append(Finding(rule, True, "ok", ok_text, None))
        else:
            s = suggest(fits)
            findings.append(Finding(rule, False, "problem", missing_text + such_as(s) + ".", s))

    presence("leading", lambda t: t.leading, lambda k: k.leading,
             "Has a leading KPI that warns early.",
             "No leading KPI: every one here reports results after the fact. Add one that moves "
             "before revenue does")
    presence("lagging", lambda t: not t.leading, lambda k: not k.leading,
             "Has a lagging KPI that confirms results.",
             "No lagging KPI: nothing here confirms whether the effort paid off. Add a result "
             "measure")
    presence("input", lambda t: t.input, lambda k: k.input,
             "Has an input KPI that measures the effort put in.",
             "No input KPI: nothing here measures what you put in (spend, delivery pace). Add one")
    presence("output", lambda t: not t.input, lambda k: not k.input,
             "Has an output KPI that measures the results.",
             "No output KPI: nothing here measures what the effort produces. Add one")

    if not surveys_loaded:
        findings.append(Finding("qualitative", True, "ok",
                                "No survey data is loaded, so no qualitative KPI is expected.", None))
    else:
        presence("qualitative", lambda t: t.qualitative, lambda k: k.qualitative,
                 "Has a qualitative KPI: what people say, not only what they do.",
                 "No qualitative KPI: you have survey data, yet every KPI here counts what people "
                 "do and none what they say. Add one")

    top = max(per, key=per.get) if per else None
    if top is not None and per[top] * 2 > n:
        # The fix swaps one of them out when the set is big enough, else adds one.
        s = suggest(lambda k: k.perspective != top, size_after=n if n >= BAND_LOW else n + 1)
        findings.append(Finding(
            "perspective", False, "problem",
            f"{per[top]} of {n} KPIs look from the {top} perspective: more than half through one lens. "
            f"Swap one of them for a KPI from another perspective{such_as(s)}.", s))
    else:
        findings.append(Finding("perspective", True, "ok",
                                "No perspective holds more than half of the KPIs.", None))

    return BalanceReport(balanced=all(f.severity != "problem" for f in findings), findings=findings)
