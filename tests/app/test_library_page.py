"""AppTest: the KPI library lists the whole catalog, finds KPIs by search and filters, says what is computable."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kpi.catalog import CATALOG, CATEGORIES
from kpi.workspace import Workspace
from kpi.workspaces import SAMPLE_DIR, load_sample, new_workspace_id, open_workspace, workspace_path
from app_helpers import sample_file

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "pages/library.py"
TIMEOUT = 120


def new_workspace(payments: bool = False, source: Path | None = None) -> str:
    wid = new_workspace_id()
    target = workspace_path(wid)
    target.parent.mkdir(parents=True, exist_ok=True)
    if source is not None:
        shutil.copy(source, target)
        return wid
    with open_workspace(wid) as ws:
        if payments:
            ws.load_frame("payments", pd.DataFrame({"customer_id": ["C1", "C2"], "date": ["2025-01-05", "2025-02-01"],
                                                    "amount": [100.0, 50.0]}))
    return wid


def open_library(wid: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["workspace_id"] = wid
    at.session_state["welcome_done"] = True
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.title[0].value == "KPI library"
    return at


def shown_kpis(at: AppTest) -> list[str]:
    """Names of the KPIs listed, in page order (each card starts with the KPI's name in bold)."""
    names = {f"**{k.name}**": k.name for k in CATALOG.values()}
    out = []
    for md in at.markdown:
        head = md.value.split(" &nbsp; ")[0]
        if head in names:
            out.append(names[head])
    return out


def count_line(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("Showing "))


def test_the_library_lists_every_kpi_by_category_with_its_definition():
    at = open_library(new_workspace())
    # two columns of cards per category: compare the names, the category headings give the order
    assert sorted(shown_kpis(at)) == sorted(k.name for k in CATALOG.values())
    assert count_line(at) == f"Showing **{len(CATALOG)}** of {len(CATALOG)} KPIs"
    assert [h.value for h in at.subheader] == list(CATEGORIES)
    mrr = CATALOG["mrr"]
    page_text = "\n".join(m.value for m in at.markdown)
    assert mrr.description in page_text
    assert f"**How it is worked out.** {mrr.formula}." in page_text
    assert "| Data it needs | subscriptions |" in page_text
    assert "| Which way is good | Higher is better |" in page_text


def test_on_an_empty_workspace_every_kpi_says_what_would_unlock_it():
    at = open_library(new_workspace())
    assert "Your data can compute **0** of them now" in at.caption[0].value
    warnings = [w.value for w in at.warning]
    assert len(warnings) == len(CATALOG)
    assert "Not with your data yet. Add subscriptions with mrr to unlock it." in warnings
    assert "Not with your data yet. Add marketing with spend and add customers to unlock it." in warnings


def test_with_payments_loaded_the_library_marks_what_it_can_compute_and_the_toggle_keeps_only_those():
    at = open_library(new_workspace(payments=True))
    assert "Your data can compute **3** of them now" in at.caption[0].value
    assert sorted(s.value for s in at.success) == ["Your data can compute this now."] * 3
    at.toggle(key="lib_only_ready").set_value(True).run()
    assert sorted(shown_kpis(at)) == sorted(["Revenue", "Average revenue per paying user", "New paying customers"])
    assert count_line(at) == f"Showing **3** of {len(CATALOG)} KPIs"


def test_search_finds_kpis_by_any_word_of_their_definition():
    at = open_library(new_workspace())
    at.text_input(key="lib_q").input("churn").run()
    found = shown_kpis(at)
    expected = [k.name for k in CATALOG.values()
                if "churn" in " ".join([k.id, k.name, k.description, k.formula]).lower()]
    assert set(expected) <= set(found) and "Customer churn rate" in found
    assert "Sprint velocity" not in found
    at.text_input(key="lib_q").input("ticket escalated").run()
    assert sorted(shown_kpis(at)) == ["Escalated tickets", "Ticket escalation rate"]
    at.text_input(key="lib_q").input("no such words anywhere").run()
    assert shown_kpis(at) == []
    assert at.info[0].value.startswith("No KPI matches these filters")


def test_filters_by_category_stage_perspective_goal_and_leading_or_lagging():
    at = open_library(new_workspace())
    at.multiselect(key="lib_category").set_value(["Product development"]).run()
    assert [h.value for h in at.subheader] == ["Product development"]
    assert sorted(shown_kpis(at)) == sorted(["Time to market", "Releases shipped", "Feature adoption rate",
                                             "Sprint velocity", "Say/do ratio"])
    at.multiselect(key="lib_category").set_value([]).run()

    # lifecycle.md: the mature stage's primary and secondary KPIs, six in all
    at.multiselect(key="lib_stage").set_value(["mature"]).run()
    assert sorted(shown_kpis(at)) == sorted(CATALOG[i].name for i in (
        "customer_churn_rate", "clv", "renewal_rate", "uptime", "support_response_time", "employee_satisfaction"))
    at.segmented_control(key="lib_timing").set_value("leading").run()
    # of those six only employee satisfaction is leading (kpis.md's tags table)
    assert shown_kpis(at) == ["Employee satisfaction"]
    at.multiselect(key="lib_stage").set_value([]).run()
    at.segmented_control(key="lib_timing").set_value(None).run()

    at.multiselect(key="lib_perspective").set_value(["learning and growth"]).run()
    assert shown_kpis(at) == ["Employee satisfaction"]
    at.multiselect(key="lib_perspective").set_value([]).run()

    at.multiselect(key="lib_goal").set_value(["quality"]).run()
    assert sorted(shown_kpis(at)) == sorted(CATALOG[i].name for i in (
        "defect_density", "test_effectiveness", "uptime", "testing_speed", "escalation_rate", "compliance_rate"))


def test_a_shared_link_opens_the_library_filtered():
    at = open_library(new_workspace(), lib_q="nps")
    assert at.text_input(key="lib_q").value == "nps"
    assert "Net Promoter Score" in shown_kpis(at)
    assert len(shown_kpis(at)) < len(CATALOG)


def test_the_table_view_is_the_data_dictionary_and_can_be_downloaded():
    at = open_library(new_workspace())
    at.toggle(key="lib_table").set_value(True).run()
    table = at.dataframe[0].value
    assert len(table) == len(CATALOG)
    assert list(table["id"]) == list(CATALOG)
    assert {"description", "formula", "unit", "better when", "data it needs", "your data"} <= set(table.columns)
    assert table.loc[table["id"] == "mrr", "your data"].iloc[0] == "Add subscriptions with mrr"
    assert at.get("download_button")


def test_with_the_sample_data_the_library_says_everything_is_computable(tmp_path_factory):
    at = open_library(new_workspace(source=sample_file(tmp_path_factory)))
    assert f"Your data can compute **{len(CATALOG)}** of them now" in at.caption[0].value
    assert not at.warning
    assert len(at.success) == len(CATALOG)
