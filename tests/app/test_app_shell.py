"""AppTest: the app shell and every page, with an empty workspace and with the sample data, checked by what a user sees.

The welcome screen on a first visit, the sidebar (loaded datasets, as-of date, view controls),
and each of the six pages opening without an exception and saying something a person can act on.
A page whose file is not written yet is skipped with the reason.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpi.catalog import CATALOG
from kpi.compute import as_of_date
from kpi.workspace import Workspace
from kpi.workspaces import SAMPLE_DIR, load_sample, new_workspace_id, open_workspace, workspace_path
from app_helpers import sample_file, copy_in

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 120

# Every page app.py lists, with the title a user sees on it.
PAGES = {
    "pages/data.py": "Your data",
    "pages/library.py": "KPI library",
    "pages/wizard.py": "KPI wizard",
    "pages/goals.py": "Goals",
    "pages/scorecard.py": "Scorecard",
    "pages/trends.py": "Trends",
}


# What pages say on an empty workspace: none of it may show once data is loaded.
NO_DATA_ADVICE = ("Load some data first", "No data is loaded yet", "No data loaded yet")


def _has_chart(at: AppTest) -> bool:
    return bool(at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart"))


# How each page shows that the sample data is there (what a user would look for).
SHOWS_THE_DATA = {
    "pages/data.py": lambda at, shown: at.metric[0].value == "15 of 15",
    "pages/library.py": lambda at, shown: "Your data can compute **0**" not in shown
    and "Your data can compute it" in shown,
    "pages/wizard.py": lambda at, shown: True,   # the first step asks for goals, whatever the data
    "pages/goals.py": lambda at, shown: True,    # no goals yet in the sample workspace
    "pages/scorecard.py": lambda at, shown: bool(at.metric or at.dataframe),
    "pages/trends.py": lambda at, shown: _has_chart(at) or bool(at.metric),
}


def need_pages() -> None:
    """app.py builds its navigation from every page file, so it cannot run while one is missing."""
    missing = [p for p in PAGES if not (ROOT / p).exists()]
    if missing:
        pytest.skip(f"app.py lists {', '.join(missing)}, not written yet: the app cannot start without it")


def empty_workspace() -> str:
    wid = new_workspace_id()
    open_workspace(wid).close()
    return wid


def open_app(wid: str | None = None, *, past_welcome: bool = True) -> AppTest:
    need_pages()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if wid:
        at.session_state["workspace_id"] = wid
    if past_welcome:
        at.session_state["welcome_done"] = True
    return at.run()


def texts(at: AppTest) -> str:
    """Everything a user reads on the page, as one string."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "success", "error"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [m.label + " " + str(m.value) for m in at.metric]
    parts += [e.label for e in at.expander]
    return "\n".join(parts)


# -- the first visit -----------------------------------------------------------------------------------
def test_a_first_visit_to_an_empty_workspace_welcomes_with_two_ways_to_start():
    at = open_app(past_welcome=False)
    assert not at.exception
    assert at.title[0].value == "Welcome to KPI Explorer"
    labels = [b.label for b in at.button]
    assert labels == ["Load the sample data", "Or just look around the read-only sample", "Upload files"]
    assert "Explore with sample data" in texts(at) and "Upload your own exports" in texts(at)
    # no navigation or sidebar controls yet: the welcome is the whole screen
    assert not at.sidebar.selectbox


def test_upload_own_files_opens_the_data_page_with_the_uploader():
    at = open_app(past_welcome=False)
    at.button(key="welcome_upload").click().run()
    assert not at.exception
    assert at.title[0].value == "Your data"
    assert at.file_uploader(key="upload_files").accept_multiple_files
    assert "No data loaded yet." in [c.value for c in at.sidebar.caption]
    assert [m.value for m in at.metric][:3] == ["0 of 15", "0", f"0 of {len(CATALOG)}"]


def test_load_the_sample_data_lands_on_the_scorecard_with_what_next(tmp_path_factory):
    if not list(SAMPLE_DIR.glob("*.csv")):
        pytest.skip("sample_data/*.csv are not generated yet")
    wid = empty_workspace()
    at = open_app(wid, past_welcome=False)
    at.button(key="welcome_sample").click().run()
    assert not at.exception
    # Not an upload box: the sample's scorecard, with three next steps above it.
    assert at.title[0].value == "Scorecard"
    assert not at.get("file_uploader")
    shown = texts(at)
    assert "**The sample is loaded: this is its scorecard.** What next:" in shown
    assert "Your goal and product stage give a short, balanced KPI set." in shown
    assert "The Share button in the sidebar makes a view-only link, a report or a digest." in shown
    assert [link.label for link in at.get("page_link")][:2] == ["1. Pick your KPIs with the wizard", "2. Set targets"]
    assert len(at.metric) >= 5          # the sample's KPI cards
    sidebar_table = at.sidebar.dataframe[0].value
    with open_workspace(wid) as ws:
        assert set(sidebar_table["Dataset"]) == set(ws.datasets()) and len(ws.datasets()) == 15
    assert any(c.value.startswith("Data as of **") for c in at.sidebar.caption)
    # It stays until hidden (AppTest's switch_page runs a page without the router, so the
    # browser test tests/browser/test_scorecard_trends.py follows it to another page and back).
    at.button(key="what_next_hide").click().run()
    assert not at.exception and "What next:" not in texts(at) and at.title[0].value == "Scorecard"


# -- the sidebar ---------------------------------------------------------------------------------------
def test_the_sidebar_lists_the_loaded_data_and_the_shared_view_controls(sample):
    wid = copy_in(sample)
    at = open_app(wid)
    assert not at.exception
    table = at.sidebar.dataframe[0].value
    assert len(table) == 15 and "events" in set(table["Dataset"])
    with open_workspace(wid) as ws:
        events = ws.row_count("events")
    assert events > 0 and int(table.loc[table["Dataset"] == "events", "Rows"].iloc[0]) == events
    assert [s.label for s in at.sidebar.selectbox][:2] == ["Grain", "Break down by"]
    assert at.sidebar.selectbox(key="grain").value == "month"
    assert [d.label for d in at.sidebar.date_input] == ["From", "To"]
    with open_workspace(wid) as ws:
        as_of = as_of_date(ws)
    assert f"Data as of **{as_of:%d %b %Y}**" in [c.value for c in at.sidebar.caption]


# -- every page, empty and with the sample data ------------------------------------------------------------
@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_opens_on_an_empty_workspace_and_says_what_to_do(page):
    if not (ROOT / page).exists():
        pytest.skip(f"{page} is not written yet")
    at = open_app(empty_workspace())
    at.switch_page(page).run()
    assert not at.exception, f"{page}: {at.exception}"
    assert at.title[0].value == PAGES[page]
    assert not at.error, f"{page} shows an error on an empty workspace: {[e.value for e in at.error]}"
    shown = texts(at)
    assert len(shown) > len(PAGES[page]) + 40, f"{page} says almost nothing on an empty workspace"


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_opens_with_the_sample_data_and_shows_it(page, sample):
    if not (ROOT / page).exists():
        pytest.skip(f"{page} is not written yet")
    at = open_app(copy_in(sample))
    at.switch_page(page).run()
    assert not at.exception, f"{page}: {at.exception}"
    assert at.title[0].value == PAGES[page]
    assert not at.error, f"{page} shows an error with the sample data: {[e.value for e in at.error]}"
    shown = texts(at)
    for advice in NO_DATA_ADVICE:
        assert advice not in shown, f"{page} still says {advice!r} with the sample data loaded"
    assert SHOWS_THE_DATA[page](at, shown), f"{page} does not show the sample data"
