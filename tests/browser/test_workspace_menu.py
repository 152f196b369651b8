"""The sidebar's Workspace menu in a real browser: rename, and copy and open."""
import re

from conftest import sample_workspace_in, screenshot, wait_for_app


def open_menu(page) -> None:
    """Open the Workspace popover (it may still be open after the last action's rerun)."""
    copy_button = page.get_by_role("button", name="Make a copy and open it")
    if not copy_button.is_visible():
        page.get_by_test_id("stPopover").filter(has_text="Workspace").click()
    copy_button.wait_for()


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
    screenshot(page, "workspace-menu")

    open_menu(page)
    page.get_by_role("button", name="Make a copy and open it").click()
    page.get_by_text("Workspace Copy of Growth team").wait_for(timeout=60_000)
    copy_id = current_ws(page)
    assert copy_id != wid and (folder / f"{copy_id}.duckdb").exists()

    assert (folder / f"{wid}.duckdb").exists()          # the original is untouched
    assert not page.get_by_test_id("stException").count()
