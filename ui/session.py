"""The browser session's workspace, shared view controls and cached KPI results.

Every page takes its workspace and its KPI numbers from here, so caches are always keyed by the
workspace id and its data version: one workspace's numbers never show in another's page, and a
change of data or goals drops them.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
import urllib.parse
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from kpi import access, catalog, engines
from kpi.compute import GRAINS, as_of_date, column_values, compute
from kpi.errors import KpiError, WorkspaceGone
from kpi.workspace import Workspace
from ui import connect
from kpi.workspaces import (SAMPLE_ID, open_or_recover, open_sample, is_valid_id, new_workspace_id,
                            workspace_exists)
from ui.text import plain

WS_PARAM = "ws"
SHARE_PARAM = "share"


@st.cache_resource(show_spinner=False, max_entries=64)
def _open(workspace_id: str) -> Workspace:
    # One DuckDB database object per workspace file per server process; queries take cursors.
    # A damaged file is kept aside and replaced by a fresh workspace: never a crash loop.
    if workspace_id == SAMPLE_ID:
        return open_sample()  # the public sample: sessions only ever get read-only views of it
    ws, note = open_or_recover(workspace_id)
    if note:
        _RECOVERED[workspace_id] = note
    return ws


_RECOVERED: dict[str, str] = {}


def recovery_notice(workspace_id: str) -> str | None:
    """What to tell the user once after their workspace file had to be replaced."""
    return _RECOVERED.pop(workspace_id, None)


@st.cache_resource(show_spinner=False, max_entries=64)
def _open_viewer(workspace_id: str) -> Workspace:
    # Cached apart from the editor's object: a viewer's Workspace refuses every write.
    return _open(workspace_id).read_only_view()


def role() -> str:
    """``owner`` (opened by its own workspace link), ``editor`` or ``viewer`` (opened by a share
    link), or ``sample`` (the public sample workspace, read-only for everyone)."""
    if st.session_state.get("workspace_id") == SAMPLE_ID and not st.session_state.get("share_token"):
        return "sample"
    return st.session_state.get("share_role") or "owner"


def is_viewer() -> bool:
    """Whether this session can only look (a view-only link or the public sample)."""
    return role() in ("viewer", "sample")


def is_sample() -> bool:
    return role() == "sample"


def gone_page(message: str) -> None:
    """The workspace was deleted (maybe in another session): say so and offer a fresh start."""
    st.session_state.pop("workspace_id", None)
    if WS_PARAM in st.query_params:
        del st.query_params[WS_PARAM]
    st.title("This workspace is gone")
    st.info(message, icon=":material/delete_forever:")
    if st.button("Start a new workspace", type="primary"):
        st.rerun()
    st.stop()


def invalid_link_page(message: str = access.INVALID_LINK) -> None:
    st.title("This link does not open a workspace")
    st.error(message, icon=":material/link_off:")
    st.caption("Share links stop working when the person who made them revokes them.")
    st.stop()


def _shared_workspace(token: str) -> Workspace:
    """The workspace of a share link, checked on every run so a revoked link stops at once."""
    try:
        wid, share_role = access.resolve(token)
    except KpiError:
        for key in ("share_token", "share_role", "workspace_id"):
            st.session_state.pop(key, None)
        invalid_link_page()
    st.session_state.update(share_token=token, share_role=share_role, workspace_id=wid)
    if st.query_params.get(SHARE_PARAM) != token:
        st.query_params[SHARE_PARAM] = token
    if WS_PARAM in st.query_params:
        del st.query_params[WS_PARAM]  # the workspace id is an editor's key: never put it in a shared URL
    return _open_viewer(wid) if share_role == "viewer" else _open(wid)


def workspace_id() -> str:
    """This session's workspace id: from the URL when it names an existing one, else a new one."""
    wid = st.session_state.get("workspace_id")
    if wid:
        return wid
    asked = st.query_params.get(WS_PARAM)
    if asked == SAMPLE_ID or (asked and is_valid_id(asked) and workspace_exists(asked)):
        wid = asked
    else:
        if asked:
            st.session_state["workspace_notice"] = ("That workspace link was not found, so you have a new, "
                                                    "empty workspace.")
        wid = new_workspace_id()
    st.session_state["workspace_id"] = wid
    return wid


_router = threading.local()


