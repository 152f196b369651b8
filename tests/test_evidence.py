"""One small hand-made file per kind of evidence: each decides what it should, with its evidence kept."""
from __future__ import annotations

from pathlib import Path

import pytest

from kpi.detect import detect_file
from kpi.ingest import ingest_file
from kpi.workspace import Workspace


@pytest.fixture
def ws():
    w = Workspace(None)
    yield w
    w.close()


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_quoted_integer_cents_beside_epoch_times(ws, tmp_path):
    src = write(tmp_path, "charges.csv", 'customer,created,amount\nc1,1711962000,"4900"\nc2,1712048400,"1900"\n')
    _, found = detect_file(src)
    unit = next(d for d in found.decisions if d.topic == "amount_unit")
    assert unit.choice == "cents" and "median 3,400" in unit.evidence and "epoch times" in unit.evidence
    ingest_file(ws, src)
    assert ws.rows("SELECT sum(amount) FROM payments")[0][0] == pytest.approx(68.0)


def test_durations_written_hh_mm_ss_under_a_header_in_hours(ws, tmp_path):
    src = write(tmp_path, "tickets.csv", "Ticket ID,Created time,First response time (in hrs)\n"
                                         "1,2024-04-01 10:00:00,02:30:00\n2,2024-04-01 11:00:00,00:15:00\n")
    ingest_file(ws, src)
    assert ws.rows("SELECT first_response_at FROM tickets ORDER BY ticket_id")[0][0].strftime("%H:%M") == "12:30"


def test_minus_one_in_a_session_id_is_no_session(ws, tmp_path):
    src = write(tmp_path, "events.csv", "user_id,event_time,event_type,session_id\n"
                                        "u1,2024-04-01 10:00:00,open,1711965600000\nu1,2024-04-01 10:05:00,push,-1\n")
    _, found = detect_file(src)
    assert any(d.topic == "sentinel" for d in found.decisions)
    ingest_file(ws, src)
    assert ws.rows("SELECT count(session_id) FROM events")[0][0] == 1


def test_billing_period_as_count_times_unit_and_from_the_plan_name(ws, tmp_path):
    src = write(tmp_path, "subs.csv", "customer_id,start_date,price,interval,interval_unit\n"
                                      "a,2024-01-01,300,3,month\nb,2024-01-01,120,1,year\n")
    ingest_file(ws, src)
    assert sorted(r[0] for r in ws.rows("SELECT mrr FROM subscriptions")) == [10.0, 100.0]
    src = write(tmp_path, "plans.csv", "customer_id,start_date,price,plan_code\na,2024-01-01,1200,pro-annual\n"
                                       "b,2024-01-01,50,pro-monthly\n")
    result = ingest_file(ws, src)
    assert result.answers["billing_period"] == "plan"
    assert sorted(r[0] for r in ws.rows("SELECT mrr FROM subscriptions")) == [50.0, 100.0]
    ingest_file(ws, src, answers={"billing_period": "month"})
    assert sorted(r[0] for r in ws.rows("SELECT mrr FROM subscriptions")) == [50.0, 1200.0]


def test_revenue_is_what_was_paid_not_the_total_due(ws, tmp_path):
    src = write(tmp_path, "invoices.csv", "customer_id,date,total,amount_due,amount_paid,amount_remaining\n"
                                          "a,2024-04-01,49.00,49.00,49.00,0.00\nb,2024-04-02,99.00,99.00,0.00,99.00\n")
    result = ingest_file(ws, src)
    assert result.mapping["amount"] == "amount_paid"
    assert ws.rows("SELECT sum(amount) FROM payments")[0][0] == pytest.approx(49.0)


def test_a_refund_type_makes_the_row_negative(ws, tmp_path):
    src = write(tmp_path, "tx.csv", "Customer ID,Created Datetime,Amount,Transaction Type\n"
                                    "a,2024-04-01,49.00,sale\na,2024-04-03,49.00,credit\n")
    ingest_file(ws, src)
    assert sorted(r[0] for r in ws.rows("SELECT amount FROM payments")) == [-49.0, 49.0]


def test_a_trial_row_without_an_activation_keeps_its_trial_end(ws, tmp_path):
    src = write(tmp_path, "subs.csv", "customer_id,activated_at,trial_started_at,trial_ended_at,mrr\n"
                                      "a,2024-01-05,,,49\nb,,2024-04-01,2024-04-15,49\n")
    result = ingest_file(ws, src)
    assert result.rows == 2
    assert ws.rows("SELECT CAST(start_date AS VARCHAR) FROM subscriptions WHERE customer_id = 'b'")[0][0] == "2024-04-15"


def test_a_ci_run_list_is_test_runs_with_duration_from_two_times(ws, tmp_path):
    src = write(tmp_path, "runs.csv", "id,name,conclusion,head_branch,run_started_at,updated_at\n"
                                      "1,ci,success,main,2024-04-01T10:00:00Z,2024-04-01T10:08:00Z\n"
                                      "2,ci,failure,main,2024-04-02T10:00:00Z,2024-04-02T10:03:30Z\n")
    result = ingest_file(ws, src)
    assert result.dataset == "test_runs"
    assert sorted(r[0] for r in ws.rows("SELECT duration_minutes FROM test_runs")) == [3.5, 8.0]


def test_the_workspace_ids_decide_the_user_id(ws, tmp_path):
    ingest_file(ws, write(tmp_path, "customers.csv", "customer_id,signup_date\nu_1,2024-01-01\nu_2,2024-01-02\n"))
    src = write(tmp_path, "nps.csv", "Respondent ID,Submitted At,Score,Custom Variable 1\n"
                                     "r-9001,2024-04-01,9,u_1\nr-9002,2024-04-02,3,u_2\n")
    _, found = detect_file(src, ws=ws)
    assert found.mapping["respondent_id"] == "Custom Variable 1"
    assert any(d.topic == "user_id" and "ids already loaded" in d.evidence for d in found.decisions)


def test_a_file_it_cannot_place_names_the_closest_datasets(tmp_path):
    from kpi.detect import explain_no_match
    _, found = detect_file(write(tmp_path, "export.csv", "Customer ID,Price,Colour\nc1,5,red\n"))
    assert found.dataset is None and explain_no_match(found).startswith("no dataset fits: closest")
