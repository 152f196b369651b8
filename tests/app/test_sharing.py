"""AppTest: share links. A view-only link opens the workspace read-only (writes are refused with a
message), an editor link can write, a bad or revoked link gets a clear page, and the sidebar's
view lives in the URL."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kpi import access, store
from kpi.goals import GoalsDoc, Target
from kpi.workspaces import new_workspace_id, open_workspace

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAYMENTS = pd.DataFrame({"customer_id": ["a", "b", "a", "b", "a", "b"],
                         "date": ["2026-01-10", "2026-02-10", "2026-03-10", "2026-04-10", "2026-05-10", "2026-06-05"],
                         "amount": [100.0, 200.0, 300.0, 400.0, 500.0, 50.0],
                         "product": ["Core", "Add-on"] * 3})
# Revenue's baseline is May's 500 on 2026-05-31; a target of 2,000 by the end of June is far off.
GOALS = GoalsDoc(targets=(Target("revenue", 2000, dt.date(2026, 6, 30), baseline=500,
                                 baseline_date=dt.date(2026, 5, 31), id="t1"),))


@pytest.fixture
def workspace_id() -> str:
    wid = new_workspace_id()
    with open_workspace(wid) as ws:
        ws.load_frame("payments", PAYMENTS)
        store.save_goals(ws, GOALS)
    return wid


def open_app(page: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def saved_goals(wid: str) -> GoalsDoc:
    with open_workspace(wid) as ws:
        return store.load_goals(ws)


def test_a_view_only_link_opens_the_workspace_read_only(workspace_id):
    token = access.create_share(workspace_id, "viewer")
    at = open_app(share=token)
    assert at.session_state["workspace_id"] == workspace_id
    assert at.session_state["share_role"] == "viewer"
    assert "ws" not in at.query_params            # the editor's key never shows in a viewer's URL
    assert any("View only" in m.value for m in at.sidebar.markdown)   # st.badge is a markdown badge
    assert any("view-only link" in c.value for c in at.sidebar.caption)
    assert not [b for b in at.button if b.key and b.key.startswith("share_make_")]  # a viewer cannot share
    # The alerts banner, as of the data's date: revenue is off track (bad news, in red).
    assert [e.value for e in at.error if e.value.startswith("Needs attention")] == [
        "Needs attention as of 05 Jun 2026: Revenue :red[(off track)]. The Scorecard has the details."]

    # Data page: the upload control is disabled and the page says why.
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert at.get("file_uploader")[0].proto.disabled
    assert any("view-only link" in i.value for i in at.info)

    # Goals page: the controls that write are off (the core refuses the writes anyway: below).
    at.switch_page("pages/goals.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.button(key="FormSubmitter:new_objective-Add objective").disabled
    assert at.button(key="FormSubmitter:record_review-Record review").disabled
    from kpi.errors import PermissionDenied
    from ui import session
    with pytest.raises(PermissionDenied):
        store.save_goals(session._open_viewer(workspace_id), GoalsDoc())
    assert saved_goals(workspace_id).targets == GOALS.targets


def test_an_editor_link_can_save(workspace_id):
    token = access.create_share(workspace_id, "editor")
    at = open_app("pages/goals.py", share=token)
    assert at.session_state["share_role"] == "editor"
    at.text_input(key="no_title").input("Grow revenue")
    at.button(key="FormSubmitter:new_objective-Add objective").click().run()
    assert not at.exception
    assert [o.title for o in saved_goals(workspace_id).objectives] == ["Grow revenue"]


@pytest.mark.parametrize("token", ["", "nonsense", "A" * 32, "<b>x</b>"])
def test_a_bad_link_gets_a_clear_page(workspace_id, token):
    access.create_share(workspace_id, "viewer")
    at = open_app(share=token)
    assert [e.value for e in at.error] == [access.INVALID_LINK]
    assert "workspace_id" not in at.session_state
    assert not at.sidebar.get("selectbox")     # nothing of any workspace is shown


def test_a_revoked_link_stops_working_in_an_open_session(workspace_id):
    token = access.create_share(workspace_id, "viewer")
    at = open_app(share=token)
    assert access.INVALID_LINK not in [e.value for e in at.error]
    access.revoke(token)
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [access.INVALID_LINK]


# AppTest reruns only the page's own script after the first run (not app.py), so the sidebar is
# checked on first runs, with the session state a click would have left; the browser test clicks.
def test_the_share_popover_shows_the_links_made_and_offers_to_revoke_them(workspace_id):
    viewer, editor = access.create_share(workspace_id, "viewer"), access.create_share(workspace_id, "editor")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["ws"] = workspace_id
    at.query_params["grain"] = "week"
    at.session_state["share_links"] = {"viewer": viewer}
    at.run()
    assert not at.exception
    assert [b.label for b in at.sidebar.button if b.key.startswith("share_make_")] == [
        "Create a view-only link", "Create an editor link"]
    [link] = [c.value for c in at.sidebar.code]
    assert link.endswith(f"?grain=week&share={viewer}")     # the view, and the token instead of the id
    assert workspace_id not in link and editor not in link
    revoke = [b.key for b in at.sidebar.button if b.key.startswith("share_revoke_")]
    assert sorted(revoke) == sorted(f"share_revoke_{s.id}" for s in access.shares_of(workspace_id))
    assert len(revoke) == 2


def test_the_sidebar_view_is_read_from_the_url(workspace_id):
    at = open_app(ws=workspace_id, grain="week", segment="product", start="2026-02-01", end="2099-01-01")
    assert at.sidebar.selectbox(key="grain").value == "week"
    assert at.sidebar.selectbox(key="segment").value == "product"
    assert at.session_state["start"] == dt.date(2026, 2, 1)
    assert at.session_state["end"] is None          # after the data: ignored, not an error
    assert at.query_params["grain"] == "week" and "end" not in at.query_params


def test_the_sidebar_view_is_written_to_the_url(workspace_id):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["ws"] = workspace_id
    for key, value in {"grain": "quarter", "start": dt.date(2026, 3, 1), "_url_view": {"grain": None, "start": None, "end": None}}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception
    assert at.query_params["grain"] == "quarter" and at.query_params["start"] == "2026-03-01"
    assert "segment" not in at.query_params and "end" not in at.query_params   # defaults are left out


def test_bad_view_parameters_are_ignored(workspace_id):
    at = open_app(ws=workspace_id, grain="fortnight", segment="nope", start="yesterday")
    assert at.sidebar.selectbox(key="grain").value == "month"
    assert at.sidebar.selectbox(key="segment").value == ""
    assert "grain" not in at.query_params and "segment" not in at.query_params


def test_a_viewer_can_download_the_scorecard(workspace_id):
    token = access.create_share(workspace_id, "viewer")
    at = open_app("pages/scorecard.py", share=token, view="Team")
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["scorecard_mode"] == "Team"     # the stakeholder view came from the link
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["CSV", "Report (HTML)", "Report (PDF)", "Report (PNG)", "Digest (Markdown)"]


def test_a_viewer_of_an_empty_workspace_gets_no_welcome_and_cannot_load_the_sample():
    wid = new_workspace_id()
    open_workspace(wid).close()
    at = open_app(share=access.create_share(wid, "viewer"))
    assert "welcome_sample" not in [b.key for b in at.button]
    assert at.button(key="data_load_sample").disabled
    assert at.get("file_uploader")[0].proto.disabled
