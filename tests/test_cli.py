"""`python -m kpi` as cli.md writes it down: commands, output formats, exit codes, messages."""
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kpi import catalog
from kpi.cli import main
from kpi.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_folder(tmp_path):
    """A folder of dataset files named after their dataset, with canonical headers."""
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "subscriptions.csv").write_text(
        "customer_id,start_date,end_date,mrr,plan\n"
        "a,2025-01-05,,100,pro\n"
        "b,2025-01-10,2025-03-01,50,basic\n"
        "c,2025-02-03,,30,basic\n")
    (folder / "payments.csv").write_text(
        "customer_id,date,amount\na,2025-01-05,100\nb,2025-01-10,50\nc,2025-02-03,30\na,2025-02-05,100\n")
    return folder


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_catalog_json_has_every_kpi_with_the_fields_of_cli_md(capsys):
    code, out, _ = run(capsys, "catalog", "--format", "json")
    records = json.loads(out)
    assert code == 0 and [r["id"] for r in records] == list(catalog.CATALOG)
    assert set(records[0]) == {"id", "name", "category", "unit", "direction", "kind", "leading", "input",
                               "qualitative", "perspective", "stages", "goals", "description", "formula", "needs"}
    assert isinstance(records[0]["leading"], bool) and isinstance(records[0]["needs"], list)


