"""Shared widgets and cached helpers used by more than one page.

Each section below belongs to the feature named in its heading; append new sections, don't
rewrite another's functions.
"""
from __future__ import annotations


# =============================================================================================
# Scorecard and Trends (issue 5): cached analyses, keyed by workspace and data version
# =============================================================================================
# Every function below takes the workspace and caches by ``session.data_key(ws)`` (its file and
# data version) or, when it reads goals, by ``session.plan_key(ws)`` (plus the plan version that
# goal, KPI-set and annotation saves bump): one workspace's numbers never show in another's page,
# and any change drops the cached result. ``_ws`` is not hashed.
import streamlit as _st  # noqa: E402

from kpi import analysis as _analysis  # noqa: E402
from ui import session as _session  # noqa: E402
from ui.text import plain as _plain  # noqa: E402


@_st.cache_data(show_spinner=False, max_entries=64)
def _scorecard_statuses(key: tuple, as_of, _ws) -> list:
    from kpi import scorecard, store
    return scorecard.scorecard(_ws, store.load_goals(_ws), as_of)


def scorecard_statuses(ws, as_of) -> list:
    """``kpi.scorecard.scorecard`` for the workspace's saved goals at ``as_of`` (cached)."""
    return _scorecard_statuses(_session.plan_key(ws), as_of, ws)


@_st.cache_data(show_spinner=False, max_entries=64)
def _cohorts(key: tuple, as_of, measure: str, max_age: int, _ws):
    return _analysis.cohort_matrix(_ws, as_of, measure, max_age)


def cohort_table(ws, as_of, measure: str = "users", max_age: int = 12):
    return _cohorts(_session.data_key(ws), as_of, measure, max_age, ws)


@_st.cache_data(show_spinner=False, max_entries=128)
def _funnel(key: tuple, steps: tuple, window_days: int, start, end, as_of, _ws):
    return _analysis.funnel(_ws, list(steps), window_days, start, end, as_of)


def funnel_table(ws, steps, window_days: int, start=None, end=None, as_of=None):
    return _funnel(_session.data_key(ws), tuple(steps), int(window_days), start, end, as_of, ws)


@_st.cache_data(show_spinner=False, max_entries=64)
def _active_daily(key: tuple, as_of, _ws):
    return _analysis.active_users_daily(_ws, as_of)


def active_users_table(ws, as_of):
    return _active_daily(_session.data_key(ws), as_of, ws)


@_st.cache_data(show_spinner=False, max_entries=64)
def _event_names(key: tuple, as_of, _ws):
    return _analysis.event_names(_ws, as_of)


def event_name_table(ws, as_of):
    return _event_names(_session.data_key(ws), as_of, ws)


@_st.cache_data(show_spinner=False, max_entries=64)
def _releases(key: tuple, as_of, _ws):
    return _analysis.releases(_ws, as_of)


def release_table(ws, as_of):
    """Released features (date, label, product) up to ``as_of``."""
    return _releases(_session.data_key(ws), as_of, ws)


@_st.cache_data(show_spinner=False, max_entries=64)
def _dataset_warnings(key: tuple, _ws) -> dict:
    from kpi.quality import DATASET_KPIS, RULES, rule_warnings
    out: dict[str, list[str]] = {}
    for ds in _ws.datasets():
        for sentence in rule_warnings(_ws, ds):
            # A rule names the KPIs it moves; other notes (repeats, future dates) touch every KPI of the dataset.
            rule = next((r for r in RULES if r.dataset == ds and f" {r.title} " in f" {sentence} "), None)
            for k in (rule.affects if rule else DATASET_KPIS.get(ds, ())):
                out.setdefault(k, []).append(f"{ds}: {sentence}")
    return out


def kpi_data_warnings(ws) -> dict:
    """KPI id -> data-quality sentences about the datasets it reads (kpi.quality's rule breaks)."""
    return _dataset_warnings(_session.data_key(ws), ws)


