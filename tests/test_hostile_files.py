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
    "future_dates_payments.csv": ("payments", 2, ["implausible date"]),   # 2099: more than a year ahead
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

# --- bounded work: files built to fill the server ------------------------------------------------
# Each limit of kpi/limits.py refuses its file with a message naming the limit and the setting that
# raises it, and leaves the workspace as it was. Sizes are kept small enough for a fast test: what
# is checked is that the work stops at the limit, not how long it takes.
def gzip_of_one_row(path: Path, megabytes: int) -> Path:
    """A `customers.csv.gz` of one row repeated: about 400 times smaller than what it inflates to."""
    import gzip
    row = b"C000001,2024-01-01,ads\n"
    block = row * (1_000_000 // len(row))
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b"customer_id,signup_date,channel\n")
        for _ in range(megabytes):
            out.write(block)
    return path


def test_a_gzip_bomb_is_refused_before_it_is_inflated(ws, tmp_path):
    from kpi import limits
    path = gzip_of_one_row(tmp_path / "customers.csv.gz", 200)
    compressed = path.stat().st_size
    message = assert_refused(ws, path, ["inflates to more than 100 times its size", "KPI_EXPLORER_MAX_RATIO"])
    # the inflating stopped at 100 times the compressed size (200 MB would have been read otherwise)
    seen = float(message.split("over ")[1].split(" MB")[0])
    assert seen * 1e6 <= max(limits.RATIO_FROM, 100 * compressed) + 5e6 < 200e6


def test_the_ratio_is_only_checked_past_64_mb_and_can_be_raised(ws, tmp_path, monkeypatch):
    from kpi.detect import sniff
    small = gzip_of_one_row(tmp_path / "small_customers.csv.gz", 2)     # 2 MB of one row: harmless
    assert sniff(small).compression == "gzip"
    big = gzip_of_one_row(tmp_path / "big_customers.csv.gz", 70)
    assert_refused(ws, big, ["100 times"])
    monkeypatch.setenv("KPI_EXPLORER_MAX_RATIO", "1000")
    assert sniff(big).columns == ("customer_id", "signup_date", "channel")


def test_a_file_over_the_size_limit_is_refused_gzipped_or_not(ws, tmp_path, monkeypatch):
    import gzip
    import random
    monkeypatch.setenv("KPI_EXPLORER_MAX_FILE_SIZE", "1MB")
    rng = random.Random(7)
    text = "customer_id,signup_date,channel\n" + "".join(
        f"C{rng.randrange(10**9)},2024-0{rng.randrange(1, 10)}-1{rng.randrange(10)},{rng.choice('abc')}\n"
        for _ in range(60_000))
    plain = tmp_path / "customers.csv"
    plain.write_text(text)
    assert_refused(ws, plain, ["more than the 1 MB one file may hold", "KPI_EXPLORER_MAX_FILE_SIZE"])
    packed = tmp_path / "customers_2.csv.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    assert packed.stat().st_size < 1e6        # small on disk, over the limit once inflated
    assert_refused(ws, packed, ["inflates to more than 1 MB", "KPI_EXPLORER_MAX_FILE_SIZE"])


def test_every_member_of_a_multi_member_gzip_is_counted(tmp_path):
    import gzip
    from kpi.limits import check_gzip
    parts = [b"customer_id,signup_date\n" + b"C1,2024-01-01\n" * 1000, b"C2,2024-01-02\n" * 5000]
    path = tmp_path / "customers.csv.gz"
    path.write_bytes(b"".join(gzip.compress(p) for p in parts))
    assert check_gzip(path, path.name) == sum(len(p) for p in parts)


