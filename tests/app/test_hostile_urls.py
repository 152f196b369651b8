"""Every URL parameter the app reads, given values nobody should send: the page still draws, with
no exception. ``?kpi=mrr,mrr`` once raised StreamlitDuplicateElementKey and ``funnel_window=1e309``
an OverflowError, both as tracebacks in the browser.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import copy_in
from kpi.workspace import Workspace
from kpi.workspaces import plan_sample

APP = str(Path(__file__).resolve().parents[2] / "app.py")

SIDEBAR = ["grain", "segment", "start", "end", "only", "only_is"]
# page, the tab it opens, and the parameters read there (the sidebar's are read on every page)
CONTEXTS = [
    ("trends", "KPI trends", ["kpi", "trends_compare", "trends_ma", "trends_goal", "trends_odd", "trends_notes",
                              "trends_focus"]),
    ("trends", "Cohorts", ["cohort_measure", "cohort_rows"]),
    ("trends", "Funnel", ["funnel_steps", "funnel_window"]),
    ("scorecard", None, ["view"]),
    ("library", None, ["lib_q", "lib_timing", "lib_category", "lib_stage", "lib_goal", "lib_perspective"]),
    ("goals", None, []),
]
BAD = ["", "x", "1e309", "-1", "nan", "mrr,mrr", "9" * 400, "2025-13-45", "<img src=x onerror=alert(1)>",
       ["mrr", "mrr"]]     # the last: a repeated parameter (?kpi=mrr&kpi=mrr)
TITLES = {"trends": "Trends", "scorecard": "Scorecard", "library": "KPI library", "goals": "Goals"}


@pytest.fixture(scope="module")
def planned(sample, tmp_path_factory) -> Path:
    """The sample data with the sample's KPI set and targets: every page has something to draw."""
    path = tmp_path_factory.mktemp("planned") / "planned.duckdb"
    import shutil
    shutil.copy(sample, path)
    with Workspace(path) as ws:
        plan_sample(ws)
    return path


@pytest.mark.parametrize("bad", BAD, ids=lambda b: repr(b)[:14])
@pytest.mark.parametrize("page,tab,params", CONTEXTS, ids=lambda c: c if isinstance(c, str) else None)
def test_bad_url_parameters_never_raise(planned, page, tab, params, bad):
    wid = copy_in(planned)
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["ws"] = wid
    if tab:
        at.query_params["trends_tab"] = tab
    for key in SIDEBAR + params:
        at.query_params[key] = bad
    at.switch_page(f"pages/{page}.py").run()      # the page the link names, as its first run
    assert not at.exception, [e.value for e in at.exception]
    assert at.title and at.title[0].value.startswith(TITLES[page])


@pytest.mark.parametrize("params", [
    {"ws": "../../etc/passwd"}, {"ws": "x" * 5000}, {"ws": "sample", "share": "x"},
    {"share": "A" * 32}, {"share": "../access.json"}, {"ws": ["a", "b"]},
], ids=lambda p: repr(p)[:30])
def test_bad_workspace_and_share_links_are_refused_in_words(params):
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join([t.value for t in at.title] + [e.value for e in at.error] + [t.value for t in at.toast])
    assert "Traceback" not in shown and "Error:" not in shown
