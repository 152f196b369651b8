"""The sidebar's Workspace menu in a real browser: rename, and copy and open."""
import re

from conftest import sample_workspace_in, screenshot, wait_for_app


def open_menu(page) -> None:
    """Open the Workspace popover (it may still be open after the last action's rerun)."""
    copy_button = page.get_by_role("button", name="Make a copy and open it")
    if not copy_button.is_visible():
        page.get_by_test_id("stPopover").filter(has_text="Workspace").click()
    copy_button.wait_for()


def wait_for_text(page, text: str) -> None:
    """Wait for ``text``; on a timeout, fail with what the page said instead (errors included)."""
    try:
        page.get_by_text(text).wait_for(timeout=90_000)
    except Exception:
        said = page.locator("body").inner_text()[:3000]
        raise AssertionError(f"{text!r} never showed; the page said:\n{said}") from None


def current_ws(page) -> str:
    return re.search(r"[?&]ws=([A-Za-z0-9_-]+)", page.url).group(1)


def test_rename_and_copy_a_workspace(app_server, tmp_path_factory, page):
    wid = sample_workspace_in(app_server, tmp_path_factory)
    folder = app_server.home / "workspaces"
    page.goto(f"{app_server.url}/?ws={wid}")
    page.get_by_test_id("stSidebarNavLink").first.wait_for(timeout=120_000)
    wait_for_app(page)

    open_menu(page)
    page.get_by_label("Name").fill("Growth team")
    page.get_by_role("button", name="Rename").click()
    page.get_by_text("Workspace Growth team").wait_for(timeout=60_000)
    wait_for_app(page)  # the rename's rerun draws the menu again: click only once it has finished
    screenshot(page, "workspace-menu")

    open_menu(page)
    page.get_by_role("button", name="Make a copy and open it").click()
    wait_for_text(page, "Workspace Copy of Growth team")
    copy_id = current_ws(page)
    assert copy_id != wid and (folder / f"{copy_id}.duckdb").exists()

    assert (folder / f"{wid}.duckdb").exists()          # the original is untouched
    assert not page.get_by_test_id("stException").count()

    # Delete the copy: nothing happens until the box is ticked; then a new, empty workspace opens.
    open_menu(page)
    delete = page.get_by_role("button", name="Delete this workspace")
    assert delete.is_disabled()
    page.get_by_text("for good").click()          # the confirmation checkbox's label
    page.wait_for_function("() => [...document.querySelectorAll('button')].some("
                           "b => b.innerText.includes('Delete this workspace') && !b.disabled)")
    screenshot(page, "workspace-delete-confirm")
    delete.click()
    wait_for_text(page, "Welcome to KPI Explorer")
    assert current_ws(page) != copy_id
    assert not (folder / f"{copy_id}.duckdb").exists() and (folder / f"{copy_id}.deleted").exists()
    assert (folder / f"{wid}.duckdb").exists()
    assert not page.get_by_test_id("stException").count()


def test_the_public_sample_opens_read_only_and_copies_into_a_workspace_of_ones_own(app_server, page):
    page.goto(f"{app_server.url}/scorecard?ws=sample")
    wait_for_text(page, "Sample · read-only")
    wait_for_app(page)
    page.get_by_text("on track").first.wait_for(timeout=60_000)   # its KPI set has targets
    screenshot(page, "sample-read-only")

    page.get_by_test_id("stPopover").filter(has_text="Workspace").click()
    page.get_by_role("button", name="Copy the sample into my own workspace").click()
    wait_for_text(page, "Workspace Copy of Sample workspace")
    copy_id = current_ws(page)
    assert copy_id != "sample" and (app_server.home / "workspaces" / f"{copy_id}.duckdb").exists()
    assert not page.get_by_text("Sample · read-only").count()
    assert not page.get_by_test_id("stException").count()
