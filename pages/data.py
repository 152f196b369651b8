"""The Data page: add files (guess, map, check, load), each dataset's quality, and what the data can compute."""
from __future__ import annotations

import dataclasses

import streamlit as st

from kpi import coverage
from kpi.catalog import CATALOG
from kpi.datasets import DATASETS
from kpi.formatting import format_value
from ui import connect, data_page, session

ws = session.workspace()
available = session.availability(ws)
loaded = ws.datasets()
ready = sum(av.computable for av in available.values())
as_of = session.workspace_as_of(ws)
summary = session.dataset_summary(ws)

st.title("Your data")
st.caption("Upload the exports you already have — billing, product analytics, help desk, Jira… The app "
           "recognises what each file holds; you check the guess, and it is stored in this workspace.")

datasets_col, rows_col, kpis_col, as_of_col = st.columns(4)
datasets_col.metric("Datasets loaded", f"{len(loaded)} of {len(DATASETS)}", border=True,
                    help="Each file you load becomes one of the 15 datasets KPI Explorer reads.")
rows_col.metric("Rows stored", format_value(int(summary["rows"].sum()) if len(summary) else 0, "count"), border=True)
kpis_col.metric("KPIs you can compute", f"{ready} of {len(CATALOG)}", border=True,
                help="KPIs of the library that your loaded data can compute now. See the KPI coverage tab for "
                     "what would unlock the others.")
as_of_col.metric("Data as of", f"{as_of:%d %b %Y}" if as_of else "—", border=True,
                 help="The latest date in your data: the last period shown is the one holding it.")

add_tab, quality_tab, coverage_tab = st.tabs([":material/upload_file: Add files",
                                              ":material/fact_check: Data quality",
                                              ":material/grid_view: KPI coverage"])

with add_tab:
    if session.is_viewer():
        st.info("You opened a view-only link: you can look at this workspace's data, not add or delete any.",
                icon=":material/visibility:")
    uploads = st.file_uploader(
        "Drop your exports here", type=data_page.UPLOAD_TYPES, accept_multiple_files=True, key="upload_files",
        disabled=session.is_viewer(),
        help="CSV, TSV, .csv.gz or Parquet, several at once. Nothing is stored until you check each file "
             "and press Load.")
    staged = data_page.stage_uploads(uploads)
    if not staged and loaded:
        st.caption("To update a dataset, upload its new export: you then choose to replace the rows already "
                   "loaded or to add the new ones. Each dataset's health is under **Data quality**; what your "
                   "data can compute, and what would unlock more, under **KPI coverage**.")
    if not staged and not loaded:
        best = coverage.next_datasets(available)[:3]
        if best:
            st.caption("Files that unlock the most KPIs: " + ", ".join(
                f"**{item.dataset}** ({len(item.kpis)} KPIs)" for item in best)
                + " — e.g. a subscriptions export from your billing tool, events from your product analytics.")
        st.caption("No files of your own at hand?")
        if st.button("Explore with the sample data instead", key="data_load_sample", icon=":material/science:",
                     disabled=session.is_viewer()):
            if session.load_sample_data(ws):
                st.rerun()

    load_all_slot = st.container()
    requests = []
    for item in staged:
        with st.container(border=True):
            st.markdown(f"#### :material/description: {data_page.plain(item.name)}")
            outcome = data_page.done_outcome(item)
            if outcome is not None:
                data_page.show_outcome(outcome)
                continue
            if item.error:
                st.error(data_page.plain(item.error), icon=":material/block:")
                continue
            request = data_page.mapping_form(ws, item)
            if request is None:
                continue
            requests.append(request)
            if st.button(f"Load into {request.dataset}", key=f"{item.key}_load", type="primary",
                         icon=":material/download_done:"):
                if data_page.load(ws, request):
                    st.rerun()
    if any(data_page.done_outcome(item) for item in staged):
        st.page_link("pages/wizard.py", label="Next: pick the KPIs that fit your goal in the KPI wizard",
                     icon=":material/arrow_forward:")
    if len(requests) > 1:
        with load_all_slot:
            if st.button(f"Load all {len(requests)} files as shown below", key="data_load_all",
                         icon=":material/done_all:"):
                progress = st.progress(0.0)
                failed, loaded_now = 0, set()
                for i, request in enumerate(requests):
                    if request.dataset in loaded_now:   # several files of one dataset: replace once, then add
                        request = dataclasses.replace(request, mode="append", expect=None)
                    progress.progress(i / len(requests), text=f"Loading {data_page.plain(request.staged.name)}…")
                    outcome = data_page.load(ws, request)
                    failed += outcome is None
                    if outcome is not None:
                        loaded_now.add(request.dataset)
                progress.progress(1.0, text="Done")
                if not failed:   # a refusal stays on screen; the rest shows on the next rerun
                    st.rerun()
    # Below the files being added, not between the uploader and their checks.
    connect.section(ws, read_only=session.is_viewer())   # compute where the data already lives

with quality_tab:
    if connect.where(ws):
        st.info(f"This workspace's data is {connect.where(ws)}: its quality is that source's business. "
                "The KPI coverage tab shows which datasets its tables provide.", icon=":material/info:")
    elif not loaded:
        st.info("No data loaded yet: add files first. Each dataset then gets a report here — rows per month, "
                "gaps, empty values, duplicates and rows that break a rule.", icon=":material/info:")
    else:
        overview = data_page.datasets_overview(ws)
        st.dataframe(overview, hide_index=True, width="stretch", height=38 + 35 * len(overview),
                     column_config={"Rows": st.column_config.NumberColumn(format="localized"),
                                    "Rows with problems": st.column_config.NumberColumn(format="localized")})
        first = data_page.dataset_to_show_first(overview)
        picked = st.selectbox("Show the report of", loaded, index=loaded.index(first), key="data_quality_dataset",
                              format_func=lambda d: f"{d} — {DATASETS[d].row_is} per row")
        data_page.quality_details(ws, picked)
        data_page.delete_dataset_control(ws, picked)

with coverage_tab:
    st.markdown(f"Your data can compute **{ready} of {len(CATALOG)}** KPIs. Hover a KPI for its definition.")
    data_page.coverage_matrix(ws)
