"""The KPI wizard's six steps as Streamlit sections, and the cached numbers they show.

The wizard's state (``kpi.wizard.WizardState``) lives in this session and is saved in the
workspace whenever it changes, so it survives reruns, page switches, a browser reload and a
restart. Widgets are drawn from that state and write back to it; nothing here decides anything
a PM would call a rule — that is ``kpi.wizard``, ``kpi.lifecycle`` and ``kpi.goals``.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from kpi import catalog, custom, lifecycle, store, wizard
from kpi.compute import compute, imported_kpis
from kpi.errors import KpiError
from kpi.formatting import format_date, format_value
from kpi.goals import Target, smart_check
from kpi.scorecard import kpi_label
from kpi.wizard import STEP_HELP, STEPS, WizardState
from ui import cards, components, session
from ui.text import plain

STATE_KEY, SAVED_KEY, NOTICE_KEY = "wizard_state", "wizard_state_saved", "wizard_notice"
VERSION_KEY = "wizard_state_version"   # the version of the saved wizard this session's state is based on
SET_KEY = "wz_set"
SCORECARD_PAGE, GOALS_PAGE = "pages/scorecard.py", "pages/goals.py"


# ---------------------------------------------------------------------------------------------
# Cached numbers. Keyed by kpi.wizard.data_fingerprint, not the data version: the wizard saves its
# state at every step, and that save must not throw away KPI values that did not change.
# ---------------------------------------------------------------------------------------------
@st.cache_data(show_spinner="Working out your KPIs from the data…", max_entries=32)
def _month_frame(fingerprint: tuple, _ws) -> pd.DataFrame:
    return compute(_ws, None, grain=wizard.WIZARD_GRAIN)


def month_frame(ws) -> pd.DataFrame:
    """Every KPI the data can compute (catalog and custom), month by month, whole data."""
    return _month_frame(wizard.data_fingerprint(ws), ws)


@st.cache_data(show_spinner=False, max_entries=32)
def _availability(fingerprint: tuple, _ws) -> tuple[dict, set]:
    av = catalog.availability(_ws)
    ok = {k for k, a in av.items() if a.computable} | custom.computable_custom_ids(_ws) | set(imported_kpis(_ws))
    return av, ok


def availability(ws) -> dict:
    return _availability(wizard.data_fingerprint(ws), ws)[0]


def computable(ws) -> set[str]:
    """Catalog and custom KPIs the loaded data can compute."""
    return _availability(wizard.data_fingerprint(ws), ws)[1]


def customs(ws) -> dict:
    return custom.load_custom_kpis(ws)


def names(ws) -> dict[str, str]:
    """Every KPI the workspace can name: the catalog's, its custom ones, then imported names."""
    out = {k: v.name for k, v in catalog.CATALOG.items()}
    out.update({k: v.name for k, v in customs(ws).items()})
    out.update({k: kpi_label(k, ws).name for k in imported(ws) if k not in out})
    return out


@st.cache_data(show_spinner=False, max_entries=32)
def _imported(fingerprint: tuple, _ws) -> list[str]:
    return imported_kpis(_ws)


def imported(ws) -> list[str]:
    """KPI names found in the kpi_values dataset."""
    return _imported(wizard.data_fingerprint(ws), ws)


def extra_tags(ws) -> dict:
    return {k: v.tags() for k, v in customs(ws).items()}


def series(frame: pd.DataFrame, kpi: str) -> pd.DataFrame:
    rows = frame[(frame["kpi"] == kpi) & frame["segment"].isna()] if len(frame) else frame
    return rows[["period", "value", "partial"]] if len(rows) else pd.DataFrame(columns=["period", "value", "partial"])


def missing_words(ws, kpi: str) -> list[str]:
    """What the data lacks for a KPI, as the SMART check's Measurable line names it."""
    mine = customs(ws).get(kpi)
    if mine is not None:
        return custom.measurable(ws, mine)[1]
    av = availability(ws).get(kpi)
    return [catalog.unlock_hint(av).lower()] if av is not None and not av.computable else []


