"""Generated CSVs (hypothesis): whatever the header, cells and delimiter, ``ingest_file`` either
refuses the file with ``InputError`` and leaves the workspace file byte for byte as it was, or
loads as many rows as Python's ``csv`` module counts in it, less the rows it says it left out
(one file in three is appended: the dataset then holds its old rows plus at most that many).

Bounded: 50 examples per property, no deadline (one ingest takes 0.05-0.3 s).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings, strategies as st

from kpi.errors import InputError
from kpi.ingest import ingest_file
from kpi.workspace import Workspace

from test_hostile_files import loaded_workspace, snapshot

EXAMPLES = 50
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

COLUMNS = {  # a few datasets, their columns, and a value of the right kind for each
    "customers": {"customer_id": "id", "signup_date": "date", "channel": "text", "trial_end": "date"},
    "payments": {"customer_id": "id", "date": "date", "amount": "number", "product": "text"},
    "surveys": {"date": "date", "score": "number", "respondent_id": "id", "survey": "text"},
    "subscriptions": {"customer_id": "id", "start_date": "date", "mrr": "number", "plan": "text"},
}
REQUIRED = {"customers": ["customer_id", "signup_date"], "payments": ["customer_id", "date", "amount"],
            "surveys": ["date", "score"], "subscriptions": ["customer_id", "start_date", "mrr"]}

nasty_text = st.text(alphabet=st.sampled_from(list("ab xyZ09,;|\t\"'\n\r=+-@éü€漢😀\\/.#%")), max_size=12)
good = {
    "id": st.from_regex(r"C[0-9]{1,5}", fullmatch=True),
    "date": st.dates(min_value=dt.date(2020, 1, 1),
                     max_value=dt.date(2025, 12, 31)).map(str),
    "number": st.one_of(st.integers(-10_000, 10_000).map(str),
                        st.decimals(-1000, 1000, places=2, allow_nan=False).map(str)),
    "text": st.from_regex(r"[a-z_ ]{0,10}", fullmatch=True),
}


def cell(kind: str, hostile: bool):
    """In a hostile file any cell may be junk; otherwise only text cells are (quotes, delimiters,
    newlines, unicode) and typed cells hold a good value or nothing."""
    if hostile or kind == "text":
        return st.one_of(good[kind], good[kind], good[kind], st.just(""), nasty_text)
    return st.one_of(good[kind], good[kind], good[kind], good[kind], st.just(""))


@st.composite
def csv_files(draw):
    dataset = draw(st.sampled_from(sorted(COLUMNS)))
    cols = dict(COLUMNS[dataset])
    keep = [c for c in cols if c in REQUIRED[dataset] or draw(st.booleans())]
    if draw(st.integers(0, 9)) == 0:          # now and then a required column goes missing
        keep = keep[1:]
    noise = draw(st.lists(st.text(alphabet=st.sampled_from(list("abcXYZ_ 1;,\"é漢")), min_size=1, max_size=8),
                          max_size=3))
    header = keep + noise
    order = draw(st.permutations(range(len(header))))
    header = [header[i] for i in order]
    kinds = [cols.get(h, "text") for h in header]
    hostile = draw(st.integers(0, 2)) == 0
    rows = draw(st.lists(st.tuples(*[cell(k, hostile) for k in kinds]), min_size=0, max_size=25))
    delimiter = draw(st.sampled_from([",", ";", "|", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    buf = io.StringIO()
    # RFC 4180: a cell holding a line break is quoted. Python's QUOTE_MINIMAL leaves a bare \r
    # unquoted when rows end in \n; such files are in tests/data/bad (bare_cr_in_cell_customers.csv).
    bare_cr = newline == "\n" and any("\r" in c for r in rows for c in r)
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=newline,
                        quoting=csv.QUOTE_ALL if bare_cr else csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return dataset, delimiter, buf.getvalue().encode("utf-8")


def csv_data_rows(data: bytes, delimiter: str) -> int:
    """Rows after the header, as Python's csv module reads them (blank lines are not rows)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=delimiter)
    return sum(1 for fields in reader if fields) - 1


def file_bytes(path: Path) -> tuple[bytes, bytes | None]:
    wal = Path(str(path) + ".wal")
    return path.read_bytes(), (wal.read_bytes() if wal.exists() else None)


class Tally:
    accepted = refused = 0


