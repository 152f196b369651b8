"""In a real browser, a view-only stakeholder opens a workspace whose every user-written field holds
Markdown and HTML: no planted image is fetched or drawn, no planted link is clickable, and the
text reads exactly as it was written (no backslashes left over from the escaping).
"""
from __future__ import annotations

import pytest
from conftest import screenshot, wait_for_app

from kpi import access
from kpi.workspaces import new_workspace_id
from tests.hostile_text import MARK, plant, planted
from ui.text import WORD_JOINER

TITLES = {"goals": "Goals", "scorecard": "Scorecard", "trends": "Trends"}


@pytest.fixture(scope="module")
def viewer_link(app_server):
    import os
    before = os.environ.get("KPI_EXPLORER_HOME")
    os.environ["KPI_EXPLORER_HOME"] = str(app_server.home)      # plant in the server's data folder
    try:
        wid = new_workspace_id()
        plant(wid)
        return f"{app_server.url}/{{page}}share={access.create_share(wid, 'viewer')}"
    finally:
        if before is None:
            del os.environ["KPI_EXPLORER_HOME"]
        else:
            os.environ["KPI_EXPLORER_HOME"] = before


@pytest.mark.parametrize("page_path,expected", [
    ("goals", ["obj", "why", "owner", "kpi"]),
    ("scorecard", ["kpi"]),
    ("trends?kpi=evil_kpi", ["kpi", "desc"]),
    ("trends?trends_tab=Funnel", ["signup"]),
])
def test_planted_markdown_and_html_show_as_written(page, viewer_link, page_path, expected):
    page.set_default_timeout(120_000)     # the Trends page computes first; the machine may be busy
    fetched = []
    page.on("request", lambda r: fetched.append(r.url) if "evil.test" in r.url else None)
    page.goto(viewer_link.format(page=page_path + ("&" if "?" in page_path else "?")))
    wait_for_app(page)
    page.get_by_text("View only").first.wait_for()
    page.get_by_role("heading", name=TITLES[page_path.split("?")[0]]).wait_for()
    for tag in expected:                  # parts of the page draw one after another
        page.get_by_text(MARK + tag).first.wait_for()
    wait_for_app(page)
    main = page.get_by_test_id("stMain")
    # the text as a reader sees it (the escaping's word joiners are invisible)
    text = (main.inner_text() + page.get_by_test_id("stSidebar").inner_text()).replace(WORD_JOINER, "")
    for tag in expected:
        assert planted(tag) in text, f"{page_path}: {tag!r} is not shown as written"
    assert planted("ws") in text                                    # the sidebar's workspace name
    assert "\\!" not in text and "\\[" not in text, "the escaping shows"
    assert page.locator("img[src*='evil.test']").count() == 0
    assert page.locator("a[href*='evil.test']").count() == 0
    assert page.locator("img[src='x']").count() == 0
    assert not fetched, fetched
    assert page.get_by_test_id("stException").count() == 0
    screenshot(page, f"user-text-literal-{page_path.split('?')[0]}-{expected[0]}")
