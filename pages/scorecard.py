"""Scorecard: the workspace's KPI set as a balanced scorecard, each KPI a card with its target status."""
from __future__ import annotations


import streamlit as st

from kpi import analysis, export, store
from kpi.catalog import CATALOG
from kpi.errors import KpiError
from kpi.formatting import format_date
from ui import cards, components, session
from ui.text import plain

ws = session.workspace()
v = session.view()
st.title("Scorecard")

data_as_of = cards.require_dated_data(ws, session.workspace_as_of(ws), what="the scorecard is",
                                      nothing="nothing to score")
# One as-of date for the whole app: the sidebar's "To" date, else the data's (session.view_as_of).
as_of = session.view_as_of(ws) or data_as_of

meta = components.kpi_meta(ws)
computable = {k for k, a in session.availability(ws).items() if a.computable}
saved = [k for k in store.load_kpi_set(ws).get("kpis", []) if k in meta]
try:
    statuses = components.scorecard_statuses(ws, as_of)
except KpiError as exc:
    session.show_error(exc)
    statuses = []
kpis = saved or analysis.default_kpi_set(computable, extra=[k for k in meta if k not in CATALOG])
kpis += [s.kpi for s in statuses if s.kpi not in kpis and s.kpi in meta]

top_left, top_right = st.columns([3, 2], vertical_alignment="bottom")
with top_left:
    st.markdown(cards.summary_html(statuses), unsafe_allow_html=True)
    alerts = sum(1 for s in statuses if s.alert)
    st.caption(f"{len(statuses)} target{'s' if len(statuses) != 1 else ''}"
               + (f" · {alerts} alert{'s' if alerts != 1 else ''}" if alerts else "")
               + f" · as of {format_date(as_of)}"
               + (" (the sidebar's To date)" if as_of != data_as_of else "")
               + f" · cards show {v.grain}ly values: the latest complete {v.grain}, "
                 "a level such as MRR as of that day")
# The stakeholder view is part of a shared link (?view=Team) and survives page switches: Streamlit
# forgets a widget's value while another page runs, so the choice is also kept under its own key.
if "scorecard_mode" not in st.session_state:
    asked = st.query_params.get("view")
    st.session_state["scorecard_mode"] = (asked if asked in cards.MODES
                                          else st.session_state.get("_scorecard_mode_keep", "Executive"))
with top_right:
    mode = st.segmented_control(
        "View for", cards.MODES, key="scorecard_mode", required=True,
        help="Executive: status and headline numbers only. Team: everything — changes on a year "
             "before, progress, projection, the run-rate still needed and data-quality notes.")
mode = mode or "Executive"
st.session_state["_scorecard_mode_keep"] = mode
if mode == "Executive":
    st.query_params.pop("view", None)
elif st.query_params.get("view") != mode:
    st.query_params["view"] = mode

if not saved and session.is_viewer():
    st.caption("A starting set picked from the data: one or two KPIs for each part of the balanced scorecard.")
elif not saved:
    st.info("This is a starting set picked from your data: one or two KPIs for each part of the "
            "balanced scorecard. Choose the KPIs that fit your goal and stage with the wizard.", icon=":material/explore:")
    cards.safe_page_link("pages/wizard.py", label="Choose your KPIs with the wizard", icon=":material/explore:")
if not statuses and session.is_viewer():
    st.caption("No targets yet, so there are no statuses.")
elif not statuses:
    st.caption("No targets yet, so there are no statuses. Set SMART targets on the Goals page.")
    cards.safe_page_link("pages/goals.py", label="Set targets", icon=":material/flag:")
if v.segment or v.filters:
    what = " and ".join(w for w in (f"the breakdown by {v.segment}" if v.segment else "",
                                    f"the filter ({v.filter_words()})" if v.filters else "") if w)
    st.caption(plain(f"The scorecard shows the whole data, as its targets do; {what} "
                     f"{'apply' if v.segment and v.filters else 'applies'} on Trends."))
if not kpis:
    st.warning("The loaded data cannot compute any KPI yet. The KPI library says what each one needs.")
    st.stop()

with st.spinner("Working out the KPIs…"):
    try:
        frame = session.kpi_frame(ws, kpis, grain=v.grain, as_of=as_of, end=as_of, segment=None, use_view=False,
                                  start=v.start)
    except KpiError as exc:
        session.show_error(exc)
        st.stop()

