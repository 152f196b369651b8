"""Hostile files (tests/data/bad/): each one is either refused with a plain message that names the
file (and the line and column where there is one), or accepted with a known row count and known
warnings. A refused file leaves the workspace exactly as it was: same datasets, row counts,
contents of every table, data and plan versions. Never a raw traceback: only ``InputError``.

A header wider than 1,000 columns is refused before its names are scored.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from kpi.errors import InputError
from kpi.goals import GoalsDoc
from kpi.ingest import ingest_file
from kpi.store import save_goals
from kpi.workspace import Workspace

BAD = Path(__file__).parent / "data" / "bad"
sys.path.insert(0, str(BAD))
import make_bad_files  # noqa: E402


# file -> substrings the message must hold (the file name is always checked too)
REJECTED = {
    "empty.csv": ["the file is empty"],
    "whitespace_only.csv": ["the file is empty"],
    "empty_gzip_customers.csv.gz": ["the file is empty"],
    "header_only_customers.csv": ["header but no rows"],
    "empty_required_customers.csv": ["no row has a value in every required column", "customer_id, signup_date"],
    "huge_number_payments.csv": ["line 3", "column amount", "'1e400' is not a number"],
    "impossible_date_customers.csv": ["line 3", "column signup_date", "'2025-02-30' is not a date"],
    "non_numeric_amount_payments.csv": ["line 4", "column amount", "'lots' is not a number"],
    "type_change_after_2500_rows_payments.csv": ["line 2,502", "column amount", "'n/a' is not a number"],
    "bare_cr_in_cell_customers.csv": ["line 3", "carriage return"],
    "ragged_rows_customers.csv": ["line 3", "2 values but the header has 3 columns"],
    "unclosed_quote_customers.csv": ["line 2", "quoted value is never closed"],
    "missing_required_customers.csv": ["no dataset fits", "missing signup_date"],
    "single_column.csv": ["no dataset fits", "missing signup_date"],
    "no_known_columns.csv": ["no dataset fits"],
    "really_html.csv": ["no dataset fits"],
    "really_a_zip.csv": ["zip archive, not a CSV file", "unzip it"],
    "really_a_png.csv": ["an image, not a CSV file"],
    "really_a_pdf.csv": ["a PDF document, not a CSV file"],
    "nul_bytes_customers.csv": ["not a text file"],
    "random_bytes.csv": ["not a text file"],
    "truncated.parquet": ["Parquet file cannot be read"],
}

# file -> (dataset, rows, [one substring per warning, in order])
ACCEPTED = {
    "bom_utf8_customers.csv": ("customers", 6, []),
    "utf16_customers.csv": ("customers", 6, []),
    "utf16_no_bom_customers.csv": ("customers", 6, []),
    "latin1_customers.csv": ("customers", 5, []),
    "semicolon_payments.csv": ("payments", 3, []),
    "pipe_customers.csv": ("customers", 6, []),
    "tab_customers.tsv": ("customers", 6, []),
    "crlf_customers.csv": ("customers", 6, []),
    "cr_only_customers.csv": ("customers", 6, []),
    "blank_lines_customers.csv": ("customers", 6, []),
    "quoted_newlines_customers.csv": ("customers", 3, []),
    "mixed_dates_customers.csv": ("customers", 4, []),
    "duplicate_headers_customers.csv": ("customers", 2, []),
    "sql_header_customers.csv": ("customers", 2, []),
    "formula_cells_customers.csv": ("customers", 3, []),
    "unicode_header_customers.csv": ("customers", 2, []),
    "nps_11_surveys.csv": ("surveys", 4, ["2 NPS scores outside 0-10"]),
    "negative_mrr_subscriptions.csv": ("subscriptions", 3, ["end_date is not after start_date",
                                                            "1 subscription rows with a negative mrr"]),
    "duplicate_ids_customers.csv": ("customers", 3, ["repeat the customer_id of another row"]),
    "future_dates_payments.csv": ("payments", 2, ["dated in the future"]),
    "some_empty_required_customers.csv": ("customers", 2, ["1 row without a value in a required column"]),
}

ALL_FILES = sorted(p.name for p in BAD.iterdir() if not p.name.endswith(".py") and not p.name.startswith("_"))


# --- the workspace under attack -----------------------------------------------------------------
def table_names(ws: Workspace) -> list[str]:
    return sorted(r[0] for r in ws.rows(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"))


def checksum(ws: Workspace, table: str) -> tuple[int, str]:
    """Row count and a hash of the table's rows, in a fixed order (independent of storage order)."""
    with ws.cursor() as cur:
        found = cur.execute(f'SELECT * FROM "{table}"')
        head = repr([d[0] for d in found.description])
        lines = sorted(repr(r) for r in found.fetchall())
    return len(lines), hashlib.sha256("\n".join([head] + lines).encode()).hexdigest()