@_st.cache_data(show_spinner=False, max_entries=64)
def _kpi_meta(key: tuple, _ws) -> dict:
    from kpi import catalog, custom
    from kpi.scorecard import kpi_label
    customs = custom.load_custom_kpis(_ws)
    meta = {}
    ids = list(catalog.CATALOG) + list(customs)
    try:
        from kpi.compute import imported_kpis
        ids += [k for k in imported_kpis(_ws) if k not in ids]
    except Exception:  # noqa: BLE001 — a page must not fail on an odd kpi_values file
        pass
    for k in ids:
        label = kpi_label(k, _ws)
        if k in catalog.CATALOG:
            m = catalog.CATALOG[k]
            meta[k] = (label, m.perspective, m.description, m.formula)
        elif k in customs:
            c = customs[k]
            meta[k] = (label, c.perspective or "other", c.description or f"A custom KPI of this workspace: {c.name}.",
                       c.formula)
        else:
            meta[k] = (label, "other", "Values imported from your kpi_values file.",
                       "As imported (rolled up by the last value, the sum or the mean, depending on the KPI)")
    return meta


def kpi_meta(ws) -> dict:
    """KPI id -> (label with name/unit/direction, perspective, description, formula) for every KPI
    this workspace can name: catalog, custom and imported."""
    return _kpi_meta(_session.data_key(ws), ws)


# =============================================================================================
# KPI wizard and Goals (issue 4): the custom KPI builder and the SMART check, used by both pages
# =============================================================================================
# Material icons, not emoji: they render the same in every browser and font setup.
_SMART_ICON = {True: ":green[:material/check_circle:]", False: ":red[:material/cancel:]",
               None: ":gray[:material/help:]"}
_BAND_WORDS = {"realistic": "realistic", "stretch": "a stretch", "unrealistic": "unrealistic", "unknown": "unknown"}
_UNIT_WORDS = {"count": "a count", "currency": "money ($)", "rate": "a rate (%)", "ratio": "a ratio (×)",
               "score": "a score", "minutes": "minutes", "hours": "hours", "days": "days",
               "points": "points", "per_kloc": "per 1,000 lines of code"}


def _smart_reason(report, c, kpi: str | None, name: str | None, unit: str | None, direction: str,
                  grain: str) -> str:
    """Why a SMART letter passes or not, in the PM's words: the KPI's id shown as its name, and
    the Achievable changes in its unit, when given."""
    import re as _re
    from kpi.wizard import achievable_words
    reason = c.reason
    if c.letter == "A" and unit:
        reason = achievable_words(report, unit, direction, grain) or reason
    if kpi and name:
        reason = _re.sub(rf"\b{_re.escape(kpi)}\b", lambda _m: name, reason)
    return _plain(reason)   # it names the KPI and the objective: user text


def _smart_icon(c) -> str:
    if c.letter == "A" and c.verdict == "stretch":
        return ":orange[:material/warning:]"
    return _SMART_ICON.get(c.ok, _SMART_ICON[None])


def smart_check_view(report, kpi: str | None = None, name: str | None = None, unit: str | None = None,
                     direction: str = "higher", grain: str = "month") -> None:
    """A goals.SmartReport as five lines a PM reads: letter, verdict, reason."""
    for c in report.checks:
        verdict = _BAND_WORDS.get(c.verdict, c.verdict) if c.letter == "A" else ("yes" if c.ok else "no")
        reason = _smart_reason(report, c, kpi, name, unit, direction, grain)
        _st.markdown(f"{_smart_icon(c)} **{c.letter}** · {c.name}: {verdict} — {reason}")


_SMART_BADGE = {True: ("green", ":material/check:"), False: ("red", ":material/close:"),
                None: ("gray", ":material/help:")}