def router_running(flag: bool) -> None:
    """app.py marks the script runs it routes; a page run without it was reached directly."""
    _router.active = flag


def _reached_without_router() -> bool:
    # On a freshly started server, Streamlit can route the very first request for /scorecard
    # straight to pages/scorecard.py (the pages/ folder convention) before app.py has ever run.
    # Only a browser session has a URL; AppTest runs a page on its own on purpose.
    return bool(st.context.url) and not getattr(_router, "active", False)


def workspace() -> Workspace:
    """This session's workspace — as its KPIs see it: a connected workspace's data is its source's."""
    connect.declare_from_secrets()
    return connect.data_view(_workspace())


def _opened(workspace_id: str):
    """A workspace by id, connected to its source when it names one (for the cached results)."""
    return connect.data_view(_open(workspace_id))


def _workspace() -> Workspace:
    if _reached_without_router():
        path = urllib.parse.urlparse(st.context.url or "").path.rstrip("/").rsplit("/", 1)[-1]
        st.session_state["_pending_page"] = path
        st.switch_page("app.py", query_params=dict(st.query_params))
    token = st.query_params.get(SHARE_PARAM)
    if token is None:  # the sidebar's page links drop the URL's parameters; the session keeps the link
        token = st.session_state.get("share_token")
    if token is not None:
        return _shared_workspace(token)
    wid = workspace_id()
    if st.query_params.get(WS_PARAM) != wid:
        st.query_params[WS_PARAM] = wid
    try:
        ws = _open_viewer(wid) if is_sample() else _open(wid)   # the sample is read-only for everyone
    except WorkspaceGone as exc:
        gone_page(str(exc))
    if ws.gone:
        gone_page(ws.gone)
    return ws


