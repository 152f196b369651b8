"""Trends: KPIs over time with target, pace, projection, anomalies, releases and notes; what changed
by segment; and the analysis views — cohorts, funnel, MRR movements and active users."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from kpi import analysis, compute, store
from kpi.catalog import CATALOG
from kpi.errors import KpiError
from kpi.formatting import format_change, format_value
from ui import cards, charts, components, session, sharing
from ui.text import plain

ws = session.workspace()
v = session.view()
st.title("Trends")

data_as_of = cards.require_dated_data(ws, session.workspace_as_of(ws), what="trends are",
                                      nothing="nothing to draw")
as_of = v.as_of or data_as_of
grain = v.grain
noun = analysis.GRAIN_NOUN[grain]
if v.filters:
    st.info(f"Only the rows where {plain(v.filter_words())} (the sidebar's filter). Targets are set on all "
            "the data, so their lines are not drawn; cohorts and funnels use all the data.",
            icon=":material/filter_alt:")

meta = components.kpi_meta(ws)
availability = session.availability(ws)
kpi_set = [k for k in store.load_kpi_set(ws).get("kpis", []) if k in meta]
statuses = components.scorecard_statuses(ws, as_of)
options = list(dict.fromkeys(kpi_set + [k for k in meta if k not in CATALOG or availability[k].computable]))


def kpi_name(k: str) -> str:
    return meta[k][0].name if k in meta else k


# -- which KPIs: a link (?kpi=a,b) wins when it changes; the selection writes back to the URL. ----
# "_trends_keep" outlives the widget, which Streamlit forgets while another tab is open.
asked = st.query_params.get("kpi")
if asked and asked != st.session_state.get("_trends_asked"):
    st.session_state["_trends_keep"] = sharing.list_param(asked, options, 4)   # ?kpi=mrr,mrr is one mrr
    st.session_state["trends_kpis"] = st.session_state["_trends_keep"]
    st.session_state["_trends_asked"] = asked
if "_trends_keep" not in st.session_state:
    worst = [s.kpi for s in sorted(statuses, key=lambda s: cards.SEVERITY.get(s.status, 6)) if s.kpi in options]
    st.session_state["_trends_keep"] = (worst or [k for k in kpi_set if k in options]
                                        or analysis.default_kpi_set(options) or options)[:1]

TABS = ["KPI trends", "Cohorts", "Funnel", "MRR movements", "Active users"]
tabs = st.tabs(TABS, key="trends_tab", on_change="rerun", bind="query-params")


def in_range(frame: pd.DataFrame) -> pd.DataFrame:
    keep = pd.Series(True, index=frame.index)
    if v.start is not None:
        keep &= frame["period"] >= v.start
    if v.end is not None:
        keep &= frame["period"] <= v.end
    return frame[keep]


def status_for(k: str):
    mine = sorted([s for s in statuses if s.kpi == k], key=lambda s: cards.SEVERITY.get(s.status, 6))
    return mine[0] if mine else None


def annotations_frame(k: str) -> pd.DataFrame:
    rows = []
    rel = components.release_table(ws, as_of)
    for d, label in zip(rel["date"], rel["label"]):
        rows.append((d, str(label), "release"))
    for note in store.load_annotations(ws):
        if note.get("kpi") in (None, "", k):
            try:
                rows.append((dt.date.fromisoformat(str(note["date"])), str(note.get("text", "")), "note"))
            except (KeyError, ValueError):
                continue
    return pd.DataFrame(rows, columns=["date", "label", "kind"])


def breakdown(k: str, label, column: str) -> None:
    """The sidebar's breakdown for one KPI: a line per segment, or why it cannot be split."""
    problem = compute.split_problem(ws, k, column, name=label.name)
    frame = None
    if problem is None:
        try:
            frame = in_range(session.kpi_frame(ws, [k], grain=grain, as_of=v.as_of, segment=column, use_view=False,
                                               filters=v.filters))
        except KpiError as exc:
            session.show_error(exc)
            return
        frame = frame[frame["kpi"] == k]
        if frame.empty:
            problem = f"{label.name} has no values to split by {column} in the chosen range."
    if problem is not None:
        st.info(problem, icon=":material/call_split:")
        return
    charts.draw("segment_chart", key=f"trend_{k}_by_{column}", frame=frame, name=label.name, unit=label.unit,
                grain=grain, segment_column=column)