def test_catalog_csv_and_markdown(capsys):
    code, out, _ = run(capsys, "catalog", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == len(catalog.CATALOG) and rows[0]["id"] == "mrr"
    code, out, _ = run(capsys, "catalog", "--format", "markdown")
    assert code == 0 and "| `mrr` |" in out


def test_compute_json_from_a_folder(capsys, data_folder):
    code, out, _ = run(capsys, "compute", "--data", str(data_folder), "--kpi", "mrr", "--kpi", "revenue",
                       "--grain", "month", "--as-of", "2025-03-15", "--format", "json")
    rows = json.loads(out)
    assert code == 0
    assert set(rows[0]) == {"kpi", "grain", "period", "segment", "value", "partial"}
    mrr = {r["period"]: r["value"] for r in rows if r["kpi"] == "mrr"}
    # Jan: a 100 + b 50; Feb: + c 30; Mar 15: b ended on Mar 1 -> 100 + 30.
    assert mrr == {"2025-01-01": 150.0, "2025-02-01": 180.0, "2025-03-01": 130.0}
    revenue = {r["period"]: r["value"] for r in rows if r["kpi"] == "revenue"}
    assert revenue == {"2025-01-01": 150.0, "2025-02-01": 130.0, "2025-03-01": 0.0}
    assert [r["partial"] for r in rows if r["kpi"] == "mrr"] == [False, False, True]
    # The order is kpi, then period, then segment.
    assert [r["kpi"] for r in rows] == ["mrr"] * 3 + ["revenue"] * 3


def test_compute_csv_with_a_segment(capsys, data_folder):
    code, out, _ = run(capsys, "compute", "--data", str(data_folder), "--kpi", "mrr", "--segment", "plan",
                       "--as-of", "2025-02-28", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and list(rows[0]) == ["kpi", "grain", "period", "segment", "value", "partial"]
    by = {(r["period"], r["segment"]): float(r["value"]) for r in rows}
    assert by[("2025-02-01", "pro")] == 100.0 and by[("2025-02-01", "basic")] == 80.0


def test_compute_from_a_workspace_file_made_by_ingest(capsys, data_folder, tmp_path):
    ws_file = tmp_path / "team.duckdb"
    code, out, _ = run(capsys, "ingest", "--data", str(data_folder), "--workspace", str(ws_file))
    assert code == 0
    assert "payments.csv: payments, 4 rows" in out and "subscriptions.csv: subscriptions, 3 rows" in out
    code, out, _ = run(capsys, "compute", "--data", str(ws_file), "--kpi", "paying_customers",
                       "--as-of", "2025-02-28", "--start", "2025-02-01")
    assert code == 0 and json.loads(out) == [{"kpi": "paying_customers", "grain": "month", "period": "2025-02-01",
                                             "segment": None, "value": 3.0, "partial": False}]


@pytest.mark.parametrize("args, words", [
    (["compute", "--data", "/no/such/folder"], ["/no/such/folder", "no such file or folder"]),
    (["compute", "--data", "DATA", "--kpi", "mrrr"], ["mrrr", "did you mean mrr"]),
    (["compute", "--data", "DATA", "--grain", "decade"], ["invalid choice", "decade"]),
    (["compute", "--data", "DATA", "--as-of", "31/01/2025"], ["31/01/2025", "ISO"]),
    (["scorecard", "--data", "DATA", "--goals", "/no/goals.json"], ["goals.json"]),
])
def test_bad_input_exits_2_with_a_message(capsys, data_folder, args, words):
    args = [str(data_folder) if a == "DATA" else a for a in args]
    with pytest.raises(SystemExit) if "--grain" in args else _no_raise():
        code, out, err = run(capsys, *args)
        assert code == 2 and out == ""
        for w in words:
            assert w in err
    if "--grain" in args:
        err = capsys.readouterr().err
        assert all(w in err for w in words)


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_a_file_that_matches_no_dataset_is_refused_naming_the_closest(capsys, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "export.csv").write_text("customer_id,note\nK1,hello\n")
    code, out, err = run(capsys, "ingest", "--data", str(folder), "--workspace", str(tmp_path / "w.duckdb"))
    assert code == 2 and "export.csv" in err and "closest" in err and "missing" in err
    assert not (tmp_path / "w.duckdb").exists() or Workspace(tmp_path / "w.duckdb").datasets() == []


def test_a_bad_value_names_file_line_and_column(capsys, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "payments.csv").write_text("customer_id,date,amount\na,2025-01-01,10\nb,2025-01-02,n/a\n")
    code, _, err = run(capsys, "compute", "--data", str(folder))
    assert code == 2
    assert "payments.csv, line 3, column amount: 'n/a' is not a number" in err
    assert "Traceback" not in err


def write_goals(path, goals):
    path.write_text(json.dumps({"goals": goals}))
    return path


def test_scorecard_and_check(capsys, data_folder, tmp_path):
    # MRR: 150 at Jan 31 (baseline), 180 at Feb 28 (as of). Target 200 by Mar 31.
    # progress = (180 - 150) / (200 - 150) = 0.6; expected = 28 / 59 days = 0.47 -> on track.
    on_track = write_goals(tmp_path / "g1.json", [{"kpi": "mrr", "target": 200, "deadline": "2025-03-31",
                                                  "baseline": 150, "baseline_date": "2025-01-31"}])
    code, out, _ = run(capsys, "scorecard", "--data", str(data_folder), "--goals", str(on_track),
                       "--as-of", "2025-02-28")
    record = json.loads(out)[0]
    assert code == 0 and record["status"] == "on_track" and record["value"] == 180.0
    assert record["progress"] == pytest.approx(0.6) and record["expected"] == pytest.approx(28 / 59)
    assert list(record) == ["kpi", "grain", "period", "value", "previous", "change", "target", "deadline",
                            "baseline", "progress", "expected", "status", "alert", "projection", "target_kind",
                            "decided_by"]
    # MRR is a stock: its value is February's level on the as-of date; two months are no trend yet.
    assert (record["period"], record["previous"], record["change"]) == ("2025-02-01", 150.0, 30.0)
    assert (record["target_kind"], record["decided_by"], record["projection"]) == ("improvement", "pace", None)
    code, out, _ = run(capsys, "scorecard", "--data", str(data_folder), "--goals", str(on_track),
                       "--as-of", "2025-02-28", "--format", "markdown")
    assert code == 0 and "| Monthly recurring revenue |" in out and "On track" in out
    code, out, _ = run(capsys, "check", "--data", str(data_folder), "--goals", str(on_track), "--as-of", "2025-02-28")
    assert code == 0 and "fine" in out
    # The same target with an alert below 200: check exits 1 and names the goal.
    alert = write_goals(tmp_path / "g2.json", [{"kpi": "mrr", "target": 200, "deadline": "2025-03-31",
                                               "baseline": 150, "baseline_date": "2025-01-31", "alert_below": 190}])
    code, out, _ = run(capsys, "check", "--data", str(data_folder), "--goals", str(alert), "--as-of", "2025-02-28")
    assert code == 1 and out.startswith("mrr: alert: $180 is below the alert level of $190")
    assert "target $200 by 31 Mar 2025 (as of 28 Feb 2025)" in out


def test_scorecard_json_for_every_status_of_goals_md(capsys, data_folder, tmp_path):
    """Each JSON field as goals.md defines it, for a hold target, a missed one, one not started yet
    and one without a baseline. MRR (a stock): Jan 150, Feb 180, Mar 130 (b ends on 1 Mar)."""
    goals = write_goals(tmp_path / "g.json", [
        # Hold: keep MRR at or above 150 (B = T = 150). MRR is a stock, read on 15 Mar: 100 + 30 = 130
        # (b ended on 1 Mar), 20 short; at risk only up to eps + 10 % of 150 = 0.75 + 15 -> off track.
        {"kpi": "mrr", "target": 150, "deadline": "2025-06-30", "baseline": 150, "baseline_date": "2025-01-31"},
        # Deadline 28 Feb passed on 15 Mar: judged on February's 180 against 200 -> missed.
        {"kpi": "mrr", "target": 200, "deadline": "2025-02-28", "baseline": 150, "baseline_date": "2025-01-31"},
        # Set on 31 Mar, viewed as of 15 Mar: not started.
        {"kpi": "mrr", "target": 300, "deadline": "2025-09-30", "baseline": 130, "baseline_date": "2025-03-31"},
        # Revenue with a baseline date before the first payment: no baseline value to judge it on.
        {"kpi": "revenue", "target": 500, "deadline": "2025-12-31", "baseline_date": "2024-12-31"},
    ])
    code, out, _ = run(capsys, "scorecard", "--data", str(data_folder), "--goals", str(goals),
                       "--as-of", "2025-03-15")
    hold, missed, later, nothing = json.loads(out)
    assert code == 0
    assert (hold["status"], hold["target_kind"], hold["progress"], hold["decided_by"]) == \
        ("off_track", "hold", None, "pace")
    assert (hold["period"], hold["value"]) == ("2025-03-01", 130.0)
    assert (missed["status"], missed["decided_by"], missed["period"], missed["value"]) == \
        ("missed", "deadline", "2025-02-01", 180.0)
    assert missed["progress"] == pytest.approx((180 - 150) / (200 - 150)) and missed["expected"] == 1.0
    assert (later["status"], later["decided_by"], later["progress"]) == ("not_started", None, None)
    assert (nothing["status"], nothing["baseline"], nothing["decided_by"]) == ("no_data", None, None)
    # check: the hold off track, the missed goal and the one with no baseline need attention (exit 1);
    # the goal not started yet does not.
    code, out, _ = run(capsys, "check", "--data", str(data_folder), "--goals", str(goals), "--as-of", "2025-03-15")
    lines = out.strip().splitlines()
    assert code == 1 and len(lines) == 3
    assert lines[0].startswith("mrr: off track: $20.00 below the level to hold — value $130, hold at or above $150")
    assert lines[1].startswith("mrr: missed: $180 in Feb 2025, judged at the deadline")
    assert lines[2].startswith("revenue: no data: no baseline to measure from")


def test_a_deadline_not_after_the_baseline_date_is_bad_input(capsys, data_folder, tmp_path):
    goals = write_goals(tmp_path / "bad.json", [{"kpi": "mrr", "target": 200, "deadline": "2025-01-31",
                                                 "baseline": 150, "baseline_date": "2025-01-31"}])
    for command in ("scorecard", "check"):
        code, out, err = run(capsys, command, "--data", str(data_folder), "--goals", str(goals))
        assert code == 2 and out == ""
        assert str(goals) in err and "goal 1 (mrr)" in err and "not after the baseline date" in err
        assert "Traceback" not in err


def test_the_cli_is_a_real_program_that_reads_a_workspace_the_app_has_open(tmp_path, data_folder):
    """Run as cron would: a separate process, while another process holds the workspace file."""
    ws_file = tmp_path / "open.duckdb"
    holder = Workspace(ws_file)  # the app's server process holds the file
    from kpi.ingest import ingest_folder
    ingest_folder(holder, data_folder)
    result = subprocess.run([sys.executable, "-m", "kpi", "compute", "--data", str(ws_file), "--kpi", "mrr",
                             "--as-of", "2025-02-28", "--format", "csv"], capture_output=True, text=True, cwd=ROOT)
    holder.close()
    assert result.returncode == 0, result.stderr
    assert "reading a copy" in result.stderr
    assert "mrr,month,2025-02-01,,180.0,False" in result.stdout


def test_scorecard_reports_as_html_pdf_and_png(tmp_path, data_folder):
    """The app's one-page report from cron: HTML as text, PDF and PNG as bytes sent to a file."""
    goals = write_goals(tmp_path / "g.json", [{"kpi": "mrr", "target": 200, "deadline": "2025-03-31",
                                               "baseline": 150, "baseline_date": "2025-01-31"}])
    base = [sys.executable, "-m", "kpi", "scorecard", "--data", str(data_folder), "--goals", str(goals),
            "--as-of", "2025-02-28", "--format"]
    html = subprocess.run(base + ["html"], capture_output=True, text=True, cwd=ROOT)
    assert html.returncode == 0, html.stderr
    assert "<td>Monthly recurring revenue</td>" in html.stdout and "On track" in html.stdout
    for fmt, magic in (("pdf", b"%PDF"), ("png", b"\x89PNG")):
        out = tmp_path / f"report.{fmt}"
        with out.open("wb") as f:
            done = subprocess.run(base + [fmt], stdout=f, stderr=subprocess.PIPE, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        assert out.read_bytes().startswith(magic)


def test_compute_with_a_filter(capsys, tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "customers.csv").write_text("customer_id,signup_date,country\na,2025-01-05,DE\nb,2025-01-10,FR\n")
    (folder / "payments.csv").write_text("customer_id,date,amount\na,2025-01-10,100\nb,2025-01-12,50\n")
    code, out, _ = run(capsys, "compute", "--data", str(folder), "--kpi", "revenue", "--filter", "country=DE",
                       "--format", "json")
    assert code == 0 and [r["value"] for r in json.loads(out)] == [100.0]     # a's payment only
    code, _, err = run(capsys, "compute", "--data", str(folder), "--kpi", "revenue", "--filter", "country")
    assert code == 2 and "COLUMN=VALUE" in err


# --- edge cases: each ends with exit 2 and a message, never a traceback or a hang -----------------------
def test_swapped_data_and_workspace_are_refused(capsys, data_folder, tmp_path):
    ws_file = tmp_path / "team.duckdb"
    assert run(capsys, "ingest", "--data", str(data_folder), "--workspace", str(ws_file))[0] == 0
    payments = data_folder / "payments.csv"
    before = payments.read_bytes()
    for args in (["--data", str(ws_file), "--workspace", str(payments)],       # both swapped
                 ["--data", str(data_folder), "--workspace", str(payments)],   # a data file as the workspace
                 ["--data", str(ws_file), "--workspace", str(tmp_path / "other.duckdb")],
                 ["--data", str(data_folder), "--workspace", str(tmp_path / "new_payments.csv")]):
        code, out, err = run(capsys, "ingest", *args)
        assert code == 2 and out == "" and "did you swap --data and --workspace?" in err, (args, err)
    assert payments.read_bytes() == before and not (tmp_path / "new_payments.csv").exists()
    assert not (tmp_path / "other.duckdb").exists()


@pytest.mark.parametrize("option", ["--data", "--goals", "--map"])
def test_a_fifo_is_refused_at_once_not_read(tmp_path, data_folder, option):
    """A named pipe blocks a read until someone writes to it: cron would hang for ever."""
    import os
    fifo = tmp_path / ("payments.csv" if option == "--data" else "input.json")
    os.mkfifo(fifo)
    goals = write_goals(tmp_path / "g.json", [{"kpi": "mrr", "target": 200, "deadline": "2025-03-31"}])
    args = {"--data": ["compute", "--data", str(fifo)],
            "--goals": ["check", "--data", str(data_folder), "--goals", str(fifo)],
            "--map": ["ingest", "--data", str(data_folder), "--workspace", str(tmp_path / "w.duckdb"),
                      "--map", str(fifo)]}[option]
    done = subprocess.run([sys.executable, "-m", "kpi", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 2 and "not a regular file" in done.stderr and option in done.stderr
    assert "Traceback" not in done.stderr and goals.exists()


def test_a_deeply_nested_or_huge_number_goals_file_is_bad_input(capsys, data_folder, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text('{"goals": ' + "[" * 100_000 + "]" * 100_000 + "}")
    code, out, err = run(capsys, "check", "--data", str(data_folder), "--goals", str(deep))
    assert code == 2 and out == "" and "nested 100,001 levels deep" in err and "deep.json" in err
    digits = write_goals(tmp_path / "digits.json", [])
    digits.write_text('{"goals": [{"kpi": "mrr", "target": ' + "9" * 5000 + ', "deadline": "2025-03-31"}]}')
    code, out, err = run(capsys, "scorecard", "--data", str(data_folder), "--goals", str(digits))
    assert code == 2 and out == "" and "a number with thousands of digits" in err and "digits.json" in err
    mapping = tmp_path / "map.json"
    mapping.write_text("[" * 5000 + "]" * 5000)
    code, _, err = run(capsys, "ingest", "--data", str(data_folder), "--workspace", str(tmp_path / "w.duckdb"),
                       "--map", str(mapping))
    assert code == 2 and "nested 5,000 levels deep" in err


def test_start_after_end_is_bad_input(capsys, data_folder):
    code, out, err = run(capsys, "compute", "--data", str(data_folder), "--start", "2025-03-01", "--end", "2025-01-01")
    assert code == 2 and out == "" and "--start 2025-03-01 is after --end 2025-01-01" in err
    code, _, err = run(capsys, "compute", "--data", str(data_folder), "--start", "1 March")
    assert code == 2 and "--start '1 March' is not a date" in err


def test_a_workspace_the_app_holds_is_reported_as_held_and_no_copy_is_left(tmp_path, data_folder):
    """cron runs `check` every week while the app holds the file: each run reads a copy, and the copy
    goes when the command ends. An ingest into the held file is refused as held, not as damaged."""
    ws_file = tmp_path / "held.duckdb"
    holder = Workspace(ws_file)
    from kpi.ingest import ingest_folder
    ingest_folder(holder, data_folder)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**__import__("os").environ, "TMPDIR": str(scratch)}
    goals = write_goals(tmp_path / "g.json", [{"kpi": "mrr", "target": 200, "deadline": "2025-03-31",
                                               "baseline": 150, "baseline_date": "2025-01-31"}])
    try:
        for _ in range(2):
            done = subprocess.run([sys.executable, "-m", "kpi", "check", "--data", str(ws_file), "--goals", str(goals),
                                   "--as-of", "2025-02-28"], capture_output=True, text=True, cwd=ROOT, env=env)
            assert done.returncode == 0 and "reading a copy" in done.stderr, done.stderr
            assert list(scratch.iterdir()) == []
        done = subprocess.run([sys.executable, "-m", "kpi", "ingest", "--data", str(data_folder), "--workspace",
                               str(ws_file)], capture_output=True, text=True, cwd=ROOT, env=env)
        assert done.returncode == 2 and "is open in another program" in done.stderr, done.stderr
        assert "damaged" not in done.stderr and "Traceback" not in done.stderr
    finally:
        holder.close()


def test_a_custom_kpi_keeps_its_name_and_unit_in_the_digest_and_check(capsys, tmp_path):
    from kpi.custom import CustomKpi, Measure, save_custom_kpi
    from kpi.ingest import ingest_file
    ws_file = tmp_path / "team.duckdb"
    payments = tmp_path / "payments.csv"
    payments.write_text("customer_id,date,amount\n" + "".join(
        f"c{i},2025-0{1 + i % 2}-{1 + i % 28:02d},10\n" for i in range(1396)))   # 698 in January, 698 in February
    with Workspace(ws_file) as ws:
        ingest_file(ws, payments)
        save_custom_kpi(ws, CustomKpi("payments_made", "Payments made", Measure("payments", "count"), unit="count"))
    goals = write_goals(tmp_path / "g.json", [{"kpi": "payments_made", "target": 1000, "deadline": "2025-03-31",
                                               "alert_below": 700}])
    code, out, _ = run(capsys, "scorecard", "--data", str(ws_file), "--goals", str(goals), "--as-of", "2025-02-28",
                       "--format", "markdown")
    assert code == 0 and "| Payments made |" in out and "| 698 |" in out and "×" not in out
    code, out, _ = run(capsys, "check", "--data", str(ws_file), "--goals", str(goals), "--as-of", "2025-02-28")
    assert code == 1 and out.startswith("payments_made (Payments made):") and "value 698, target 1,000" in out


def test_ingest_names_implausible_dates_and_keeps_them_when_asked(capsys, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "payments.csv").write_text("customer_id,date,amount\na,1900-01-01,5\nb,2025-01-10,50\n")
    code, out, err = run(capsys, "ingest", "--data", str(folder), "--workspace", str(tmp_path / "w.duckdb"))
    assert code == 0 and "1 rows with an implausible date (before 1970" in out and "--keep-early-dates" in err
    code, out, err = run(capsys, "compute", "--data", str(tmp_path / "w.duckdb"), "--kpi", "revenue", "--grain", "year")
    assert code == 0 and [r["period"] for r in json.loads(out)] == ["2025-01-01"] and "before 1970" in err
    code, out, _ = run(capsys, "ingest", "--data", str(folder), "--workspace", str(tmp_path / "w.duckdb"),
                       "--keep-early-dates")
    assert code == 0 and "kept, as you chose" in out and "dates before 1970 are kept" in out
    code, out, err = run(capsys, "compute", "--data", str(tmp_path / "w.duckdb"), "--kpi", "revenue", "--grain", "year")
    years = [r["period"] for r in json.loads(out)]
    assert code == 0 and years[0] == "1900-01-01" and len(years) == 126 and err == ""


def test_a_gzip_bomb_is_refused_by_ingest_with_the_setting_to_raise(capsys, tmp_path):
    from test_hostile_files import gzip_of_one_row
    folder = tmp_path / "in"
    folder.mkdir()
    gzip_of_one_row(folder / "customers.csv.gz", 100)
    code, out, err = run(capsys, "ingest", "--data", str(folder), "--workspace", str(tmp_path / "w.duckdb"))
    assert code == 2 and out == "" and "customers.csv.gz" in err and "KPI_EXPLORER_MAX_RATIO" in err