def description(ws, kpi: str) -> str:
    if kpi in catalog.CATALOG:
        k = catalog.CATALOG[kpi]
        return f"{k.description}\n\nFormula: {k.formula}."
    mine = customs(ws).get(kpi)
    if mine is not None:
        return ((plain(mine.description) + "\n\n" if mine.description else "")
                + f"Your custom KPI. Formula: {plain(mine.formula)}.")
    return "A KPI imported from your kpi_values file."


# ---------------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------------
def load_state(ws) -> WizardState:
    """This session's wizard state; the first time, what the workspace saved."""
    held = st.session_state.get(STATE_KEY)
    if held is None or held[0] != str(ws.path):
        raw, version = store.load_wizard_entry(ws)
        state = WizardState.from_dict(raw)
        st.session_state[STATE_KEY] = (str(ws.path), state)
        st.session_state[SAVED_KEY] = state.to_dict()
        st.session_state[VERSION_KEY] = version   # a save from another session since is not overwritten
    return st.session_state[STATE_KEY][1]


def commit(ws, state: WizardState) -> None:
    """Save the state in the workspace when it changed (every step change, every choice)."""
    body = state.to_dict()
    if body == st.session_state.get(SAVED_KEY):
        return
    try:
        version = store.save_wizard(ws, body, expect=st.session_state.get(VERSION_KEY))
    except KpiError as exc:       # read-only, or saved by someone else: the wizard still works here
        st.session_state[NOTICE_KEY] = ("warning", plain(exc))
        return
    st.session_state[SAVED_KEY] = body
    st.session_state[VERSION_KEY] = version


def notice(text: str, kind: str = "success") -> None:
    st.session_state[NOTICE_KEY] = (kind, text)


def show_notice() -> None:
    held = st.session_state.pop(NOTICE_KEY, None)
    if held:
        kind, text = held
        (st.warning if kind == "warning" else st.success)(text)


# ---------------------------------------------------------------------------------------------
# Frame: step indicator and Back / Next
# ---------------------------------------------------------------------------------------------
def step_indicator(state: WizardState) -> None:
    parts = []
    for i, name in enumerate(STEPS):
        if i < state.step:
            parts.append(f"✓ {name}")
        elif i == state.step:
            parts.append(f"**{i + 1} · {name}**")
        else:
            parts.append(f":gray[{i + 1} · {name}]")
    st.markdown("  →  ".join(parts))
    st.progress((state.step + 1) / len(STEPS), text=f"Step {state.step + 1} of {len(STEPS)}: {STEP_HELP[state.step]}")


def _go(ws, delta: int) -> None:
    state = load_state(ws)
    target = min(max(state.step + delta, 0), len(STEPS) - 1)
    if delta > 0 and state.blocker():
        return
    if target >= 2 and state.needs_new_proposal():
        # New goals or stage: propose their KPIs afresh (the ones the data can compute).
        state.kpis = wizard.propose_kpis(state.goals, state.stage, computable(ws))
        state.proposed_for = [sorted(state.goals), state.stage]
    state.step = target
    commit(ws, state)


def nav_buttons(ws, state: WizardState) -> None:
    st.divider()
    back, middle, nxt = st.columns([1, 4, 1], vertical_alignment="center")
    back.button("← Back", key="wz_back", disabled=state.step == 0, on_click=_go, args=(ws, -1), width="stretch")
    blocker = state.blocker()
    if blocker:
        middle.caption(blocker)
    if state.step < len(STEPS) - 1:
        nxt.button("Next →", key="wz_next", type="primary", disabled=bool(blocker), on_click=_go, args=(ws, 1),
                   width="stretch")


# ---------------------------------------------------------------------------------------------
# Step 1: goals
# ---------------------------------------------------------------------------------------------
def goals_step(ws, state: WizardState) -> None:
    st.subheader("What do you want to achieve?")
    st.caption("Pick one or more goals. Each brings the KPIs that show whether you are getting there.")
    columns = st.columns(2)
    chosen = []
    for i, goal in enumerate(lifecycle.GOALS.values()):
        with columns[i % 2].container(border=True):
            on = st.checkbox(goal.label[0].upper() + goal.label[1:], value=goal.id in state.goals,
                             key=f"wz_goal_{goal.id}")
            st.caption(goal.explanation)
        if on:
            chosen.append(goal.id)
    if chosen != state.goals:
        state.goals = chosen
        commit(ws, state)