def test_a_file_over_the_row_limit_is_refused_and_nothing_changes(ws, tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_EXPLORER_MAX_ROWS", "1000")
    clean = tmp_path / "customers.csv"        # the one-pass typed read
    clean.write_text("customer_id,signup_date\n" + "".join(f"N{i},2024-01-01\n" for i in range(1001)))
    messy = tmp_path / "customers_2.csv"      # the validating read (dates written day first)
    messy.write_text("customer_id,signup_date\n" + "".join(f"N{i},31.01.2024\n" for i in range(1001)))
    for path in (clean, messy):
        for mode in ("replace", "append"):
            assert_refused(ws, path, ["more than 1,000 rows", "KPI_EXPLORER_MAX_ROWS"], mode)
    clean.write_text("customer_id,signup_date\n" + "".join(f"N{i},2024-01-01\n" for i in range(1000)))
    assert ingest_plainly(ws, clean).rows == 1000           # at the limit is fine


def parquet_with_row_groups(path: Path, groups: int) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.table({"customer_id": [f"C{i}" for i in range(groups)], "signup_date": ["2024-01-01"] * groups})
    pq.write_table(table, path, row_group_size=1)
    return path


def test_a_parquet_file_of_too_many_row_groups_is_refused_from_its_footer(ws, tmp_path):
    """200,000 row groups took 201 s to preview; the footer says how many there are."""
    import pyarrow.parquet as pq
    path = parquet_with_row_groups(tmp_path / "customers.parquet", 10_001)
    assert pq.ParquetFile(path).metadata.num_row_groups == 10_001
    message = assert_refused(ws, path, ["10,001 row groups, more than the 10,000", "KPI_EXPLORER_MAX_ROW_GROUPS"])
    assert "larger row groups" in message
    fine = parquet_with_row_groups(tmp_path / "customers_2.parquet", 500)
    assert ingest_plainly(ws, fine).rows == 500


def parquet_with_cells(path: Path, cells: list[str]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq
    n = len(cells)
    pq.write_table(pa.table({"customer_id": [f"C{i}" for i in range(n)], "signup_date": ["2024-01-01"] * n,
                             "notes": cells}), path, compression="zstd")
    return path


def test_a_parquet_cell_over_the_limit_is_refused_with_its_column(ws, tmp_path):
    path = parquet_with_cells(tmp_path / "customers.parquet", ["short", "x" * 3_000_000])
    assert path.stat().st_size < 100_000       # a few kilobytes on disk, megabytes once read
    assert_refused(ws, path, ["column notes", "3 MB long, more than the 2 MB", "KPI_EXPLORER_MAX_CELL_SIZE"])


def test_huge_cells_never_reach_pandas_or_the_browser_whole(ws, tmp_path):
    """A Parquet file of 20 distinct 1.5 MB notes (under the cell limit) loads, but what leaves DuckDB
    for pandas and widgets — sample, preview, quality examples, filter and breakdown choices — holds
    at most SHOWN_CHARS of a value."""
    from kpi import compute, custom, limits, segments
    from kpi.detect import read_sample, sniff
    from kpi.ingest import preview
    from kpi.quality import quality_report
    notes = [f"{i:02d}" + "y" * 1_500_000 for i in range(20)]
    path = parquet_with_cells(tmp_path / "customers.parquet", notes)
    sample = read_sample(sniff(path))
    assert sample["notes"].str.len().max() == limits.SHOWN_CHARS
    shown = preview(path, "customers")
    assert shown["notes"].str.len().max() == limits.SHOWN_CHARS and len(shown) == 20
    assert ingest_plainly(ws, path).rows == 20
    assert ws.rows("SELECT max(strlen(notes)) FROM customers")[0][0] == 1_500_002   # stored whole
    ws.rows("INSERT INTO customers (customer_id, signup_date, notes) VALUES ('C1', DATE '2024-01-02', NULL)")
    examples = next(i for i in quality_report(ws, "customers").issues if i.check == "duplicate_customer_id").examples
    assert examples["notes"].dropna().str.len().max() <= limits.SHOWN_CHARS
    assert compute.column_values(ws, "notes") == []
    assert custom.column_values(ws, "customers", "notes") == []
    assert "notes" not in segments.breakdown_columns(ws)      # what the sidebar offers (free text)


def test_staging_reads_a_bounded_prefix_whatever_the_file_size(tmp_path, monkeypatch):
    """A 9.5 MB gzip of 100 MB was ingested whole once per option of each question before the user
    pressed anything. Now the questions' effects and the preview read only the first rows: every
    read of the file and every table loaded holds at most the prefix (counted, not timed)."""
    import gzip
    from kpi import ingest, questions
    from kpi.detect import sniff
    monkeypatch.setattr(questions, "EFFECT_ROWS", 2_000)
    path = tmp_path / "payments.csv.gz"     # 30,000 payments in cents: the cents question is asked
    path.write_bytes(gzip.compress(("customer_id,date,amount\n" + "".join(
        f"C{i % 700},2025-0{1 + i % 9}-{1 + i % 28:02d},{4900 + 100 * (i % 7)}\n" for i in range(30_000))).encode()))
    reads, landed = [], []
    read_raw, replace_table = ingest._load_raw, Workspace.replace_table

    def counting_read(cur, plan, limit=None):
        layout = read_raw(cur, plan, limit)
        reads.append((limit, cur.execute("SELECT count(*) FROM _kpi_raw").fetchall()[0][0]))
        return layout

    def counting_load(self, *args, **kwargs):
        landed.append(replace_table(self, *args, **kwargs))
        return landed[-1]

    monkeypatch.setattr(ingest, "_load_raw", counting_read)
    monkeypatch.setattr(Workspace, "replace_table", counting_load)
    found = {q.id: q for q in questions.questions_for(path)}
    assert "amount_unit" in found and "first 2,000 rows" in found["amount_unit"].help
    effects = {o.value: o.effect for o in found["amount_unit"].options}
    assert effects["units"] != effects["cents"] and all("from 2,000 rows" in e for e in effects.values())
    shown = ingest.preview(path, n=8)
    assert len(shown) == 8
    assert len(reads) >= 3 and all(limit is not None and rows <= limit <= 2_000 for limit, rows in reads)
    assert landed and max(landed) <= 2_000
    # wide rows make the prefix shorter: about EFFECT_BYTES (32 MB) of text, never under 1,000 rows
    monkeypatch.setattr(questions, "EFFECT_ROWS", 200_000)
    wide = tmp_path / "customers.csv"
    wide.write_text("customer_id,signup_date,note\n" + "".join(f"C{i},2025-01-01,{'z' * 990}\n" for i in range(300)))
    plan = ingest._plan(sniff(wide), None, None, (), ())
    assert 30_000 <= questions.effect_rows(plan) <= 32_000          # 32 MB / about 1,010 bytes a row
    monkeypatch.setattr(questions, "EFFECT_BYTES", 10**6)
    assert questions.effect_rows(plan) == 1_000


def test_a_payment_dated_year_1_does_not_start_the_periods(ws, tmp_path):
    """0001-01-01 made a day-grain compute return 3.7 M rows; dates before 1970 are named on ingest
    and kept out of the period grid, unless the team keeps them."""
    from kpi.compute import compute
    from kpi.quality import keep_early_dates
    path = tmp_path / "payments.csv"
    path.write_text("customer_id,date,amount\nK1,0001-01-01,5\nK2,1900-01-01,7\nK3,2024-07-02,10\nK4,2024-07-09,20\n")
    result = ingest_plainly(ws, path)
    assert result.rows == 4 and any("2 rows with an implausible date" in w for w in result.warnings)
    daily = compute(ws, ["revenue"], grain="day", as_of="2024-07-31")
    # revenue starts at the first plausible payment: 2 Jul to 31 Jul 2024, 30 days
    assert len(daily) == 30 and str(daily["period"].min()) == "2024-07-02"
    assert daily["value"].sum() == 30                       # 10 + 20: the early payments are outside
    assert any("before 1970 (the first on 01 Jan 0001)" in n for n in daily.attrs["notes"])
    keep_early_dates(ws)
    yearly = compute(ws, ["revenue"], grain="year", as_of="2024-07-31")
    assert str(yearly["period"].min()) == "0001-01-01" and len(yearly) == 2024
    assert yearly["value"].sum() == 42 and not yearly.attrs["notes"]
