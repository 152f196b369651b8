"""Both corpora of real-looking exports load with no manual step and give the figures of their expected.json:
the ten shared ones (shared/fixtures/exports) and the tools of tests/data/exports, whose headers follow each
tool's public documentation (tests/data/exports/NOTES.md). The second corpus is loaded into a workspace that
already holds customers (HubSpot's contacts), as a PM's would: a column whose values are those ids is the user id."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from kpi.compute import compute
from kpi.detect import detect_file, read_sample, sniff
from kpi.ingest import ingest_file
from kpi.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "fixtures" / "exports"
OURS = Path(__file__).parent / "data" / "exports"
EXPECTED = json.loads((OURS / "expected.json").read_text())
CUSTOMERS = SHARED / "hubspot_contacts.csv"


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path / "team.duckdb")
    if CUSTOMERS.exists():
        ingest_file(w, CUSTOMERS)
    yield w
    w.close()


def kpi_total(ws: Workspace, kpi: str, grain: str = "month") -> float:
    frame = compute(ws, [kpi], grain=grain, as_of="2024-06-30")
    return float(frame.loc[frame["segment"].isna(), "value"].fillna(0).sum())


def kpi_on(ws: Workspace, kpi: str, day: str) -> float:
    frame = compute(ws, [kpi], grain="day", as_of=day, start=day, end=day)
    row = frame[(frame["period"] == date.fromisoformat(day)) & frame["segment"].isna()]
    assert len(row) == 1, frame
    return float(row["value"].iloc[0])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recognised_with_its_mapping(ws, name):
    want = EXPECTED[name]
    layout, found = detect_file(OURS / name, ws=ws)
    assert found.dataset == want["dataset"], found.alternatives[:3]
    assert {k: found.mapping.get(k) for k in want["mapping"]} == want["mapping"]
    assert found.confidence >= 0.5
    assert layout.header_line == want["layout"]["header_line"]
    assert layout.header_rows == want["layout"]["header_rows"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loads_with_its_figures(ws, name):
    want, checks = EXPECTED[name], EXPECTED[name]["checks"]
    layout = sniff(OURS / name)
    assert len(read_sample(layout, n=10**6)) - layout.footer_rows == checks["rows"]
    result = ingest_file(ws, OURS / name)
    assert result.dataset == want["dataset"]
    if "loaded_rows" in checks:
        assert result.rows == checks["loaded_rows"]
    dataset = want["dataset"]
    if dataset == "payments":
        assert round(kpi_total(ws, "revenue"), 2) == checks["revenue_net"]
        if "refunds" in checks:
            assert -ws.rows("SELECT coalesce(sum(amount), 0) FROM payments WHERE amount < 0")[0][0] == checks["refunds"]
    elif dataset == "subscriptions":
        assert round(kpi_on(ws, "mrr", checks["mrr_on"]), 2) == checks["mrr"]
        if "mrr_after_trial_on" in checks:
            assert round(kpi_on(ws, "mrr", checks["mrr_after_trial_on"]), 2) == checks["mrr_after_trial"]
    elif dataset == "events":
        assert ws.rows("SELECT count(DISTINCT user_id) FROM events")[0][0] == checks["distinct_users"]
        assert ws.rows("SELECT count(DISTINCT session_id) FROM events")[0][0] == checks["sessions"]
    elif dataset == "test_runs":
        total = ws.rows("SELECT sum(duration_minutes) FROM test_runs")[0][0]
        assert round(total, 4) == checks["total_duration_minutes"]
    elif dataset == "incidents":
        minutes = ws.rows("SELECT sum(epoch(ended_at - started_at)) / 60 FROM incidents")[0][0]
        assert round(minutes) == checks["total_downtime_minutes"]
        assert sorted(r[0] for r in ws.rows("SELECT DISTINCT service FROM incidents")) == checks["services"]
    elif dataset == "defects":
        assert result.rows == checks["defect_count"]
        assert ws.rows("SELECT count(*) FROM defects WHERE stage = 'production'")[0][0] == checks["production_defects"]
        assert ws.rows("SELECT count(*) FROM defects WHERE stage IS NULL")[0][0] == 0
    elif dataset == "tickets":
        assert kpi_total(ws, "escalated_tickets") == checks["escalated"]
        assert ws.rows("SELECT count(resolved_at) FROM tickets")[0][0] == checks["resolved"]
    elif dataset == "surveys":
        frame = compute(ws, ["nps"], grain="year", as_of="2024-12-31")
        assert round(float(frame["value"].dropna().iloc[0]), 2) == checks["nps"]
    elif dataset == "marketing":
        got = ws.df("SELECT * FROM marketing")
        assert round(got["spend"].sum(), 2) == checks["total_spend"]
        assert got["visitors"].sum() == checks["total_clicks"]
        assert set(got["channel"]) == {checks["channel"]}


def test_the_cli_loads_the_corpus_with_no_mapping_and_says_what_it_took(tmp_path):
    data = tmp_path / "exports"
    data.mkdir()
    for name in EXPECTED:
        shutil.copy(OURS / name, data / name)
    run = subprocess.run([sys.executable, "-m", "kpi", "ingest", "--data", str(data), "--workspace",
                          str(tmp_path / "w.duckdb")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.strip().splitlines()) == len(EXPECTED)
    assert "Traceback" not in run.stderr
    assert "[amount_unit] took 'cents'" in run.stderr       # Lemon Squeezy's, Maxio's, Stripe's cents