# ---------------------------------------------------------------------------------------------
# Step 2: stage
# ---------------------------------------------------------------------------------------------
def stage_step(ws, state: WizardState) -> None:
    st.subheader("Where is your product in its life?")
    st.caption("The stage decides what matters most right now: first users, deeper use, or keeping the base.")
    as_of = session.workspace_as_of(ws)
    hint = wizard.stage_hint(month_frame(ws), as_of) if ws.datasets() else None
    if hint:
        st.info(f"**From your data:** {hint.message}", icon=":material/insights:")
    else:
        st.caption("Load subscriptions or product events and the wizard will suggest a stage from your data.")
    options = list(lifecycle.STAGES)
    current = state.stage or (hint.stage if hint else None)

    def caption(s: lifecycle.Stage) -> str:
        firsts = ", ".join(wizard.kpi_name(k) for k in s.primary)
        return f"{s.meaning[0].upper() + s.meaning[1:]}. Watches first: {firsts}."
    choice = st.radio("Which stage fits best?", options, index=options.index(current) if current else None,
                      format_func=lambda s: lifecycle.STAGES[s].label[0].upper() + lifecycle.STAGES[s].label[1:],
                      captions=[caption(lifecycle.STAGES[s]) for s in options], key="wz_stage")
    if choice != state.stage:
        state.stage = choice
        commit(ws, state)


# ---------------------------------------------------------------------------------------------
# Step 3: recommended KPIs
# ---------------------------------------------------------------------------------------------
def _data_badge(ws, kpi: str, can: set[str]) -> None:
    if kpi in can:
        st.badge("Your data can compute it", icon=":material/check:", color="green")
        return
    words = missing_words(ws, kpi)
    hint = words[0] if len(words) == 1 else ", ".join(words)
    st.badge("Needs more data", icon=":material/block:", color="orange", help=hint or None)
    if hint:
        st.caption(f"To unlock: {hint[0].upper() + hint[1:]}")


def _kpi_row(ws, state: WizardState, kpi: str, why: str, tier: str | None, can: set[str],
             frame: pd.DataFrame, as_of) -> bool:
    label = kpi_label(kpi, ws)
    with st.container(border=True):
        left, mid, right = st.columns([5, 3, 2], vertical_alignment="center")
        with left:
            on = st.checkbox(f"**{plain(label.name)}**", value=kpi in state.kpis, key=f"wz_kpi_{kpi}",
                             help=description(ws, kpi))
            st.caption(why)
        with mid:
            if tier:
                st.badge(tier.capitalize(), color="blue" if tier == "primary" else "gray")
            _data_badge(ws, kpi, can)
        with right:
            latest = wizard.latest_value(series(frame, kpi), as_of, label.unit)
            st.markdown(f"**{format_value(latest.value, label.unit)}**" if latest.value is not None else "—")
            st.caption(f"in {wizard.period_name(latest.period)}" if latest.period else "no value yet")
    return on


def _add_kpi(ws) -> None:
    chosen = st.session_state.get("wz_add")
    if not chosen:
        return
    state = load_state(ws)
    if chosen not in state.kpis:
        state.kpis.append(chosen)
        commit(ws, state)
        notice(f"Added {plain(names(ws).get(chosen, chosen))} to your set.")
    st.session_state["wz_add"] = None


