"""KPI Explorer's router: page navigation, the sidebar every page shares, and the first-visit welcome."""
from __future__ import annotations

import logging
import sys

import streamlit as st

from kpi.compute import GRAINS
from kpi.errors import KpiError, WorkspaceGone
from kpi.formatting import format_date
from kpi.workspaces import SAMPLE_ID
from ui import components, session, sharing
from ui.text import plain

st.set_page_config(page_title="KPI Explorer", page_icon=":material/monitoring:", layout="wide")

PAGES = {
    "Your data": [
        st.Page("pages/data.py", title="Data", icon=":material/table_view:", url_path="data", default=True),
        st.Page("pages/library.py", title="KPI library", icon=":material/menu_book:", url_path="library"),
    ],
    "Plan": [
        st.Page("pages/wizard.py", title="KPI wizard", icon=":material/explore:", url_path="wizard"),
        st.Page("pages/goals.py", title="Goals", icon=":material/flag:", url_path="goals"),
    ],
    "Review": [
        st.Page("pages/scorecard.py", title="Scorecard", icon=":material/traffic:", url_path="scorecard"),
        st.Page("pages/trends.py", title="Trends", icon=":material/show_chart:", url_path="trends"),
    ],
}


def welcome(ws) -> None:
    """A first visit to an empty workspace: two ways to start."""
    st.title("Welcome to KPI Explorer")
    st.write("Pick the KPIs that fit your goal and your product's stage, set SMART targets and see "
             "at a glance what is on track — from the exports you already have.")
    left, right = st.columns(2)
    with left.container(border=True):
        st.subheader("Explore with sample data")
        st.caption("Two years of a fictional B2B SaaS product: billing, product events, support, "
                   "releases, sprints and more. Loads in a few seconds.")
        if st.button("Load the sample data", type="primary", key="welcome_sample") and session.load_sample_data(ws):
            # Land where the sample shows its value, with what to do next (what_next below).
            st.session_state["welcome_done"] = True
            st.session_state["_pending_page"] = "scorecard"
            st.session_state[WHAT_NEXT] = True
            st.rerun()
        if st.button("Or just look around the read-only sample", key="welcome_look", type="tertiary",
                     help="The public sample workspace, with a KPI set and targets already made. "
                          "Copy it from the Workspace menu to change anything."):
            session.switch_workspace(SAMPLE_ID)
    with right.container(border=True):
        st.subheader("Upload your own exports")
        st.caption("CSV, TSV, .csv.gz or Parquet from billing, analytics, Jira, your help desk… "
                   "The app recognises the columns; you confirm.")
        if st.button("Upload files", key="welcome_upload"):
            st.session_state["welcome_done"] = True
            st.rerun()


WHAT_NEXT = "_what_next"   # set by "Load the sample data": the Scorecard shows next steps until hidden


def what_next() -> None:
    """Three next steps above the Scorecard after the sample is loaded: wizard, targets, share."""
    with st.container(border=True):
        head, hide = st.columns([6, 1], vertical_alignment="center")
        head.markdown("**The sample is loaded: this is its scorecard.** What next:")
        if hide.button("Hide", key="what_next_hide", type="tertiary", icon=":material/close:"):
            st.session_state.pop(WHAT_NEXT, None)
            st.rerun()
        wizard, targets, share = st.columns(3)
        with wizard:
            st.page_link("pages/wizard.py", label="1. Pick your KPIs with the wizard", icon=":material/explore:")
            st.caption("Your goal and product stage give a short, balanced KPI set.")
        with targets:
            st.page_link("pages/goals.py", label="2. Set targets", icon=":material/flag:")
            st.caption("Where each KPI should be, and by when; the scorecard then says what is on track.")
        with share:
            st.markdown(":material/share: 3. Share it")
            st.caption("The Share button in the sidebar makes a view-only link, a report or a digest.")