texts = {k: meta[k][1:] for k in kpis}
labels = {k: meta[k][0] for k in kpis}
card_list = cards.build_cards(kpis, frame, statuses, grain=v.grain, as_of=as_of, labels=labels, texts=texts,
                              warnings=components.kpi_data_warnings(ws) if mode == "Team" else None,
                              targets=store.load_goals(ws).targets)
cards.attention_list(card_list)

# Exports for stakeholders (viewers too): the same numbers as the cards' targets and the CLI.
report = export.report_rows(kpis, statuses, frame, grain=v.grain, ws=ws, as_of=as_of)
stamp = f"{as_of:%Y-%m-%d}"
st.caption(f"Download this scorecard as of {format_date(as_of)}",
           help="The files show what this page shows, as of the same day. Everyone with the page can "
                "download, view-only links included.")
csv_col, html_col, pdf_col, png_col, md_col = st.columns(5)
csv_col.download_button("CSV", export.scorecard_csv(report).encode("utf-8"), f"scorecard-{stamp}.csv",
                        "text/csv", key="scorecard_download_csv", icon=":material/download:", width="stretch",
                        help="One line per KPI: value, change, target, status — for a spreadsheet.")
title = f"{ws.setting('name') or 'My workspace'} — KPI scorecard"   # user text: escaped / drawn as text
html_col.download_button("Report (HTML)", export.scorecard_html(report, statuses, as_of=as_of, title=title).encode("utf-8"),
                         f"scorecard-{stamp}.html", "text/html", key="scorecard_download_html",
                         icon=":material/description:", width="stretch",
                         help="A one-page report to attach to an e-mail or print.")
for col, fmt, icon in ((pdf_col, "pdf", ":material/picture_as_pdf:"), (png_col, "png", ":material/image:")):
    # Made only when asked for (a callable): the conversion takes a moment.
    col.download_button(f"Report ({fmt.upper()})",
                        lambda fmt=fmt: export.scorecard_image(report, statuses, fmt=fmt, as_of=as_of, title=title),
                        f"scorecard-{stamp}.{fmt}", "application/pdf" if fmt == "pdf" else "image/png",
                        key=f"scorecard_download_{fmt}", icon=icon, width="stretch", on_click="ignore",
                        help="The same one-page report as " + ("a PDF." if fmt == "pdf" else "an image, for slides and chat."))
md_col.download_button("Digest (Markdown)", export.scorecard_digest(statuses, as_of, ws).encode("utf-8"),
                       f"scorecard-{stamp}.md", "text/markdown", key="scorecard_download_md",
                       icon=":material/chat:", width="stretch",
                       help="The targets as a table to paste into a chat or an e-mail.")

columns_per_row = 3
for perspective, ids in analysis.group_by_perspective(kpis):
    group = sorted([c for c in card_list if c.kpi in ids], key=lambda c: c.severity)
    st.subheader(analysis.PERSPECTIVE_TITLE.get(perspective, perspective.capitalize()))
    for start in range(0, len(group), columns_per_row):
        row = st.columns(columns_per_row)
        for col, card in zip(row, group[start:start + columns_per_row]):
            with col:
                cards.kpi_card(card, mode=mode, as_of=as_of, key=f"{perspective}_{card.kpi}")

if mode == "Team":
    with st.expander("How statuses are decided"):
        st.markdown(
            "Each target is read two ways before its deadline, and the worse reading stands; the card says "
            "which one decided it.\n"
            "- **Pace**: the share of the way covered (progress) against the share of the time gone. On "
            "track when progress keeps up; at risk when it lags by up to 10 points; off track beyond.\n"
            "- **Forecast**: a straight line through the last 6 complete periods (at least 3), read off at the "
            "deadline and kept within what the KPI can take. On track when it reaches the target; at risk "
            "when it falls short by up to 10 % of the way to go; off track beyond.\n"
            "- **Achieved** (met early): the current value already meets the target and the forecast agrees. "
            "When the forecast says it will slip back, the forecast's status stands (\"met now, heading below "
            "the target\").\n"
            "- **Hold** targets (a target within a hair of the baseline, or on its worse side: *keep churn at "
            "or below 2.1 %*) have no progress figure and are never achieved before their deadline.\n"
            "- **At the deadline** the deadline's period is judged once: **achieved** or **missed**.\n"
            "- **Not started**: the target was set after the date the page is viewed as of.\n"
            "- **No data**: no value or no baseline to judge it on yet.\n\n"
            "The value judged is the latest complete period (a running month is not compared with whole "
            "ones); a level such as MRR is read on the as-of date. "
            f"An **unusual** period is one {analysis.anomaly_rule(v.grain)}.")
