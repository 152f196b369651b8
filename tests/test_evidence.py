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
    assert unit.choice == "cents" and "typically 3,400" in unit.evidence and "Unix times" in unit.evidence
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


# --- which column is the user id: asked where the workspace's ids and the header disagree or say little --------
def _customers(ws, tmp_path):
    ingest_file(ws, write(tmp_path, "customers.csv", "customer_id,signup_date\nu_1,2024-01-01\nu_2,2024-01-02\n"
                                                     "u_3,2024-01-03\n"))


def test_the_user_id_is_asked_where_the_loaded_ids_and_the_header_disagree(ws, tmp_path):
    from kpi.questions import questions_for
    _customers(ws, tmp_path)
    src = write(tmp_path, "nps.csv", "Respondent ID,Submitted At,Score,Custom Variable 1\n"
                                     "r-9001,2024-04-01,9,u_1\nr-9002,2024-04-02,3,u_2\nr-9003,2024-04-03,10,u_9\n")
    q = {q.id: q for q in questions_for(src, ws=ws)}["column:respondent_id"]
    assert q.default == "Custom Variable 1"     # two of its three values are customers: the evidence decides
    assert [o.value for o in q.options] == ["Custom Variable 1", "Respondent ID"]
    assert q.option("Custom Variable 1").effect == "2 of 3 rows (67 %) join to the customers and events already loaded"
    assert q.option("Respondent ID").effect == "0 of 3 rows (0 %) join to the customers and events already loaded"
    assert "by its header it would be Respondent ID" in q.help
    ingest_file(ws, src)
    assert sorted(r[0] for r in ws.rows("SELECT respondent_id FROM surveys")) == ["u_1", "u_2", "u_9"]
    ingest_file(ws, src, answers={"column:respondent_id": "Respondent ID"})
    assert sorted(r[0] for r in ws.rows("SELECT respondent_id FROM surveys")) == ["r-9001", "r-9002", "r-9003"]


def test_the_user_id_is_not_asked_where_the_ids_and_the_header_agree(ws, tmp_path):
    from kpi.questions import questions_for
    _customers(ws, tmp_path)
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\nu_1,2024-04-01,49.00\nu_2,2024-04-02,19.00\n")
    _, found = detect_file(src, ws=ws)
    said = next(d for d in found.decisions if d.topic == "user_id")
    assert said.question is None and said.evidence == ("the user id is customer_id: 100 % of its values are ids "
                                                       "already loaded in customers or events")
    assert not [q for q in questions_for(src, ws=ws) if q.id.startswith("column:")]
    # nothing loaded yet and a header that names the id plainly: nothing to ask either
    fresh = Workspace(None)
    assert not [q for q in questions_for(src, ws=fresh) if q.id.startswith("column:")]
    fresh.close()


def test_weak_id_evidence_is_asked_with_how_many_rows_join(ws, tmp_path):
    from kpi.questions import questions_for
    _customers(ws, tmp_path)
    # the tool's own customer number, and the app's id hidden in a reference column only one row fills in
    src = write(tmp_path, "orders.csv", "customer_id,created_at,total,reference\n501,2024-04-01,49.00,u_1\n"
                                        "502,2024-04-02,19.00,\n503,2024-04-03,19.00,\n")
    q = {q.id: q for q in questions_for(src, ws=ws)}["column:customer_id"]
    assert q.default == "customer_id" and "The user id is customer_id by its header only: 0 % of its values" in q.help
    assert q.option("customer_id").effect == "0 of 3 rows (0 %) join to the customers and events already loaded"
    # one value of three, and a customer: too empty to be the id, but offered with what it would cost
    assert q.option("reference").effect == ("1 of 1 rows (100 %) join to the customers and events already loaded; "
                                            "2 rows without a value in a required column are left out")


# --- the time zone of times written without one ----------------------------------------------------------------
def _zone_question(src, ws=None):
    from kpi.questions import questions_for
    return {q.id: q for q in questions_for(src, ws=ws)}.get("timezone")


def test_times_without_a_zone_near_midnight_ask_for_it_with_the_rows_each_zone_moves(ws, tmp_path):
    src = write(tmp_path, "tickets.csv", "Ticket ID,Created time\n1,2024-04-01 23:30:00\n2,2024-04-02 10:00:00\n"
                                         "3,2024-04-03 00:30:00\n")
    q = _zone_question(src)
    assert q.default == "UTC" and q.option("UTC").label == "UTC — as written"
    assert "say no time zone" in q.help and "read as UTC" in q.help
    # 23:30 in Berlin is 21:30 UTC (same day); 00:30 on 3 Apr in Berlin is 22:30 UTC on 2 Apr: one row moves
    assert q.option("Europe/Berlin").effect == ("1 of 3 rows fall on another day than in UTC; the first Created time "
                                                "is 01 Apr 2024 21:30 UTC")
    # 23:30 in New York is 03:30 UTC the next day; 10:00 is 14:00 UTC; 00:30 is 04:30 UTC: one row moves
    assert q.option("America/New_York").effect.startswith("1 of 3 rows fall on another day")
    ingest_file(ws, src, answers={"timezone": "America/New_York"})
    days = [r[0].day for r in ws.rows("SELECT created_at FROM tickets ORDER BY ticket_id")]
    assert days == [2, 2, 3]