# =============================================================================================
with tabs[0]:
    if tabs[0].open:
        if "trends_kpis" not in st.session_state:
            st.session_state["trends_kpis"] = [k for k in st.session_state["_trends_keep"] if k in options]
        chosen = st.multiselect("KPIs", options, key="trends_kpis", format_func=kpi_name, max_selections=4,
                                placeholder="Choose up to four KPIs",
                                help="Pick one or more KPIs. The grain, date range and breakdown come from the sidebar.")
        st.session_state["_trends_keep"] = chosen
        if chosen:
            link = ",".join(chosen)
            if st.query_params.get("kpi") != link:
                st.query_params["kpi"] = link
            st.session_state["_trends_asked"] = link
        if not chosen:
            st.info("Choose a KPI above to see it over time.")
        else:
            c1, c2, c3 = st.columns([2, 2, 3])
            compare = c1.selectbox("Compare with", ["Nothing", "Previous period", "Same period a year before"],
                                   key="trends_compare", bind="query-params",
                                   help="Draw each period's earlier value beside it: the period just before, or "
                                        "the same period a year before (52 weeks before for weeks).")
            window = c2.selectbox("Moving average", [0, 3, 6, 12], key="trends_ma", bind="query-params",
                                  format_func=lambda w: "Off" if w == 0 else f"{w} {noun}s",
                                  help="The mean of the last few complete periods, to see the trend through noise.")
            with c3:
                show_goal = st.toggle("Target, pace and projection", value=True, key="trends_goal", bind="query-params")
                show_odd = st.toggle("Unusual periods", value=True, key="trends_odd", bind="query-params",
                                     help="Periods " + analysis.anomaly_rule(grain) + ".")
                show_notes = st.toggle("Releases and notes", value=True, key="trends_notes", bind="query-params")
            try:
                full = session.kpi_frame(ws, chosen, grain=grain, as_of=v.as_of, segment=None, use_view=False,
                                         filters=v.filters)
            except KpiError as exc:
                session.show_error(exc)
                st.stop()
            for k in chosen:
                label, _persp, description, formula = meta[k]
                series_full = analysis.series_of(full, k)
                series = in_range(series_full)
                if series.empty:
                    st.warning(f"{plain(label.name)}: no values in the chosen range.")
                    continue
                status = status_for(k) if show_goal and not v.filters else None
                if status is not None and status.grain != grain:
                    st.caption(f"{plain(label.name)} has a target judged by {status.grain}: switch the grain to "
                               f"{status.grain} to see it on the chart.")
                    status = None
                band = analysis.projection_band(series_full, grain, until=status.deadline if status else None,
                                                unit=label.unit, kpi=k) if show_goal else None
                comparison = None
                if compare != "Nothing":
                    comparison = in_range(analysis.comparison(series_full, grain,
                                                              "previous" if compare == "Previous period" else "year"))
                moving = in_range(analysis.moving_average(series_full, window)) if window else None
                judged = in_range(analysis.anomalies(series_full, unit=label.unit)) if show_odd else None
                notes = annotations_frame(k) if show_notes else None
                charts.draw(
                    "trend_chart", key=f"trend_{k}", series=series, name=label.name, unit=label.unit, grain=grain,
                    description=description, status=status, band=band, compare=comparison,
                    compare_label="Previous period" if compare == "Previous period" else "A year before",
                    moving=moving, moving_label=f"{window}-{noun} average", judged=judged, annotations=notes,
                    direction=label.direction)
                st.caption(f"**{plain(label.name)}**: {plain(description)} *{plain(formula)}.* "
                           f"{'Higher' if label.direction == 'higher' else 'Lower'} is better.")
                lines = [analysis.latest_sentence(analysis.headline(series, grain, kind=label.kind, as_of=as_of),
                                                  label.unit, grain)]
                if band is not None:
                    lines.append(analysis.projection_sentence(band, label.unit, grain,
                                                              status.deadline if status else None))
                if status is not None:
                    lines.append(analysis.target_sentence(status, label.unit))
                for line in filter(None, lines):
                    st.markdown(line)
                if v.segment:
                    breakdown(k, label, v.segment)
                if judged is not None and judged["anomaly"].any():
                    st.markdown(f"**Unusual {noun}s** — {analysis.anomaly_rule(grain)}:")
                    releases = components.release_table(ws, as_of)   # feature names come from a file
                    releases = releases.assign(label=releases["label"].map(plain)) if len(releases) else releases
                    for line in analysis.anomaly_lines(judged, releases, label.unit, grain):
                        st.markdown(line)
                    if judged["anomaly"].sum() > 5:
                        st.caption(f"…and {int(judged['anomaly'].sum()) - 5} earlier.")
                    st.caption(analysis.anomaly_rule_sentence(grain))
                st.divider()

            # -- breakdown and what changed, for one KPI -----------------------------------------
            focus = chosen[0] if len(chosen) == 1 else st.selectbox(
                "Break down and explain", chosen, key="trends_focus", bind="query-params", format_func=kpi_name)
            flabel = meta[focus][0]
            fseries = analysis.series_of(full, focus)
            columns = components.segment_names(ws)
            st.subheader(f"What changed in {plain(flabel.name)}")
            if len(fseries) < 2 or not columns:
                st.caption("Needs at least two periods and a column to break down by (plan, country, channel…).")
            else:
                periods = list(fseries["period"])
                before_default, after_default = analysis.change_periods(fseries, unit=flabel.unit)
                a, b, c = st.columns(3)
                before = a.selectbox("From", periods, index=periods.index(before_default), key=f"trends_from_{focus}",
                                     format_func=lambda p: analysis.period_label(p, grain))
                after = b.selectbox("To", periods, index=periods.index(after_default), key=f"trends_to_{focus}",
                                    format_func=lambda p: analysis.period_label(p, grain))
                auto = "Find the one that explains most"
                default_seg = v.segment if v.segment in columns else auto
                seg_choice = c.selectbox("Break down by", [auto] + columns, index=([auto] + columns).index(default_seg),
                                         key=f"trends_by_{focus}",
                                         help="Each segment's contribution to the change. 'Find' tries every column "
                                              "that sorts your data into a few groups (not ids, dates, yes/no flags "
                                              "or free text) and keeps the one where a single value moved most "
                                              "unlike the rest.")
                problems = components.split_problems(ws, focus, columns, flabel.name)
                tried = [c_ for c_ in columns if problems[c_] is None] if seg_choice == auto else [seg_choice]
                if seg_choice != auto and problems[seg_choice] is not None:
                    st.info(plain(problems[seg_choice]), icon=":material/call_split:")   # names columns, the KPI
                    tried = []
                elif not tried:
                    others = ", ".join(columns[1:])
                    st.info(plain(problems[columns[0]] + (f" The same holds for {others}." if others else "")),
                            icon=":material/call_split:")
                explained = {"results": {}, "left_out": []}
                if tried:
                    with st.spinner("Comparing segments…"):
                        explained = components.explain_change(ws, focus, grain, v.as_of, before, after, tried,
                                                              filters=v.filters)
                results = explained["results"]
                if tried and not results:
                    st.caption(plain(f"{flabel.name} has no values to compare by " + ", ".join(tried) + "."))
                elif results:
                    col = max(results, key=lambda c_: (results[c_][1] or {}).get("score", -1)) \
                        if seg_choice == auto else seg_choice
                    contrib, drv, seg_frame = results[col]
                    bl, al = analysis.period_label(before, grain), analysis.period_label(after, grain)
                    shown_drv = None if drv is None else {   # a column header and its value, from a file
                        **drv, "segment": None if drv["segment"] is None else plain(drv["segment"])}
                    for line in (analysis.change_sentence(plain(flabel.name), contrib, flabel.unit, bl, al),
                                 analysis.driver_sentence(plain(col.replace("_", " ")), shown_drv, contrib,
                                                          flabel.unit, bl)):
                        if line:
                            st.markdown(line)
                    if seg_choice == auto:
                        skipped = [c_ for c_ in columns if problems[c_] is not None]
                        st.caption(plain("Compared " + ", ".join(f"{c_.replace('_', ' ')} ({len(results[c_][0])} values)"
                                                                 for c_ in results)
                                         + (f"; {col.replace('_', ' ')} explains the change best" if len(results) > 1 else "")
                                         + (f". Not comparable: {', '.join(skipped)} (not in the data {flabel.name} "
                                            "counts)." if skipped else ".")))
                    charts.draw("contribution_chart", contrib=contrib, name=flabel.name, unit=flabel.unit,
                                direction=flabel.direction, segment_column=col, before_label=bl, after_label=al)
                    st.caption(contrib.attrs["note"] + " A segment's size is its share of the "
                               f"{bl} {'base' if contrib.attrs['method'] == 'ratio' else 'total'}.")
                    table = pd.DataFrame({
                        col.replace("_", " "): contrib["segment"].fillna("(none)"),
                        f"Size ({bl})": [format_value(w, "rate") if w is not None and pd.notna(w) else "—"
                                         for w in contrib["weight"]],
                        bl: [format_value(x, flabel.unit) for x in contrib["before"]],
                        al: [format_value(x, flabel.unit) for x in contrib["after"]],
                        "Own change": [format_change(x, flabel.unit) for x in contrib["change"]],
                        "Contribution": [format_change(x, flabel.unit) for x in contrib["contribution"]],
                    })
                    with st.expander(f"Every {plain(col.replace('_', ' '))}"):
                        st.dataframe(table, hide_index=True, width="stretch")
                    if col != v.segment:   # the sidebar's breakdown is drawn under each KPI above
                        charts.draw("segment_chart", frame=in_range(seg_frame), name=flabel.name, unit=flabel.unit,
                                    grain=grain, segment_column=col)

            with st.expander("Add a note to the charts"):
                st.caption("Notes are saved in this workspace and drawn as pink lines on the charts "
                           "(releases are the grey ones).")
                with st.form("trends_note", clear_on_submit=True, border=False):
                    n1, n2 = st.columns([1, 3])
                    day = n1.date_input("Date", value=as_of, max_value=as_of, key="trends_note_date")
                    text = n2.text_input("Note", max_chars=200, key="trends_note_text",
                                         placeholder="e.g. Pricing page redesign went live")
                    scope = st.radio("Show on", ["This KPI", "Every KPI"], horizontal=True, key="trends_note_scope")
                    if st.form_submit_button("Save note", disabled=session.is_viewer()) and text.strip():
                        try:   # added to the latest notes: notes others saved meanwhile stay
                            store.add_annotation(ws, day.isoformat(), text.strip(),
                                                 focus if scope == "This KPI" else None)
                        except KpiError as exc:
                            st.warning(plain(exc))
                        else:
                            st.rerun()
                saved = store.load_annotations(ws)
                for note in saved:
                    n1, n2 = st.columns([5, 1], vertical_alignment="center")
                    where = kpi_name(note["kpi"]) if note.get("kpi") else "every KPI"
                    n1.text(f"{note.get('date')} — {note.get('text', '')} ({where})")
                    # by id: the note on this line, whatever others deleted since the page was drawn
                    if n2.button("Delete", key=f"trends_note_del_{note['id']}", disabled=session.is_viewer()):
                        try:
                            store.delete_annotation(ws, note["id"])
                        except KpiError as exc:
                            st.warning(plain(exc))
                        else:
                            st.rerun()

