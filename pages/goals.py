"""Goals: objectives and their key results (OKRs), the review rhythm, past reviews and custom KPIs."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace as _replace

import pandas as pd
import streamlit as st

from kpi import analysis, catalog, custom, store, wizard
from kpi.errors import KpiError
from kpi.formatting import format_date, format_progress, format_value
from kpi.goals import (CADENCES, GRAINS, STATUS_STYLE, Objective, Review, Target, default_baseline, deadline_is_valid,
                       smart_check, suggested_target, summary_line)
from kpi.scorecard import kpi_label
from ui import cards, components, session, wizard_steps
from ui.text import plain

ws = session.workspace()
VIEW_ONLY = session.is_viewer()   # writes are refused in the core; the controls say so by being off
doc, doc_version = store.load_goals_entry(ws)   # saves say which version they change (StaleWrite)
as_of = session.workspace_as_of(ws)        # new baselines, SMART checks and deadlines: the latest data
viewed = session.view_as_of(ws)            # statuses: the one date the whole app is viewed as of
today = dt.date.today()
try:
    statuses = components.scorecard_statuses(ws, viewed) if doc.targets and viewed else []
except KpiError as exc:
    session.show_error(exc)
    statuses = []
status_of = {t.id: s for t, s in zip(doc.targets, statuses)}
progress = wizard.objective_progress(doc, statuses)
names = wizard_steps.names(ws)


def save(new_doc, message: str) -> None:
    try:
        store.save_goals(ws, new_doc, expect=doc_version)   # someone else's save since is never overwritten
    except KpiError as exc:
        # At the top of the page: a form's own spot may sit in an expander that the other person's
        # new objective (drawn above it) has closed.
        st.session_state["goals_refused"] = str(exc)
        st.rerun()
    st.session_state["goals_notice"] = message
    st.rerun()


def label_of(kpi: str):
    return kpi_label(kpi, ws)


def key_result_lines(targets) -> None:
    """One line per key result: KPI, now vs target (or the level to hold), progress, status pill
    and the reason for it — the Scorecard's own words (kpi.goals.Status)."""
    for t in targets:
        s = status_of.get(t.id)
        label = label_of(t.kpi)
        name_col, numbers_col, status_col = st.columns([3, 4, 2], vertical_alignment="center")
        name_col.markdown(f"**{plain(label.name)}**")
        if s is None:
            numbers_col.caption(plain(f"Target {format_value(t.target, label.unit)} by {format_date(t.deadline)}"))
            continue
        now = f"{format_value(s.value, label.unit)} ({analysis.period_label(s.period, s.grain)})" if s.period else "—"
        share = "" if s.is_hold or s.progress is None else f" · {s.progress_words()}"
        goal = s.target_words()
        numbers_col.caption(plain(f"Now {now} → {goal[:1].lower()}{goal[1:]}{share}"))
        numbers_col.caption(plain(s.reason()[:1].upper() + s.reason()[1:]))
        status_col.markdown(cards.status_badge_html(s.status, "alert" if s.alert else ""), unsafe_allow_html=True)


def progress_words(p: wizard.ObjectiveProgress, objective_id: str) -> str:
    if p.key_results == 0:
        return "No key results yet: link a target to this objective below."
    holds = sum(1 for t in doc.targets_of(objective_id) if status_of.get(t.id) is not None
                and status_of[t.id].is_hold and status_of[t.id].status != "achieved")
    share = ("no improvement key result measured yet" if p.progress is None
             else f"{format_progress(p.progress)} of the way")
    unmeasured = p.key_results - p.measured - holds
    tail = (f" · {holds} hold{'s' if holds != 1 else ''} (judged by status)" if holds else "") + (
        f" · {unmeasured} not measured yet" if unmeasured > 0 and p.progress is not None else "")
    return (f"{share} · {p.key_results} key result{'s' if p.key_results != 1 else ''}: "
            f"{summary_line(list(p.statuses))}{tail}")


