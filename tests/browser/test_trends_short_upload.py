"""A PM uploads a short Stripe export (four months, Jan - Apr 2024) in a real browser, breaks MRR
down by plan, and reads Trends: one line per plan with the hand-computed values, what changed
between two months with each plan's size, and time axes that name each month once — on Trends and
on the Data page's rows-per-month chart. Screenshots: trends-short-upload.png,
data-quality-short-upload.png in tests/artifacts/.
"""
from __future__ import annotations

from conftest import wait_for_app
from kpi.formatting import format_change, format_value
from stripe_like import write_stripe_like_export
from test_scorecard_trends import settle, shot

MONTHS = ["Jan 2024", "Feb 2024", "Mar 2024", "Apr 2024"]

# Every time axis on the page: its labels, as Vega drew them (the charts are SVG).
X_LABELS = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].map(chart => {
    const title = chart.querySelector('g.role-title text');
    const axes = [...chart.querySelectorAll('g.role-axis')].filter(a =>
        (a.getAttribute('aria-label') || '').startsWith('X-axis'));
    return {title: title ? title.textContent : '',
            labels: axes.flatMap(a => [...a.querySelectorAll('g.role-axis-label text')].map(t => t.textContent))};
})"""


def test_a_short_stripe_upload_breaks_mrr_down_by_plan_with_unique_month_labels(app_server, page, tmp_path):
    files = write_stripe_like_export(tmp_path / "stripe")
    page.goto(app_server.url)
    wait_for_app(page)
    page.get_by_role("button", name="Upload files").click()
    page.get_by_text("Drop your exports here").wait_for()
    wait_for_app(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        [str(files["subscriptions"]), str(files["payments"])])
    page.get_by_text("Recognised as").first.wait_for(timeout=60_000)
    wait_for_app(page)
    for n, dataset in enumerate(("subscriptions", "payments")):
        page.get_by_role("button", name=f"Load into {dataset}").click()
        page.get_by_text("Loaded as").nth(n).wait_for(timeout=60_000)
        wait_for_app(page)
    # The last payment, 21 Apr 2024, is the data's as-of date.
    page.get_by_test_id("stSidebar").get_by_text("21 Apr 2024").wait_for(timeout=60_000)

    # The breakdown offers the columns a person would split by, not ids, e-mails, dates or flags.
    box = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Break down by")
    box.locator("input").click()
    page.keyboard.press("ArrowDown")          # opens the list when the click only focused the box
    page.get_by_role("option", name="plan", exact=True).wait_for()
    offered = page.get_by_role("option").all_inner_texts()
    assert {"plan", "country (metadata)", "billing_period"} <= set(offered)
    assert not {"id", "Customer Email", "Customer Name", "Created (UTC)", "Cancel At Period End",
                "Customer Description", "Invoice ID", "Card Last4"} & set(offered)
    page.get_by_role("option", name="plan", exact=True).click()
    wait_for_app(page)

    page.get_by_test_id("stSidebarNavLink").filter(has_text="Trends").click()
    page.get_by_text("What changed in Monthly recurring revenue").wait_for(timeout=120_000)
    page.locator("svg.marks").nth(2).wait_for(timeout=60_000)
    settle(page)
    chosen = page.get_by_test_id("stMultiSelect").filter(has_text="KPIs").inner_text()
    assert "Monthly recurring revenue" in chosen, chosen

    charts = page.evaluate(X_LABELS)
    by_title = {c["title"]: c["labels"] for c in charts}
    # MRR by plan: one line per plan, over the four months, each month labelled once.
    assert "Monthly recurring revenue by plan" in by_title, list(by_title)
    assert by_title["Monthly recurring revenue by plan"] == MONTHS
    legend = page.get_by_test_id("stVegaLiteChart").filter(has_text="Monthly recurring revenue by plan").inner_text()
    assert {"Starter", "Team", "Business"} <= set(legend.split())
    for chart in charts:
        if chart["labels"]:
            assert len(chart["labels"]) == len(set(chart["labels"])), chart
    trend = by_title["Monthly recurring revenue"]
    assert trend[:4] == MONTHS       # then the projection's months, each once

    # What changed, Feb -> Mar 2024 (hand-computed in tests/stripe_like.py): MRR 286.50 -> 437.00;
    # Business +82.50 (the second yearly customer), 29 % of February's MRR (82.50 / 286.50).
    main = page.get_by_test_id("stMain").inner_text()
    feb, mar, business = format_value(286.50, "currency"), format_value(437.00, "currency"), format_change(82.50, "currency")
    assert f"Monthly recurring revenue rose from {feb} (Feb 2024) to {mar} (Mar 2024): {format_change(150.50, 'currency')}." in main
    assert (f"plan = Business drove it most: {business} of the {format_change(150.50, 'currency')} "
            "while holding 29 % of the Feb 2024 total.") in main
    assert {"Business · 29 %", "Team · 51 %", "Starter · 20 %"} <= set(
        page.get_by_test_id("stVegaLiteChart").filter(has_text="What changed").inner_text().split("\n"))
    assert page.get_by_test_id("stException").count() == 0
    shot(page, "trends-short-upload")

    # The Data page's rows per month: the four months of the data, each once, nothing past April.
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Data").first.click()
    wait_for_app(page)
    page.get_by_role("tab").filter(has_text="Data quality").first.click()
    page.get_by_test_id("stVegaLiteChart").locator("svg.marks").first.wait_for(timeout=60_000)
    settle(page)
    quality = [c["labels"] for c in page.evaluate(X_LABELS) if c["labels"]]
    assert quality == [MONTHS], quality
    shot(page, "data-quality-short-upload")