# =============================================================================================
with tabs[1]:
    if tabs[1].open:
        st.caption("A cohort is everyone who signed up (users) or first paid (revenue) in the same month. Each row "
                   "follows one cohort: the share still active, or the share of its first-month MRR still billed, "
                   "month after month. Better retention shows as darker cells further right.")
        measures = [m for m, ds in (("users", "events"), ("revenue", "subscriptions")) if ws.has(ds)]
        if not measures:
            st.info("Cohorts need events (for users) or subscriptions (for revenue).")
        else:
            c1, c2 = st.columns(2)
            measure = c1.segmented_control("Measure", measures, default=measures[0], key="cohort_measure", bind="query-params",
                                           required=True, format_func=lambda m: "Users" if m == "users" else "Revenue (MRR)")
            shown = c2.slider("Cohorts shown (latest)", 3, 36, 12, key="cohort_rows", bind="query-params")
            cohorts = components.cohort_table(ws, as_of, measure or measures[0], 12)
            if cohorts.empty:
                st.info("No cohorts in the loaded data yet.")
            else:
                keep = sorted(cohorts["cohort"].unique())[-shown:]
                charts.draw("cohort_heatmap", cohorts=cohorts[cohorts["cohort"].isin(keep)],
                            measure=measure or measures[0])
                if ws.has("customers") or measure == "revenue":
                    st.caption("Row labels give each cohort's size: "
                               + ("customers who signed up that month." if measure == "users" else
                                  "its MRR at the end of its first month."))