st.title("Goals")
st.caption("Objectives say what you want to achieve and why; their key results are KPI targets that say how "
           "you will know. Review them on a steady rhythm and keep a record of each review.")
if msg := st.session_state.pop("goals_notice", None):
    st.success(msg)
if refused := st.session_state.pop("goals_refused", None):
    st.error(plain(refused), icon="⚠️")

with st.expander("Metric, KPI, OKR — what's the difference?"):
    st.markdown(
        "- **Metric**: any number you can measure — page views, tickets opened, minutes per session.\n"
        "- **KPI** (key performance indicator): one of the few metrics you chose because it tells you whether "
        "the product is succeeding. A good set is small (5 to 7) and balanced.\n"
        "- **OKR** (objectives and key results): an **objective** is a qualitative aim for a period (*Boost "
        "revenue this half-year*); its **key results** are measurable targets on KPIs (*average revenue per "
        "user from $568 to $650 by 31 March*). The objective's progress is the progress of its key results.\n\n"
        "So: metrics are what you can measure, KPIs are what you watch, OKRs are where you want those KPIs to go.")

next_review = doc.next_review(today)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Objectives", len(doc.objectives), border=True)
c2.metric("Key results", len(doc.targets), border=True)
c3.metric("Next review", format_date(next_review), border=True,
          help=f"Reviews are {doc.cadence}; the next is due one {doc.cadence.replace('ly', '')} period after "
               "the last one (today when none has been held). Change the rhythm on the Reviews tab.")
with c4.container(border=True):
    st.caption("Where the key results stand")
    st.markdown(cards.summary_html(statuses), unsafe_allow_html=True)

if not doc.targets and not doc.objectives:
    st.info("No goals yet. The KPI wizard picks a balanced KPI set for your goal and stage and sets SMART "
            "targets in two minutes; or add an objective and key results below.", icon=":material/explore:")
    cards.safe_page_link("pages/wizard.py", label="Open the KPI wizard", icon=":material/explore:")

okr_tab, review_tab, custom_tab = st.tabs(["Objectives and key results", "Reviews", "Custom KPIs"])