def kpis_step(ws, state: WizardState) -> None:
    st.subheader("The KPIs that fit your goals and stage")
    st.caption("Ticked KPIs are in your set. Primary ones matter most; secondary ones round the picture off. "
               "Hover over a name for what it means and how it is worked out.")
    can = computable(ws)
    frame = month_frame(ws) if ws.datasets() else pd.DataFrame()
    as_of = session.workspace_as_of(ws)
    recs = lifecycle.recommend(state.goals, state.stage, can)
    flags: dict[str, bool] = {}
    for tier, title in (("primary", "Primary"), ("secondary", "Secondary")):
        chosen = [r for r in recs if r.tier == tier]
        if chosen:
            st.markdown(f"##### {title}")
        for r in chosen:
            flags[r.kpi] = _kpi_row(ws, state, r.kpi, r.why, r.tier, can, frame, as_of)
    extra = [k for k in state.kpis if k not in flags]
    if extra:
        st.markdown("##### Added by you")
        for k in extra:
            flags[k] = _kpi_row(ws, state, k, "You added it.", None, can, frame, as_of)
    kpis = [k for k in state.kpis if flags.get(k, True)] + [k for k, on in flags.items() if on and k not in state.kpis]
    if kpis != state.kpis:
        state.kpis = kpis
        commit(ws, state)

    all_names = names(ws)
    options = [k for k in all_names if k not in state.kpis]
    st.selectbox("Add any KPI of the library or one of yours", options, index=None, key="wz_add",
                 placeholder="Search by name…", on_change=_add_kpi, args=(ws,),
                 format_func=lambda k: all_names[k] + ("  (custom)" if k not in catalog.CATALOG else "")
                 + ("" if k in can else "  — needs more data"))
    with st.expander("Create your own KPI — no SQL needed"):
        saved = components.custom_kpi_builder(ws, key="wz_custom")
        if saved:
            state.kpis.append(saved)
            commit(ws, state)
            notice(f"Saved your KPI {plain(all_names.get(saved, saved))} and added it to your set.")
            st.rerun()
    balance_summary(ws, state)


def balance_summary(ws, state: WizardState) -> None:
    report = balance_report(ws, state)
    n = len(state.kpis)
    if report.balanced and lifecycle.BAND_LOW <= n <= lifecycle.BAND_HIGH:
        st.success(f"{n} KPIs, balanced.", icon=":material/balance:")
    else:
        problems = len(report.problems)
        what = f"{problems} thing{'s' if problems != 1 else ''} to fix" if problems else "a note"
        st.caption(f":material/balance: {n} KPI{'s' if n != 1 else ''} so far — the balance check has {what}: see the next step.")


# ---------------------------------------------------------------------------------------------
# Step 4: balance
# ---------------------------------------------------------------------------------------------
def balance_report(ws, state: WizardState) -> lifecycle.BalanceReport:
    return lifecycle.balance_check(state.kpis, surveys_loaded=ws.has("surveys"), computable=computable(ws),
                                   goals=state.goals, stage=state.stage, extra_tags=extra_tags(ws))


def _apply_fix(ws, fix: wizard.Fix) -> None:
    state = load_state(ws)
    state.kpis = wizard.apply_fix(state.kpis, fix)
    commit(ws, state)
    notice(plain(fix.label.replace("Add ", "Added ", 1).replace("Swap ", "Swapped ", 1).replace("Drop ", "Dropped ", 1)
                 + "."))


def _auto_balance(ws) -> None:
    state = load_state(ws)
    before = list(state.kpis)
    state.kpis = wizard.auto_balance(state.kpis, surveys_loaded=ws.has("surveys"), computable=computable(ws),
                                     goals=state.goals, stage=state.stage, extra_tags=extra_tags(ws))
    commit(ws, state)
    all_names = names(ws)
    added = [all_names.get(k, k) for k in state.kpis if k not in before]
    removed = [all_names.get(k, k) for k in before if k not in state.kpis]
    if not added and not removed:
        notice("No set of 5 to 7 KPIs passes every rule with this data: adjust the set by hand.", "warning")
    else:
        notice("Balanced: " + plain("; ".join(p for p in (f"added {', '.join(added)}" if added else "",
                                                          f"removed {', '.join(removed)}" if removed else "")
                                              if p) + "."))


def set_widget_key(kpis) -> str:
    """The KPI-set multiselect's key changes with the set, so a set changed elsewhere (a fix, another
    step) draws a fresh widget instead of one that still holds, and sends back, the old set."""
    import hashlib
    return SET_KEY + "_" + hashlib.sha1("|".join(kpis).encode()).hexdigest()[:10]


def _sync_set(ws, key: str) -> None:
    state = load_state(ws)
    state.kpis = list(st.session_state.get(key) or [])
    commit(ws, state)


