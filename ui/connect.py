"""The Data page's "Connect a database": compute a workspace's KPIs where its data already lives.

The connections are the deployer's: ``[connections.NAME]`` sections of ``.streamlit/secrets.toml``
(Streamlit's convention). A workspace stores only the chosen name; addresses and passwords stay in
the secrets and are never shown. Before connecting, the page shows which datasets the source's
tables provide and how many KPIs they compute.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from kpi import catalog, coverage, engines
from kpi.datasets import DATASETS
from kpi.errors import KpiError

KIND_WORDS = {"postgres": "PostgreSQL", "spark": "Apache Spark"}


def declare_from_secrets() -> None:
    """Hand the declared connections to the core (once per script run: secrets may change)."""
    try:
        declared = st.secrets.get("connections", {})
        connections = {str(name): dict(config) for name, config in dict(declared).items()}
    except Exception:  # noqa: BLE001 — no secrets file: no connections
        connections = {}
    engines.declare(connections)


def data_view(ws):
    """The workspace as its KPIs see it: its source's tables when it is connected (and the server
    still declares that connection), its own uploaded data otherwise."""
    name = engines.connection_of(ws)
    if not name or name not in engines.declared():
        return ws
    try:
        return engines.view(ws)
    except KpiError:
        return ws


def where(ws) -> str | None:
    """Where a connected workspace's KPIs are computed, in words (None: in the workspace)."""
    engine = getattr(ws, "engine", None)
    return engine.where if engine is not None else None


def spinner_text(ws, what: str = "Computing the KPIs") -> str:
    place = where(ws)
    return f"{what} {place}…" if place else f"{what}…"


def _label(name: str) -> str:
    kind = engines.declared().get(name)
    return f"{name} ({KIND_WORDS.get(kind, kind)})"


@st.cache_data(show_spinner=False, ttl=300, max_entries=16)
def _check(name: str) -> tuple[list[str], list[str], dict, dict]:
    """(datasets found, problems, KPIs ready by category, {dataset: extra columns}) of a connection."""
    engine = engines.engine_for(name)
    found = engine.datasets()
    problems = engine.problems() if found else []
    view = engines.attach(_blank_workspace(), engine)
    available = catalog.availability(view)
    by_category = {g.category: (len(g.ready), g.total) for g in coverage.coverage_by_category(available)}
    extra = {ds: [c for c in engine.columns(ds) if c not in DATASETS[ds].column_names] for ds in found}
    return found, problems, by_category, extra


def _blank_workspace():
    from kpi.workspace import Workspace
    return Workspace(None)


def _coverage(found: list[str], problems: list[str], by_category: dict, extra: dict) -> None:
    ready = sum(r for r, _ in by_category.values())
    total = sum(t for _, t in by_category.values())
    st.markdown(f"Its tables provide **{len(found)} of {len(DATASETS)}** datasets, enough for "
                f"**{ready} of {total}** KPIs.")
    table = pd.DataFrame({
        "Dataset": list(DATASETS),
        "Table found": ["yes" if d in found else "no" for d in DATASETS],
        "Segments (other columns)": [", ".join(extra.get(d, [])) for d in DATASETS],
    })
    st.dataframe(table, hide_index=True, width="stretch")
    st.dataframe(pd.DataFrame([{"Category": c, "KPIs ready": r, "Of": t} for c, (r, t) in by_category.items()]),
                 hide_index=True, width="stretch")
    for p in problems:
        st.warning(p, icon=":material/warning:")


def section(ws, *, read_only: bool) -> None:
    """The "Connect a database" part of the Data page."""
    declared = engines.declared()
    current = engines.connection_of(ws)
    st.markdown("#### :material/database: Connect a database")
    if current:
        if current not in declared:
            st.warning(f"This workspace computes on the connection “{current}”, which this server no longer "
                       "declares: its KPIs are computed from the files loaded here until it is declared again "
                       "or you disconnect.", icon=":material/link_off:")
        else:
            st.success(f"This workspace's KPIs are computed {where(ws) or engines.engine_for(current).where}. "
                       "Goals, the KPI set, custom KPIs and share links work as with uploaded files; "
                       "numbers come from the source's tables each time they are computed.",
                       icon=":material/cloud_done:")
            try:
                _coverage(*_check(current))
            except KpiError as exc:
                st.error(str(exc), icon=":material/error:")
        if st.button("Disconnect: compute from this workspace's files again", key="connect_disconnect",
                     disabled=read_only, icon=":material/link_off:"):
            engines.disconnect(ws)
            _check.clear()
            st.rerun()
        return
    if not declared:
        st.caption("Events already in a warehouse or a lake? KPI Explorer can compute there and bring back "
                   "only the results. Whoever runs this server declares each database in "
                   "`.streamlit/secrets.toml` (a `[connections.NAME]` section with `type = \"postgres\"` or "
                   "`\"spark\"` and its address); it then shows up here.")
        return
    st.caption("Compute this workspace's KPIs where the data lives: the source needs one table per dataset, "
               "named after it (events, payments, subscriptions…), with the columns listed in the data "
               "dictionary. Its address and password stay on the server.")
    name = st.selectbox("Connection", list(declared), format_func=_label, key="connect_name")
    try:
        with st.spinner(f"Looking at the tables of {name}…"):
            found, problems, by_category, extra = _check(name)
    except KpiError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    _coverage(found, problems, by_category, extra)
    if st.button(f"Compute this workspace's KPIs in {name}", key="connect_use", type="primary",
                 disabled=read_only or not found or bool(problems), icon=":material/cloud_sync:"):
        try:
            engines.connect(ws, name)
        except KpiError as exc:
            st.error(str(exc), icon=":material/error:")
            return
        st.rerun()