# -- objectives and key results -------------------------------------------------------------
with okr_tab:
    st.caption(f"Statuses as of {format_date(viewed)}"
               + (" (the sidebar's To date)." if viewed != as_of else ".")
               + " Progress of an objective = the mean of its improvement key results' progress, each counted "
                 "between 0 % and 100 % (an achieved key result counts 100 %; one without data is left out). A hold "
                 "key result (keep a level) has no progress figure: its status says whether the level holds.")
    for o in doc.objectives:
        p = progress[o.id]
        with st.container(border=True):
            head, actions = st.columns([5, 2], vertical_alignment="top")
            with head:
                st.subheader(plain(o.title), anchor=False)
                facts = [f for f in (plain(o.why), f"Owner: {plain(o.owner)}" if o.owner else "",
                                     f"{format_date(o.start)} – {format_date(o.end)}" if o.start and o.end else "") if f]
                if facts:
                    st.caption(" · ".join(facts))
            with actions:
                with st.popover("Edit", icon=":material/edit:", width="stretch", disabled=VIEW_ONLY):
                    with st.form(f"edit_obj_{o.id}"):
                        title = st.text_input("Objective", value=o.title, max_chars=120, key=f"eo_title_{o.id}")
                        why = st.text_input("Why it matters", value=o.why, max_chars=300, key=f"eo_why_{o.id}")
                        owner = st.text_input("Owner", value=o.owner, max_chars=80, key=f"eo_owner_{o.id}")
                        start = st.date_input("Starts", value=o.start, key=f"eo_start_{o.id}")
                        end = st.date_input("Ends", value=o.end, key=f"eo_end_{o.id}")
                        if st.form_submit_button("Save", type="primary", disabled=VIEW_ONLY):
                            if not title.strip():
                                st.error("An objective needs a title.")
                            else:
                                save(wizard.replace_objective(doc, Objective(o.id, title.strip(), why.strip(),
                                                                             owner.strip(), start, end)),
                                     "Objective updated.")
                with st.popover("Delete", icon=":material/delete:", width="stretch", disabled=VIEW_ONLY):
                    st.caption("Delete this objective? Its key results can stay, unlinked, or go with it.")
                    if st.button("Delete, keep its key results", key=f"del_obj_keep_{o.id}", disabled=VIEW_ONLY):
                        save(wizard.remove_objective(doc, o.id), "Objective deleted; its key results are kept.")
                    if st.button("Delete with its key results", key=f"del_obj_all_{o.id}", type="primary",
                                 disabled=VIEW_ONLY):
                        save(wizard.remove_objective(doc, o.id, with_key_results=True),
                             "Objective and its key results deleted.")
            st.progress(min(max(p.progress or 0.0, 0.0), 1.0), text=progress_words(p, o.id))
            key_result_lines(doc.targets_of(o.id))

    loose = doc.targets_of(None) + tuple(t for t in doc.targets
                                         if t.objective and doc.objective_by_id(t.objective) is None)
    if loose:
        with st.container(border=True):
            st.subheader("Key results without an objective", anchor=False)
            st.caption("Link them to an objective (edit them below) to say why they matter.")
            key_result_lines(loose)

    with st.expander("Add an objective", icon=":material/add:"):
        with st.form("new_objective", clear_on_submit=True):
            title = st.text_input("Objective", placeholder="e.g. Boost revenue from existing customers",
                                  max_chars=120, key="no_title")
            why = st.text_input("Why it matters", max_chars=300, key="no_why")
            owner = st.text_input("Owner", max_chars=80, key="no_owner")
            left, right = st.columns(2)
            start = left.date_input("Starts", value=today, key="no_start")
            end = right.date_input("Ends", value=wizard.default_deadline(as_of, today), key="no_end")
            if st.form_submit_button("Add objective", type="primary", disabled=VIEW_ONLY):
                if not title.strip():
                    st.error("An objective needs a title.")
                else:
                    save(doc.add_objective(Objective(wizard.fresh_objective_id(doc), title.strip(), why.strip(),
                                                     owner.strip(), start, end)),
                         f"Objective “{plain(title.strip())}” added.")

    with st.expander("Add or edit a key result", icon=":material/flag:", expanded=not doc.targets and bool(doc.objectives)):
        targets_by_id = {t.id: t for t in doc.targets}
        pick = st.selectbox("Key result", ["new", *targets_by_id], key="kr_pick",
                            format_func=lambda i: "A new key result" if i == "new"
                            else f"{names.get(targets_by_id[i].kpi, targets_by_id[i].kpi)} → "
                                 f"{format_value(targets_by_id[i].target, label_of(targets_by_id[i].kpi).unit)}")
        old = targets_by_id.get(pick)
        can = wizard_steps.computable(ws)
        kpi_ids = [k for k in names if k in can] + [k for k in names if k not in can]
        objective_ids = [None, *[o.id for o in doc.objectives]]
        titles = {o.id: o.title for o in doc.objectives}
        kpi = st.selectbox("KPI", kpi_ids, index=kpi_ids.index(old.kpi) if old and old.kpi in kpi_ids else 0,
                           key=f"kr_kpi_{pick}", format_func=lambda k: names.get(k, k)
                           + ("" if k in can else " — needs more data"))
        label = label_of(kpi)
        scale, suffix = wizard.input_scale(label.unit)
        grain = st.selectbox("Judged", GRAINS, index=GRAINS.index(old.grain if old else "month"),
                             key=f"kr_grain_{pick}", format_func=lambda g: f"{g} by {g}".capitalize(),
                             help="The period a key result is judged at: its value is that of the latest period.")
        series = session.kpi_frame(ws, [kpi], grain=grain, use_view=False) if kpi in can and as_of else pd.DataFrame()
        series = wizard_steps.series(series, kpi) if len(series) else series
        baseline, baseline_date = (old.baseline, old.baseline_date) if old else (
            default_baseline(series, as_of, grain) if len(series) else (None, None))
        suggestion = None
        if not old and len(series):
            suggestion = suggested_target(series, as_of, label.direction, wizard.default_deadline(as_of, today), grain,
                                          label.unit, kpi, label.name)
        st.caption(plain(f"Baseline: {format_value(baseline, label.unit)}"
                         + (f" on {format_date(baseline_date)}" if baseline_date else "")
                         + (" (set when the key result was made)" if old else " (the latest complete period)")
                         + (f". Suggested target {format_value(suggestion.value, label.unit)}: {suggestion.sentence}"
                            if suggestion else "")))
        with st.form(f"kr_form_{pick}_{kpi}_{grain}"):
            left, right = st.columns(2)
            value = left.number_input(f"Target ({suffix})" if suffix else "Target",
                                      value=old.target * scale if old else (suggestion.value * scale if suggestion else None),
                                      format="%.2f", key=f"kr_target_{pick}_{kpi}_{grain}")
            deadline = right.date_input("Deadline", value=old.deadline if old else wizard.default_deadline(as_of, today),
                                        key=f"kr_deadline_{pick}_{kpi}_{grain}")
            objective = st.selectbox("Key result of", objective_ids,
                                     index=objective_ids.index(old.objective) if old and old.objective in objective_ids else
                                     (1 if len(objective_ids) > 1 and not old else 0),
                                     format_func=lambda i: "No objective" if i is None else titles[i], key=f"kr_obj_{pick}_{kpi}_{grain}")
            left, right = st.columns(2)
            below = left.number_input(f"Alert when below ({suffix})" if suffix else "Alert when below",
                                      value=old.alert_below * scale if old and old.alert_below is not None else None,
                                      format="%.2f", key=f"kr_below_{pick}_{kpi}_{grain}")
            above = right.number_input(f"Alert when above ({suffix})" if suffix else "Alert when above",
                                       value=old.alert_above * scale if old and old.alert_above is not None else None,
                                       format="%.2f", key=f"kr_above_{pick}_{kpi}_{grain}")
            submitted = st.form_submit_button("Save key result", type="primary", disabled=VIEW_ONLY)
        if submitted:
            if value is None:
                st.error("Type a target value.")
            elif baseline_date is not None and not deadline_is_valid(Target(kpi, 0.0, deadline, baseline_date=baseline_date)):
                st.error(f"The deadline {format_date(deadline)} is not after the baseline date "
                         f"{format_date(baseline_date)}: pick a later deadline.")
            else:
                target = Target(kpi, value / scale, deadline, baseline, baseline_date, grain,
                                None if below is None else below / scale, None if above is None else above / scale,
                                objective, old.id if old else None)
                save(doc.replace_target(target) if old else doc.add_target(target),
                     f"Key result for {plain(label.name)} saved.")
        if old is not None:
            if as_of is not None:
                with st.expander("SMART check of this key result"):
                    shown_target = _replace(old, objective=titles.get(old.objective, old.objective))
                    report = smart_check(shown_target, series if len(series) else pd.DataFrame(columns=["period", "value", "partial"]),
                                         as_of, label.direction,
                                         has_definition=old.kpi in catalog.CATALOG or old.kpi in custom.load_custom_kpis(ws),
                                         computable=old.kpi in can, missing=wizard_steps.missing_words(ws, old.kpi),
                                         unit=label.unit)
                    components.smart_check_view(report, old.kpi, label.name, label.unit, label.direction, old.grain)
            if st.button("Delete this key result", key=f"kr_delete_{pick}", icon=":material/delete:", disabled=VIEW_ONLY):
                st.session_state.pop("kr_pick", None)
                save(doc.remove_target(old.id), f"Key result for {plain(label.name)} deleted.")