def smart_ticks(report, kpi: str | None = None, name: str | None = None, unit: str | None = None,
                direction: str = "higher", grain: str = "month") -> None:
    """A goals.SmartReport as five compact ticks on one line (S M A R T, the Achievable band beside
    its A), then the reason only for a letter that fails — or, for a stretch, what it asks."""
    badges = []
    for c in report.checks:
        colour, icon = ("orange", ":material/warning:") if c.letter == "A" and c.verdict == "stretch" \
            else _SMART_BADGE.get(c.ok, _SMART_BADGE[None])
        band = f" {_BAND_WORDS.get(c.verdict, c.verdict)}" if c.letter == "A" else ""
        badges.append(f":{colour}-badge[{icon} {c.letter}{band}]")
    _st.markdown("SMART " + " ".join(badges),
                 help=" · ".join(f"{c.letter}: {c.name}" for c in report.checks)
                 + ". Realistic: the change it needs per period is within the best quarter of past changes; "
                   "a stretch: within the best one; unrealistic: beyond it.")
    for c in report.checks:
        if c.ok is False or (c.letter == "A" and c.verdict in ("stretch", "unknown")):
            _st.caption(f"{_smart_icon(c)} **{c.name}**: {_smart_reason(report, c, kpi, name, unit, direction, grain)}")


def smart_summary(report) -> str:
    """One short line for tables: "S M R T ✓ · A: stretch"."""
    passed = "".join(c.letter for c in report.checks if c.ok)
    failed = "".join(c.letter for c in report.checks if c.ok is False)
    text = f"{passed} ✓" if passed else ""
    if failed:
        text += f" · {failed} ✗"
    return f"{text} · {_BAND_WORDS.get(report.achievable_band, report.achievable_band)}".strip(" ·")


def _builder_measure(ws, prefix: str, title: str):
    """One measure of the builder; returns a kpi.custom.Measure or None while incomplete."""
    from kpi import custom
    loaded = [d for d in ws.datasets() if d != "kpi_values"]
    if not loaded:
        _st.info("Load some data first: a custom KPI measures one of your datasets.")
        return None
    _st.markdown(f"**{title}**")
    left, mid, right = _st.columns(3)
    dataset = left.selectbox("Dataset", loaded, key=f"{prefix}_dataset",
                             help="The table whose rows it measures; each row counts in the period of its "
                                  "main date (payments by date, tickets by creation time…).")
    agg = mid.selectbox("Measure", list(custom.AGGREGATIONS), key=f"{prefix}_agg",
                        format_func=lambda a: {"count": "Count rows", "count_distinct": "Count different values",
                                               "sum": "Sum of a column", "avg": "Average of a column"}[a])
    column = None
    if agg != "count":
        options = custom.numeric_columns(ws, dataset) if agg in ("sum", "avg") else list(custom.column_types(ws, dataset))
        if not options:
            right.caption(f"{dataset} has no number columns to {agg}.")
            return None
        column = right.selectbox("Column", options, key=f"{prefix}_column")
    filter_column, values = None, ()
    if _st.toggle("Only rows where a column has chosen values", key=f"{prefix}_filter_on"):
        fl, fr = _st.columns([1, 2])
        filter_column = fl.selectbox("Column", list(custom.column_types(ws, dataset)), key=f"{prefix}_filter_col")
        choices = custom.column_values(ws, dataset, filter_column)
        values = tuple(fr.multiselect("Values", choices, key=f"{prefix}_filter_values",
                                      help="Rows whose value is one of these are counted (the 100 commonest "
                                           "values are offered)."))
    return custom.Measure(dataset, agg, column, filter_column, values)