TAG_WORDS = {True: "Leading: warns early", False: "Lagging: confirms results"}


def balance_step(ws, state: WizardState) -> None:
    st.subheader("Is the set balanced?")
    st.caption("A good set has 5 to 7 KPIs, mixes early warnings (leading) with results (lagging) and effort "
               "(input) with outcomes (output), hears what people say when you survey them, and looks at the "
               "product through more than one lens of the balanced scorecard.")
    all_names = names(ws)
    set_key = set_widget_key(state.kpis)
    st.multiselect("Your KPI set", list(all_names), default=state.kpis, key=set_key, on_change=_sync_set,
                   args=(ws, set_key), format_func=lambda k: all_names.get(k, k),
                   help="Remove a KPI with its ×, or type to add one.")
    tags = extra_tags(ws)
    rows = []
    for k in state.kpis:
        entry = catalog.CATALOG.get(k)
        t = ({"leading": entry.leading, "input": entry.input, "perspective": entry.perspective} if entry
             else tags.get(k, {}))
        rows.append({"KPI": all_names.get(k, k),
                     "Timing": "Leading: warns early" if t.get("leading") else "Lagging: confirms results",
                     "Measures": "Input: effort put in" if t.get("input") else "Output: results",
                     "Perspective": (t.get("perspective") or "not placed").capitalize()})
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    report = balance_report(ws, state)
    n = len(state.kpis)
    if report.balanced and lifecycle.BAND_LOW <= n <= lifecycle.BAND_HIGH:
        st.success(f"Balanced: {n} KPIs that pass every rule.", icon=":material/balance:")
    else:
        left, right = st.columns([3, 1], vertical_alignment="center")
        problems = len(report.problems)
        left.warning(f"{problems} thing{'s' if problems != 1 else ''} to fix." if problems else
                     "Nothing is wrong, but there is a note on the size of the set.", icon=":material/balance:")
        right.button("Balance it for me", key="wz_auto", type="primary", on_click=_auto_balance, args=(ws,),
                     help="Picks the balanced set of 5 to 7 KPIs closest to yours: it keeps your KPIs where it "
                          "can and draws on the recommendations for your goals and stage.", width="stretch")
    order = wizard.importance_order(state.goals, state.stage)
    keep = wizard.last_primaries(state.kpis, state.goals, state.stage)
    for i, f in enumerate(report.findings):
        icon = {"ok": ":green[:material/check_circle:]", "note": ":blue[:material/info:]",
                "problem": ":orange[:material/warning:]"}[f.severity]
        text, button = st.columns([3, 2], vertical_alignment="center")
        text.markdown(f"{icon} {plain(f.message)}")
        fix = wizard.plan_fix(state.kpis, f, order=order, surveys_loaded=ws.has("surveys"),
                              computable=computable(ws), extra_tags=tags, names=all_names, keep=keep)
        if fix:
            button.button(plain(fix.label), key=f"wz_fix_{i}_{f.rule}", on_click=_apply_fix, args=(ws, fix),
                          width="stretch")


# ---------------------------------------------------------------------------------------------
# Step 5: targets
# ---------------------------------------------------------------------------------------------
def drafts(ws, state: WizardState) -> dict[str, wizard.TargetDraft]:
    frame = month_frame(ws) if ws.datasets() else pd.DataFrame()
    as_of = session.workspace_as_of(ws)
    out = {}
    for k in state.kpis:
        label = kpi_label(k, ws)
        entry = state.targets.get(k) or {}
        deadline = dt.date.fromisoformat(entry["deadline"]) if entry.get("deadline") else None
        out[k] = wizard.draft_target(k, series(frame, k), as_of, label.direction, label.unit, deadline,
                                     name=label.name)
    return out


def objective_title(ws, state: WizardState) -> str | None:
    choice = state.objective.get("choice") or "new"
    if choice == "none":
        return None
    if choice == "new":
        return (state.objective.get("title") or "").strip() or wizard.default_objective_title(state.goals) or None
    found = store.load_goals(ws).objective_by_id(choice)
    return found.title if found else None