# =============================================================================================
with tabs[2]:
    if tabs[2].open:
        st.caption("A funnel counts the users who do a series of events in order. A user enters at their first "
                   "event of step 1 in the sidebar's date range and counts at a later step when they do it within "
                   "the conversion window of entering.")
        events = components.event_name_table(ws, as_of)
        if events.empty:
            st.info("Funnels need the events dataset.")
        else:
            names = list(events["event"])
            guess = [e for e in ("login", "dashboard_viewed", "report_created") if e in names]
            guess = guess if len(guess) >= 2 else names[:3]
            c1, c2 = st.columns([3, 1])
            steps = c1.multiselect("Steps, in order", names, default=guess, key="funnel_steps", bind="query-params", max_selections=8,
                                   help="Pick the events in the order users should do them.")
            # A float widget: Streamlit 1.67 drops ?funnel_window=1e309 for it, and fails on it for an int one.
            window = round(c2.number_input("Conversion window (days)", 0.0, 365.0, 7.0, step=1.0, format="%.0f",
                                           key="funnel_window", bind="query-params",
                                           help="How long after entering a user may take to reach each later step."))
            if len(steps) < 2:
                st.info("Pick at least two events.")
            else:
                result = components.funnel_table(ws, steps, window, v.start, v.end, as_of)
                charts.draw("funnel_chart", steps=result)
                worst = result.iloc[1:].sort_values("of_previous").head(1)
                if not worst.empty and worst["of_previous"].iloc[0] is not None:
                    w = worst.iloc[0]
                    st.markdown(f"The biggest drop is into step {w['step']} (**{plain(w['event'])}**): "
                                f"{format_value(1 - w['of_previous'], 'rate')} of users who reached step "
                                f"{w['step'] - 1} do not go on within {window} days.")
                st.dataframe(pd.DataFrame({
                    "Step": [f"{s}. {e}" for s, e in zip(result["step"], result["event"])],
                    "Users": [format_value(u, "count") for u in result["users"]],
                    "Of step 1": [format_value(x, "rate") for x in result["of_first"]],
                    "Of the step before": [format_value(x, "rate") for x in result["of_previous"]],
                    "Lost at this step": [format_value(x, "count") for x in result["dropped"]],
                }), hide_index=True, width="stretch")