def custom_kpi_builder(ws, *, key: str = "ckb") -> str | None:
    """The no-SQL builder: returns the id of a custom KPI saved on this run, else None."""
    from kpi import catalog, compute, custom
    from kpi.errors import KpiError
    from kpi.formatting import format_value
    numerator = _builder_measure(ws, f"{key}_num", "What to measure")
    if numerator is None:
        return None
    denominator = None
    if _st.toggle("Divide by another measure (a ratio)", key=f"{key}_ratio",
                  help="For a rate or an average per something: e.g. escalated tickets ÷ all tickets. "
                       "Each period divides the two totals, never an average of daily ratios."):
        denominator = _builder_measure(ws, f"{key}_den", "Divided by")
        if denominator is None:
            return None
    a, b, c = _st.columns([2, 1, 1])
    name = a.text_input("Name", key=f"{key}_name", placeholder="e.g. Urgent ticket share",
                        max_chars=80)
    unit = b.selectbox("Unit", list(custom.UNITS), key=f"{key}_unit",
                       index=list(custom.UNITS).index("rate" if denominator else "count"),
                       format_func=lambda u: _UNIT_WORDS.get(u, u))
    direction = c.radio("Better when", custom.DIRECTIONS, key=f"{key}_direction", horizontal=True,
                        format_func=lambda d: "higher" if d == "higher" else "lower")
    with _st.expander("How it counts in the balance check (optional)"):
        leading = _st.checkbox("It moves before results do (a leading KPI)", key=f"{key}_leading")
        is_input = _st.checkbox("It measures effort put in, such as spend or delivery pace (an input KPI)",
                                key=f"{key}_input")
        perspective = _st.selectbox("Balanced-scorecard perspective", [None, *catalog.PERSPECTIVES],
                                    key=f"{key}_perspective",
                                    format_func=lambda p: "Not placed" if p is None else p.capitalize())
        description = _st.text_area("What it means (shown as its description)", key=f"{key}_description",
                                    max_chars=500)
    existing = custom.load_custom_kpis(ws)
    kpi = custom.CustomKpi(id=custom.new_id(name or "custom kpi", existing), name=name.strip(),
                           numerator=numerator, denominator=denominator, unit=unit, direction=direction,
                           description=description.strip(), leading=leading, input=is_input,
                           perspective=perspective)
    _st.caption(f"Formula: {_plain(kpi.formula)}")
    try:
        shown = compute.preview_custom(ws, kpi)
    except KpiError as exc:
        _st.warning(_plain(exc))
        return None
    if len(shown):
        tail = shown.tail(6)
        _st.caption("Last months: " + " · ".join(
            f"{p:%b %Y}{' (so far)' if part else ''}: {format_value(v, unit)}"
            for p, v, part in zip(tail["period"], tail["value"], tail["partial"])))
    if _st.button("Save this KPI", key=f"{key}_save", type="primary",
                  disabled=not name.strip() or _session.is_viewer()):   # the core refuses it too
        try:
            custom.save_custom_kpi(ws, kpi)
        except KpiError as exc:
            _st.error(_plain(exc))
            return None
        for k in [k for k in _st.session_state if str(k).startswith(f"{key}_")]:
            del _st.session_state[k]
        return kpi.id
    return None


@_st.cache_data(show_spinner=False, max_entries=128)
def _split_problems(key: tuple, kpi: str, columns: tuple, name: str, _ws) -> dict:
    from kpi.compute import split_problem
    return {c: split_problem(_ws, kpi, c, name=name) for c in columns}


def split_problems(ws, kpi: str, columns, name: str) -> dict[str, str | None]:
    """For each column, None when ``kpi`` can be split by it, else the sentence saying why not (cached)."""
    return _split_problems(_session.data_key(ws), kpi, tuple(columns), name, ws)


def segment_names(ws) -> list[str]:
    """The columns a KPI can be broken down by: the sidebar's (kpi.segments.breakdown_columns)."""
    return _session.segment_choices(ws)


@_st.cache_data(show_spinner=False, max_entries=128)
def _explain_change(key: tuple, kpi: str, grain: str, as_of, before, after, columns: tuple, filters: tuple,
                    _ws) -> dict:
    totals = _session.kpi_frame(_ws, [kpi], grain=grain, as_of=as_of, segment=None, use_view=False, filters=filters)
    out = {"results": {}, "left_out": []}
    for col in columns:
        seg_frame = _session.kpi_frame(_ws, [kpi], grain=grain, as_of=as_of, segment=col, use_view=False,
                                       filters=filters)
        if seg_frame.empty:
            out["left_out"] += seg_frame.attrs.get("notes", [])
            continue
        contrib = _analysis.contribution(seg_frame, totals, kpi, before, after)
        out["results"][col] = (contrib, _analysis.driver(contrib), seg_frame)
    return out


def explain_change(ws, kpi: str, grain: str, as_of, before, after, columns, filters: tuple = ()) -> dict:
    """Each breakdown's contributions to ``kpi``'s change from ``before`` to ``after`` (cached):
    ``{"results": {column: (contributions, driver, segment frame)}, "left_out": [notes]}``."""
    return _explain_change(_session.data_key(ws), kpi, grain, as_of, before, after, tuple(columns), tuple(filters), ws)
