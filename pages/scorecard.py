"""Scorecard: the workspace's KPI set as a balanced scorecard, each KPI a card with its target status."""
from __future__ import annotations


import streamlit as st

from kpi import analysis, export, store
from kpi.catalog import CATALOG
from kpi.errors import KpiError
from kpi.goals import period_end, period_start
from ui import cards, components, session
from ui.data_page import plain

ws = session.workspace()
v = session.view()
st.title("Scorecard")

data_as_of = cards.require_dated_data(ws, session.workspace_as_of(ws), what="the scorecard is",
                                      nothing="nothing to score")
# The sidebar's "To" date picks the period to look back at; the scorecard then stands on its last day.
as_of = v.as_of or data_as_of
if v.end is not None:
    as_of = min(period_end(period_start(v.end, v.grain), v.grain), as_of)

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
               + f" · {v.grain}ly values as of {as_of:%d %b %Y}")
# The stakeholder view is part of a shared link: ?view=Team opens the team's view.
if "scorecard_mode" not in st.session_state and st.query_params.get("view") in cards.MODES:
    st.session_state["scorecard_mode"] = st.query_params["view"]
with top_right:
    mode = st.segmented_control(
        "View for", cards.MODES, default="Executive", key="scorecard_mode", required=True,
        help="Executive: status and headline numbers only. Team: everything — changes on a year "
             "before, progress, projection, the run-rate still needed and data-quality notes.")
mode = mode or "Executive"
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
report = export.report_rows(kpis, statuses, frame, grain=v.grain, ws=ws)
stamp = f"{as_of:%Y-%m-%d}"
st.caption("Download this scorecard", help="Everyone with the page can download, view-only links included.")
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
            "- **Achieved**: the current value meets the target.\n"
            "- **Missed**: the deadline has passed without meeting it.\n"
            "- **On track**: the share of the way covered (progress) is at least the share of the time gone.\n"
            "- **At risk**: progress lags the time gone by less than 10 points.\n"
            "- **Off track**: progress lags by more.\n\n"
            "The projection is a straight line through the last 6 complete periods, read off at the deadline; "
            "it is shown beside the status and does not change it. "
            f"An **unusual** period is one {analysis.anomaly_rule(v.grain)}.")