def data_key(ws: Workspace) -> tuple:
    """What every cache of results computed from the data is keyed by (workspace, data version;
    for a connected workspace also its connection and the five minutes we are in: the source's
    tables change without the workspace knowing)."""
    name = engines.connection_of(ws) if getattr(ws, "engine", None) is not None else None
    if name:
        return (str(ws.path), ws.data_version, name, int(time.time() // 300))
    return (str(ws.path), ws.data_version)


def plan_key(ws: Workspace) -> tuple:
    """The key of caches that also read goals, the KPI set or annotations."""
    return (*data_key(ws), ws.plan_version)


Filters = tuple[tuple[str, tuple[str, ...]], ...]   # ((column, (value, ...)), ...): hashable, for caches


@dataclass(frozen=True)
class View:
    """The controls every page shares (sidebar): grain, date range, segment, filter, as-of date.

    ``as_of`` is the sidebar's "To" date: the day the whole app is viewed as of ("where did we
    stand at the end of June?"). Every page computes its numbers and statuses as of it, and says
    so; without one, the data's own as-of date applies (:func:`view_as_of`)."""
    grain: str = "month"
    start: dt.date | None = None
    end: dt.date | None = None
    segment: str | None = None
    as_of: dt.date | None = None
    filters: Filters = ()

    def filter_words(self) -> str:
        """"plan is pro or enterprise" — for captions (plain text; the caller escapes markdown)."""
        return "; ".join(f"{col} is " + " or ".join(vals) for col, vals in self.filters)


def view() -> View:
    s = st.session_state
    col, vals = s.get("filter_col") or None, tuple(s.get("filter_vals") or ())
    return View(grain=s.get("grain", "month"), start=s.get("start"), end=s.get("end"),
                segment=s.get("segment") or None, as_of=s.get("end"),
                filters=((col, vals),) if col and vals else ())


@st.cache_data(show_spinner=False, max_entries=256)
def _compute_cached(key: tuple, kpis: tuple | None, grain: str, start, end, as_of, segment,
                    filters: Filters = ()) -> pd.DataFrame:
    ws = _opened(workspace_id_from_key(key))
    return compute(ws, list(kpis) if kpis is not None else None, grain=grain, start=start, end=end,
                   as_of=as_of, segment=segment, filters=dict(filters) or None)


def workspace_id_from_key(key: tuple) -> str:
    from pathlib import Path
    return Path(key[0]).stem


def kpi_frame(ws: Workspace, kpis=None, *, grain: str | None = None, start=None, end=None, as_of=None,
              segment=None, use_view: bool = True, filters: Filters | None = None) -> pd.DataFrame:
    """KPI values for this workspace, cached by (workspace, data version, arguments).

    ``filters`` (only the rows whose column has one of the values) come from the sidebar's view
    unless given; ``filters=()`` computes on all the data.
    """
    v = view() if use_view else View()
    if filters is None:
        filters = v.filters
    args = (data_key(ws), tuple(kpis) if kpis is not None else None, grain or v.grain,
            start if start is not None else v.start, end if end is not None else v.end,
            as_of if as_of is not None else v.as_of, segment if segment is not None else v.segment, tuple(filters))
    if connect.where(ws):  # computed in a database or on a cluster: say where while it runs
        with st.spinner(connect.spinner_text(ws)):
            return _compute_cached(*args).copy()
    return _compute_cached(*args).copy()


@st.cache_data(show_spinner=False, max_entries=64)
def _availability_cached(key: tuple) -> dict:
    return catalog.availability(_opened(workspace_id_from_key(key)))


def availability(ws: Workspace) -> dict:
    return _availability_cached(data_key(ws))


@st.cache_data(show_spinner=False, max_entries=64)
def _as_of_cached(key: tuple):
    return as_of_date(_opened(workspace_id_from_key(key)))


def workspace_as_of(ws: Workspace) -> dt.date | None:
    """The data's as-of date: the latest day any loaded dataset has a row (not after today)."""
    return _as_of_cached(data_key(ws))


def view_as_of(ws: Workspace) -> dt.date | None:
    """The one date the whole app is viewed as of: the sidebar's "To" date when set (it cannot
    be after the data's as-of date), else the data's as-of date. The Scorecard, Goals, Trends,
    the alerts banner, the sidebar caption, exports and digests all use it."""
    data = workspace_as_of(ws)
    chosen = view().as_of
    if chosen is None or data is None:
        return data
    return min(chosen, data)


@st.cache_data(show_spinner=False, max_entries=64)
def _dataset_summary_cached(key: tuple) -> pd.DataFrame:
    ws = _opened(workspace_id_from_key(key))
    info = ws.dataset_info()
    return info[["name", "rows", "source", "loaded_at"]] if len(info) else info


def dataset_summary(ws: Workspace) -> pd.DataFrame:
    return _dataset_summary_cached(data_key(ws))


def show_error(exc: KpiError) -> None:
    """A message the user can act on, in place of a traceback."""
    st.error(plain(exc), icon="⚠️")   # a message names files, columns and values: shown as written


def grains() -> tuple[str, ...]:
    return GRAINS


@st.cache_data(show_spinner=False, max_entries=64)
def _segment_choices_cached(key: tuple) -> list[str]:
    from kpi.segments import breakdown_columns
    return breakdown_columns(_opened(workspace_id_from_key(key)))


@st.cache_data(show_spinner=False, max_entries=128)
def _column_values_cached(key: tuple, column: str) -> list[str]:
    return column_values(_opened(workspace_id_from_key(key)), column)


def filter_values(ws: Workspace, column: str) -> list[str]:
    """The values the sidebar's filter offers for a column, most rows first."""
    return _column_values_cached(data_key(ws), column)


def segment_choices(ws: Workspace) -> list[str]:
    """The columns the sidebar offers for a breakdown or a filter, and "what changed" compares:
    the segment columns of the data (kpi.segments: few values, not ids, dates, flags or text)."""
    return _segment_choices_cached(data_key(ws))


def load_sample_data(ws: Workspace) -> bool:
    """Load the sample datasets with a spinner; a refusal is shown, not raised. True when loaded."""
    from kpi.workspaces import load_sample
    with st.spinner("Loading the sample datasets…"):
        try:
            load_sample(ws)
        except KpiError as exc:
            show_error(exc)
            return False
    return True


def switch_workspace(workspace_id: str, notice: str | None = None) -> None:
    """Open another workspace in this session (after a copy or a delete) and rerun."""
    for key in ("share_token", "share_role", "welcome_done", "share_links"):  # the new one is this session's own
        st.session_state.pop(key, None)
    if notice:
        st.session_state["workspace_notice"] = notice
    if SHARE_PARAM in st.query_params:
        del st.query_params[SHARE_PARAM]
    st.session_state["workspace_id"] = workspace_id
    st.query_params[WS_PARAM] = workspace_id
    st.rerun()
