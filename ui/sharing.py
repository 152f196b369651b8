"""Sharing a view: the sidebar's Share popover, the view state kept in the URL, the alerts banner.

A copied URL reopens the same view: the page is the URL path, and the sidebar's grain, breakdown,
filter and date range are the parameters ``grain``, ``segment``, ``only`` and ``only_is``
(repeated), ``start`` and ``end`` (Trends adds ``kpi``, its tab and chart options, the Scorecard
``view``). Share links are those URLs plus ``share=<token>``
(``kpi/access.py``); the workspace id (``ws``) is never part of them.
"""
from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Iterable

import streamlit as st

from kpi import access, workspaces
from kpi.compute import GRAINS
from kpi.errors import KpiError
from kpi.colours import STREAMLIT_NAME, status_colour
from kpi.formatting import format_date
from kpi.scorecard import kpi_label, needs_attention
from ui import session
from ui.text import plain

VIEW_PARAMS = ("grain", "segment", "start", "end")
DEFAULT_GRAIN = "month"
ROLE_WORDS = {"editor": "Can edit", "viewer": "View only"}


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def view_from_url(as_of: dt.date | None) -> dict:
    """The view the URL named when the session began: the sidebar widgets' starting values.

    Read once per session (the sidebar's page links drop the parameters). Values that cannot
    apply (an unknown grain, a date after the data) are ignored, not errors. The grain and dates
    go in as the widgets' defaults, not through Session State: a date_input whose value was set
    through Session State came back empty on the next rerun in a browser (Streamlit 1.67).
    """
    if "_url_view" in st.session_state:
        return st.session_state["_url_view"]
    q = st.query_params
    wanted = {"grain": q.get("grain") if q.get("grain") in GRAINS else None}
    for key in ("start", "end"):
        day = _date(q.get(key))
        wanted[key] = day if day is not None and as_of is not None and day <= as_of else None
    if q.get("segment") and "segment" not in st.session_state:
        st.session_state["segment"] = q["segment"]  # the sidebar drops a column this workspace lacks
    if q.get("only") and "filter_col" not in st.session_state:
        st.session_state["filter_col"] = q["only"]
        st.session_state["filter_vals"] = q.get_all("only_is")  # values this column lacks are dropped too
    st.session_state["_url_view"] = wanted
    return wanted


def list_param(raw: str | None, allowed: Iterable[str], most: int) -> list[str]:
    """A comma-separated URL parameter (``kpi=mrr,churn``): the allowed values, each once, at most ``most``."""
    return [v for v in dict.fromkeys((raw or "").split(",")) if v in set(allowed)][:most]


def view_to_url() -> None:
    """After the sidebar's widgets: the URL names the view on screen (defaults are left out)."""
    s = st.session_state
    wanted = {"grain": s.get("grain") if s.get("grain", DEFAULT_GRAIN) != DEFAULT_GRAIN else None,
              "segment": s.get("segment") or None,
              "start": s["start"].isoformat() if s.get("start") else None,
              "end": s["end"].isoformat() if s.get("end") else None}
    column, values = s.get("filter_col") or None, list(s.get("filter_vals") or [])
    wanted["only"] = column if column and values else None
    wanted["only_is"] = values if column and values else None
    for key, value in wanted.items():
        if value is None:
            if key in st.query_params:
                del st.query_params[key]
        elif isinstance(value, list):
            if st.query_params.get_all(key) != value:
                st.query_params[key] = value      # a repeated parameter: only_is=pro&only_is=team
        elif st.query_params.get(key) != value:
            st.query_params[key] = value


def app_base_url(page_paths: Iterable[str] = ()) -> str:
    """The app's own URL (scheme, host, path prefix behind a proxy) without any page's path.

    ``st.context.url`` sometimes ends with the page the session first opened, sometimes not.
    """
    parts = urllib.parse.urlsplit(st.context.url or "")
    path = parts.path.rstrip("/")
    last = path.rsplit("/", 1)[-1]
    if last and last in set(page_paths):
        path = path[: -len(last)].rstrip("/")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def share_url(token: str, page_path: str, page_paths: Iterable[str] = ()) -> str:
    """This view's URL with ``share=<token>`` in place of the workspace id."""
    base = app_base_url(page_paths)
    params = [(k, v) for k in st.query_params.keys() if k not in (session.WS_PARAM, session.SHARE_PARAM)
              for v in st.query_params.get_all(k)]          # repeated parameters (only_is=a&only_is=b) kept
    params.append((session.SHARE_PARAM, token))
    return f"{base}/{page_path}?{urllib.parse.urlencode(params)}"