def test_no_zone_question_where_the_file_says_the_zone_or_no_day_can_change(tmp_path):
    assert _zone_question(write(tmp_path, "t1.csv", "Ticket ID,Created time\n1,2024-04-01T23:30:00Z\n"
                                                    "2,2024-04-03T00:30:00Z\n")) is None
    assert _zone_question(write(tmp_path, "t2.csv", "Ticket ID,Created time\n1,2024-04-01 23:30:00+02:00\n"
                                                    "2,2024-04-03 00:30:00+02:00\n")) is None
    assert _zone_question(write(tmp_path, "t3.csv", "Ticket ID,Created time (UTC)\n1,2024-04-01 23:30:00\n"
                                                    "2,2024-04-03 00:30:00\n")) is None
    # dates without a time of day, and times at noon that no common zone moves to another day
    assert _zone_question(write(tmp_path, "payments.csv", "customer_id,date,amount\nc1,2024-04-01,5.00\n")) is None
    assert _zone_question(write(tmp_path, "t4.csv", "Ticket ID,Created time\n1,2024-04-01 12:00:00\n"
                                                    "2,2024-04-03 12:30:00\n")) is None


def test_a_column_that_names_the_zone_sets_the_default(ws, tmp_path):
    src = write(tmp_path, "tx.csv", "Customer ID,Created Datetime,Created Timezone,Amount\n"
                                    "c1,2024-04-01 23:30:00,America/New_York,49.00\n"
                                    "c2,2024-04-02 10:00:00,America/New_York,19.00\n")
    q = _zone_question(src)
    assert q.default == "America/New_York" and "Created Timezone says so" in q.help
    assert ingest_file(ws, src).answers["timezone"] == "America/New_York"
    assert ws.rows("SELECT min(date) FROM payments")[0][0].isoformat() == "2024-04-02"   # 03:30 UTC the next day
    utc = write(tmp_path, "tx_utc.csv", "Customer ID,Created Datetime,Created Timezone,Amount\n"
                                        "c1,2024-04-01 23:30:00,UTC,49.00\n")
    assert _zone_question(utc) is None
    _, found = detect_file(utc)
    assert any(d.evidence == "the times in Created Datetime are UTC: Created Timezone says so" for d in found.decisions)


def test_a_header_row_of_import_ids_names_the_zone(ws, tmp_path):
    src = write(tmp_path, "survey.csv",
                'RecordedDate,ResponseId,Q1\nRecorded Date,Response ID,How likely are you to recommend us?\n'
                '"{""ImportId"":""recordedDate"",""timeZone"":""Asia/Tokyo""}","{""ImportId"":""_recordId""}",'
                '"{""ImportId"":""QID1""}"\n2024-04-01 08:30:00,R_1,9\n2024-04-02 10:00:00,R_2,6\n')
    q = _zone_question(src)
    assert q.default == "Asia/Tokyo" and "the file's row of import ids under the header says so" in q.help
    assert q.option("Asia/Tokyo").effect.startswith("1 of 2 rows fall on another day")   # 08:30 in Tokyo is 23:30 UTC
    ingest_file(ws, src)
    assert sorted(r[0].isoformat() for r in ws.rows("SELECT date FROM surveys")) == ["2024-03-31", "2024-04-02"]


def test_the_cli_asks_the_user_id_and_the_zone_and_strict_refuses_until_answered(tmp_path, capsys):
    import json
    from kpi.cli import main
    data = tmp_path / "exports"
    data.mkdir()
    write(data, "customers.csv", "customer_id,signup_date\nu_1,2024-01-01\nu_2,2024-01-02\n")
    target = tmp_path / "w.duckdb"
    assert main(["ingest", "--data", str(data / "customers.csv"), "--workspace", str(target)]) == 0
    src = write(data, "nps.csv", "Respondent ID,Submitted At,Score,Custom Variable 1\n"
                                 "r-1,2024-04-01 23:30:00,9,u_1\nr-2,2024-04-02 00:30:00,3,u_2\n")
    capsys.readouterr()
    assert main(["ingest", "--data", str(src), "--workspace", str(target), "--strict"]) == 2
    err = capsys.readouterr().err
    assert "[column:respondent_id] took 'Custom Variable 1'" in err and "[timezone] took 'UTC'" in err
    assert "--strict: these questions are not answered" in err and "nps.csv: timezone" in err
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"nps.csv": {"column:respondent_id": "Custom Variable 1",
                                               "timezone": "Europe/Berlin"}}))
    assert main(["ingest", "--data", str(src), "--workspace", str(target), "--strict", "--answers",
                 str(answers)]) == 0
    with Workspace(target) as w:
        assert sorted(r[0] for r in w.rows("SELECT respondent_id FROM surveys")) == ["u_1", "u_2"]
        assert sorted(r[0].isoformat() for r in w.rows("SELECT date FROM surveys")) == ["2024-04-01", "2024-04-01"]
