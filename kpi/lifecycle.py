"""Which KPIs fit a product's lifecycle stage and goals, and whether a chosen KPI set is balanced.

The knowledge is ``../shared/spec/lifecycle.md`` written down as data: the stages and goals with
their primary and secondary KPIs, then the two things the guided wizard asks of it —
``recommend`` and ``balance_check``.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, Mapping

from .errors import InputError


@dataclass(frozen=True)
class Stage:
    id: str
    label: str        # how a PM would say where the product is: "growth stage, optimising engagement"
    meaning: str      # what that stage is about, in one clause
    primary: tuple[str, ...]
    secondary: tuple[str, ...]


@dataclass(frozen=True)
class Goal:
    id: str
    label: str        # the goal in a PM's words: "increase user engagement"
    explanation: str  # one sentence on what pursuing it means
    primary: tuple[str, ...]
    secondary: tuple[str, ...]


STAGES: dict[str, Stage] = {s.id: s for s in (
    Stage("early", "early stage, acquiring users",
          "finding product-market fit, first users and customers",
          ("cac", "cpa", "signup_rate"),
          ("dau", "mau", "feature_adoption_rate")),
    Stage("growth", "growth stage, optimising engagement",
          "scaling acquisition and deepening use",
          ("dau", "mau", "avg_session_duration"),
          ("arpu", "customer_churn_rate", "trial_conversion_rate")),
    Stage("mature", "mature stage, focusing on retention",
          "defending the base and its margins",
          ("customer_churn_rate", "clv", "renewal_rate"),
          ("uptime", "support_response_time", "employee_satisfaction")),
)}

GOALS: dict[str, Goal] = {g.id: g for g in (
    Goal("engagement", "increase user engagement",
         "Get people using the product more often and more deeply, so it becomes part of their routine.",
         ("dau", "mau", "feature_adoption_rate", "actions_per_user"),
         ("time_to_market", "velocity")),
    Goal("revenue", "boost revenue",
         "Earn more from each user and keep paying customers paying.",
         ("mrr", "arpu", "customer_churn_rate", "trial_conversion_rate"),
         ("clv", "net_mrr_retention", "support_cost", "cac")),
    Goal("growth", "rapid user growth",
         "Bring in new users and turn them into paying customers quickly.",
         ("signups", "new_customers", "mrr_growth_rate"),
         ("signup_rate", "cac", "trial_conversion_rate")),
    Goal("retention", "keep the customers we have",
         "Hold on to paying customers and their revenue, and keep users coming back.",
         ("customer_churn_rate", "net_mrr_retention", "retention_rate"),
         ("nps", "stickiness", "renewal_rate")),
    Goal("satisfaction", "improve customer satisfaction",
         "Make customers happier: quick answers, fewer escalations and a product that works.",
         ("nps", "support_response_time", "escalation_rate"),
         ("uptime", "defect_density", "retention_rate")),
    Goal("delivery", "ship faster and better",
         "Turn ideas into shipped features quickly and predictably, and see them used.",
         ("time_to_market", "velocity", "feature_adoption_rate"),
         ("say_do_ratio", "testing_speed", "releases_shipped")),
    Goal("quality", "raise product quality",
         "Catch bugs before customers do, keep the product up and pass the checks you must pass.",
         ("defect_density", "test_effectiveness", "uptime"),
         ("testing_speed", "escalation_rate", "compliance_rate")),
)}

# The balance check's numbers (lifecycle.md): the band a PM can keep in their head.
BAND_LOW, BAND_HIGH, OVERLOAD_ABOVE = 5, 7, 9


def stages_naming(kpi_id: str) -> tuple[str, ...]:
    """The stages whose primary or secondary list names the KPI, in stage order."""
    return tuple(s.id for s in STAGES.values() if kpi_id in s.primary + s.secondary)


def goals_naming(kpi_id: str) -> tuple[str, ...]:
    """The goals whose primary or secondary list names the KPI, in goal order."""
    return tuple(g.id for g in GOALS.values() if kpi_id in g.primary + g.secondary)


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


def _catalog():
    # catalog.py reads this module's stages and goals while it is being built, so it is
    # imported here, when a check runs, not at the top.
    from .catalog import CATALOG
    return CATALOG


def _tags(kpi_id: str, extra_tags: Mapping[str, Mapping] | None) -> _Tags:
    catalog = _catalog()
    if kpi_id in catalog:
        k = catalog[kpi_id]
        return _Tags(k.leading, k.input, k.qualitative, k.perspective)
    given = (extra_tags or {}).get(kpi_id)
    if not given:
        return _CUSTOM
    return _Tags(bool(given.get("leading", False)), bool(given.get("input", False)),
                 bool(given.get("qualitative", False)), given.get("perspective") or None)


def _named(kpi_id: str) -> str:
    k = _catalog().get(kpi_id)
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
    catalog = _catalog()
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