# -- reviews ---------------------------------------------------------------------------------
with review_tab:
    cadences = list(CADENCES)
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    cadence = left.selectbox("Review rhythm", cadences, index=cadences.index(doc.cadence), key="review_cadence",
                             disabled=VIEW_ONLY,
                             format_func=str.capitalize)
    if cadence != doc.cadence:
        save(_replace(doc, cadence=cadence), f"Reviews are now {cadence}.")
    due = (next_review - today).days
    right.markdown(f"Next review **{next_review:%A} {format_date(next_review)}** — "
                   + ("due today" if due == 0 else f"in {due} day{'s' if due != 1 else ''}" if due > 0
                      else f"overdue by {-due} day{'s' if due != -1 else ''}"))
    with st.form("record_review", clear_on_submit=True):
        st.markdown("**Record a review**")
        past_view = viewed != as_of
        st.caption("Saves today's status of every key result with your notes, so you can look back later."
                   + (f" You are viewing the app as of {format_date(viewed)}: clear the sidebar's To date to "
                      "record today's statuses." if past_view else ""))
        notes = st.text_area("Notes", placeholder="What moved, what we decided, who does what by when…",
                             max_chars=4000, key="review_notes")
        if st.form_submit_button("Record review", type="primary",
                                 disabled=not doc.targets or VIEW_ONLY or past_view):
            review = Review(today, tuple(s.to_record() for s in statuses), notes.strip())
            save(doc.add_review(review), f"Review of {format_date(today)} recorded.")
    if not doc.targets:
        st.caption("Add key results first: a review records their statuses.")
    st.markdown("#### Past reviews")
    if not doc.reviews:
        st.caption("No reviews yet.")
    for r in reversed(doc.reviews):
        with st.expander(f"{format_date(r.date)} — {summary_line([s.get('status', 'no_data') for s in r.statuses])}"):
            if r.notes:
                st.text(r.notes)
            rows = []
            for s in r.statuses:
                label = label_of(s.get("kpi", ""))
                rows.append({"KPI": label.name, "Value": format_value(s.get("value"), label.unit),
                             "Target": format_value(s.get("target"), label.unit), "Deadline": format_date(s.get("deadline")),
                             "Status": STATUS_STYLE[s["status"]][0] if s.get("status") in STATUS_STYLE
                             else s.get("status")})
            if rows:
                st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

