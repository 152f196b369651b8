"""AppTest: exports of other tools (tests/data/exports), uploaded through the Data page as a PM would, into a
workspace that already holds customers (HubSpot's contacts of shared/fixtures/exports). For each: the dataset
guessed, the evidence shown under "How this file was read", the questions' defaults, and after Load the
figures of tests/data/exports/expected.json in the stored dataset."""
from __future__ import annotations

import json
import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from kpi.ingest import ingest_file
from kpi.workspaces import new_workspace_id, open_workspace, workspace_path
from app_helpers import shown

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
EXPORTS = ROOT / "tests" / "data" / "exports"
EXPECTED = json.loads((EXPORTS / "expected.json").read_text())
CUSTOMERS = ROOT.parent / "shared" / "fixtures" / "exports" / "hubspot_contacts.csv"


def workspace_with_customers() -> str:
    wid = new_workspace_id()
    workspace_path(wid).parent.mkdir(parents=True, exist_ok=True)
    with open_workspace(wid) as ws:
        ingest_file(ws, CUSTOMERS)
    return wid


def upload_export(wid: str, name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state["workspace_id"] = wid
    at.session_state["welcome_done"] = True
    at.run()
    at.switch_page("pages/data.py").run()
    at.file_uploader(key="upload_files").upload(name, (EXPORTS / name).read_bytes(), "text/csv")
    at.run()
    assert not at.exception, at.exception
    return at


def uploaded(name: str, dataset: str) -> tuple[str, AppTest]:
    """A workspace with customers, the export uploaded into it, and the dataset it was recognised as checked."""
    wid = workspace_with_customers()
    at = upload_export(wid, name)
    assert at.selectbox(key="upload1_dataset").value == dataset
    return wid, at


def evidence_lines(at: AppTest) -> list[str]:
    """The lines under "How this file was read"."""
    box = next(e for e in at.expander if "How this file was read" in e.label)
    return [re.sub(r"\\(.)", r"\1", m.value).removeprefix("- ") for m in box.markdown]


def answer(at: AppTest, dataset: str, question: str):
    return at.radio(key=f"upload1_q_{dataset}:{question}")


def captions(radio) -> list[str]:
    """What each option of a question would give, as a reader sees it under it."""
    return [shown(c) for c in radio.proto.captions]


def load(at: AppTest, wid: str, dataset: str) -> str:
    at.button(key="upload1_load").click().run()
    assert not at.exception, at.exception
    message = [s.value for s in at.success][0]
    assert message.startswith(f"Loaded as **{dataset}**")
    return message


def one(wid: str, sql: str):
    with open_workspace(wid) as ws:
        return ws.rows(sql)[0][0]


def test_billing_in_cents_from_an_api():
    wid, at = uploaded("stripe_invoices_api.csv", "payments")
    assert at.selectbox(key="upload1_map_payments_amount").value == "amount_paid"
    lines = evidence_lines(at)
    assert ("Amounts look like cents (1900 means 19.00): every amount in amount_paid is a whole number, typically "
            "1,900; its dates are Unix times, as programs write them — 85 % sure (asked below)") in lines
    assert ("The user id is metadata.user_id: 100 % of its values are ids already loaded in customers or events; by "
            "its header it would be customer (0 % of whose values are) — 80 % sure (asked below)") in lines
    assert "Payments whose status is failed, open, void or pending are not revenue — 90 % sure (asked below)" in lines
    assert answer(at, "payments", "amount_unit").value == "cents"
    assert answer(at, "payments", "paid_only").value == "paid"
    ids = answer(at, "payments", "column:customer_id")
    assert ids.value == "metadata.user_id"
    assert captions(ids)[0] == "4 of 4 rows (100 %) join to the customers and events already loaded"
    assert captions(ids)[1] == "0 of 4 rows (0 %) join to the customers and events already loaded"
    load(at, wid, "payments")
    checks = EXPECTED["stripe_invoices_api.csv"]["checks"]
    assert one(wid, "SELECT count(*) FROM payments") == checks["loaded_rows"]
    assert one(wid, "SELECT sum(amount) FROM payments") == checks["revenue_net"]     # 136.00, not 13,600
    assert one(wid, "SELECT count(*) FROM payments WHERE customer_id LIKE 'u\\_%' ESCAPE '\\'") == 4


def test_a_ci_run_list():
    wid, at = uploaded("circleci_workflow_runs.csv", "test_runs")
    assert "Each run's duration (in minutes) is worked out from two times: stopped_at − created_at — 90 % sure" \
        in evidence_lines(at)
    assert not [r for r in at.radio if r.key.startswith("upload1_q_")]     # nothing here changes the numbers
    load(at, wid, "test_runs")
    checks = EXPECTED["circleci_workflow_runs.csv"]["checks"]
    assert one(wid, "SELECT count(*) FROM test_runs") == checks["loaded_rows"]
    assert round(one(wid, "SELECT sum(duration_minutes) FROM test_runs"), 4) == checks["total_duration_minutes"]


def test_a_survey_with_three_header_rows():
    wid, at = uploaded("qualtrics_nps.csv", "surveys")
    assert at.selectbox(key="upload1_map_surveys_score").value == "Q1"
    lines = evidence_lines(at)
    assert "3 header rows (names, then question texts or import ids) read as one header" in lines
    # the third header row's import ids say the recorded times are in Denver's time
    assert ("The times in RecordedDate are in America/Denver: the file's row of import ids under the header says "
            "so — 85 % sure (asked below)") in lines
    assert answer(at, "surveys", "column:respondent_id").value == "ExternalReference"
    zone = answer(at, "surveys", "timezone")
    assert zone.value == "America/Denver" and zone.options[0] == "UTC — as written"
    assert captions(zone)[0] == "no row changes day; the first RecordedDate is 03 Apr 2024 10:11 UTC"
    denver = captions(zone)[zone.options.index("America/Denver")]
    assert denver == "0 of 7 rows fall on another day than in UTC; the first RecordedDate is 03 Apr 2024 16:11 UTC"
    load(at, wid, "surveys")
    checks = EXPECTED["qualtrics_nps.csv"]["checks"]
    assert one(wid, "SELECT count(*) FROM surveys") == checks["loaded_rows"]   # the question texts are no rows
    nps = one(wid, "SELECT 100.0 * (count(*) FILTER (WHERE score >= 9) - count(*) FILTER (WHERE score <= 6)) "
                   "/ count(*) FROM surveys")
    assert round(nps, 2) == checks["nps"]
    assert one(wid, "SELECT min(respondent_id) FROM surveys") == "u_10001"
    assert str(one(wid, "SELECT min(date) FROM surveys")) == "2024-04-03"


def test_an_issue_tracker_that_marks_only_production():
    wid, at = uploaded("github_issues.csv", "defects")
    lines = evidence_lines(at)
    # GitHub is one of the tools with a profile: its rules say the same as the general ones, more surely
    assert "Only issues labelled bug are defects — 97 % sure (asked below)" in lines
    assert "The stage is read from the labels — 97 % sure" in lines
    assert answer(at, "defects", "defects").value == "bugs"
    unstaged = answer(at, "defects", "unstaged")
    assert unstaged.value == "pre_release"     # production is marked: the other bugs were found before release
    load(at, wid, "defects")
    checks = EXPECTED["github_issues.csv"]["checks"]
    assert one(wid, "SELECT count(*) FROM defects") == checks["defect_count"]
    assert one(wid, "SELECT count(*) FROM defects WHERE stage = 'production'") == checks["production_defects"]
    assert one(wid, "SELECT count(*) FROM defects WHERE stage = 'pre_release'") == \
        checks["defect_count"] - checks["production_defects"]