def test_generated_files_load_whole_or_leave_the_file_untouched():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ws = loaded_workspace(tmp / "team.duckdb", tmp)
        tally = Tally()

        # Hypothesis's mix of accepted and refused files varies from run to run (1 to 19 of 50
        # accepted were seen), so both branches are also exercised by files written out here.
        @SETTINGS
        @given(csv_files(), st.sampled_from(["replace", "replace", "append"]))
        @example(("customers", ",", b"customer_id,signup_date,channel\nC1,2025-01-02,ads\nC2,2025-02-03,\n"), "replace")
        @example(("customers", ";", b"channel;customer_id;signup_date\r\n\"a;b\";C3;2025-03-04\r\n"), "append")
        @example(("payments", "\t", b"customer_id\tdate\tamount\nC1\t2025-01-05\t-12.50\nC2\t2025-01-06\t7\n"), "replace")
        @example(("surveys", "|", b"date|score|survey\n2025-04-01|9|nps\n2025-04-02|3|\"x|y\"\n"), "replace")
        @example(("subscriptions", ",", b"customer_id,start_date,mrr,plan\nC1,2025-01-01,100,pro\n"), "append")
        @example(("payments", ",", b"customer_id,date,amount\nC1,2025-01-05,=cmd()\n"), "replace")
        def check(generated, mode):
            dataset, delimiter, data = generated
            path = tmp / f"{dataset}_upload.csv"
            path.write_bytes(data)
            ws.rows("CHECKPOINT")
            before_bytes, before = file_bytes(ws.path), snapshot(ws)
            try:
                result = ingest_file(ws, path, mode=mode)
            except InputError as err:
                tally.refused += 1
                assert path.name in str(err)
                assert file_bytes(ws.path) == before_bytes
                assert snapshot(ws) == before
                return
            tally.accepted += 1
            expected = csv_data_rows(data, delimiter) - result.incomplete - sum(result.left_out.values())
            assert ws.row_count(result.dataset) == result.rows
            if mode == "replace":
                assert result.rows == expected, (result.rows, expected, result.warnings)
            else:   # the rows already there, plus the new ones less exact duplicates
                had = before["rows"].get(result.dataset, 0)
                assert had <= result.rows <= had + expected, (had, result.rows, expected, result.warnings)

        try:
            check()
        finally:
            ws.close()
        print(f"\ngenerated files: {tally.accepted} accepted, {tally.refused} refused")
        assert tally.accepted >= 5 and tally.refused >= 1   # both branches were exercised


@SETTINGS
@given(st.binary(max_size=600), st.sampled_from(["x.csv", "x.tsv", "x.csv.gz", "x.parquet"]))
def test_any_bytes_give_a_message_or_a_load(raw, name):
    """Random bytes under any name: a message (InputError) or a load, never a raw exception."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(raw)
        with Workspace(Path(tmp) / "w.duckdb") as ws:
            try:
                ingest_file(ws, path)
            except InputError:
                pass


@SETTINGS
@given(st.lists(st.binary(max_size=5000), min_size=1, max_size=4), st.integers(0, 9),
       st.sampled_from([b"", b"\x00" * 16]))
def test_a_gzip_file_is_measured_exactly_whatever_its_members(parts, level, trailer):
    """The bomb check inflates every member of a gzip file (``cat a.gz b.gz``) and counts exactly what
    Python's gzip reads, whatever the compression level; padding after the last member is not a member."""
    import gzip
    from kpi.limits import check_gzip
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.csv.gz"
        path.write_bytes(b"".join(gzip.compress(p, compresslevel=level) for p in parts) + trailer)
        assert check_gzip(path, path.name) == sum(len(p) for p in parts) == len(gzip.decompress(path.read_bytes()))


@SETTINGS
@given(st.integers(0, 3000), st.integers(1, 700), st.sets(st.sampled_from(
    ["int", "text", "date", "bool", "list", "struct", "map", "decimal"]), min_size=1), st.booleans())
def test_the_parquet_footer_is_read_as_duckdb_reads_it(rows, group_rows, kinds, by_duckdb):
    """Rows and row groups are read from the head of a Parquet footer (its row groups, 60 MB for
    200,000 of them, are skipped): the same counts as DuckDB's own reading of the whole footer, for
    files written by pyarrow and by DuckDB with any mix of column types."""
    import duckdb
    from kpi.limits import parquet_counts
    columns = {"int": "range AS i", "text": "'t' || range AS s", "date": "DATE '2024-01-01' + CAST(range AS INT) AS d",
               "bool": "range % 2 = 0 AS b", "list": "[range, 2] AS l", "struct": "{'x': range, 'y': 'a'} AS st",
               "map": "MAP {'k': range} AS m", "decimal": "CAST(range AS DECIMAL(12, 2)) AS dec"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.parquet"
        con = duckdb.connect()
        select = f"SELECT {', '.join(columns[k] for k in sorted(kinds))} FROM range({rows})"
        if by_duckdb:
            con.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE {group_rows})")
        else:
            import pyarrow.parquet as pq
            pq.write_table(con.sql(select).to_arrow_table(), path, row_group_size=group_rows)
        expected = con.execute("SELECT num_rows, num_row_groups FROM parquet_file_metadata(?)", [str(path)]).fetchall()
        con.close()
        assert parquet_counts(path) == expected[0]