def snapshot(ws: Workspace) -> dict:
    """Everything a refused file must leave alone."""
    return {"datasets": ws.datasets(),
            "rows": {d: ws.row_count(d) for d in ws.datasets()},
            "tables": {t: checksum(ws, t) for t in table_names(ws)},
            "data_version": ws.data_version, "plan_version": ws.plan_version}


def loaded_workspace(path: Path, tmp: Path) -> Workspace:
    """A real workspace file already holding customers, payments and events, and saved goals."""
    ws = Workspace(path)
    (tmp / "customers.csv").write_text("customer_id,signup_date,channel\n"
                                       + "".join(f"K{i},2024-06-{i + 1:02d},ads\n" for i in range(8)))
    (tmp / "payments.csv").write_text("customer_id,date,amount\n"
                                      + "".join(f"K{i},2024-07-{i + 1:02d},{10 * i + 5}\n" for i in range(5)))
    (tmp / "events.csv").write_text("user_id,timestamp,event\nK1,2024-07-01 10:00:00,login\n"
                                    "K2,2024-07-01 11:00:00,login\nK1,2024-07-02 09:30:00,report_viewed\n")
    for name in ("customers.csv", "payments.csv", "events.csv"):
        ingest_file(ws, tmp / name)
    save_goals(ws, GoalsDoc())
    return ws


@pytest.fixture
def ws(tmp_path):
    w = loaded_workspace(tmp_path / "team.duckdb", tmp_path)
    yield w
    w.close()


def ingest_plainly(ws: Workspace, path: Path, mode: str = "replace"):
    """Ingest, failing the test on anything but InputError (a raw traceback for the user)."""
    try:
        return ingest_file(ws, path, mode=mode)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - this is what the test is about
        pytest.fail(f"{path.name}: raw {type(exc).__name__} instead of a message: {exc}")


def assert_refused(ws: Workspace, path: Path, expected: list[str], mode: str = "replace") -> str:
    before = snapshot(ws)
    with pytest.raises(InputError) as err:
        ingest_plainly(ws, path, mode)
    message = str(err.value)
    assert path.name in message
    for part in expected:
        assert part in message, f"{path.name}: {part!r} not in {message!r}"
    assert "Traceback" not in message and "duckdb." not in message
    assert snapshot(ws) == before
    return message


# --- the table ----------------------------------------------------------------------------------
def test_every_file_is_in_the_table():
    assert len(ALL_FILES) >= 30
    unlisted = set(ALL_FILES) - set(REJECTED) - set(ACCEPTED) - {
        "corrupt_customers.csv.gz", "wide_10000_columns.csv"}
    assert not unlisted, f"add these to the table: {sorted(unlisted)}"


def test_files_are_as_the_script_makes_them(tmp_path):
    """The committed files are exactly what make_bad_files.py writes (so the script is the truth)."""
    for path in make_bad_files.main(tmp_path):
        assert path.read_bytes() == (BAD / path.name).read_bytes(), path.name


REFUSALS = [pytest.param(name, mode, id=f"{name}-{mode}",
                         marks=[])
            for name in sorted(REJECTED) for mode in ("replace", "append")]


@pytest.mark.parametrize("name, mode", REFUSALS)
def test_refused_with_a_message_and_nothing_changed(ws, name, mode):
    assert_refused(ws, BAD / name, REJECTED[name], mode)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted_with_rows_and_warnings(ws, name):
    dataset, rows, warnings = ACCEPTED[name]
    others = {d: checksum(ws, d) for d in ws.datasets() if d != dataset}
    version = ws.data_version
    result = ingest_plainly(ws, BAD / name)
    assert (result.dataset, result.rows, ws.row_count(dataset)) == (dataset, rows, rows)
    assert len(result.warnings) == len(warnings), result.warnings
    for got, part in zip(result.warnings, warnings):
        assert part in got
    assert ws.data_version > version
    # the other datasets are untouched, and a hostile header never reached the SQL
    assert {d: checksum(ws, d) for d in others} == others
    assert {"customers", "payments", "events"} <= set(ws.datasets())


