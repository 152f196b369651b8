"""What the page tests share: the sample workspace, loaded once per test run and copied per test."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kpi.workspace import Workspace
from kpi.workspaces import SAMPLE_DIR, load_sample, new_workspace_id, workspace_path


def sample_file(tmp_path_factory) -> Path:
    """A workspace file holding the sample data, made once per test session."""
    path = tmp_path_factory.getbasetemp() / "app_sample.duckdb"
    if not path.exists():
        if not list(SAMPLE_DIR.glob("*.csv")):
            pytest.skip("sample_data/*.csv are not generated yet")
        partial = path.with_suffix(".loading")
        with Workspace(partial) as ws:
            load_sample(ws)
        partial.rename(path)
    return path


def copy_in(source: Path) -> str:
    """A new workspace (in this test's data folder) holding a copy of ``source``; its id."""
    wid = new_workspace_id()
    target = workspace_path(wid)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)
    return wid