# =============================================================================================
with tabs[3]:
    if tabs[3].open:
        st.caption("How recurring revenue moved each period: won from new customers, expansions and returning "
                   "customers, lost to contraction and churn. The line is the net: the change in MRR.")
        if not ws.has("subscriptions"):
            st.info("MRR movements need the subscriptions dataset.")
        else:
            ids = [k for k, _label, _sign in analysis.MRR_MOVEMENTS]
            moves = analysis.mrr_movements(session.kpi_frame(ws, ids, grain=grain, start=v.start, end=v.end,
                                                                as_of=v.as_of, use_view=False, filters=v.filters))
            if moves.empty:
                st.info("No MRR movements in the chosen range.")
            else:
                charts.draw("mrr_movements_chart", moves=moves, grain=grain)
                net = moves.attrs["net"]
                last = net.iloc[-1]
                st.markdown(f"{analysis.period_label(last['period'], grain)}"
                            f"{' (partial)' if last['partial'] else ''}: net new MRR "
                            f"**{format_value(last['net'], 'currency')}**.")

# =============================================================================================
with tabs[4]:
    if tabs[4].open:
        st.caption("DAU counts the users active on a day, WAU in the 7 days up to it, MAU in the 30 days up to it; "
                   "each line is their mean over the period's days. Stickiness (DAU / MAU) is the share of a "
                   "month's users who show up on a typical day.")
        if not ws.has("events"):
            st.info("Active users need the events dataset.")
        else:
            daily = components.active_users_table(ws, as_of)
            periods = in_range(analysis.active_users_by_period(daily, grain, as_of))
            if periods.empty:
                st.info("No activity in the chosen range.")
            else:
                charts.draw("active_users_chart", periods=periods, grain=grain)
                charts.draw("stickiness_chart", periods=periods, grain=grain)
