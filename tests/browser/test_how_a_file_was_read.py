"""Real browser: an export of a tool the app has no profile for (Stripe's invoices API, flattened to CSV) is
uploaded, and the Data page says how it was read — each decision that changes numbers with its evidence, in
plain words — and asks the questions whose answers change the figures. The section and the whole page are kept
as screenshots, tests/artifacts/how_this_file_was_read.png and how_this_file_was_read_page.png, for a person to
look at."""
from __future__ import annotations

from pathlib import Path

from conftest import ARTIFACTS, wait_for_app
from ui.text import WORD_JOINER

EXPORT = Path(__file__).resolve().parents[1] / "data" / "exports" / "stripe_invoices_api.csv"


def test_the_evidence_behind_each_decision_is_shown(app_server, page):
    page.goto(app_server.url)
    wait_for_app(page)
    page.get_by_role("button", name="Upload files").click()
    page.get_by_text("Drop your exports here").wait_for()
    wait_for_app(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(EXPORT))
    page.get_by_text("How this file was read").wait_for(timeout=120_000)
    page.get_by_role("button", name="Load into payments").wait_for(timeout=120_000)
    wait_for_app(page)
    section = page.get_by_test_id("stExpander").filter(has_text="How this file was read").first
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    section.screenshot(path=str(ARTIFACTS / "how_this_file_was_read.png"))
    text = section.inner_text().replace(WORD_JOINER, "")   # invisible; keeps times from reading as icons
    assert ("Amounts look like cents (1900 means 19.00): every amount in amount_paid is a whole number, typically "
            "1,900; its dates are Unix times, as programs write them — 85 % sure (asked below)") in text
    assert "Revenue is money received: read from amount_paid, not from subtotal, total, amount_due" in text
    assert "The column created holds dates written as Unix time (seconds since 1 Jan 1970, told by their size): '1709287200' " \
           "is 01 Mar 2024 10:00 UTC" in text
    assert "Payments whose status is failed, open, void or pending are not revenue — 90 % sure (asked below)" in text
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 8000)})
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "how_this_file_was_read_page.png"), full_page=True)
    questions = page.get_by_test_id("stMain").inner_text().replace(WORD_JOINER, "")
    assert "Are the amounts in amount_paid whole currency units or cents?" in questions
    assert "revenue would be $136.00 from 4 rows" in questions
    assert page.get_by_test_id("stException").count() == 0
