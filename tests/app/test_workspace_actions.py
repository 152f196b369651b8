"""AppTest: the Workspace menu (rename, copy, delete with confirmation) and the public sample,
which everyone opens read-only and copies to change."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kpi import access
from kpi.workspaces import SAMPLE_ID, new_workspace_id, open_workspace, was_deleted, workspace_path

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAYMENTS = pd.DataFrame({"customer_id": ["a", "b", "a"], "date": ["2026-01-10", "2026-02-10", "2026-03-10"],
                         "amount": [100.0, 200.0, 300.0]})


@pytest.fixture
def workspace_id() -> str:
    wid = new_workspace_id()
    with open_workspace(wid) as ws:
        ws.load_frame("payments", PAYMENTS)
        ws.set_setting("name", "Team A")
    return wid


def open_app(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, key: str):
    found = [b for b in at.button if b.key == key]
    return found[0] if found else None


# AppTest reruns only the page's own script after the first run (not app.py, which draws the
# sidebar), so the menu is checked on first runs with the state a click would have left; the
# browser test (tests/browser/test_workspace_menu.py) clicks through rename, copy and delete.
def test_delete_is_offered_to_the_owner_only_behind_a_confirmation(workspace_id):
    access.create_share(workspace_id, "viewer")
    at = open_app(ws=workspace_id)
    assert button(at, "ws_delete").disabled                # nothing happens without the tick
    sure = at.checkbox(key="ws_delete_sure")
    assert "Team A" in sure.label and "its 1 dataset," in sure.label and "its 1 share link stops" in sure.label

    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["ws"] = workspace_id
    at.session_state["ws_delete_sure"] = True
    at.run()
    assert not at.exception and not button(at, "ws_delete").disabled


def test_a_session_still_on_a_deleted_workspace_is_told_and_can_start_again(workspace_id):
    from kpi.workspaces import delete_workspace
    from ui import session
    at = open_app(ws=workspace_id)
    delete_workspace(session._open(workspace_id), workspace_id)   # deleted in another session
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["This workspace is gone"]
    assert "deleted" in at.info[0].value
    at.button[0].click().run()
    assert not at.exception and at.session_state["workspace_id"] != workspace_id
    assert not workspace_path(workspace_id).exists()


def test_an_editor_link_can_rename_and_copy_but_not_delete(workspace_id):
    token = access.create_share(workspace_id, "editor")
    at = open_app(share=token)
    assert button(at, "ws_copy") is not None and button(at, "ws_delete") is None


def test_the_public_sample_is_read_only_and_offers_a_copy():
    at = open_app(ws=SAMPLE_ID)
    assert at.session_state["workspace_id"] == SAMPLE_ID
    assert any("Sample · read-only" in m.value for m in at.sidebar.markdown)
    assert button(at, "ws_delete") is None and not [b for b in at.button if (b.key or "").startswith("share_make_")]
    assert not [t for t in at.text_input if t.label == "Name"]       # no rename
    assert button(at, "ws_copy").label == "Copy the sample into my own workspace"
    at.switch_page("pages/scorecard.py").run()               # with the sample's KPI set and targets
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(m.value for m in at.markdown)
    assert "No targets set yet" not in text and "on track" in text, text[:500]


def test_the_welcome_offers_the_read_only_sample():
    at = open_app()
    button(at, "welcome_look").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["workspace_id"] == SAMPLE_ID and at.query_params["ws"] == SAMPLE_ID
