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


def load_mrr_and_tickets(ws: Workspace) -> None:
    """The small hand-made data of the Scorecard tests. MRR: c1 100 from 1 Jan 2025; c2 200 from
    1 Mar to 1 Jun; c3 50 from 10 May: 100, 100, 300, 300, 350 at the months' ends, 150 on 13 Jun
    (the as-of date). Tickets: 10 a month, 1 escalated Jan-Apr, 5 in May; 4 in June (10th to 13th),
    2 escalated: escalation rate 0.1, 0.1, 0.1, 0.1, 0.5, 0.5; escalated tickets 1, 1, 1, 1, 5, 2."""
    import pandas as pd
    ws.load_frame("subscriptions", pd.DataFrame({
        "customer_id": ["c1", "c2", "c3"], "start_date": ["2025-01-01", "2025-03-01", "2025-05-10"],
        "end_date": [None, "2025-06-01", None], "mrr": [100, 200, 50]}))
    rows = []
    for month, (n, esc) in enumerate([(10, 1), (10, 1), (10, 1), (10, 1), (10, 5), (4, 2)], start=1):
        for i in range(n):
            rows.append({"ticket_id": f"t{month}-{i}", "created_at": f"2025-{month:02d}-{i + 10:02d} 09:00:00",
                         "escalated": i < esc})
    ws.load_frame("tickets", pd.DataFrame(rows))


def shown(markdown: str) -> str:
    """What a reader sees of Markdown that holds escaped user text (``ui.text.plain``): without the
    backslashes before punctuation and the invisible word joiners."""
    import re
    from ui.text import WORD_JOINER
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace(WORD_JOINER, "")
