"""`python -m kpi compute|scorecard|check --engine postgres --source …` (cli.md): the same output as
--data on the same tables, and exit 2 with one line naming the engine, the table and what is
missing for a wrong address, a schema without dataset tables, a missing column or table."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

import engine_sources
from engine_fixtures import postgres_url  # noqa: F401 — pytest fixture
from kpi_helpers import make_ws, movements_subscriptions

ROOT = Path(__file__).resolve().parent.parent
PAYMENTS = {"customer_id": ["c1", "c2", "c1"], "date": ["2025-01-05", "2025-01-20", "2025-02-03"],
            "amount": [100.0, 50.5, 100.0]}


def kpi(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kpi", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def source(postgres_url, tmp_path_factory):  # noqa: F811
    ws = make_ws(subscriptions=movements_subscriptions(), payments=PAYMENTS)
    engine_sources.to_postgres(ws, postgres_url, schema="cli")
    folder = tmp_path_factory.mktemp("cli_data")
    for name in ws.datasets():
        ws.df(f'SELECT * FROM "{name}"').to_csv(folder / f"{name}.csv", index=False)
    return postgres_url, folder


def test_compute_on_postgres_prints_what_data_prints(source):
    url, folder = source
    args = ["compute", "--kpi", "mrr", "--kpi", "revenue", "--grain", "week", "--as-of", "2025-03-31"]
    there = kpi(*args, "--engine", "postgres", "--source", url, "--schema", "cli")
    here = kpi(*args, "--data", str(folder))
    assert there.returncode == 0, there.stderr
    assert json.loads(there.stdout) == json.loads(here.stdout) and json.loads(here.stdout)


def test_scorecard_and_check_take_the_engine_too(source, tmp_path):
    url, folder = source
    goals = tmp_path / "goals.json"
    goals.write_text(json.dumps({"goals": [{"kpi": "mrr", "target": 1000, "deadline": "2025-12-31",
                                            "baseline": 300, "baseline_date": "2025-01-31"}]}))
    there = kpi("scorecard", "--goals", str(goals), "--engine", "postgres", "--source", url, "--schema", "cli")
    here = kpi("scorecard", "--goals", str(goals), "--data", str(folder))
    assert there.returncode == 0, there.stderr
    assert json.loads(there.stdout) == json.loads(here.stdout)
    assert kpi("check", "--goals", str(goals), "--engine", "postgres", "--source", url, "--schema", "cli").returncode \
        == kpi("check", "--goals", str(goals), "--data", str(folder)).returncode


def _refused(*args: str) -> str:
    out = kpi("compute", *args)
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr and out.stdout == ""
    return out.stderr


def test_bad_sources_are_refused_with_what_is_wrong(source, postgres_url):  # noqa: F811
    url, _ = source
    port = url.split(":")[-1].split("/")[0]
    assert "postgres: cannot connect" in _refused("--engine", "postgres", "--source", url.replace(port, "1"))
    assert "schema 'nowhere'" in _refused("--engine", "postgres", "--source", url, "--schema", "nowhere")
    assert "not a PostgreSQL address" in _refused("--engine", "postgres", "--source", "mysql://db/x")
    assert "needs --source" in _refused("--engine", "postgres")
    assert "spark: " in _refused("--engine", "spark", "--source", "/no/such/folder")
    # A KPI whose table the source lacks, and a table without a column it needs.
    assert "active_users cannot be computed in PostgreSQL" in _refused(
        "--engine", "postgres", "--source", url, "--schema", "cli", "--kpi", "active_users")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA broken")
        conn.execute("CREATE TABLE broken.payments AS SELECT customer_id, date FROM cli.payments")
        conn.execute("CREATE TABLE broken.subscriptions AS SELECT customer_id, CAST(start_date AS text) AS start_date, "
                     "end_date, mrr FROM cli.subscriptions")
    message = _refused("--engine", "postgres", "--source", url, "--schema", "broken")
    assert "table payments has no column amount" in message
    assert "column subscriptions.start_date holds varchar, not a date" in message
