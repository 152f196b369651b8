"""A view-only stakeholder finds every control that would change the workspace disabled, on every
page, in a workspace that has one of everything (objectives, key results, custom KPIs, notes).
The core refuses a viewer's writes anyway (``tests/test_access.py``); the page says so first.
Once, the custom KPI Delete button was not disabled and a click showed PermissionDenied's traceback.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpi import access
from kpi.workspaces import new_workspace_id
from tests.hostile_text import plant

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def full_id() -> str:
    wid = new_workspace_id()
    plant(wid)
    return wid


def run_page(token: str, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["share"] = token
    at.run()
    if page != "data":
        at.switch_page(f"pages/{page}.py").run()
    return at


NOT_WRITES = {"wz_back", "wz_next"}      # walking through the wizard is allowed; saving it is not


@pytest.mark.parametrize("page", ["data", "library", "wizard", "goals", "scorecard", "trends"])
def test_a_viewer_finds_every_write_control_disabled(full_id, page):
    """The core refuses a viewer's writes; the page says so first by disabling the controls."""
    at = run_page(access.create_share(full_id, "viewer"), page)
    assert not at.exception
    enabled = [b.key or b.label for b in at.button if not b.disabled and (b.key or b.label) not in NOT_WRITES]
    assert not enabled, f"{page}: a viewer can press {enabled}"
    if page == "goals":
        assert at.selectbox(key="review_cadence").disabled