def _objective_picker(ws, state: WizardState) -> None:
    doc = store.load_goals(ws)
    options = ["new", *[o.id for o in doc.objectives], "none"]
    titles = {o.id: o.title for o in doc.objectives}
    current = state.objective.get("choice") or "new"
    if current not in options:
        current = "new"
    with st.container(border=True):
        choice = st.radio("These targets are the key results of", options, index=options.index(current),
                          horizontal=True, key="wz_obj_choice",
                          format_func=lambda o: {"new": "A new objective", "none": "No objective"}.get(
                              o, plain(titles.get(o, o))),
                          help="An objective says why the targets matter (the O of an OKR). A target linked to "
                               "one passes the Relevant letter of the SMART check.")
        obj = dict(state.objective, choice=choice)
        if choice == "new":
            left, right = st.columns(2)
            obj["title"] = left.text_input("Objective", value=obj.get("title") or wizard.default_objective_title(state.goals),
                                           key="wz_obj_title", max_chars=120)
            obj["why"] = right.text_input("Why it matters (optional)", value=obj.get("why") or "", key="wz_obj_why",
                                          max_chars=300)
    if obj != state.objective:
        state.objective = obj
        commit(ws, state)


def _number_format(unit: str) -> str:
    return {"rate": "%.1f", "count": "%.1f", "currency": "%.2f"}.get(unit, "%.2f")


def targets_step(ws, state: WizardState) -> None:
    st.subheader("Targets: where should each KPI be, and by when?")
    st.caption("Each target starts from the KPI's last complete month (its baseline) and a suggestion that keeps "
               "up a strong past pace. Change anything; the SMART check below each one updates as you type.")
    _objective_picker(ws, state)
    frame = month_frame(ws) if ws.datasets() else pd.DataFrame()
    as_of = session.workspace_as_of(ws)
    can = computable(ws)
    title = objective_title(ws, state)
    changed = False
    for k, draft in drafts(ws, state).items():
        label = kpi_label(k, ws)
        scale, suffix = wizard.input_scale(label.unit)
        entry = state.targets.setdefault(k, {})
        if "deadline" not in entry:
            entry.update({"target": draft.suggested, "deadline": draft.deadline.isoformat()})
            changed = True
        with st.container(border=True):
            head, facts = st.columns([2, 3])
            head.markdown(f"**{plain(label.name)}** · {'higher' if label.direction == 'higher' else 'lower'} is better")
            if draft.baseline is not None:
                facts.caption(f"Baseline {format_value(draft.baseline, label.unit)} "
                              f"({wizard.period_name(draft.baseline_date.replace(day=1))}) · suggested "
                              f"{format_value(draft.suggested, label.unit)} by {format_date(draft.deadline)}"
                              + (f". {plain(draft.reason)}" if draft.reason else ""))
            else:
                facts.caption("No baseline: the data has no complete month of this KPI yet.")
            inputs, smart = st.columns([2, 3])
            with inputs:
                shown = None if entry.get("target") is None else float(entry["target"]) * scale
                value = st.number_input(f"Target ({suffix})" if suffix else "Target", value=shown,
                                        format=_number_format(label.unit), key=f"wz_t_{k}",
                                        placeholder="Type a target")
                deadline = st.date_input("Deadline", value=dt.date.fromisoformat(entry["deadline"]),
                                         key=f"wz_d_{k}", format="YYYY-MM-DD")
                with st.expander("Alerts (optional)"):
                    below = st.number_input(f"Alert when below ({suffix})" if suffix else "Alert when below",
                                            value=None if entry.get("alert_below") is None else entry["alert_below"] * scale,
                                            format=_number_format(label.unit), key=f"wz_ab_{k}")
                    above = st.number_input(f"Alert when above ({suffix})" if suffix else "Alert when above",
                                            value=None if entry.get("alert_above") is None else entry["alert_above"] * scale,
                                            format=_number_format(label.unit), key=f"wz_aa_{k}")
            new = {"target": None if value is None else value / scale, "deadline": deadline.isoformat(),
                   "alert_below": None if below is None else below / scale,
                   "alert_above": None if above is None else above / scale}
            if new != {key: entry.get(key) for key in new}:
                entry.update(new)
                changed = True
            with smart:
                if entry.get("target") is None:
                    st.caption("Type a target to see its SMART check. A KPI without a target stays in your set "
                               "but gets no status.")
                elif as_of is not None:
                    target = Target(k, float(entry["target"]), deadline, draft.baseline, draft.baseline_date,
                                    objective=title)
                    report = smart_check(target, series(frame, k), as_of, label.direction,
                                         has_definition=k in catalog.CATALOG or k in customs(ws),
                                         computable=k in can, missing=missing_words(ws, k), unit=label.unit)
                    components.smart_ticks(report, k, label.name, label.unit, label.direction)
    if changed:
        commit(ws, state)


