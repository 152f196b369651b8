"""Real browser: upload a CSV through the Data page's file input, load it, and see the KPI coverage change.

Also keeps screenshots of the Data page (each tab) and the KPI library, empty and with the sample
data, in tests/artifacts/ for a person to look at.
"""
from __future__ import annotations

import re

from conftest import screenshot, wait_for_app

from kpi.catalog import CATALOG

PAYMENTS = "customer_id,date,amount\nC1,2025-01-05,100\nC2,2025-01-20,50.5\nC1,2025-02-05,100\n"
TOTAL = len(CATALOG)


def full_screenshot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main area, so the window is made as tall as it."""
    height = page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]'); "
                           "return m ? m.scrollHeight : document.body.scrollHeight; }")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height) + 40, 8000))})
    page.wait_for_timeout(1000)
    screenshot(page, name)
    page.set_viewport_size(size)


def metric_value(page, label: str) -> str:
    card = page.get_by_test_id("stMetric").filter(has_text=label).first
    return card.get_by_test_id("stMetricValue").inner_text().strip()


def open_tab(page, name: str) -> None:
    page.get_by_role("tab").filter(has_text=name).first.click()
    page.wait_for_timeout(300)


def start_with_upload(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.get_by_role("button", name="Upload files").click()
    page.get_by_text("Drop your exports here").wait_for()
    wait_for_app(page)


def test_uploading_a_csv_through_the_browser_changes_the_coverage(app_server, page, tmp_path):
    start_with_upload(page, app_server.url)
    assert metric_value(page, "KPIs you can compute") == f"0 of {TOTAL}"
    full_screenshot(page, "data_page_empty")
    open_tab(page, "KPI coverage")
    revenue = page.get_by_test_id("stMarkdown").filter(has_text=re.compile(r"^lock\s*Revenue")).first
    assert "Add payments with amount" in revenue.inner_text()
    open_tab(page, "Add files")

    csv = tmp_path / "payments.csv"
    csv.write_text(PAYMENTS, encoding="utf-8")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(csv))
    page.get_by_text("Recognised as").wait_for(timeout=60_000)
    wait_for_app(page)
    page.get_by_test_id("stDataFrame").first.wait_for()           # the preview
    page.get_by_role("button", name="Load into payments").wait_for()
    full_screenshot(page, "data_page_mapping")

    page.get_by_role("button", name="Load into payments").click()
    page.get_by_text("Loaded as").wait_for(timeout=60_000)
    wait_for_app(page)
    assert metric_value(page, "KPIs you can compute") == f"3 of {TOTAL}"
    assert metric_value(page, "Datasets loaded") == "1 of 15"
    assert "It unlocked 3 KPIs" in page.get_by_test_id("stAlertContentSuccess").first.inner_text()
    # the sidebar follows: its as-of date is the payments' last day
    assert "Data as of 05 Feb 2025" in page.get_by_test_id("stSidebar").inner_text()
    full_screenshot(page, "data_page_loaded")

    open_tab(page, "KPI coverage")
    coverage_text = page.get_by_role("tabpanel").filter(has_text="What to add next").first.inner_text()
    assert f"Your data can compute 3 of {TOTAL} KPIs" in coverage_text
    ready = page.get_by_test_id("stMarkdown").filter(has_text=re.compile(r"^check_circle\s*Revenue\s*$")).first
    assert ready.is_visible()
    full_screenshot(page, "data_page_coverage_after_upload")
    assert page.get_by_test_id("stException").count() == 0


def test_screenshots_of_the_data_page_and_library_with_the_sample_data(app_server, page):
    page.goto(app_server.url)
    wait_for_app(page)
    page.get_by_role("button", name="Load the sample data").click()
    # The sample lands on its scorecard with what to do next; the Data page is one click away.
    page.get_by_text("What next:").wait_for(timeout=120_000)
    wait_for_app(page)
    full_screenshot(page, "scorecard_after_loading_the_sample")
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Data").first.click()
    page.get_by_text("Your data", exact=True).first.wait_for(timeout=60_000)
    wait_for_app(page)
    assert metric_value(page, "Datasets loaded") == "15 of 15"
    full_screenshot(page, "data_page_sample")
    open_tab(page, "Data quality")
    page.get_by_text("Problems found").wait_for()
    full_screenshot(page, "data_page_quality")
    open_tab(page, "KPI coverage")
    full_screenshot(page, "data_page_coverage")

    page.get_by_test_id("stSidebarNavLink").filter(has_text="KPI library").click()
    page.get_by_text("Showing").first.wait_for()
    wait_for_app(page)
    assert re.search(r"Your data can compute \d+ of them now", page.get_by_test_id("stMain").inner_text())
    full_screenshot(page, "library_sample")
    page.get_by_placeholder(re.compile("Search by name")).fill("churn")
    page.keyboard.press("Enter")
    wait_for_app(page)
    page.get_by_text("Customer churn rate", exact=True).filter(visible=True).first.wait_for()
    assert page.get_by_text("Sprint velocity", exact=True).filter(visible=True).count() == 0
    full_screenshot(page, "library_search")
    assert page.get_by_test_id("stException").count() == 0