# -- custom KPIs -----------------------------------------------------------------------------
with custom_tab:
    st.caption("Build a KPI the library doesn't have, from your own tables and without SQL: count rows, count "
               "different values, or sum or average a column — optionally only some rows — or divide two such "
               "measures. It then works everywhere: wizard, goals, scorecard, trends and the command line.")
    mine = custom.load_custom_kpis(ws)
    for k in mine.values():
        with st.container(border=True):
            text, button = st.columns([5, 1], vertical_alignment="center")
            text.markdown(f"**{plain(k.name)}** · `{k.id}` · {k.unit}, {k.direction} is better")
            text.caption(plain(k.formula))
            if button.button("Delete", key=f"del_custom_{k.id}", icon=":material/delete:", disabled=VIEW_ONLY):
                used = [t for t in doc.targets if t.kpi == k.id]
                in_set = k.id in store.load_kpi_set(ws).get("kpis", [])
                if used:
                    st.warning(f"{plain(k.name)} is the KPI of {len(used)} key result(s): delete those first.")
                elif in_set:
                    st.warning(f"{plain(k.name)} is in your saved KPI set: take it out with the KPI wizard first.")
                else:
                    try:
                        custom.delete_custom_kpi(ws, k.id)
                    except KpiError as exc:
                        session.show_error(exc)
                    else:
                        st.session_state["goals_notice"] = f"Custom KPI {plain(k.name)} deleted."
                        st.rerun()
    with st.expander("Create a custom KPI", icon=":material/add:", expanded=not mine):
        saved = components.custom_kpi_builder(ws, key="goals_custom")
        if saved:
            st.session_state["goals_notice"] = f"Custom KPI saved: {plain(saved)}. Add a key result for it above."
            st.rerun()