# ---------------------------------------------------------------------------------------------
# Step 6: review and save
# ---------------------------------------------------------------------------------------------
def save_step(ws, state: WizardState) -> None:
    st.subheader("Review and save")
    all_names = names(ws)
    as_of = session.workspace_as_of(ws)
    frame = month_frame(ws) if ws.datasets() else pd.DataFrame()
    found = drafts(ws, state)
    title = objective_title(ws, state)
    goals_words = ", ".join(lifecycle.GOALS[g].label for g in state.goals) or "—"
    stage_words = lifecycle.STAGES[state.stage].label if state.stage else "—"
    st.markdown(f"**Goals:** {goals_words}  \n**Stage:** {stage_words}  \n"
                f"**Objective:** {plain(title) if title else 'none'}")
    rows = []
    for k in state.kpis:
        label = kpi_label(k, ws)
        entry = state.targets.get(k) or {}
        draft = found[k]
        smart = "—"
        if entry.get("target") is not None and entry.get("deadline") and as_of is not None:
            report = smart_check(Target(k, float(entry["target"]), dt.date.fromisoformat(entry["deadline"]),
                                        draft.baseline, draft.baseline_date, objective=title),
                                 series(frame, k), as_of, label.direction,
                                 has_definition=k in catalog.CATALOG or k in customs(ws),
                                 computable=k in computable(ws), missing=missing_words(ws, k))
            smart = components.smart_summary(report)
        rows.append({"KPI": all_names.get(k, k), "Baseline": format_value(draft.baseline, label.unit),
                     "Target": format_value(entry.get("target"), label.unit) if entry.get("target") is not None
                     else "no target", "Deadline": entry.get("deadline") or "—", "SMART": smart})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    report = balance_report(ws, state)
    n = len(state.kpis)
    if report.balanced and lifecycle.BAND_LOW <= n <= lifecycle.BAND_HIGH:
        st.caption(f":material/balance: {n} KPIs, balanced.")
    else:
        st.warning("The set is not balanced yet: " + " ".join(plain(f.message) for f in report.problems or report.findings
                                                               if f.severity != "ok"), icon=":material/balance:")
    if session.is_viewer():
        st.caption("This workspace is read-only here: you can walk through the wizard, not save it.")
    if st.button("Save my KPI set and targets", key="wz_save", type="primary", disabled=session.is_viewer()):
        try:
            doc, targets, objective = wizard.save_plan(ws, state, found, as_of,
                                                       wizard_version=st.session_state.get(VERSION_KEY))
        except KpiError as exc:
            session.show_error(exc)
            return
        st.session_state[SAVED_KEY] = state.to_dict()
        st.session_state[VERSION_KEY] = store.load_wizard_entry(ws)[1]
        notice(f"Saved {n} KPIs and {len(targets)} target{'s' if len(targets) != 1 else ''}"
               + (f" for the objective “{plain(objective.title)}”." if objective else "."))
        st.rerun()
    if state.saved_at:
        st.success(f"Your KPI set is saved (last on {state.saved_at.replace('T', ' at ')}). "
                   "It is stored in this workspace: bookmark the page's address to come back to it.", icon=":material/save:")
        left, right = st.columns(2)
        with left:
            cards.safe_page_link(SCORECARD_PAGE, label="Open the scorecard", icon=":material/traffic:")
        with right:
            cards.safe_page_link(GOALS_PAGE, label="See it on the Goals page", icon=":material/flag:")


STEP_VIEWS = (goals_step, stage_step, kpis_step, balance_step, targets_step, save_step)
