"""Server defaults for a team: private files, a cleanup of unused workspaces, and a server that
listens on this machine only and shows no traceback in the browser.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import tomllib
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from kpi import access, store, wizard
from kpi.errors import InputError
from kpi.goals import GoalsDoc, Objective
from kpi.workspace import data_home
from kpi.cleanup import holds_nothing, parse_age, remove_empty_workspaces
from kpi.workspaces import new_workspace_id, open_workspace, workspace_path

ROOT = Path(__file__).resolve().parents[1]
MONTH_AGO = time.time() - 31 * 86400


def made(fill=None, *, age: float = MONTH_AGO) -> str:
    """A workspace of the data folder, filled by ``fill(ws)``, last written ``age`` (epoch seconds)."""
    wid = new_workspace_id()
    with open_workspace(wid) as ws:
        if fill:
            fill(ws)
        ws.rows("CHECKPOINT")
    for f in (workspace_path(wid), workspace_path(wid).with_name(f"{wid}.duckdb.wal")):
        if f.exists():
            os.utime(f, (age, age))
    return wid


def test_cleanup_removes_only_old_workspaces_that_hold_nothing():
    payments = pd.DataFrame({"customer_id": ["a"], "date": ["2026-01-01"], "amount": [1.0]})
    empty_old = made()
    visited_wizard = made(lambda ws: store.save_wizard(ws, wizard.WizardState(step=2).to_dict()))
    empty_new = made(age=time.time())
    with_data = made(lambda ws: ws.load_frame("payments", payments))
    with_goals = made(lambda ws: store.save_goals(ws, GoalsDoc(objectives=(Objective("o1", "Grow"),))))
    with_note = made(lambda ws: store.add_annotation(ws, "2026-01-01", "launch", None))
    named = made(lambda ws: ws.set_setting("name", "Growth team"))
    shared = made()
    access.create_share(shared, "viewer")
    held = made()
    app_holds = subprocess.Popen([sys.executable, "-c", "import sys, duckdb; c = duckdb.connect(sys.argv[1]); "
                                 "print('ready', flush=True); sys.stdin.read()", str(workspace_path(held))],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert app_holds.stdout.readline().strip() == "ready"
        dry = remove_empty_workspaces(timedelta(days=30), dry_run=True)
        assert sorted(dry.removed) == sorted([empty_old, visited_wizard])
        assert workspace_path(empty_old).exists()
        done = remove_empty_workspaces(timedelta(days=30))
    finally:
        app_holds.communicate("", timeout=30)
    assert sorted(done.removed) == sorted([empty_old, visited_wizard])
    assert done.in_use == [held]
    assert done.kept == 6
    assert not workspace_path(empty_old).exists() and not workspace_path(visited_wizard).exists()
    for kept in (empty_new, with_data, with_goals, with_note, named, shared, held):
        assert workspace_path(kept).exists()
    with open_workspace(with_data) as ws:
        assert ws.row_count("payments") == 1
    assert remove_empty_workspaces(timedelta(days=30)).removed == [held]   # the next run, once it is let go


def test_a_workspace_just_made_by_the_app_holds_nothing():
    with open_workspace(new_workspace_id()) as ws:
        assert holds_nothing(ws)
        store.save_goals(ws, GoalsDoc())            # the empty goals a page may save
        assert holds_nothing(ws)


def test_the_cleanup_command_runs_from_cron(tmp_path):
    wid = made()
    env = dict(os.environ, KPI_EXPLORER_HOME=str(data_home()))
    run = subprocess.run([sys.executable, "-m", "kpi", "cleanup", "--older-than", "30d"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("removed 1 empty workspace older than 30d")
    assert not workspace_path(wid).exists()
    bad = subprocess.run([sys.executable, "-m", "kpi", "cleanup", "--older-than", "soon"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "'soon' is not an age" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("text,days", [("30d", 30), ("2w", 14), ("36h", 1.5)])
def test_ages(text, days):
    assert parse_age(text) == timedelta(days=days)


def test_an_age_without_a_unit_is_refused():
    with pytest.raises(InputError, match="like 30d"):
        parse_age("30")


def test_workspace_files_and_folders_are_private():
    wid = made(lambda ws: ws.load_frame("payments", pd.DataFrame(
        {"customer_id": ["a"], "date": ["2026-01-01"], "amount": [1.0]})))
    path = workspace_path(wid)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    os.chmod(path, 0o644)                           # a file written by an older version
    open_workspace(wid).close()
    assert path.stat().st_mode & 0o777 == 0o600
    access.create_share(wid, "viewer")              # the share registry holds the links' hashes
    assert (data_home() / access.REGISTRY_NAME).stat().st_mode & 0o777 == 0o600


def test_the_server_listens_on_this_machine_and_shows_no_tracebacks():
    from streamlit import config
    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert settings["server"]["address"] == "127.0.0.1"
    assert settings["client"]["showErrorDetails"] == config.ShowErrorDetailsConfigOptions.NONE.value
