"""AppTest: "Connect a database" on the Data page, against a real PostgreSQL holding the sample data.

The deployer declares the connection in the secrets; the page lists it (never its address), shows
which datasets its tables provide, connects the workspace, and from then on the Scorecard shows the
numbers computed in PostgreSQL — the same as DuckDB's on the same data.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import engine_sources
from engine_fixtures import postgres_url  # noqa: F401 — pytest fixture
from kpi import analysis, catalog, engines, store
from kpi.compute import compute
from kpi.formatting import format_value
from kpi.goals import GoalsDoc, Target
from kpi.scorecard import kpi_label
from kpi.workspace import Workspace
from kpi.workspaces import new_workspace_id, open_workspace

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
GOALS = GoalsDoc(targets=[Target("mrr", 450000, date(2027, 3, 31), baseline=300000,
                                 baseline_date=date(2026, 3, 31), id="t1"),
                          Target("nps", 40, date(2027, 3, 31), baseline=25, baseline_date=date(2026, 3, 31), id="t2")])


@pytest.fixture(scope="module")
def warehouse(postgres_url, sample):  # noqa: F811
    """The sample data's tables in PostgreSQL, and the same data in a workspace file."""
    with Workspace(sample, read_only=True) as ws:
        engine_sources.to_postgres(ws, postgres_url, schema="analytics")
    return postgres_url


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [s.value for s in at.success]
    parts += [str(s.options) for s in at.selectbox] + [str(df.value) for df in at.dataframe]
    return "\n".join(parts)


def test_connect_a_database_then_the_scorecard_is_computed_there(warehouse, sample):
    wid = new_workspace_id()
    with open_workspace(wid) as ws:
        store.save_goals(ws, GOALS)
    at = AppTest.from_file(APP, default_timeout=180)
    at.secrets["connections"] = {"warehouse": {"type": "postgres", "url": warehouse, "schema": "analytics"}}
    at.session_state["workspace_id"] = wid
    at.session_state["welcome_done"] = True
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="connect_name").options == ["warehouse (PostgreSQL)"]
    shown = _texts(at)
    with Workspace(sample, read_only=True) as local:
        loaded, ready = len(local.datasets()), sum(a.computable for a in catalog.availability(local).values())
    # The same coverage as the sample's own workspace: every table found, every KPI computable.
    assert f"provide **{loaded} of 15** datasets, enough for **{ready} of {len(catalog.CATALOG)}** KPIs" in shown
    assert warehouse not in shown and "127.0.0.1" not in shown   # the address is the server's business

    at.button(key="connect_use").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("computed in PostgreSQL" in s.value for s in at.success)
    with open_workspace(wid) as ws:
        assert engines.connection_of(ws) == "warehouse"
        stored = " ".join(str(r) for r in ws.rows("SELECT * FROM _kpi_meta")) + str(ws.rows("SELECT * FROM _kpi_docs"))
    assert "postgresql://" not in stored and "127.0.0.1" not in stored   # only the name is kept

    at.switch_page("pages/scorecard.py").run()
    assert not at.exception, [e.value for e in at.exception]
    cards = {m.label: m.value for m in at.metric}
    with Workspace(sample, read_only=True) as local:
        frame = compute(local, ["mrr", "nps"])
    for k in ("mrr", "nps"):
        series = analysis.series_of(frame, k)
        assert cards[kpi_label(k).name] == format_value(series["value"].iloc[-1], kpi_label(k).unit)

    for page in ("pages/trends.py", "pages/goals.py", "pages/library.py"):   # every page works on it
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])

    # Disconnecting goes back to the workspace's own (empty) data.
    at.switch_page("pages/data.py").run()
    at.button(key="connect_disconnect").click().run()
    assert not at.exception
    with open_workspace(wid) as ws:
        assert engines.connection_of(ws) is None