def sidebar(ws):
    """The sidebar every page shares; returns the slot for the Share control (filled once the page is known)."""
    summary = session.dataset_summary(ws)
    as_of = session.workspace_as_of(ws)
    with st.sidebar:
        st.caption(f"Workspace **{plain(ws.setting('name') or 'My workspace')}**")
        if session.is_sample():
            st.badge("Sample · read-only", icon=":material/visibility:", color="gray")
        elif session.is_viewer():
            st.badge("View only", icon=":material/visibility:", color="gray")
        share_slot = st.container()
        if len(summary):
            st.markdown("**Loaded data**")
            st.dataframe(summary[["name", "rows"]].rename(columns={"name": "Dataset", "rows": "Rows"}),
                         hide_index=True, width="stretch", height=36 * (len(summary) + 1) + 4,
                         column_config={"Rows": st.column_config.NumberColumn(format="localized")})
            as_of_caption = st.empty()   # filled once the "To" date below is known
        else:
            st.caption("No data loaded yet.")
        st.divider()
        st.markdown("**View**")
        from_url = sharing.view_from_url(as_of)
        st.selectbox("Grain", GRAINS, index=GRAINS.index(st.session_state.get("grain") or from_url["grain"] or "month"),
                     key="grain", format_func=str.capitalize,
                     help="The length of one period: every KPI is computed per day, week (Monday to "
                          "Sunday), month, quarter or year.")
        segments = session.segment_choices(ws)
        if st.session_state.get("segment") not in [""] + segments:
            st.session_state["segment"] = ""  # a column this workspace does not have
        st.selectbox("Break down by", [""] + segments, key="segment",
                     format_func=lambda s: s or "Nothing (all data)",
                     help="Split each KPI by a column of your data (plan, country, channel…). Columns "
                          "of customers reach every dataset with a customer or user id.")
        if st.session_state.get("filter_col") not in [""] + segments:
            st.session_state["filter_col"] = ""
        column = st.selectbox("Only rows where", [""] + segments, key="filter_col",
                              format_func=lambda s: s or "No filter (all rows)",
                              help="Compute the KPIs on part of the data only: the rows whose column has one "
                                   "of the values you pick (on Trends; the Scorecard and targets use all the data).")
        if column:
            values = session.filter_values(ws, column)
            if any(v not in values for v in st.session_state.get("filter_vals") or []):
                st.session_state["filter_vals"] = [v for v in st.session_state["filter_vals"] if v in values]
            st.multiselect(f"{plain(column)} is", values, key="filter_vals", placeholder="Pick one or more values",
                           help="Rows with any of these values are kept; with none picked, nothing is filtered.")
        if as_of:
            st.date_input("From", value=from_url["start"], key="start", max_value=as_of,
                          help="Show periods starting on or after this day (empty: from the start).")
            st.date_input("To", value=from_url["end"], key="end", max_value=as_of,
                          help="The day the whole app is viewed as of: every page's numbers, statuses, "
                               "alerts, exports and digests stand where they stood at the end of this day "
                               "(empty: the latest data).")
        if len(summary):
            as_of_caption.caption(as_of_words(as_of, session.view_as_of(ws)))
        sharing.view_to_url()
    return share_slot


def as_of_words(data_as_of, viewed) -> str:
    """The sidebar's caption: the one date every page is viewed as of, and the data's own."""
    if data_as_of is None:
        return "No dated rows yet"
    if viewed is None or viewed == data_as_of:
        return f"Data as of **{format_date(data_as_of)}**"
    return (f"Viewed as of **{format_date(viewed)}** (the To date) · data up to {format_date(data_as_of)}")


def alerts_banner(ws) -> None:
    """Targets off track, missed or raising an alert, on every page (cached by the plan key), as of
    the date the app is viewed as of."""
    as_of = session.view_as_of(ws)
    if as_of is None:
        return
    try:
        statuses = components.scorecard_statuses(ws, as_of)
    except KpiError:
        return  # the Scorecard page shows the problem in full
    sharing.alerts_banner(ws, statuses, as_of)




def _core_log_to_server_log() -> None:
    """The core's warnings (why a workspace would not open…) go to the server's log, once per process."""
    core = logging.getLogger("kpi")
    if not any(isinstance(h, logging.StreamHandler) for h in core.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        core.addHandler(handler)
        core.setLevel(logging.WARNING)


_core_log_to_server_log()
session.router_running(True)
ws = session.workspace()
# `streamlit run app.py -- --sample` opens every new workspace with the sample data loaded.
if "--sample" in sys.argv and not ws.datasets() and not st.session_state.get("sample_autoloaded"):
    st.session_state["sample_autoloaded"] = True
    session.load_sample_data(ws)
notice = st.session_state.pop("workspace_notice", None)
if notice:
    st.toast(notice, icon=":material/info:")
recovered = session.recovery_notice(session.workspace_id())
if recovered:
    st.warning(recovered, icon=":material/build:")
welcome_first = not ws.datasets() and not st.session_state.get("welcome_done") and not session.is_viewer()
try:
    if welcome_first:
        # The welcome is a page of its own, the only one until data is loaded or the user picks
        # "upload": navigation is declared on every run, so Streamlit never routes by pages/.
        st.navigation([st.Page(lambda: welcome(ws), title="Welcome", url_path="welcome")], position="hidden").run()
    else:
        share_slot = sidebar(ws)
        navigation = st.navigation(PAGES)
        with share_slot:
            sharing.workspace_menu(ws)
            sharing.share_popover(ws, navigation.url_path,
                                  [page.url_path for pages in PAGES.values() for page in pages])
        if navigation.url_path != "scorecard":  # the Scorecard lists them in full
            alerts_banner(ws)
        elif st.session_state.get(WHAT_NEXT):
            what_next()
        pending = st.session_state.pop("_pending_page", None)
        by_url = {page.url_path: page for pages in PAGES.values() for page in pages}
        if pending in by_url and navigation.url_path != pending:
            st.switch_page(by_url[pending], query_params=dict(st.query_params))
        navigation.run()
except WorkspaceGone as exc:   # deleted in another session while this page was being drawn
    session.gone_page(str(exc))
finally:
    session.router_running(False)
