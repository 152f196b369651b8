"""Nothing a user or a file wrote is rendered: Markdown and HTML planted in every field a person or a
file can fill (workspace name, objectives, custom KPIs, notes, reviews, column headers, values used
as segments and filters, event and feature names, file names) is shown literally on every page.

A view-only stakeholder's browser once fetched ``![x](http://evil/x.png)`` planted in an objective
and showed clickable links planted in a custom KPI's name. This test walks AppTest's element tree of
every page and looks at every string Streamlit renders as Markdown (bodies, labels, help, radio
options, metric values, toasts, progress texts, expander and tab labels): wherever planted text
shows up, none of its Markdown constructs may be left unescaped, and it is not escaped twice.
Places Streamlit shows as plain text (tables, selectbox options, text inputs, st.text, charts) may
hold the text as written.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest

from kpi import access
from kpi.workspaces import new_workspace_id
from tests.hostile_text import HEADER, MARK, SEGMENT_VALUE, UNESCAPED, plant, planted
from ui.text import WORD_JOINER, plain

APP = str(Path(__file__).resolve().parents[2] / "app.py")
# fields Streamlit shows as plain text (or that are not text at all)
PLAIN_FIELDS = {"id", "form_id", "default", "value", "format", "min", "max", "type", "tag", "icon", "placeholder",
                "page", "url", "data", "spec", "code_text", "file_name", "url_path", "page_script_hash",
                "raw_values", "raw_value"}
PLAIN_OPTIONS = {"selectbox", "multiselect"}     # their options are drawn as text
PLAIN_ELEMENTS = {"text", "code", "arrow_data_frame", "vega_lite_chart", "arrow_vega_lite_chart", "json",
                  "exception", "empty"}


def _strings(msg: Message, path: str = ""):
    for fd, val in msg.ListFields():
        values = val if fd.is_repeated else [val]
        if fd.type == fd.TYPE_MESSAGE:
            for v in values:
                yield from _strings(v, f"{path}.{fd.name}")
        elif fd.type == fd.TYPE_STRING:
            for v in values:
                yield f"{path}.{fd.name}", fd.name, v


def rendered_markdown(at: AppTest) -> list[tuple[str, str]]:
    """(where, text) of every string of the page that Streamlit renders as Markdown."""
    out = []

    def walk(node):
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", "")
        if isinstance(proto, Message) and kind not in PLAIN_ELEMENTS:
            for where, name, text in _strings(proto):
                if name in PLAIN_FIELDS or (name == "options" and kind in PLAIN_OPTIONS):
                    continue
                out.append((f"{kind}{where}", text))
        for child in getattr(node, "children", {}).values():
            walk(child)
    walk(at._tree)
    return out


def assert_literal(at: AppTest, page: str) -> int:
    """Every rendered string holding planted text escapes it, once. Returns how many were seen."""
    assert not at.exception, [e.value for e in at.exception]
    seen = 0
    for where, text in rendered_markdown(at):
        if MARK not in text:
            continue
        seen += 1
        assert not UNESCAPED.search(text), f"{page}: {where} renders user text as Markdown: {text!r}"
        assert "\\\\" not in text, f"{page}: {where} escapes user text twice: {text!r}"
    return seen


@pytest.fixture
def hostile_id() -> str:
    """A workspace whose every user-written field holds Markdown and HTML, planted through the core."""
    wid = new_workspace_id()
    plant(wid)
    return wid


def run_page(wid: str, page: str, *, share: str | None = None, query: dict | None = None,
             state: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if share:
        at.query_params["share"] = share
    else:
        at.query_params["ws"] = wid
    for k, v in (query or {}).items():
        at.query_params[k] = v
    for k, v in (state or {}).items():
        at.session_state[k] = v
    at.run()          # the app's own run: the sidebar and the Data page
    if page != "data":
        at.switch_page(f"pages/{page}.py").run()   # AppTest then runs the page alone
    return at


BREAKDOWN = {"segment": HEADER, "filter_col": HEADER, "filter_vals": [SEGMENT_VALUE]}
VIEWS = [
    ("data", {}, {}),
    ("data", {}, BREAKDOWN),
    ("library", {}, {}),
    ("wizard", {}, {}),
    ("goals", {}, {}),
    ("scorecard", {}, {}),
    ("scorecard", {"view": "table"}, {}),
    ("trends", {"kpi": "evil_kpi,revenue"}, {}),
    ("trends", {"kpi": "evil_kpi"}, BREAKDOWN),
    ("trends", {"trends_tab": "Cohorts"}, {}),
    ("trends", {"trends_tab": "Funnel"}, {}),
    ("trends", {"trends_tab": "MRR movements"}, BREAKDOWN),
    ("trends", {"trends_tab": "Active users"}, {}),
]


@pytest.mark.parametrize("page,query,state", VIEWS, ids=[f"{p}-{'-'.join(map(str, q.values())) or 'default'}"
                                                       f"{'-breakdown' if s else ''}" for p, q, s in VIEWS])
def test_every_page_shows_planted_text_literally(hostile_id, page, query, state):
    at = run_page(hostile_id, page, query=query, state=state)
    seen = assert_literal(at, page)
    # The library lists the catalog only, and AppTest runs a page without app.py's sidebar: these
    # views hold no user text. Every other view must show some, or this test could not fail.
    if (page, query.get("trends_tab")) not in {("library", None), ("trends", "Cohorts"), ("trends", "Active users")}:
        assert seen, f"{page}: no planted text was shown at all — the test would not notice a regression"


def test_a_view_only_stakeholder_sees_planted_text_literally(hostile_id):
    token = access.create_share(hostile_id, "viewer")
    for page in ("scorecard", "goals", "trends"):
        assert assert_literal(run_page(hostile_id, page, share=token), page)


def test_an_uploaded_files_name_and_header_are_shown_literally(hostile_id):
    name = "export " + planted("file").replace("/", "_").replace(":", "") + ".csv"
    header = planted("header").replace(":", "").replace(",", " ")
    body = (f"customer_id,date,amount,product,{header}\n"
            + "".join(f"c{i},2026-01-0{i},1{i},{SEGMENT_VALUE},{SEGMENT_VALUE if i % 2 else 'n/a'}\n" for i in range(1, 8)))
    at = run_page(hostile_id, "data")
    at.file_uploader(key="upload_files").upload(name, body.encode(), "text/csv")
    at.run()
    assert assert_literal(at, "data")


def test_the_escaping_helper_keeps_every_character():
    text = planted("x") + " _a_ `b` # c | d ~e~ & f\nsecond line"
    assert plain(text).replace("\\", "").replace(WORD_JOINER, "") == text.replace("\n", " ")
    assert plain("see http://evil.test or www.evil.test, mail a@evil.test").count(WORD_JOINER) == 3
    assert not UNESCAPED.search(plain(text))