def test_hostile_values_are_kept_as_text_not_run(ws):
    ingest_plainly(ws, BAD / "sql_header_customers.csv")
    assert ws.columns("customers")[-2:] == ['"; DROP TABLE events; --', "x'); DELETE FROM _kpi_datasets; --"]
    assert ws.row_count("events") == 3
    ingest_plainly(ws, BAD / "formula_cells_customers.csv")
    channels = [r[0] for r in ws.rows("SELECT channel FROM customers ORDER BY customer_id")]
    assert channels[0] == '=HYPERLINK("http://evil.example","click")'


def test_text_is_decoded_not_mangled(ws):
    ingest_plainly(ws, BAD / "latin1_customers.csv")
    assert ws.rows("SELECT DISTINCT channel, city FROM customers") == [("référence", "Zoë-Münster")]
    ingest_plainly(ws, BAD / "quoted_newlines_customers.csv")
    assert ws.rows("SELECT note FROM customers ORDER BY customer_id")[:2] == [
        ("first line\nsecond line",), ('says "hi", then\r\nleaves',)]
    ingest_plainly(ws, BAD / "semicolon_payments.csv")
    assert [r[0] for r in ws.rows("SELECT amount FROM payments ORDER BY customer_id")] == [10.5, 20.0, 5.25]
    ingest_plainly(ws, BAD / "mixed_dates_customers.csv")
    assert {str(r[0])[:10] for r in ws.rows("SELECT signup_date FROM customers")} == {"2025-01-15"}


def test_a_line_over_2_mb_is_refused_with_its_line(ws, tmp_path):
    path = make_bad_files.long_line_csv(tmp_path)
    assert path.stat().st_size > 2 * 1024 * 1024
    assert_refused(ws, path, ["line 2"])


def test_a_line_over_2_mb_says_the_line_is_too_long(ws, tmp_path):
    message = assert_refused(ws, make_bad_files.long_line_csv(tmp_path), ["line 2"])
    assert "too long" in message or "MB" in message


def test_a_bare_carriage_return_names_its_line(ws):
    message = assert_refused(ws, BAD / "bare_cr_in_cell_customers.csv", ["line 3"])
    assert "state machine" not in message


@pytest.mark.parametrize("body, line", [
    (b"a,b\r\n1,2\r\n3,4\r\n", None),                     # CRLF line ends are fine
    (b'a,b\n1,"x\ry"\n3,4\n', None),                         # a CR inside quotes is data
    (b"a,b\n1,2\n3,x\ry\n", 3),                              # a lone CR in a cell
    (b'a,b\n1,"q"\n' + b"x" * ((1 << 20) - 12) + b"\r\n5,6\r7\n", 4),  # CRLF across a chunk edge, then one
])
def test_the_line_of_a_lone_carriage_return_is_found(tmp_path, body, line):
    from kpi.detect import FileLayout
    from kpi.ingest import _bare_cr_line
    path = tmp_path / "f.csv"
    path.write_bytes(body)
    assert _bare_cr_line(FileLayout(str(path), "f.csv", "csv", ("a", "b"))) == line


def test_a_corrupt_gzip_is_refused_with_a_message(ws):
    assert_refused(ws, BAD / "corrupt_customers.csv.gz", ["gzip"])


def test_a_10000_column_header_is_refused_at_once(ws):
    """Scoring 10,000 names against the catalog took 35-75 s; the width is checked first."""
    path = BAD / "wide_10000_columns.csv"
    before = snapshot(ws)
    message = assert_refused(ws, path, ["line 1", "10,000 columns", "more than the 1,000"])
    assert "export only the columns you need" in message
    assert snapshot(ws) == before


def test_a_parquet_file_wider_than_the_limit_is_refused(ws, tmp_path):
    import duckdb
    path = tmp_path / "wide.parquet"
    cols = ", ".join(f"{i} AS c{i}" for i in range(1001))
    con = duckdb.connect()
    con.execute(f"COPY (SELECT {cols}) TO '{path}' (FORMAT parquet)")
    con.close()
    assert_refused(ws, path, ["1,001 columns"])