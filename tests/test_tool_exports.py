"""Real exports in, KPIs out: the ten tool exports of shared/fixtures/exports load with no manual
mapping and give the figures of expected.json; each format rule real exports need is tried on a
small hand-made file; the open questions show each option's effect; the user's corrections are
remembered; a clean file takes the one-pass typed read and gives what the validating path gives."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from kpi import ingest as ingest_module, tool_exports
from kpi.compute import compute
from kpi.detect import detect, detect_file, read_sample, sniff
from kpi.errors import InputError
from kpi.ingest import ingest_file, preview
from kpi.memory import header_signature, recall
from kpi.questions import questions_for
from kpi.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "exports"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text()) if (FIXTURES / "expected.json").exists() else {}
pytestmark = pytest.mark.skipif(not EXPECTED, reason="shared/fixtures/exports is not there")


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path / "team.duckdb")
    yield w
    w.close()


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def table(ws: Workspace, name: str) -> pd.DataFrame:
    return ws.df(f'SELECT * FROM "{name}"')


def kpi_value(ws: Workspace, kpi: str, period: str, grain: str = "month", as_of: str = "2024-04-30") -> float:
    frame = compute(ws, [kpi], grain=grain, as_of=as_of)
    row = frame[(frame["period"] == date.fromisoformat(period)) & frame["segment"].isna()]
    assert len(row) == 1, frame
    return float(row["value"].iloc[0])


def kpi_total(ws: Workspace, kpi: str, as_of: str = "2024-04-30") -> float:
    frame = compute(ws, [kpi], grain="month", as_of=as_of)
    return float(frame.loc[frame["segment"].isna(), "value"].fillna(0).sum())


def file_rows(name: str) -> int:
    """Data rows of an export as the tool wrote them (preamble, header and 'Total:' rows aside)."""
    layout = sniff(FIXTURES / name)
    return len(read_sample(layout, n=10**6)) - layout.footer_rows


def utc(value: str) -> pd.Timestamp | None:
    return None if value == "" else pd.Timestamp(value).tz_convert(None)


# --- every export: recognised, mapped, and giving its figures ---------------------------------------
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_export_is_recognised_with_its_mapping(name):
    want = EXPECTED[name]
    layout, found = detect_file(FIXTURES / name)
    assert found.dataset == want["dataset"], found.alternatives[:3]
    assert {k: found.mapping.get(k) for k in want["mapping"]} == want["mapping"]
    assert found.confidence >= 0.8
    assert found.tool is not None and want["tool"].startswith(found.tool.split()[0])
    assert all(0 < c <= 1 for c in found.column_confidence.values())
    assert layout.header_line == want["layout"]["header_line"]
    assert layout.encoding == want["layout"]["encoding"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_export_loads_without_a_mapping(ws, name):
    result = ingest_file(ws, FIXTURES / name)
    assert result.dataset == EXPECTED[name]["dataset"]
    assert file_rows(name) == EXPECTED[name]["checks"]["rows"]
    assert not any("Traceback" in w for w in result.warnings)


def test_stripe_subscriptions(ws):
    checks = EXPECTED["stripe_subscriptions.csv"]["checks"]
    result = ingest_file(ws, FIXTURES / "stripe_subscriptions.csv")
    assert result.rows == checks["rows"] and result.tool == "Stripe"
    assert result.derived["mrr"] == "amount / billing period"
    got = table(ws, "subscriptions")
    assert len(got) == len(checks["canonical_rows"])
    for want, (_, row) in zip(checks["canonical_rows"], got.iterrows()):
        assert row["customer_id"] == want["customer_id"]
        assert row["start_date"].date().isoformat() == want["start_date"]
        assert (row["end_date"].date().isoformat() if pd.notna(row["end_date"]) else "") == want["end_date"]
        assert row["mrr"] == pytest.approx(want["mrr"], abs=1e-4)
        assert (row["plan"], row["product"], row["billing_period"]) == (want["plan"], want["product"],
                                                                        want["billing_period"])
    assert round(kpi_value(ws, "mrr", "2024-04-30", grain="day"), 2) == checks["mrr_active_on_2024_04_30"]
    assert round(kpi_value(ws, "mrr", "2024-04-01"), 2) == checks["mrr_active_on_2024_04_30"]


def test_stripe_payments(ws):
    checks = EXPECTED["stripe_payments.csv"]["checks"]
    result = ingest_file(ws, FIXTURES / "stripe_payments.csv")
    assert result.left_out == {"failed payments are not revenue": checks["failed_rows"]}
    assert "1 row left out: failed payments are not revenue" in result.warnings
    amounts = table(ws, "payments")["amount"]
    assert amounts[amounts > 0].sum() == pytest.approx(checks["revenue_gross"])
    assert -amounts[amounts < 0].sum() == pytest.approx(checks["refunds"])
    assert kpi_total(ws, "revenue") == pytest.approx(checks["revenue_net"])
    refund = ws.rows("SELECT customer_id, date, amount FROM payments WHERE amount < 0")
    assert refund == [("cus_TOeKfC34U36TMq", date(2024, 3, 12), -49.0)]   # on the refund's own date


@pytest.mark.parametrize("name", ["mixpanel_events.csv", "posthog_events.csv"])
def test_analytics_events(ws, name):
    checks = EXPECTED[name]["checks"]
    result = ingest_file(ws, FIXTURES / name)
    assert result.rows == checks["identified_rows"]
    assert sum(result.left_out.values()) == checks["rows"] - checks["identified_rows"]
    if "distinct_users" in checks:
        assert kpi_value(ws, "active_users", "2024-04-01") == checks["distinct_users"]
    if "first_timestamp_utc" in checks:
        assert ws.rows('SELECT min("timestamp") FROM events')[0][0] == utc(checks["first_timestamp_utc"])
    if name == "mixpanel_events.csv":   # the ingest time in milliseconds is not the event's time
        assert result.mapping["timestamp"] == "time" and "mp_processing_time_ms" in result.extra_columns


def test_jira_only_bugs_are_defects_and_the_stage_comes_from_the_environment(ws):
    checks = EXPECTED["jira_issues.csv"]["checks"]
    result = ingest_file(ws, FIXTURES / "jira_issues.csv")
    assert result.rows == checks["defect_count"]
    assert result.left_out == {"only bugs are defects": checks["rows"] - checks["defect_count"]}
    got = ws.df("SELECT defect_id, CAST(found_date AS VARCHAR) AS found_date, stage, severity, component "
                "FROM defects")
    assert got.to_dict("records") == checks["defects"]
    assert ws.rows("SELECT count(*) FROM defects WHERE stage = 'production'")[0][0] == checks["production_defects"]
    # the repeated headers are all kept, under unique names
    assert {"Labels", "Labels_2", "Sprint", "Sprint_2", "Components_2"} <= set(ws.columns("defects"))
    # every issue a defect: production is marked, so an issue that is not was found before release
    every = ingest_file(ws, FIXTURES / "jira_issues.csv", answers={"defects": "all"})
    assert every.rows == checks["rows"] and every.answers["unstaged"] == "pre_release"
    assert ws.rows("SELECT count(*) FROM defects WHERE stage = 'production'")[0][0] == checks["production_defects"]
    left = ingest_file(ws, FIXTURES / "jira_issues.csv", answers={"defects": "all", "unstaged": "leave_out"})
    assert left.rows == checks["defect_count"] and left.incomplete == 7


def test_zendesk_in_the_account_time_zone(ws):
    checks = EXPECTED["zendesk_tickets.csv"]["checks"]
    result = ingest_file(ws, FIXTURES / "zendesk_tickets.csv", answers={"timezone": "Europe/Berlin"})
    assert result.rows == checks["rows"]
    got = table(ws, "tickets")
    for want, (_, row) in zip(checks["canonical_utc"], got.iterrows()):
        assert row["ticket_id"] == want["ticket_id"]
        assert row["created_at"] == utc(want["created_at"])
        assert row["first_response_at"] == utc(want["first_response_at"])
        assert (row["resolved_at"] if pd.notna(row["resolved_at"]) else None) == utc(want["resolved_at"])
        assert bool(row["escalated"]) == want["escalated"]
        assert row["customer_id"] == want["customer_id"]
    assert kpi_total(ws, "escalated_tickets") == checks["escalated"]
    # without the answer the times are taken as written (datasets.md), an hour later in UTC terms
    with Workspace(None) as fresh:
        ingest_file(fresh, FIXTURES / "zendesk_tickets.csv")
        assert table(fresh, "tickets")["created_at"].iloc[0] == pd.Timestamp("2024-03-04 10:12:33")


def test_statuspage_offsets_across_daylight_saving(ws):
    checks = EXPECTED["statuspage_incidents.csv"]["checks"]
    result = ingest_file(ws, FIXTURES / "statuspage_incidents.csv")
    assert result.rows == checks["resolved_rows"] and result.incomplete == 1
    got = table(ws, "incidents")
    for want, (_, row) in zip(checks["canonical_utc"], got.iterrows()):
        assert row["started_at"] == utc(want["started_at"]) and row["ended_at"] == utc(want["ended_at"])
        assert (row["service"], row["severity"]) == (want["service"], want["severity"])
    minutes = ws.rows("SELECT sum(epoch(ended_at - started_at)) / 60 FROM incidents")[0][0]
    assert round(minutes) == checks["total_downtime_minutes"]


def test_typeform_nps(ws):
    checks = EXPECTED["typeform_responses.csv"]["checks"]
    result = ingest_file(ws, FIXTURES / "typeform_responses.csv")
    assert result.rows == checks["completed"] and result.incomplete == checks["rows"] - checks["completed"]
    assert round(kpi_value(ws, "nps", "2024-04-01"), 2) == checks["nps"]


def test_google_ads_spend_without_the_total_rows(ws):
    checks = EXPECTED["google_ads_campaigns.csv"]["checks"]
    result = ingest_file(ws, FIXTURES / "google_ads_campaigns.csv")
    assert result.rows == checks["rows"]
    got = table(ws, "marketing")
    assert round(got["spend"].sum(), 2) == checks["total_spend"]
    assert got["visitors"].sum() == checks["total_clicks"]
    assert set(got["channel"]) == {"Google Ads"}          # the platform is the channel


def test_hubspot_contacts(ws):
    checks = EXPECTED["hubspot_contacts.csv"]["checks"]
    ingest_file(ws, FIXTURES / "hubspot_contacts.csv")
    got = ws.df("SELECT customer_id, CAST(signup_date AS VARCHAR) AS signup_date, channel, "
                "coalesce(CAST(converted_date AS VARCHAR), '') AS converted_date FROM customers")
    assert got.to_dict("records") == checks["canonical"]
    assert table(ws, "customers")["Record ID"].iloc[0] == "39779100000"   # an id stays text


def test_cli_loads_all_ten_with_no_mapping(tmp_path):
    data = tmp_path / "exports"
    shutil.copytree(FIXTURES, data)
    run = subprocess.run([sys.executable, "-m", "kpi", "ingest", "--data", str(data), "--workspace",
                          str(tmp_path / "tmp.duckdb")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 10
    with Workspace(tmp_path / "tmp.duckdb", read_only=True) as ws:
        assert set(ws.datasets()) == {e["dataset"] for e in EXPECTED.values()}
        assert ws.row_count("events") == 28 + 28   # Mixpanel, then PostHog appended


def test_cli_refuses_a_file_it_cannot_place(tmp_path):
    data = tmp_path / "exports"
    data.mkdir()
    write(data, "export.csv", "Customer ID,Price,Colour\nc1,5,red\n")
    run = subprocess.run([sys.executable, "-m", "kpi", "ingest", "--data", str(data), "--workspace",
                          str(tmp_path / "tmp.duckdb")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2
    assert "export.csv: no dataset fits: closest are" in run.stderr
    assert "(missing date)" in run.stderr and "Traceback" not in run.stderr


# --- the questions, with each option's effect ---------------------------------------------------------
def test_trial_question_shows_the_mrr_of_each_option():
    qs = {q.id: q for q in questions_for(FIXTURES / "stripe_subscriptions.csv")}
    trial = qs["trial"]
    assert trial.default == "trial_end"
    assert trial.option("trial_end").effect == "MRR would be 418.67 on 2024-04-30"
    assert trial.option("start").effect == "MRR would be 467.67 on 2024-04-30"
    assert "date_column:start_date" not in qs    # three start columns, the same MRR: not asked


def test_questions_of_the_other_exports():
    defects = {q.id: q for q in questions_for(FIXTURES / "jira_issues.csv")}["defects"]
    assert [o.value for o in defects.options] == ["bugs", "all"]
    assert "9 defects, 4 found in production" in defects.option("bugs").effect
    signup = {q.id: q for q in questions_for(FIXTURES / "hubspot_contacts.csv")}["date_column:signup_date"]
    assert signup.default == "Create Date"
    assert signup.option("Create Date").effect == "12 sign-ups, 2 of them in 2024-04"
    assert signup.option("Became a Customer Date").effect.startswith("9 sign-ups")
    zone = {q.id: q for q in questions_for(FIXTURES / "zendesk_tickets.csv")}["timezone"]
    assert zone.default == "UTC"
    assert zone.option("Europe/Berlin").effect == "the first created at would be 2024-03-02 12:01 UTC"
    anonymous = {q.id: q for q in questions_for(FIXTURES / "mixpanel_events.csv")}["anonymous"]
    assert anonymous.option("leave_out").effect.startswith("11 users, 28 events")
    assert anonymous.option("keep").effect == "12 users, 29 events"
    assert questions_for(FIXTURES / "google_ads_campaigns.csv") == []


def test_cents_or_units(ws, tmp_path):
    src = write(tmp_path, "invoices.csv", "customer_id,date,amount\nc1,2025-01-03,4900\nc2,2025-01-09,1990\n"
                                          "c3,2025-02-01,4900\n")
    unit = {q.id: q for q in questions_for(src)}["amount_unit"]
    assert unit.default == "cents"     # whole numbers of a few thousand: cents, and asked
    assert "Amounts look like cents: all integers, median 4,900" in unit.help
    assert unit.option("units").effect == "revenue would be 11,790.00 from 3 rows"
    assert unit.option("cents").effect == "revenue would be 117.90 from 3 rows"
    ingest_file(ws, src)
    assert table(ws, "payments")["amount"].tolist() == [49.0, 19.9, 49.0]
    ingest_file(ws, src, answers={"amount_unit": "units"})
    assert table(ws, "payments")["amount"].tolist() == [4900.0, 1990.0, 4900.0]
    # a header that says cents is read as cents unless told otherwise
    src = write(tmp_path, "charges.csv", "customer_id,date,amount_cents\nc1,2025-01-03,4900\n")
    assert ingest_file(ws, src).answers["amount_unit"] == "cents"
    assert table(ws, "payments")["amount"].tolist() == [49.0]
    # a subscription's MRR follows its amount
    src = write(tmp_path, "subs.csv", "customer_id,start_date,unit_amount,interval\nc1,2025-01-01,12000,year\n")
    ingest_file(ws, src, answers={"amount_unit": "cents"})
    assert table(ws, "subscriptions")["mrr"].tolist() == [10.0]
    # small decimal amounts raise no question
    src = write(tmp_path, "paid.csv", "customer_id,date,amount\nc1,2025-01-03,49.00\n")
    assert questions_for(src) == []


def test_day_or_month_first(ws, tmp_path):
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\nc1,03/04/2025,1\nc2,05/06/2025,1\n")
    q = {q.id: q for q in questions_for(src)}["date_order:date"]
    assert q.default == "month_first"
    assert q.option("month_first").effect == "the first dates would be 04 Mar 2025, 06 May 2025"
    assert q.option("day_first").effect == "the first dates would be 03 Apr 2025, 05 Jun 2025"
    result = ingest_file(ws, src, answers={"date_order:date": "day_first"})
    assert [d.date() for d in table(ws, "payments")["date"]] == [date(2025, 4, 3), date(2025, 6, 5)]
    assert result.ambiguous_dates == []


def test_bad_answers_are_refused(ws, tmp_path):
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\nc1,2025-01-01,1\n")
    with pytest.raises(InputError, match="'Mars/Olympus' is not a time zone"):
        ingest_file(ws, src, answers={"timezone": "Mars/Olympus"})
    with pytest.raises(InputError, match="'maybe' is not an answer to 'amount_unit'"):
        ingest_file(ws, src, answers={"amount_unit": "maybe"})


# --- memory: next month's export maps itself ----------------------------------------------------------
def test_corrections_are_remembered_per_header(ws, tmp_path):
    march = write(tmp_path, "billing_march.csv", "Client,Booked On,Net,Gross\nc1,2025-03-01,5,6\n")
    with pytest.raises(InputError, match="no dataset fits"):
        ingest_file(ws, march)
    ingest_file(ws, march, dataset="payments", mapping={"customer_id": "Client", "date": "Booked On",
                                                        "amount": "Gross"})
    april = write(tmp_path, "billing_april.csv", "Client,Booked On,Net,Gross\nc2,2025-04-01,7,8\n")
    layout, found = detect_file(april, ws=ws)
    assert found.dataset == "payments" and found.remembered and found.confidence == 1.0
    assert found.mapping == {"customer_id": "Client", "date": "Booked On", "amount": "Gross"}
    result = ingest_file(ws, april)                    # no mapping given: the memory maps it
    assert result.mapping["amount"] == "Gross" and table(ws, "payments")["amount"].tolist() == [8.0]
    doc = ws.doc("mapping_memory")
    assert list(doc["entries"]) == [header_signature(["Client", "Booked On", "Net", "Gross"])]
    # the same tool with its columns in another order and one more column is still recognised
    may = write(tmp_path, "billing_may.csv", "Gross,Client,Booked On,Net,Tax\n9,c3,2025-05-01,8,1\n")
    assert recall(ws, sniff(may).columns).exact is False
    assert ingest_file(ws, may).mapping["amount"] == "Gross"


def test_answers_are_remembered_too(ws):
    ingest_file(ws, FIXTURES / "zendesk_tickets.csv", answers={"timezone": "Europe/Berlin"})
    again = ingest_file(ws, FIXTURES / "zendesk_tickets.csv")
    assert again.answers["timezone"] == "Europe/Berlin"
    assert table(ws, "tickets")["created_at"].iloc[0] == pd.Timestamp("2024-03-04 09:12:33")


# --- the formats of real exports, one small file each ---------------------------------------------
def test_preamble_and_total_rows(ws, tmp_path):
    src = write(tmp_path, "linkedin.csv",
                "Campaign Performance Report (in UTC)\nReport Start: 4/1/2024\nReport End: 4/2/2024\n"
                "Start Date (in UTC),Account Name,Campaign Group Name,Campaign Name,Total Spent,Impressions,Clicks\n"
                "4/1/2024,Acme,Brand,Spring,\"1,204.50\",\"10,000\",120\n4/2/2024,Acme,Brand,Spring,$95.50,900,30\n"
                "Total,,,,\"1,300.00\",\"10,900\",150\n")
    layout = sniff(src)
    assert (layout.header_line, layout.footer_rows) == (4, 1)
    result = ingest_file(ws, src)
    assert result.tool == "LinkedIn Ads" and result.rows == 2
    got = table(ws, "marketing")
    assert got["spend"].tolist() == [1204.5, 95.5] and got["channel"].tolist() == ["LinkedIn Ads"] * 2
    assert got["visitors"].tolist() == [120, 30]


def test_two_header_rows_and_a_question_as_the_score_header(ws, tmp_path):
    src = write(tmp_path, "monkey.csv",
                "Respondent ID,Collector ID,Start Date,End Date,How likely is it that you would recommend Acme "
                "to a friend or colleague?,Which features do you use?,,\n"
                ",,,,Response,Dashboards,Reports,Other (please specify)\n"
                "114277778410,431277000,04/03/2024 10:10:29 AM,04/03/2024 10:11:12 AM,9,Dashboards,,\n"
                "114277778411,431277000,04/13/2024 09:00:00 PM,04/13/2024 09:05:00 PM,3,,Reports,export\n")
    layout = sniff(src)
    assert layout.header_rows == 2 and layout.data_line == 3
    assert layout.columns[4].startswith("How likely") and layout.columns[6] == "Which features do you use? - Reports"
    result = ingest_file(ws, src)
    assert result.tool == "SurveyMonkey" and result.mapping["score"].startswith("How likely")
    got = table(ws, "surveys")
    assert got["score"].tolist() == [9.0, 3.0]
    assert [d.date() for d in got["date"]] == [date(2024, 4, 3), date(2024, 4, 13)]
    assert got["respondent_id"].tolist() == ["114277778410", "114277778411"]   # ids stay text


def test_score_found_by_its_values_when_the_question_is_unusual(tmp_path):
    headers = ["Submitted", "Would you tell a friend about us?", "Comment"]
    sample = pd.DataFrame({"Submitted": ["2025-01-01"] * 3, "Would you tell a friend about us?": ["9", "10", "4"],
                           "Comment": ["ok", "", "meh"]})
    found = detect(headers, sample)
    assert found.dataset == "surveys" and found.mapping["score"] == "Would you tell a friend about us?"
    assert found.column_confidence["score"] == 0.5


def test_bom_crlf_and_repeated_headers(ws, tmp_path):
    src = tmp_path / "defects.csv"
    src.write_bytes("\ufeffdefect_id,found_date,stage,Labels,Labels\r\nD-1,2025-01-02,production,ui,customer\r\n"
                    "D-2,2025-01-03,qa,,\r\n".encode())
    layout = sniff(src)
    assert layout.encoding == "utf-8-sig" and layout.columns == ("defect_id", "found_date", "stage", "Labels",
                                                                  "Labels_2")
    ingest_file(ws, src)
    got = table(ws, "defects")
    assert got["defect_id"].tolist() == ["D-1", "D-2"]
    assert got["Labels_2"].iloc[0] == "customer" and pd.isna(got["Labels_2"].iloc[1])   # no '\r' stuck
    assert got["stage"].tolist() == ["production", "pre_release"]


def test_thousands_separators_and_currency_signs(ws, tmp_path):
    src = write(tmp_path, "payments.csv", 'customer_id,date,amount\nc1,2025-01-01,"€1.234,50"\n'
                                          'c2,2025-01-02,"€ 12,00"\nc3,2025-01-03,"-€3,25"\n')
    ingest_file(ws, src)
    assert table(ws, "payments")["amount"].tolist() == [1234.5, 12.0, -3.25]


def test_epoch_seconds_milliseconds_microseconds(ws, tmp_path):
    src = write(tmp_path, "events.csv", "user_id,timestamp,event\nu1,1712046652,a\nu1,1712046652123,b\n"
                                        "u1,1712046652123456,c\n")
    ingest_file(ws, src)
    assert table(ws, "events")["timestamp"].tolist() == [
        pd.Timestamp("2024-04-02 08:30:52"), pd.Timestamp("2024-04-02 08:30:52.123"),
        pd.Timestamp("2024-04-02 08:30:52.123456")]


def test_offsets_and_zone_names(ws, tmp_path):
    src = write(tmp_path, "events.csv", "user_id,timestamp,event\n"
                "u1,2024/04/03 10:10:29 AM GMT+2,a\nu1,2024-03-01 09:00 PST,b\nu1,2024-07-01 09:00:00 CEST,c\n"
                "u1,2024-03-19T00:38:20.512-07:00,d\nu1,2024-01-05 12:00 UTC,e\nu1,2024-01-05 01:00 GMT-05:30,f\n")
    ingest_file(ws, src)
    assert table(ws, "events")["timestamp"].tolist() == [
        pd.Timestamp("2024-04-03 08:10:29"), pd.Timestamp("2024-03-01 17:00"), pd.Timestamp("2024-07-01 07:00"),
        pd.Timestamp("2024-03-19 07:38:20.512"), pd.Timestamp("2024-01-05 12:00"), pd.Timestamp("2024-01-05 06:30")]
    bad = write(tmp_path, "events.csv", "user_id,timestamp,event\nu1,2024-03-01 09:00 XYZ,b\n")
    with pytest.raises(InputError, match="line 2, column timestamp: '2024-03-01 09:00 XYZ' is not a date and time"):
        ingest_file(ws, bad)


def test_ids_that_look_like_numbers_or_times_stay_text(ws, tmp_path):
    src = write(tmp_path, "events.csv", "user_id,timestamp,event,session_id\n00042,2024-04-02 08:00:00,a,1712046652123\n"
                                        "20240101,2024-04-02 09:00:00,b,1712046652124\n")
    result = ingest_file(ws, src)
    got = table(ws, "events")
    assert got["user_id"].tolist() == ["00042", "20240101"]
    assert got["session_id"].tolist() == ["1712046652123", "1712046652124"]
    assert result.fast


@pytest.mark.parametrize("true, false", [("TRUE", "FALSE"), ("Yes", "No"), ("y", "n"), ("1", "0"), ("t", "f"),
                                         ("on", "off"), ("checked", "unchecked"), ("x", ""), ("✓", "✗"),
                                         ("ja", "nein"), ("enabled", "disabled")])
def test_booleans_of_every_spelling(ws, tmp_path, true, false):
    src = write(tmp_path, "tickets.csv", f"ticket_id,created_at,escalated\nt1,2025-01-01 10:00,{true}\n"
                                         f"t2,2025-01-01 11:00,{false}\n")
    ingest_file(ws, src)
    got = table(ws, "tickets")["escalated"].tolist()
    assert got[0] is True or got[0] == True  # noqa: E712 - numpy bool
    assert (pd.isna(got[1]) if false == "" else got[1] == False)  # noqa: E712


def test_amount_per_billing_period_with_quantity(ws, tmp_path):
    src = write(tmp_path, "subscriptions.csv", "customer_id,start_date,plan_unit_price,billing_cycle,seats\n"
                                               "a,2025-01-01,1200,annual,2\nb,2025-01-01,90,quarterly,1\n"
                                               "c,2025-01-01,10,monthly,\n")
    result = ingest_file(ws, src)
    assert result.derived == {"mrr": "amount / billing period"} and result.mapping["quantity"] == "seats"
    assert table(ws, "subscriptions")["mrr"].tolist() == [200.0, 30.0, 10.0]


def test_stripe_rules_on_a_small_file(ws, tmp_path):
    header = ("id,Customer ID,Plan,Product,Quantity,Interval,Amount,Status,Start Date (UTC),"
              "Current Period End (UTC),Trial End (UTC),Cancel At Period End,Ended At (UTC)\n")
    src = write(tmp_path, "subs.csv", header +
                "s1,c1,p,pr,1,month,10.00,active,2024-01-01 00:00:00,2024-05-01 00:00:00,,true,\n"
                "s2,c2,p,pr,1,month,10.00,canceled,2024-01-01 00:00:00,2024-03-01 00:00:00,,false,"
                "2024-02-15 00:00:00\n"
                "s3,c3,p,pr,1,month,10.00,incomplete_expired,2024-01-01 00:00:00,2024-02-01 00:00:00,,false,\n"
                "s4,c4,p,pr,2,year,120.00,trialing,2024-04-01 00:00:00,2024-04-15 00:00:00,2024-04-15 00:00:00,false,\n")
    result = ingest_file(ws, src)
    assert result.tool == "Stripe"
    assert result.left_out == {"incomplete subscriptions never started paying": 1}
    got = ws.df("SELECT customer_id, CAST(start_date AS VARCHAR) s, coalesce(CAST(end_date AS VARCHAR), '') e, mrr "
                "FROM subscriptions")
    assert got.values.tolist() == [["c1", "2024-01-01", "2024-05-01", 10.0], ["c2", "2024-01-01", "2024-02-15", 10.0],
                                   ["c4", "2024-04-15", "", 20.0]]


def test_refunds_and_failed_payments_on_a_small_file(ws, tmp_path):
    src = write(tmp_path, "charges.csv",
                "id,Created date (UTC),Amount,Amount Refunded,Captured,Status,Customer ID,Refunded date (UTC)\n"
                "ch1,2024-01-05 10:00:00,100.00,30.00,true,Paid,c1,2024-02-01 09:00:00\n"
                "ch2,2024-01-06 10:00:00,50.00,0.00,false,Failed,c2,\n"
                "ch3,2024-01-07 10:00:00,20.00,20.00,true,Refunded,c3,\n")
    result = ingest_file(ws, src)
    assert result.left_out == {"failed payments are not revenue": 1}
    got = ws.df("SELECT customer_id, CAST(date AS VARCHAR) d, amount FROM payments ORDER BY customer_id, amount")
    assert got.values.tolist() == [["c1", "2024-02-01", -30.0], ["c1", "2024-01-05", 100.0],
                                   ["c3", "2024-01-07", -20.0], ["c3", "2024-01-07", 20.0]]


def test_issue_tracker_with_bugs_in_labels(ws, tmp_path):
    src = write(tmp_path, "linear.csv",
                "ID,Team,Title,Status,Estimate,Priority,Labels,Cycle Number,Created\n"
                'ENG-1,Core,Crash,Done,3,Urgent,"Bug, Customer Reported",4,2024-03-01T10:00:00.000Z\n'
                'ENG-2,Core,Typo,Done,1,Low,"Bug, QA",4,2024-03-02T10:00:00.000Z\n'
                "ENG-3,Core,New report,Done,5,Medium,Feature,4,2024-03-03T10:00:00.000Z\n"
                "ENG-4,Core,Flaky,Done,1,Low,Bug,4,2024-03-04T10:00:00.000Z\n")
    result = ingest_file(ws, src)
    assert result.tool == "Linear" and result.left_out == {"only issues labelled Bug are defects": 1}
    # ENG-4, a bug whose labels name no stage: production is marked on others, so it was found before release
    assert result.incomplete == 0 and result.answers["unstaged"] == "pre_release"
    assert table(ws, "defects")[["defect_id", "stage", "severity"]].values.tolist() == [
        ["ENG-1", "production", "Urgent"], ["ENG-2", "pre_release", "Low"], ["ENG-4", "pre_release", "Low"]]
    again = ingest_file(ws, src, answers={"unstaged": "leave_out"})
    assert again.rows == 2 and again.incomplete == 1


def test_a_user_mapping_overrides_the_profile(ws):
    result = ingest_file(ws, FIXTURES / "stripe_payments.csv", mapping={"amount": "Converted Amount"})
    assert result.mapping["amount"] == "Converted Amount" and result.tool == "Stripe"
    assert kpi_total(ws, "revenue") == pytest.approx(3089.0)


def test_preview_applies_the_profile(tmp_path):
    frame = preview(FIXTURES / "google_ads_campaigns.csv", n=3)
    assert frame["channel"].tolist() == ["Google Ads"] * 3
    frame = preview(FIXTURES / "jira_issues.csv", n=20)
    assert len(frame) == 9 and set(frame["stage"]) == {"production", "pre_release"}


def test_every_profile_is_well_formed():
    problems = []
    for p in tool_exports.PROFILES:
        if p.dataset not in {d for d in ["events", "customers", "subscriptions", "payments", "marketing", "surveys",
                                          "defects", "tickets", "incidents"]}:
            problems.append(f"{p.tool}: unexpected dataset {p.dataset}")
        if len(p.signature) < 2:
            problems.append(f"{p.tool}: a signature of one header is too weak")
        for rule in p.rows:
            if rule.question and rule.question not in ingest_module.RULE_QUESTIONS:
                problems.append(f"{p.tool}: unknown question {rule.question}")
        if not p.source:
            problems.append(f"{p.tool}: says nowhere where its layout comes from")
    assert problems == []


# --- speed: a clean file in one typed pass, with the same result as the validating path ------------
def test_a_clean_file_takes_the_typed_pass_and_gives_the_same_table(ws, tmp_path, monkeypatch):
    rows = "".join(f"u{i % 7},2025-01-{1 + i % 28:02d} 10:{i % 60:02d}:00,open,s{i % 5},{'a' if i % 2 else ''}\n"
                   for i in range(500))
    src = write(tmp_path, "events.csv", "user_id,timestamp,event,session_id,feature\n" + rows + " u9 ,2025-02-01T08:00:00+02:00,x,,\n")
    fast = ingest_file(ws, src)
    assert fast.fast and fast.rows == 501
    typed = table(ws, "events")
    monkeypatch.setattr(ingest_module, "_fast_reader", lambda plan, secret: None)
    slow = ingest_file(ws, src)
    assert not slow.fast
    pd.testing.assert_frame_equal(typed, table(ws, "events"))
    assert fast.warnings == slow.warnings
    assert typed["user_id"].iloc[-1] == "u9" and typed["timestamp"].iloc[-1] == pd.Timestamp("2025-02-01 06:00")


@pytest.mark.parametrize("body, message", [
    ("c1,2025-01-01,10\nc2,2025-01-02,n/a\n", "payments.csv, line 3, column amount: 'n/a' is not a number — "
                                              "fix the value or map amount to another column"),
    ("c1,2025-01-01,10\nc2,2025-13-45,1\n", "payments.csv, line 3, column date: '2025-13-45' is not a date — "
                                            "fix the value or map date to another column"),
    ("c1,2025-01-01,10\nc2,2025-01-02,inf\n", "payments.csv, line 3, column amount: 'inf' is not a number — "
                                              "fix the value or map amount to another column"),
])
def test_a_bad_value_after_a_clean_sample_gets_the_same_message(ws, tmp_path, body, message):
    clean = "".join(f"c{i},2025-01-01,{i}\n" for i in range(300))    # the sample sees only clean rows
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\n" + clean + body)
    with pytest.raises(InputError) as err:
        ingest_file(ws, src)
    line = int(message.split("line ")[1].split(",")[0]) + 300
    assert str(err.value) == message.replace("line 3", f"line {line:,}")
    assert ws.datasets() == []


def test_incomplete_rows_and_duplicates_are_still_counted(ws, tmp_path):
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\nc1,2025-01-01,10\nc1,2025-01-01,10\n,2025-01-02,5\n")
    result = ingest_file(ws, src)
    assert not result.fast and result.rows == 2
    assert "1 duplicate row (exact copies of another row) was kept" in result.warnings
    assert any("1 row without a value in a required column" in w for w in result.warnings)
    clean = write(tmp_path, "payments.csv", "customer_id,date,amount\nc1,2025-01-01,10\nc1,2025-01-01,10\n")
    result = ingest_file(ws, clean)
    assert result.fast and "1 duplicate row (exact copies of another row) was kept" in result.warnings
    more = write(tmp_path, "payments_feb.csv", "customer_id,date,amount\nc1,2025-01-01,10\nc2,2025-02-01,3\n")
    result = ingest_file(ws, more, mode="append")
    assert result.fast and result.rows == 2
    # the two copies loaded before and the one appended are one row now (append drops exact duplicates)
    assert "2 duplicate rows (exact copies of rows already loaded) were left out" in result.warnings


def test_fast_timestamps_are_utc_like_the_slow_path(ws, tmp_path):
    src = write(tmp_path, "tickets.csv", "ticket_id,created_at,resolved_at,escalated\n"
                                         "t1,2025-03-30T01:30:00+01:00,2025-03-30 05:00:00,true\n"
                                         "t2,2025-03-30 02:30:00Z,,false\n")
    result = ingest_file(ws, src)
    assert result.fast
    got = table(ws, "tickets")
    assert got["created_at"].tolist() == [pd.Timestamp("2025-03-30 00:30"), pd.Timestamp("2025-03-30 02:30")]
    assert got["escalated"].tolist() == [True, False]
    assert isinstance(got["created_at"].iloc[0], datetime)


# --- tools without a profile of their own -------------------------------------------------------------
def test_an_ad_platform_named_by_the_file_name_is_the_channel(ws, tmp_path):
    src = write(tmp_path, "tiktok_ads_april.csv", "Date,Campaign name,Cost,Clicks\n2024-04-01,Spring,12.50,40\n")
    result = ingest_file(ws, src)
    assert table(ws, "marketing")["channel"].tolist() == ["TikTok Ads"]
    src = write(tmp_path, "facebook_spend.csv", "Date,Source,Cost,Clicks\n2024-04-01,fb,12.50,40\n")
    ingest_file(ws, src)
    assert table(ws, "marketing")["channel"].tolist() == ["fb"]       # a channel column of its own wins


def test_any_issue_tracker_that_marks_its_bugs(ws, tmp_path):
    src = write(tmp_path, "shortcut_stories.csv",
                "id,name,type,labels,created_at,state\n"
                "101,Crash on save,bug,\"customer-reported, ui\",2024-03-01T10:00:00Z,Done\n"
                "102,New chart,feature,,2024-03-02T10:00:00Z,Done\n"
                "103,Typo,bug,qa,2024-03-03T10:00:00Z,Done\n")
    result = ingest_file(ws, src)
    assert result.dataset == "defects"
    assert result.left_out == {"only issues whose type is Bug are defects": 1}
    assert table(ws, "defects")[["defect_id", "stage"]].values.tolist() == [["101", "production"],
                                                                          ["103", "pre_release"]]


def test_unknown_question_is_refused(ws, tmp_path):
    src = write(tmp_path, "payments.csv", "customer_id,date,amount\nc1,2025-01-01,1\n")
    with pytest.raises(InputError, match="there is no question 'timezon'"):
        ingest_file(ws, src, answers={"timezon": "UTC"})
