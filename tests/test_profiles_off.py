"""Tools' profiles are only hints: with them switched off (KPI_EXPLORER_TOOL_PROFILES=off), every export of
both corpora — the ten of shared/fixtures/exports and the tools of tests/data/exports — is read from its own
evidence as the same dataset with the same mapping, stores exactly the same rows, and gives the figures of
its expected.json."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from kpi import tool_exports
from kpi.compute import compute
from kpi.detect import detect_file
from kpi.ingest import ingest_file
from kpi.workspace import Workspace

from test_export_corpus import CUSTOMERS, OURS, SHARED, assert_figures

CORPORA = [(SHARED, name) for name in sorted(json.loads((SHARED / "expected.json").read_text()))] \
    if (SHARED / "expected.json").exists() else []
CORPORA += [(OURS, name) for name in sorted(json.loads((OURS / "expected.json").read_text()))]


def load(tmp: Path, folder: Path, name: str):
    """A fresh workspace (holding the shared HubSpot customers for our corpus, as test_export_corpus does),
    the file's detection and its ingest result."""
    ws = Workspace(tmp / "w.duckdb")
    if folder == OURS:
        ingest_file(ws, CUSTOMERS)
    _, found = detect_file(folder / name, ws=ws)
    result = ingest_file(ws, folder / name)
    return ws, found, result


def stored(ws: Workspace, dataset: str) -> tuple[list[str], list[tuple]]:
    """The dataset as stored, its columns and its rows in a fixed order (row order is not part of a dataset)."""
    frame = ws.df(f'SELECT * FROM "{dataset}"')
    columns = sorted(frame.columns)
    rows = sorted(tuple(str(v) for v in row) for row in frame[columns].itertuples(index=False))
    return columns, rows


def kpi_on(ws: Workspace, kpi: str, day: str) -> float:
    frame = compute(ws, [kpi], grain="day", as_of=day, start=day, end=day)
    row = frame[(frame["period"] == date.fromisoformat(day)) & frame["segment"].isna()]
    return float(row["value"].iloc[0])


def assert_shared_figures(ws: Workspace, name: str, want: dict, result) -> None:
    """The headline figures of the shared corpus's expected.json (tests/test_tool_exports.py checks the rest
    with profiles on; the rows stored here are compared with those, one by one)."""
    checks, one = want["checks"], lambda sql: ws.rows(sql)[0][0]
    assert result.dataset == want["dataset"]
    if name == "stripe_subscriptions.csv":
        assert round(kpi_on(ws, "mrr", "2024-04-30"), 2) == checks["mrr_active_on_2024_04_30"]
    elif name == "stripe_payments.csv":
        assert one("SELECT sum(amount) FROM payments") == pytest.approx(checks["revenue_net"])
        assert -one("SELECT sum(amount) FROM payments WHERE amount < 0") == pytest.approx(checks["refunds"])
    elif name in ("mixpanel_events.csv", "posthog_events.csv"):
        assert result.rows == checks["identified_rows"]
        if "distinct_users" in checks:
            assert one("SELECT count(DISTINCT user_id) FROM events") == checks["distinct_users"]
    elif name == "jira_issues.csv":
        assert result.rows == checks["defect_count"]
        assert one("SELECT count(*) FROM defects WHERE stage = 'production'") == checks["production_defects"]
    elif name == "zendesk_tickets.csv":
        assert one("SELECT count(*) FROM tickets WHERE escalated") == checks["escalated"]
    elif name == "statuspage_incidents.csv":
        assert result.rows == checks["resolved_rows"]
        assert round(one("SELECT sum(epoch(ended_at - started_at)) / 60 FROM incidents")) \
            == checks["total_downtime_minutes"]
    elif name == "typeform_responses.csv":
        assert result.rows == checks["completed"]
        nps = one("SELECT 100.0 * (count(*) FILTER (WHERE score >= 9) - count(*) FILTER (WHERE score <= 6)) "
                  "/ count(*) FROM surveys")
        assert round(nps, 2) == checks["nps"]
    elif name == "google_ads_campaigns.csv":
        assert round(one("SELECT sum(spend) FROM marketing"), 2) == checks["total_spend"]
        assert one("SELECT sum(visitors) FROM marketing") == checks["total_clicks"]
    elif name == "hubspot_contacts.csv":
        assert result.rows == len(checks["canonical"])
    else:  # a new shared file: at least its rows
        assert result.rows <= checks["rows"]


def test_the_switch_turns_every_profile_off(monkeypatch):
    stripe = ["id", "Customer ID", "Plan", "Interval", "Amount", "Status", "Current Period End (UTC)",
              "Cancel At Period End"]
    assert tool_exports.match(stripe) is not None
    monkeypatch.setenv(tool_exports.PROFILES_SETTING, "off")
    assert tool_exports.match(stripe) is None and tool_exports.profile_for("Stripe", "subscriptions") is None


@pytest.mark.parametrize("folder,name", CORPORA, ids=[n for _, n in CORPORA])
def test_an_export_loads_the_same_without_tool_profiles(tmp_path, monkeypatch, folder, name):
    want = json.loads((folder / "expected.json").read_text())[name]
    (tmp_path / "on").mkdir()
    (tmp_path / "off").mkdir()
    ws_on, found_on, on = load(tmp_path / "on", folder, name)
    monkeypatch.setenv(tool_exports.PROFILES_SETTING, "off")
    ws_off, found_off, off = load(tmp_path / "off", folder, name)
    try:
        assert found_off.tool is None and off.tool is None
        assert found_off.dataset == found_on.dataset == want["dataset"]
        assert {k: found_off.mapping.get(k) for k in want["mapping"]} == want["mapping"]
        assert found_off.mapping == found_on.mapping and off.mapping == on.mapping
        assert off.rows == on.rows
        assert stored(ws_off, off.dataset) == stored(ws_on, on.dataset)
        if folder == OURS:
            assert_figures(ws_off, want, off)
        else:
            assert_shared_figures(ws_off, name, want, off)
    finally:
        ws_on.close()
        ws_off.close()