def share_popover(ws, page_path: str, page_paths: Iterable[str] = ()) -> None:
    """The sidebar's Share control: make an editor or view-only link, list and revoke links."""
    if session.is_sample():
        st.caption("Anyone can open the sample with this page's address. Copy it (Workspace menu) "
                   "to share your own view of it.")
        return
    if session.is_viewer():  # app.py shows the "View only" badge at the top of the sidebar
        st.caption("You opened a view-only link: you can look and download, not change anything.")
        return
    wid = session.workspace_id()
    with st.popover("Share", icon=":material/share:", width="stretch"):
        st.markdown("**Share this view**")
        st.caption("A link opens this page with the same grain, breakdown and dates. Anyone with the "
                   "link gets in: send it only to the people it is for.")
        made = st.session_state.setdefault("share_links", {})
        for share_role, label in (("viewer", "Create a view-only link"), ("editor", "Create an editor link")):
            if st.button(label, key=f"share_make_{share_role}", width="stretch"):
                try:
                    made[share_role] = access.create_share(wid, share_role)
                except KpiError as exc:
                    session.show_error(exc)
            if share_role in made:
                st.caption(ROLE_WORDS[share_role])
                st.code(share_url(made[share_role], page_path, page_paths), language=None, wrap_lines=True)
        live = access.shares_of(wid)
        if live:
            st.markdown("**Links that work now**")
        for share in live:
            text, button = st.columns([3, 2], vertical_alignment="center")
            text.caption(f"{ROLE_WORDS.get(share.role, share.role)} · made {share.created[:16].replace('T', ' ')} UTC")
            if button.button("Revoke", key=f"share_revoke_{share.id}"):
                access.revoke_share(wid, share.id)
                for r, token in list(made.items()):
                    if not _live(token):
                        made.pop(r)
                st.rerun()


def _live(token: str) -> bool:
    try:
        access.resolve(token)
        return True
    except KpiError:
        return False


def alerts_banner(ws, statuses, as_of: dt.date | None = None) -> None:
    """One line on every page naming the targets that need attention (kpi.scorecard.needs_attention:
    off track, missed, an alert, or no data to judge them on), each with its status in the words
    and colour the Scorecard uses, as of the date the app is viewed as of."""
    flagged = needs_attention(statuses)
    if not flagged:
        return
    # Custom KPI names are user text: shown literally, never as markdown (links, images).
    parts, bad_news = [], False
    for s in flagged[:5]:
        bad = s.status in ("off_track", "missed") or s.alert
        bad_news |= bad
        words = s.label.lower() if s.status != "on_track" and s.status != "achieved" else ""
        words = ", ".join(w for w in (words, "alert" if s.alert else "") if w)
        colour = STREAMLIT_NAME["red" if bad else status_colour(s.status)]
        parts.append(f"{plain(kpi_label(s.kpi, ws).name)} :{colour}[({words})]")
    more = f" and {len(flagged) - 5} more" if len(flagged) > 5 else ""
    when = f" as of {format_date(as_of)}" if as_of else ""
    show = st.error if bad_news else st.info      # red is bad news; a goal without data is grey news
    show(f"Needs attention{when}: {', '.join(parts)}{more}. The Scorecard has the details.",
         icon=":material/notifications:")


def workspace_menu(ws) -> None:
    """Rename, copy or delete the workspace (the core refuses what the session's role may not do).

    The public sample offers only the copy; a view-only link offers nothing; only the owner (the
    workspace's own link, not an editor link) may delete. It is drawn after ``st.navigation``: a
    form drawn before it in the sidebar did not submit.
    """
    if session.is_sample():
        with st.popover("Workspace", icon=":material/folder_open:", width="stretch"):
            st.caption("This is the public sample: everyone sees the same data and nobody can change "
                       "it. Make a copy to try the wizard, set goals or add your own files.")
            _copy_button(ws, "Copy the sample into my own workspace")
        return
    if session.is_viewer():
        return
    with st.popover("Workspace", icon=":material/folder_open:", width="stretch"):
        stored = ws.setting("name")
        shown = st.session_state.get(f"_ws_name_shown:{ws.path}", stored)   # the name the form the user typed in showed
        st.session_state[f"_ws_name_shown:{ws.path}"] = stored
        with st.form("ws_rename_form", border=False):
            name = st.text_input("Name", value=stored or "My workspace", max_chars=80)
            renamed = st.form_submit_button("Rename", icon=":material/edit:")
        if renamed:
            try:
                workspaces.rename_workspace(ws, name, expect=shown)
            except KpiError as exc:
                st.error(plain(exc))
            else:
                st.rerun()
        st.divider()
        st.caption("A copy holds the same data, goals and settings; share links are not copied.")
        _copy_button(ws, "Make a copy and open it")
        if session.role() == "owner":
            st.divider()
            _delete_controls(ws)


def _copy_button(ws, label: str) -> None:
    if st.button(label, key="ws_copy", icon=":material/content_copy:"):
        try:
            new_id = workspaces.copy_workspace(ws)
        except KpiError as exc:
            st.error(plain(exc))
        else:
            session.switch_workspace(new_id)


def _delete_controls(ws) -> None:
    """Delete, behind an explicit confirmation that names what is lost."""
    name = ws.setting("name") or "My workspace"
    links = len(access.shares_of(session.workspace_id()))
    n = len(session.dataset_summary(ws))   # cached: the menu is drawn on every rerun
    lost = f"its {n} dataset{'s' if n != 1 else ''}, goals and reviews" + (
        f"; its {links} share link{'s stop' if links != 1 else ' stops'} working" if links else "")
    sure = st.checkbox(f"Delete “{plain(name)}” for good: {lost}", key="ws_delete_sure",
                       help="Nothing is kept: download what you need first (Scorecard → Download).")
    if st.button("Delete this workspace", key="ws_delete", icon=":material/delete_forever:",
                 type="primary", disabled=not sure):
        wid = session.workspace_id()
        try:
            with st.spinner("Deleting — waiting for anyone still reading it…"):
                workspaces.delete_workspace(ws, wid)
        except KpiError as exc:
            st.error(plain(exc))
        else:
            st.session_state.pop("ws_delete_sure", None)
            session.switch_workspace(workspaces.new_workspace_id(),
                                     notice=f"Deleted the workspace “{plain(name)}”. This is a new, empty one.")
