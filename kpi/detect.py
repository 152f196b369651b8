"""Work out how a file is laid out and which dataset and columns it holds, before anything is loaded.

``sniff`` reads only the first bytes of a file (encoding, delimiter, preamble, header, footer);
``detect`` guesses the dataset and the column mapping from the header names and a small sample
of values, with a confidence per column, so the app can show its guess and the user can correct it.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from .datasets import DATASETS, Column, normalise_name
from . import evidence, limits, tool_exports
from .errors import InputError
from .memory import recall
from .vocabulary import BILLING_PERIODS, DEFECT_STAGES, FALSE_WORDS, TRUE_WORDS  # noqa: F401 (re-exported)

DELIMITERS = (",", ";", "\t", "|")
HEAD_BYTES = 1 << 20      # enough for the header and a few hundred rows of any real export
MIN_CONFIDENCE = 0.5      # below this no dataset is said to fit

# --- value shapes -------------------------------------------------------------------------
# How a sample value is recognised as a date or a number (ingest tells the forms apart with cheaper
# string tests in SQL, and converts them; these patterns only judge a header's sample).
_AMPM = r"(?:\s?[AaPp]\.?[Mm]\.?)?"
_TIME = rf"(?:[T ]\d{{1,2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?{_AMPM})"
# a zone after the time: Z, an offset, or a name such as UTC, GMT+2, PST or CEST (ZONE_ABBREVIATIONS)
_ZONE = r"(?:\s*(?:Z|[+-]\d{2}(?::?\d{2})?)|\s+[A-Za-z]{2,5}(?:[+-]\d{1,2}(?::?\d{2})?)?)"
_CLOCK = rf"(?:,? \d{{1,2}}:\d{{2}}(?::\d{{2}})?{_AMPM})"
DATE_FORMS = {
    "iso": rf"^\d{{4}}-\d{{1,2}}-\d{{1,2}}(?:{_TIME}{_ZONE}?)?$",
    "ymd_slash": rf"^\d{{4}}/\d{{1,2}}/\d{{1,2}}(?:{_TIME}{_ZONE}?)?$",
    "slash": rf"^\d{{1,2}}/\d{{1,2}}/(?:\d{{4}}|\d{{2}})(?:{_CLOCK}{_ZONE}?)?$",
    "dot": rf"^\d{{1,2}}\.\d{{1,2}}\.(?:\d{{4}}|\d{{2}})(?:{_CLOCK}{_ZONE}?)?$",
    "named": (r"^(?:\d{1,2}[-/ ][A-Za-z]{3,9}\.?[-/ ]\d{2,4}|[A-Za-z]{3,9}\.? \d{1,2},? \d{4})"
              + rf"(?:{_CLOCK}{_ZONE}?)?$"),
    "epoch": r"^\d{9,19}(?:\.\d+)?$",
    "compact": r"^(?:19|20)\d{6}$",
}
NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
# A decimal comma shows as ",5" / ",50" / ",5000" at the end (currency signs may follow) or as
# "1.234,5"; a decimal point likewise. "1,234" alone says nothing: it reads the same either way.
# (Both Python's re and DuckDB's RE2 read these.)
COMMA_DECIMAL_EVIDENCE = r",\d{1,2}\D*$|,\d{4,}\D*$|\.\d{3},"
DOT_DECIMAL_EVIDENCE = r"\.\d{1,2}\D*$|\.\d{4,}\D*$|,\d{3}\."

# Time-zone names that exports write after a time, and their offsets from UTC in minutes. Names
# that mean several zones (IST: India, Ireland, Israel) are left out; CST is North America's.
ZONE_ABBREVIATIONS = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 60, "BST": 60, "CET": 60, "CEST": 120, "MET": 60, "MEST": 120,
    "EET": 120, "EEST": 180, "MSK": 180, "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420,
    "MDT": -360, "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600, "AST": -240, "ADT": -180,
    "NST": -210, "NDT": -150, "JST": 540, "KST": 540, "HKT": 480, "SGT": 480, "AWST": 480, "ACST": 570,
    "ACDT": 630, "AEST": 600, "AEDT": 660, "NZST": 720, "NZDT": 780, "BRT": -180, "ART": -180}
# Empty-looking markers that database and notebook exports write for a missing typed value.
NULL_MARKERS = ("null", "NULL", "Null", r"\N", "None", "NaN", "nan", "--")

# Subscriptions may bring the amount per billing period instead of a monthly amount: these inputs
# stand in for ``mrr``, which is then derived (datasets.md).
# Other inputs that an export profile (kpi/tool_exports.py) or the user maps, and from which ingest
# derives a canonical value: refunds held in their own column become negative payment rows; a
# first response written as a duration after creation becomes first_response_at. They are never
# guessed from a header alone (no synonyms): a profile or the user names them.
DERIVED_INPUTS = {
    "subscriptions": (
        Column("amount", "number", synonyms=("amount", "price", "plan_amount", "unit_amount", "recurring_amount",
                                             "amount_per_period", "plan_price", "plan_unit_price", "unit_price",
                                             "product_price", "price_in_cents", "list_price", "plan_unit_amount",
                                             "subscription_price", "recurring_price")),
        Column("quantity", "int", synonyms=("quantity", "qty", "seats", "units", "licenses", "plan_quantity")),
        Column("period_count", "int", description="how many billing-period units one period is (3 with month: a quarter)",
               synonyms=("interval_count", "period_count", "interval", "billing_period", "period", "frequency",
                         "billing_interval", "billing_cycle", "plan_interval", "billing_frequency",
                         "interval_length", "cycle_length", "billing_period_count", "recurring_interval_count")),
    ),
    "payments": (
        Column("refund_amount", "number", description="amount refunded of this payment (a negative row is added)",
               synonyms=("refunded_amount", "amount_refunded", "refund_amount", "refund_total", "total_refunded")),
        Column("refund_date", "date", description="when the refund was made (default: the payment's date)",
               synonyms=("refunded_at", "refund_date", "refunded_date", "date_refunded", "refund_created_at")),
    ),
    "tickets": (
        Column("first_response_minutes", "number", description="minutes from creation to the first response",
               synonyms=("first_response_time", "first_reply_time", "time_to_first_response", "time_to_first_reply",
                         "first_response_duration", "first_reply_time_in_minutes", "first_response_minutes")),
        Column("first_response_hours", "number", description="hours from creation to the first response"),
        Column("first_response_seconds", "number", description="seconds from creation to the first response"),
    ),
    "test_runs": (
        Column("finished_at", "timestamp", description="when the run ended (duration = finished - started)",
               synonyms=("finished_at", "completed_at", "ended_at", "stopped_at", "end_time", "finished",
                         "completed", "stopped", "ended", "finish_time", "updated_at")),
    ),
}
# Money columns: what the "cents or units" question scales.
MONEY_COLUMNS = {"subscriptions": ("mrr", "amount"), "payments": ("amount", "refund_amount"),
                 "marketing": ("spend",), "tickets": ("cost",)}
PER_PERIOD_AMOUNT = {normalise_name(s) for s in DERIVED_INPUTS["subscriptions"][0].synonyms}
DERIVED_MRR = "amount / billing period"

# Headers that name no column but say what it holds (survey tools use the question as header).
PHRASE_HINTS = {
    ("surveys", "score"): ("how likely", "recommend", "nps", "net promoter", "likely are you", "would you refer",
                           "on a scale of 0", "0-10", "0 to 10"),
}
_TYPE_WORDS = {"date", "at", "time", "timestamp", "datetime", "on", "utc", "gmt", "dt", "local"}
# Units after a money column's name ('amount_cents', 'cost_micros', 'Spend USD'): the column is still the amount.
_UNIT_WORDS = {"cents", "cent", "micros", "minor", "in", "usd", "eur", "gbp", "chf", "cad", "aud", "jpy"}


# --- the file's layout --------------------------------------------------------------------
@dataclass(frozen=True)
class FileLayout:
    """How to read one file: what ``ingest`` passes to DuckDB's reader."""
    path: str
    file_name: str
    format: str                     # "csv" or "parquet"
    columns: tuple[str, ...]        # header names, made unique ("Labels", "Labels_2")
    header: tuple[str, ...] = ()    # header names as written
    encoding: str = "utf-8"         # "utf-8", "utf-8-sig", "utf-16" or "latin-1"
    delimiter: str = ","
    header_line: int = 1            # physical line of the header (after any preamble)
    data_line: int = 2              # physical line of the first row
    compression: str | None = None  # "gzip" or None
    footer_rows: int = 0            # trailing summary rows ("Total: ...") left out
    types: tuple[str, ...] = ()     # DuckDB types of a Parquet file's columns
    header_rows: int = 1            # survey tools write a second header row (the answer options)
    labels: tuple[str, ...] = ()    # a row of question texts under short column ids (Qualtrics-style)
    ragged_footer: bool = False     # the footer holds one-cell lines (a copyright): read short rows padded

    @property
    def duckdb_encoding(self) -> str:
        return "utf-8" if self.encoding == "utf-8-sig" else self.encoding


# Real exports have tens of columns, survey tools a few hundred; a header wider than this is not a
# table to take KPIs from, and scoring every one of its names would take a minute.
MAX_COLUMNS = 1000

_MAGIC = (
    (b"PK\x03\x04", "a zip archive", "unzip it and load the CSV files inside"),
    (b"\x89PNG", "an image", "load a CSV or Parquet export instead"),
    (b"\xff\xd8\xff", "an image", "load a CSV or Parquet export instead"),
    (b"GIF8", "an image", "load a CSV or Parquet export instead"),
    (b"%PDF", "a PDF document", "export the table as CSV instead"),
    (b"\xd0\xcf\x11\xe0", "an old Excel or Office file", "save it as CSV (File > Save As > CSV UTF-8)"),
    (b"SQLite format 3", "a SQLite database", "export the table as CSV instead"),
    (b"\x1f\x8b", None, None),  # gzip: looked into below
)


def sniff(path: str | Path, *, file_name: str | None = None, encoding: str | None = None) -> FileLayout:
    """Read the first bytes of a file and say how to read it. Raises ``InputError`` for a file
    that is missing, empty, not text, or has no header. ``encoding`` overrides the guess."""
    p = Path(path)
    name = file_name or p.name
    if not p.is_file():
        if p.exists():   # a pipe or a device would block a read for ever
            raise InputError.at(file=name, problem="is not a regular file (a folder, a pipe or a device)",
                                hint="give the path of a CSV, TSV or Parquet file")
        raise InputError.at(file=name, problem="no such file", hint="check the path")
    with open(p, "rb") as fh:
        first = fh.read(HEAD_BYTES)
    if not first.strip():
        raise InputError.at(file=name, problem="the file is empty", hint="export the table again with its rows")
    if first.startswith(b"PAR1"):
        return _sniff_parquet(p, name)
    limits.check_file_size(p, name)
    if first.startswith(b"PK\x03\x04") and name.lower().endswith((".xlsx", ".xlsm")):
        raise InputError.at(file=name, problem="this is an Excel workbook, not a CSV file",
                            hint="save the sheet as CSV (File > Save As > CSV UTF-8) and load that")
    compression = None
    for magic, what, hint in _MAGIC:
        if first.startswith(magic):
            if what is None:
                compression = "gzip"
                break
            raise InputError.at(file=name, problem=f"this is {what}, not a CSV file", hint=hint)
    if compression:
        try:
            with gzip.open(p, "rb") as fh:
                first = fh.read(HEAD_BYTES)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError.at(file=name, problem=f"the gzip file cannot be opened ({exc})",
                                hint="compress the CSV again with gzip") from exc
        if not first.strip():
            raise InputError.at(file=name, problem="the file is empty", hint="export the table again with its rows")
        limits.check_gzip(p, name)
    enc = encoding or _guess_encoding(first)
    if enc not in ("utf-16",) and b"\x00" in first:
        raise InputError.at(file=name, problem="this is not a text file",
                            hint="load a CSV (or Parquet) export of the table")
    text = _decode_head(first, enc, complete=len(first) < HEAD_BYTES)
    delimiter, header_rec, rows = _find_header(text, name)
    header = tuple(header_rec[1])
    _check_width(header, name, header_rec[0])
    last_header_line, header_rows = header_rec[2], 1
    labels: tuple[str, ...] = ()
    if rows and _is_second_header(header, rows[0][1], rows[1:2]):
        header = _merge_headers(header, rows[0][1])
        last_header_line, header_rows = rows[0][2], 2
    else:
        extra = _label_rows(header, rows)
        if extra:
            labels = tuple(c.strip() for c in rows[0][1]) if extra[0] == "labels" else ()
            last_header_line, header_rows = rows[len(extra) - 1][2], 1 + len(extra)
    tail = _tail_text(p, enc, compression, text, len(first) < HEAD_BYTES)
    footer, ragged = _count_footer(tail, delimiter, len(header))
    return FileLayout(path=str(p), file_name=name, format="csv", columns=unique_names(header), header=header,
                      encoding=enc, delimiter=delimiter, header_line=header_rec[0],
                      data_line=last_header_line + 1, compression=compression, footer_rows=footer,
                      header_rows=header_rows, labels=labels, ragged_footer=ragged)


_ANSWER_LABELS = {"response", "openendedresponse", "openended", "answer", "other", "otherpleasespecify"}


def _looks_like_value(cell: str) -> bool:
    v = cell.strip()
    return bool(_NUMBER_RE.match(clean_number(v).replace(",", ""))) or _date_form(v) is not None


def _is_second_header(header: tuple[str, ...], row: list[str], after: list) -> bool:
    """A survey tool's second header row (SurveyMonkey: 'Response', 'Open-Ended Response', or the
    options of a multiple-choice question under it), not the first row of data: it leaves the
    leading columns empty, holds no number or date, and the data below it does."""
    if len(row) != len(header) or row[0].strip() or not any(c.strip() for c in row):
        return False
    if any(_looks_like_value(c) for c in row if c.strip()):
        return False
    labelled = any(normalise_name(c) in _ANSWER_LABELS for c in row)
    continued = any(not h.strip() for h in header)   # a question spanning several columns
    if not (labelled or continued):
        return False
    # the row after it is data: it has a value in the first column
    return not after or bool(after[0][1] and after[0][1][0].strip())


def _is_json_row(row: list[str]) -> bool:
    cells = [c.strip() for c in row if c.strip()]
    if not cells or not all(c.startswith("{") and c.endswith("}") for c in cells):
        return False
    try:
        [json.loads(c) for c in cells]
    except ValueError:
        return False
    return True


def _label_rows(header: tuple[str, ...], rows: list) -> list[str]:
    """Header rows under the header that some survey tools add: a row of question texts (no value in
    it, under short ids like 'Q1'), and a row of import ids written as JSON. Returns their kinds in
    order ("labels", "json"); empty when the rows below the header are data."""
    kinds: list[str] = []
    for i, rec in enumerate(rows[:2]):
        row = rec[1]
        if len(row) != len(header):
            break
        if _is_json_row(row):
            kinds.append("json")
            continue
        filled = [c for c in row if c.strip()]
        if kinds or len(filled) * 5 < len(header) * 4 or any(_looks_like_value(c) for c in filled):
            break
        nxt = rows[i + 1][1] if i + 1 < len(rows) else None
        # a row of texts is a header only where a JSON row or a row with values comes after it
        if nxt is None or not (_is_json_row(nxt) or sum(_looks_like_value(c) for c in nxt if c.strip()) >= 2):
            break
        # and where its texts are longer than the names above them (questions under short ids)
        if sum(len(c) for c in filled) <= sum(len(h) for h in header):
            break
        kinds.append("labels")
    return kinds if kinds and (kinds[0] == "json" or "json" in kinds or len(kinds) == 1) else []


def _merge_headers(top: tuple[str, ...], sub: list[str]) -> tuple[str, ...]:
    """One name per column: the question, and the option under it where the question spans columns."""
    out, current = [], ""
    for t, s in zip(top, sub):
        t, s = t.strip(), s.strip()
        if t:
            current = t
        base = t or (current if s else "")
        if not s or normalise_name(s) in ("response", "openendedresponse", "answer"):
            out.append(base)
        elif base:
            out.append(f"{base} - {s}")
        else:
            out.append(s)
    return tuple(out)


def _check_width(header: tuple[str, ...], name: str, line: int | None = None) -> None:
    if len(header) > MAX_COLUMNS:
        raise InputError.at(file=name, line=line,
                            problem=f"the header has {len(header):,} columns, more than the {MAX_COLUMNS:,} "
                                    "KPI Explorer reads",
                            hint="export only the columns you need (ids, dates, amounts, the segments you "
                                 "break down by)")


def _sniff_parquet(p: Path, name: str) -> FileLayout:
    con = limits.connect()
    try:
        limits.check_parquet(con, p, name)
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(p)]).fetchall()
    except duckdb.Error as exc:
        raise InputError.at(file=name, problem="the Parquet file cannot be read",
                            hint="export it again, or load a CSV export") from exc
    finally:
        con.close()
    header = tuple(r[0] for r in described)
    _check_width(header, name)
    return FileLayout(path=str(p), file_name=name, format="parquet", columns=unique_names(header),
                      header=header, encoding="", delimiter="", header_line=0, data_line=0,
                      types=tuple(r[1] for r in described))


def _guess_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    # UTF-16 without a byte-order mark: every other byte of ASCII text is zero.
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # a multi-byte character cut off by the end of the chunk is still UTF-8
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
        return "latin-1"


def _decode_head(head: bytes, enc: str, complete: bool) -> str:
    codec = {"utf-16": "utf-16", "utf-8-sig": "utf-8-sig"}.get(enc, enc)
    text = head.decode(codec, errors="replace")
    if not complete:  # drop the last, possibly cut-off line
        cut = text.rfind("\n")
        text = text[:cut + 1] if cut > 0 else text
    return text.lstrip("\ufeff")


def _records(text: str, delimiter: str, limit: int = 200) -> list[tuple[int, list[str], int]]:
    """(first physical line, fields, last physical line) of the first records of a CSV text."""
    out = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True,
                        strict=False)
    start = 1
    try:
        for fields in reader:
            end = reader.line_num
            if fields and any(f.strip() for f in fields):
                out.append((start, fields, end))
            start = end + 1
            if len(out) >= limit:
                break
    except csv.Error:
        pass
    return out


def _find_header(text: str, name: str) -> tuple[str, tuple[int, list[str], int], list]:
    best = None
    for d in DELIMITERS:
        recs = _records(text, d)
        if not recs:
            continue
        # preamble lines are one cell wide; among wider records the most common width is the
        # table's, and on a tie the first seen (a header plus one ragged row is still that header)
        wide = [len(r[1]) for r in recs if len(r[1]) > 1] or [len(r[1]) for r in recs]
        widths = Counter(wide)
        first_seen = {w: wide.index(w) for w in widths}
        width, count = max(widths.items(), key=lambda kv: (kv[1], -first_seen[kv[0]]))
        consistency = count / len(recs)
        key = (width > 1, round(consistency, 2), width)
        if best is None or key > best[0]:
            best = (key, d, recs, width)
    if best is None:
        raise InputError.at(file=name, problem="the file has no header line",
                            hint="the first line should name the columns")
    _, delimiter, recs, width = best
    for i, rec in enumerate(recs):
        filled = sum(1 for f in rec[1] if f.strip())
        # a preamble line ("Campaign report", a date range) is shorter or mostly empty
        if len(rec[1]) == width and filled * 2 > width:
            return delimiter, rec, recs[i + 1:]
    return delimiter, recs[0], recs[1:]


def _tail_text(p: Path, enc: str, compression: str | None, head_text: str, complete: bool) -> str:
    if complete:
        return head_text
    if compression:  # the end of a compressed file cannot be reached without reading it all
        return ""
    with open(p, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 65536))
        raw = fh.read()
    codec = "utf-16-le" if enc == "utf-16" else ("utf-8" if enc == "utf-8-sig" else enc)
    if enc == "utf-16" and len(raw) % 2:
        raw = raw[1:]
    text = raw.decode(codec, errors="replace")
    cut = text.find("\n")
    return text[cut + 1:] if cut >= 0 else text


_FOOTER = re.compile(r'^\s*"?\s*(?:total|totals|grand total)\b', re.IGNORECASE)


def _count_footer(tail: str, delimiter: str, width: int = 0) -> tuple[int, bool]:
    """Trailing rows that report tools append below the data: 'Total: ...' rows, and lines of one cell
    in a wider table (a copyright or a note). Returns (rows, whether any is a one-cell line)."""
    lines = [ln for ln in tail.splitlines() if ln.strip()]
    n, ragged = 0, False
    for ln in reversed(lines):
        first_cell = ln.split(delimiter, 1)[0]
        cells = next(csv.reader([ln], delimiter=delimiter), [])
        if _FOOTER.match(first_cell):
            n += 1
        elif width > 2 and len(cells) == 1 and n < 3:
            n, ragged = n + 1, True
        else:
            break
    return n, ragged


def unique_names(header: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Header names made unique the way a person would ('Labels', 'Labels_2'); blank ones named by
    position. Compared case-insensitively because SQL identifiers are."""
    seen: set[str] = set()
    out = []
    for i, raw in enumerate(header, start=1):
        base = str(raw).strip() or f"column_{i}"
        name, k = base, 1
        while name.lower() in seen:
            k += 1
            name = f"{base}_{k}"
        seen.add(name.lower())
        out.append(name)
    return tuple(out)


# --- reading ------------------------------------------------------------------------------
def reader_sql(layout: FileLayout, types: dict[int, str] | None = None) -> tuple[str, list]:
    """A DuckDB table expression reading the file with its columns named c0, c1, ... (so no header
    text ever reaches the SQL); CSV columns are VARCHAR unless ``types`` names another type for a
    column (by position): the reader then refuses the file at the first value that does not fit.
    The path is a bound parameter."""
    n = len(layout.columns)
    if layout.format == "parquet":
        from .workspace import quote_ident
        cols = ", ".join(f"{quote_ident(h)} AS c{i}" for i, h in enumerate(layout.header))
        return f"(SELECT {cols} FROM read_parquet(?))", [layout.path]
    columns = {f"c{i}": (types or {}).get(i, "VARCHAR") for i in range(n)}
    sql = ("read_csv(?, columns = ?, header = false, skip = ?, delim = ?, quote = '\"', escape = '\"', "
           "auto_detect = false, encoding = ?, compression = ?, strict_mode = true, max_line_size = ?"
           + (", null_padding = true)" if layout.ragged_footer else ")"))
    return sql, [layout.path, columns, layout.data_line - 1, layout.delimiter, layout.duckdb_encoding,
                 layout.compression or "none", limits.MAX_CELL_SIZE.value()]


def read_sample(layout: FileLayout, n: int = 200) -> pd.DataFrame:
    """The first rows as text, under the layout's column names: what ``detect`` looks at. Each value
    is cut to ``limits.SHOWN_CHARS`` characters (no date, number or id is that long)."""
    if not layout.columns:
        return pd.DataFrame()
    sql, params = reader_sql(layout)
    con = limits.connect()
    try:
        as_text = ", ".join(f"{limits.shown(f'c{i}')} AS c{i}" for i in range(len(layout.columns)))
        frame = con.execute(f"SELECT {as_text} FROM {sql} LIMIT {int(n)}", params).df()
    except duckdb.Error:
        # a bad row further down is reported by ingest, with its line; the guess can do without
        frame = pd.DataFrame(columns=[f"c{i}" for i in range(len(layout.columns))])
    finally:
        con.close()
    frame.columns = list(layout.columns)
    return frame


# --- detection ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    dataset: str
    score: float
    missing_required: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Detection:
    """The guess for one file. ``dataset`` is None when no dataset fits well enough;
    ``alternatives`` ranks every dataset that matched any column, best first."""
    dataset: str | None
    confidence: float
    mapping: dict[str, str]
    column_confidence: dict[str, float]
    alternatives: list[Candidate]
    derived: dict[str, str] = field(default_factory=dict)
    file_name: str | None = None
    tool: str | None = None          # the tool whose export this is (kpi/tool_exports.py), when known
    remembered: bool = False         # the user's earlier corrections for this header were used
    notes: list[str] = field(default_factory=list)   # the tool's rules, in words ("failed payments ...")
    decisions: list = field(default_factory=list)    # evidence.Decision: each choice that changes numbers
    plan_column: str | None = None                   # the column whose plan names say the billing period


def dataset_from_file_name(file_name: str | None) -> str | None:
    """The dataset a file is named after: ``payments.csv``, ``events_2025.csv.gz`` (cli.md)."""
    if not file_name:
        return None
    base = Path(file_name).name.lower()
    for name in sorted(DATASETS, key=len, reverse=True):
        if base.startswith(name) and (len(base) == len(name) or not base[len(name)].isalpha()):
            return name
    return None


def _hinted_datasets(file_name: str | None) -> set[str]:
    if not file_name:
        return set()
    words = set(re.findall(r"[a-z]+", Path(file_name).name.lower().split(".")[0]))
    return {d.name for d in DATASETS.values() if words & set(d.synonyms)}


def _light(name: str) -> str:
    # only case, spaces, '_' and '-' are ignored here: '$user_id' (Mixpanel's) and '*.timestamp'
    # (PostHog's) are decorated names, matched below with less confidence than the plain name
    return re.sub(r"[\s_\-]+", "", str(name).strip().lower())


def _generic_words() -> set[str]:
    count: Counter[str] = Counter()
    for ds in DATASETS.values():
        words = set()
        for col in ds.columns:
            words.add(normalise_name(col.name))
            words.update(normalise_name(s) for s in col.synonyms)
        count.update(words)
    return {w for w, n in count.items() if n >= 4}


_GENERIC = _generic_words()


def _synonym_scores(col: Column) -> dict[str, float]:
    out: dict[str, float] = {}
    for i, syn in enumerate(col.synonyms):
        score = 0.9 - 0.002 * i - (0.1 if normalise_name(syn) in _GENERIC else 0.0)
        out.setdefault(_light(syn), score)
    return out


def _variants(header: str) -> list[tuple[str, float, bool | str]]:
    """Decorated forms of a header: (normalised form, factor, only for date columns (True) or for
    numbers ("number"))."""
    out: list[tuple[str, float, bool | str]] = []
    h = str(header).strip()
    no_brackets = re.sub(r"\s*[\(\[][^\)\]]*[\)\]]\s*", " ", h).strip()
    candidates = {no_brackets}
    if "." in no_brackets:
        parts = [p for p in no_brackets.split(".") if p and p != "*"]
        if parts:
            candidates.add(parts[-1])
            candidates.add(parts[0])
    for c in list(candidates):
        candidates.add(c.lstrip("$*#@_ "))
    for c in candidates:
        if c:
            out.append((normalise_name(c), 0.85, False))
        tokens = re.findall(r"[a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", c).lower())
        while tokens and tokens[-1] in _TYPE_WORDS:
            tokens.pop()
        while tokens and tokens[0] in _TYPE_WORDS:
            tokens.pop(0)
        if tokens:
            out.append(("".join(tokens), 0.8, True))
        units = re.findall(r"[a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", c).lower())
        if len(units) > 1 and units[-1] in _UNIT_WORDS:
            while len(units) > 1 and units[-1] in _UNIT_WORDS:
                units.pop()
            out.append(("".join(units), 0.85, "number"))
    return out


def _plain_name_score(header: str, col: Column, dataset: str) -> float:
    light = _light(header)
    if light == _light(col.name):
        return 1.0
    syn = _synonym_scores(col)
    best = syn.get(light, 0.0)
    canon = normalise_name(col.name)
    syn_norm = {normalise_name(s): v for s, v in syn.items()}
    for form, factor, only in _variants(header):
        if only is True and col.type not in ("date", "timestamp"):
            continue
        if only == "number" and col.type not in ("number", "int"):
            continue
        if form == canon:
            best = max(best, factor)
        elif form in syn_norm:
            best = max(best, factor * syn_norm[form])
    lowered = str(header).lower()
    for phrase in PHRASE_HINTS.get((dataset, col.name), ()):
        if phrase in lowered:
            best = max(best, 0.75)
    return best


# Words that say whose id or time a column holds without changing what it is: 'run_started_at' is a
# start time, 'Conversation ID' a ticket id.
_QUALIFIERS = {"run", "build", "pipeline", "job", "workflow", "ticket", "issue", "incident", "event", "subscription",
               "sub", "invoice", "charge", "payment", "order", "conversation", "case", "bug", "defect", "response",
               "survey", "submission", "campaign", "record", "transaction", "alert", "item", "first", "the",
               "impact", "created", "reported", "data", "attributes", "context", "properties", "props", "traits",
               "metadata"}
_NOISE_WORDS = {"in", "usd", "eur", "gbp", "chf", "cad", "aud", "jpy", "utc", "gmt", "local"} | set(evidence._UNIT_OF)
# Money columns that are not what was paid (an unpaid invoice's total is not revenue).
NOT_REVENUE_WORDS = {"due", "remaining", "outstanding", "tax", "taxes", "fee", "fees", "discount", "discounts",
                     "refunded", "refund", "balance", "shipping", "setup", "credit", "credits", "exchange",
                     "unpaid", "owed", "vat"}
PAID_WORDS = {"paid", "received", "collected", "settled", "settlement", "captured", "net"}
_MONEY_TARGETS = {("payments", "amount"), ("subscriptions", "mrr"), ("subscriptions", "amount"),
                  ("payments", "refund_amount")}


def _syn_list(col: Column) -> list[tuple[str, float]]:
    out = [(col.name, 1.0)]
    for i, syn in enumerate(col.synonyms):
        out.append((syn, 0.9 - 0.002 * i - (0.1 if normalise_name(syn) in _GENERIC else 0.0)))
    return out


def _word_forms(header: str) -> list[list[str]]:
    """The header's words (units and noise left out), and for a JSON path its last one or two names."""
    plain = re.sub(r"\s*[\(\[][^\)\]]*[\)\]]\s*", " ", str(header)).strip() or str(header)
    forms = [[w for w in evidence.header_words(plain) if w not in _NOISE_WORDS]]
    parts = [p for p in plain.split(".") if p and p != "*" and not p.isdigit()]
    if len(parts) > 1:
        forms.append([w for w in evidence.header_words(parts[-1]) if w not in _NOISE_WORDS])
        forms.append([w for w in evidence.header_words(" ".join(parts[-2:])) if w not in _NOISE_WORDS])
    return [f for f in forms if f]


def _singular(word: str) -> str:
    """'services' is 'service', 'labels' 'label': plural words name the same column."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _word_score(header: str, col: Column) -> float:
    """A synonym's words in any order ('started run' for run_started), glued ('idVisit'), or behind a
    qualifier ('run_started_at' is 'started_at' of a run)."""
    best = 0.0
    glued = normalise_name(header)
    dates = col.type in ("date", "timestamp")
    for syn, score in _syn_list(col):
        sw = [_singular(w) for w in evidence.header_words(syn)]
        wanted = set(sw)
        for words in _word_forms(header):
            have = {_singular(w) for w in words}
            if dates:   # 'closed_datetime' is 'closed_at': the words that only say "a time" aside
                have, wanted = have - _TYPE_WORDS, {w for w in sw if w not in _TYPE_WORDS}
                if not wanted:
                    continue
            if not have:
                continue
            if have == wanted and len(wanted) >= 1:
                best = max(best, 0.85 * score)
            elif wanted < have and (have - wanted) <= _QUALIFIERS and (dates or len(wanted) > 1):
                best = max(best, 0.8 * score)
        if 2 <= len(sw) <= 3 and glued != normalise_name(syn):
            from itertools import permutations
            if any(glued == "".join(p) for p in permutations(sw)):
                best = max(best, 0.85 * score)
    return best


def name_score(header: str, col: Column, dataset: str, label: str | None = None) -> float:
    """How well a header (or the question text under it) names a canonical column, from 0 to 1 (1: the
    canonical name itself)."""
    best = _plain_name_score(header, col, dataset)
    if best < 1.0:
        best = max(best, _word_score(header, col))
    if label:
        best = max(best, 0.95 * _plain_name_score(label, col, dataset))
    if best and (dataset, col.name) in _MONEY_TARGETS and col.name != "refund_amount":
        words = set(evidence.header_words(header))
        if words & NOT_REVENUE_WORDS:
            return 0.0
        if words & PAID_WORDS:
            best = min(0.99, best + 0.06)
        if "subtotal" in words or {"sub", "total"} <= words:
            best *= 0.9
    return best


def _date_form(value: str) -> str | None:
    for form, pattern in _DATE_RE.items():
        if pattern.match(value):
            return form
    return None


_DATE_RE = {k: re.compile(v) for k, v in DATE_FORMS.items()}
_NUMBER_RE = re.compile(NUMBER)
_CLOCK_RE = re.compile(r"^\d{1,4}:\d{2}:\d{2}(?:\.\d+)?$")
_JUNK_RE = re.compile(r"[\s\u00a0\u202f$€£¥']")


def clean_number(value: str) -> str:
    v = _JUNK_RE.sub("", value.strip())
    if v.startswith("(") and v.endswith(")"):
        v = "-" + v[1:-1]
    return v


def looks_like(value: str, col_type: str, column: str = "") -> bool:
    """Whether one text value can be read as the column's type (used on samples only)."""
    v = str(value).strip()
    if col_type in ("date", "timestamp"):
        return _date_form(v) is not None
    if col_type in ("number", "int"):
        if col_type == "number" and _CLOCK_RE.match(v):
            return True   # a duration written H:MM:SS
        c = clean_number(v)
        if not _NUMBER_RE.match(c.replace(",", "")) and not _NUMBER_RE.match(c.replace(".", "").replace(",", ".")):
            return False
        if col_type == "int":
            try:
                return float(c.replace(",", "")) == int(float(c.replace(",", "")))
            except ValueError:
                return False
        return True
    if col_type == "bool":
        return v.lower() in TRUE_WORDS + FALSE_WORDS
    return True


def value_fit(values: list[str], col: Column, dataset: str) -> float | None:
    """The share of sample values that fit the column (None: nothing to judge by)."""
    vals = [str(v).strip() for v in values if v is not None and str(v).strip() != ""
            and str(v).strip() not in NULL_MARKERS and not (isinstance(v, float) and v != v)]
    if not vals:
        return None
    fit = sum(looks_like(v, col.type) for v in vals) / len(vals)
    if col.name == "billing_period":
        words = {w for ws in BILLING_PERIODS.values() for w in ws}
        fit = sum(normalise_name(v) in words for v in vals) / len(vals)
    if dataset == "surveys" and col.name == "score" and fit:
        nums = []
        for v in vals:
            try:
                nums.append(float(clean_number(v).replace(",", ".")))
            except ValueError:
                pass
        if nums and sum(0 <= x <= 10 for x in nums) / len(nums) < 0.9:
            fit *= 0.8
    if col.type == "id" and all(_date_form(v) not in (None, "epoch", "compact") for v in vals):
        fit = 0.3  # dates are not ids (long numbers may well be)
    return fit


def _column_scores(columns: list[str], sample: pd.DataFrame | None, dataset: str,
                   cols: tuple[Column, ...], labels: dict[str, str] | None = None,
                   facts: "evidence.FileFacts | None" = None) -> list[tuple[float, int, int, str, str]]:
    pairs = []
    for ci, col in enumerate(cols):
        for si, header in enumerate(columns):
            score = name_score(header, col, dataset, (labels or {}).get(header))
            if score <= 0:
                continue
            f = facts.get(header) if facts is not None else None
            if f is not None and f.json:
                continue    # a cell of JSON is no single value
            if f is not None and f.indexed and col.type == "id":
                score *= 0.6   # 'items.0.id' is a nested item's id, not the row's
            if f is not None and f.dotted and col.type == "text" and f.words and f.words[-1] in ("id", "uuid", "key"):
                score *= 0.7   # 'service.id' names the service less well than 'service.summary
            if sample is not None and header in sample.columns:
                series = sample[header]
                if isinstance(series, pd.DataFrame):
                    series = series.iloc[:, 0]
                fit = value_fit(series.tolist(), col, dataset)
                if fit is not None and fit < 0.9:
                    score *= 0.5 + 0.5 * fit
            pairs.append((round(score, 4), ci, si, col.name, header))
    return pairs


def _assign(pairs, fixed: dict[str, str | None], given_conf: dict[str, float] | None = None,
            reserved: set[str] = frozenset()) -> tuple[dict[str, str], dict[str, float]]:
    mapping: dict[str, str] = {k: v for k, v in fixed.items() if v is not None}
    conf: dict[str, float] = {k: (given_conf or {}).get(k, 1.0) for k in mapping}
    used = set(mapping.values()) | set(reserved)
    for score, _ci, _si, canon, header in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if canon in fixed or canon in mapping or header in used:
            continue
        mapping[canon] = header
        conf[canon] = score
        used.add(header)
    return mapping, conf


# A required column no header names may still be found by its values: the one column of dates,
# the 0-10 answers of a question whose text is the header. Such a guess is never sure.
VALUE_ONLY_CONFIDENCE = 0.5


def _values(sample: pd.DataFrame | None, header: str) -> list | None:
    if sample is None or header not in sample.columns:
        return None
    series = sample[header]
    if isinstance(series, pd.DataFrame):
        series = series.iloc[:, 0]
    return series.tolist()


def _value_only_candidates(columns, sample, dataset: str, col: Column, used: set[str]) -> list[str]:
    out = []
    for header in columns:
        if header in used:
            continue
        values = _values(sample, header)
        fit = value_fit(values, col, dataset) if values is not None else None
        if fit is None or fit < 0.95:
            continue
        vals = [str(v).strip() for v in values if v is not None and str(v).strip() not in ("", "nan")]
        if col.type in ("date", "timestamp"):
            if any(_date_form(v) in ("epoch", "compact") for v in vals):
                continue   # long numbers are ids as often as they are times
        elif (dataset, col.name) == ("surveys", "score"):
            if not all(re.fullmatch(r"\d{1,2}", v) and int(v) <= 10 for v in vals):
                continue
        elif col.type == "number":
            if not any("." in v or "," in v for v in vals) or normalise_name(header).endswith("id"):
                continue   # whole numbers alone say nothing: counts, ids, years
        else:
            continue
        out.append(header)
    return out


def _map_dataset(columns, sample, dataset, fixed, given_conf=None, extra_derived=None, labels=None, facts=None):
    ds = DATASETS[dataset]
    extra_inputs = DERIVED_INPUTS.get(dataset, ())
    inputs = {c.name for c in extra_inputs}
    given_conf = dict(given_conf or {})
    searchable = tuple(c for c in extra_inputs if c.synonyms)
    pairs = _column_scores(columns, sample, dataset, ds.columns + searchable, labels, facts)
    mapping, conf = _assign(pairs, {k: v for k, v in fixed.items() if k in ds.column_names or k in inputs},
                            given_conf)
    derived: dict[str, str] = {}
    notes: dict[str, str] = {}
    if dataset == "subscriptions":
        _subscription_amounts(mapping, conf, derived, notes, fixed, columns, facts)
    if dataset == "test_runs":
        dur = mapping.get("duration_minutes")
        unitless = dur is not None and "duration_minutes" not in fixed and facts is not None \
            and facts.get(dur) is not None and facts.get(dur).unit is None and not facts.get(dur).clock
        if "started_at" in mapping and "finished_at" in mapping and (dur is None or unitless):
            if dur is not None:
                del mapping["duration_minutes"], conf["duration_minutes"]
            derived["duration_minutes"] = f"{mapping['finished_at']} − {mapping['started_at']}"
            conf["finished_at"] = min(conf["finished_at"], conf["started_at"])
        elif "finished_at" not in fixed:
            mapping.pop("finished_at", None)
    # inputs nothing derives from are left as the file's own columns
    for name in ("refund_date",):
        if name in mapping and "refund_amount" not in mapping and name not in fixed:
            del mapping[name]
    for target, how in (extra_derived or {}).items():
        if target not in mapping and target not in fixed:
            derived[target] = how
            conf.setdefault(target, given_conf.get(target, 1.0))
    used = set(mapping.values())
    for name in ds.required:
        if name in mapping or name in derived or name in fixed or sample is None:
            continue
        found = _value_only_candidates(columns, sample, dataset, ds.column(name), used)
        if found:
            mapping[name] = found[0]
            conf[name] = VALUE_ONLY_CONFIDENCE if len(found) == 1 else VALUE_ONLY_CONFIDENCE - 0.05
            used.add(found[0])
    have = set(mapping) | set(derived)
    missing = [c for c in ds.required if c not in have]
    stand_in = {"mrr": "amount", "duration_minutes": "finished_at"}
    req_conf = [conf.get(c, 0.0) if c in mapping else conf.get(stand_in.get(c, c), conf.get(c, 0.0))
                if c in derived else 0.0 for c in ds.required]
    base = sum(req_conf) / len(req_conf)
    optional = [c.name for c in ds.columns if not c.required]
    opt = sum(conf.get(c, 0.0) for c in optional) / len(optional) if optional else 0.0
    # order columns as the dataset declares them
    order = list(ds.column_names) + [c.name for c in extra_inputs]
    mapping = {k: mapping[k] for k in order if k in mapping}
    conf = {k: round(min(1.0, conf[k]), 3) for k in mapping}
    return mapping, conf, derived, missing, base, opt, notes


# Values a status column takes in each kind of table: a CI run succeeds or fails, a ticket is solved.
STATUS_WORDS = {
    "test_runs": {"success", "succeeded", "failed", "failure", "passed", "canceled", "cancelled", "skipped", "errored",
                  "running", "fixed", "broken", "timedout", "notrun", "onhold"},
    "tickets": {"open", "pending", "solved", "closed", "new", "hold", "onhold", "snoozed", "spam", "waitingoncustomer"},
    "incidents": {"resolved", "triggered", "acknowledged", "investigating", "identified", "monitoring", "postmortem"},
    "subscriptions": {"active", "trialing", "intrial", "pastdue", "nonrenewing", "paused", "canceled", "cancelled",
                      "expired", "future"},
    "payments": {"paid", "succeeded", "settled", "refunded", "failed", "declined", "void", "uncollectible"},
}


def _status_hints(facts) -> dict[str, int]:
    """For each dataset, how many of its status words a status-like column of the file holds."""
    out: dict[str, int] = {}
    if facts is None:
        return out
    for f in facts.columns.values():
        if not ({"status", "state", "conclusion", "result", "outcome"} & set(f.words)) or f.numeric:
            continue
        values = {normalise_name(v) for v in f.values}
        for name, words in STATUS_WORDS.items():
            out[name] = max(out.get(name, 0), len(values & words))
    return out


def _subscription_amounts(mapping, conf, derived, notes, fixed, columns, facts) -> None:
    """MRR from an amount per billing period wherever the file says the period (a column, a count and a
    unit, or the plan's name); a tool's own current-MRR column is never taken in its place."""
    plan_column = None
    if facts is not None and "billing_period" not in mapping and "period_count" not in mapping:
        candidates = [mapping[k] for k in ("plan", "product") if k in mapping] + \
            [c for c in columns if {"plan", "product", "variant", "sku", "tier", "package"} &
             set(facts.columns[c].words) and c not in mapping.values()]
        found, periods = evidence.plan_periods(facts, candidates)
        if found and periods:
            plan_column = found
    has_period = "billing_period" in mapping or "period_count" in mapping or plan_column is not None
    if "period_count" in mapping and "billing_period" not in mapping and "period_count" not in fixed:
        del mapping["period_count"], conf["period_count"]   # a count says nothing without its unit
    if "amount" in mapping and "mrr" in mapping and "mrr" not in fixed:
        if has_period or "amount" in fixed:
            notes["tool_mrr"] = mapping.pop("mrr")
            conf.pop("mrr")
        elif "amount" not in fixed:
            del mapping["amount"], conf["amount"]
    if "amount" in mapping and "mrr" not in mapping:
        if has_period or "amount" in fixed or "quantity" in mapping:
            derived["mrr"] = DERIVED_MRR
            if plan_column:
                notes["plan_column"] = plan_column
        else:   # an amount with no period is a monthly amount
            mapping["mrr"] = mapping.pop("amount")
            conf["mrr"] = conf.pop("amount")
    if "mrr" not in derived:
        for name in ("quantity", "period_count"):
            if name in mapping and name not in fixed:
                del mapping[name], conf[name]


# Header words that say which kind of table a file is, beyond the columns a dataset maps: a CI run list
# has a workflow, a branch and a conclusion; an incident list an urgency and responders.
CONTEXT_WORDS = {
    "test_runs": {"pipeline", "workflow", "build", "job", "conclusion", "branch", "commit", "sha", "ref", "runner",
                  "duration",
                  "ci", "attempt", "credits", "queued", "tests", "passed", "failed", "head"},
    "incidents": {"incident", "outage", "urgency", "impact", "postmortem", "acknowledged", "responders", "oncall",
                  "escalation", "mitigated", "impacted", "downtime", "incidents"},
    "tickets": {"ticket", "requester", "agent", "conversation", "inbox", "mailbox", "satisfaction", "csat", "reply",
                "replies", "via", "helpdesk", "mailbox", "customer", "csat"},
    "defects": {"issue", "bug", "reporter", "sprint", "epic", "labels", "resolution", "story", "milestone",
                "assignee", "components"},
    "surveys": {"response", "respondent", "survey", "question", "nps", "feedback", "rating", "comment",
                "submitted", "recommend", "likely", "form"},
    "payments": {"charge", "invoice", "payment", "transaction", "refund", "refunded", "settlement", "captured", "tax",
                 "order", "receipt", "card"},
    "subscriptions": {"subscription", "interval", "renewal", "renews", "trial", "recurring", "cancel", "canceled",
                      "cancelled", "billing", "mrr", "term"},
    "events": {"event", "session", "device", "browser", "os", "properties", "anonymous", "distinct", "insert", "page",
               "screen", "library", "lib", "context"},
    "marketing": {"campaign", "impressions", "impr", "ctr", "cpc", "cpm", "spend", "conversions", "ad", "ads",
                  "adgroup", "reach"},
    "customers": {"contact", "lifecycle", "lead", "signup", "company", "owner"},
}


PROFILE_CONFIDENCE = 0.97   # a column an export profile names (the user's own choices count 1.0)


def detect(columns: list[str], sample: pd.DataFrame | None = None, file_name: str | None = None, *,
           dataset: str | None = None, fixed: dict[str, str | None] | None = None, ws=None,
           remembered=None, labels: dict[str, str] | None = None, facts=None) -> Detection:
    """Guess the dataset and the mapping canonical column -> source header.

    ``dataset`` forces the dataset (the user picked it); ``fixed`` holds columns the user mapped
    already (a value of None keeps that column unmapped); detection fills in the rest. With a
    workspace ``ws`` (or a ``memory.Remembered``), what the user confirmed for this header before
    comes first, and a column whose values are ids already loaded there is the user id. ``labels``
    are question texts written under short column ids. The evidence behind each choice that changes
    numbers is kept in ``decisions``; a tool's profile (``kpi/tool_exports.py``) only raises confidence.
    """
    columns = list(columns)
    fixed = dict(fixed or {})
    if dataset is not None and dataset not in DATASETS:
        raise InputError(f"unknown dataset {dataset!r} — use one of: {', '.join(DATASETS)}")
    if facts is None:
        facts = evidence.file_facts(columns, sample, file_name=file_name)
    if remembered is None and ws is not None:
        remembered = recall(ws, columns)
    if remembered is not None and dataset not in (None, remembered.dataset):
        remembered = None
    given_conf: dict[str, float] = {}
    if remembered is not None:
        fixed = {**remembered.mapping, **fixed}
    overlap = evidence.id_overlap(sample, columns, evidence.known_ids(ws)) if ws is not None else {}
    profile = tool_exports.match(columns, dataset or (remembered.dataset if remembered else None))
    named = dataset_from_file_name(file_name)
    hinted = _hinted_datasets(file_name)
    words = {w for c in list(columns) + list((labels or {}).values()) for w in evidence.header_words(c)}
    statuses = _status_hints(facts)
    results = {}
    for name in ([dataset] if dataset else DATASETS):
        given, extra_derived, conf_in = dict(fixed), None, dict(given_conf)
        idcol = evidence.ID_COLUMNS.get(name)
        best = max(overlap.items(), key=lambda kv: (kv[1], -columns.index(kv[0])), default=None)
        if idcol and idcol not in given and best and best[1] >= 0.5 and best[0] not in given.values():
            given[idcol], conf_in[idcol] = best[0], 0.95   # it joins to what is loaded: it is the user id
        if profile is not None and name == profile.dataset:
            taken = {v for v in given.values() if v}
            from_profile = {k: v for k, v in tool_exports.mapping_for(profile, columns).items()
                            if k not in given and v not in taken}
            given = {**from_profile, **given}
            extra_derived = tool_exports.derived_for(profile, columns)
            conf_in.update({k: PROFILE_CONFIDENCE for k in list(from_profile) + list(extra_derived)})
        if name in ("defects", "marketing"):
            general = evidence.general_rules(name, facts, sample, {})
            if general is not None:
                extra_derived = {**tool_exports.derived_for(general, columns), **(extra_derived or {})}
        mapping, conf, derived, missing, base, opt, notes = _map_dataset(columns, sample, name, given, conf_in,
                                                                         extra_derived, labels, facts)
        if not mapping and not derived:
            continue
        # a dataset that explains more of the file's columns is the likelier one
        coverage = len(mapping) / len(columns) if columns else 0.0
        rank = base + 0.15 * opt + 0.2 * coverage + (0.1 if name in hinted else 0.0)
        rank += 0.04 * min(4, len(words & CONTEXT_WORDS.get(name, set()))) + 0.03 * min(3, statuses.get(name, 0))
        if profile is not None and name == profile.dataset:
            rank += 0.1   # the file looks like this dataset's exports (its bugs are marked, say)
        exact = all(conf.get(c) == 1.0 for c in DATASETS[name].required)
        results[name] = (rank, mapping, conf, derived, missing, base, exact, notes)
    ranked = sorted(results.items(), key=lambda kv: (-(kv[1][0] if not kv[1][4] else kv[1][0] - 1),
                                                     list(DATASETS).index(kv[0])))
    alternatives = [Candidate(name, round(r[0], 3), list(r[4]), dict(r[1])) for name, r in ranked]
    chosen, confidence = None, 0.0
    told = dataset or named or (remembered.dataset if remembered else None)
    if told is None and profile is not None and profile.dataset in results and not results[profile.dataset][4]:
        told = profile.dataset
    if told:
        chosen = told
        r = results.get(chosen)
        confidence = round(min(1.0, r[5]), 3) if r and not r[4] else 0.0
    else:
        complete = [(name, r) for name, r in ranked if not r[4]]
        if complete:
            name, r = complete[0]
            runner_up = complete[1][1] if len(complete) > 1 else None
            if runner_up is None or (r[6] and not runner_up[6]):
                margin_factor = 1.0  # nothing else fits, or only this one is named exactly
            else:
                margin_factor = min(1.0, 0.6 + 0.4 * (r[0] - runner_up[0]) / 0.15)
            confidence = round(min(1.0, r[5]) * margin_factor, 3)
            if confidence >= MIN_CONFIDENCE:
                chosen = name
    if chosen and chosen in results:
        _, mapping, conf, derived, _, _, _, notes = results[chosen]
    else:
        mapping, conf, derived, notes = {}, {}, {}, {}
    tool = profile.tool if profile is not None and chosen == profile.dataset else None
    decisions = evidence.decisions_for(chosen, mapping, derived, facts, overlap, notes.get("tool_mrr"),
                                       notes.get("plan_column")) if chosen else []
    return Detection(dataset=chosen, confidence=confidence, mapping=dict(mapping), column_confidence=dict(conf),
                     alternatives=alternatives, derived=dict(derived), file_name=file_name, tool=tool,
                     remembered=remembered is not None and chosen == remembered.dataset,
                     notes=tool_exports.rule_notes(profile) if tool else [], decisions=decisions,
                     plan_column=notes.get("plan_column"))


def detect_file(path: str | Path, file_name: str | None = None, *, ws=None) -> tuple[FileLayout, Detection]:
    """Sniff a file, read a small sample and guess its dataset and mapping (with the workspace's
    memory of earlier corrections when ``ws`` is given)."""
    layout = sniff(path, file_name=file_name)
    sample = read_sample(layout)
    return layout, detect(list(layout.columns), sample, layout.file_name, ws=ws, labels=labels_of(layout),
                          facts=evidence.file_facts(layout.columns, sample, layout))


def labels_of(layout: FileLayout) -> dict[str, str] | None:
    """The question text under each short column id, where the file has such a header row."""
    if not layout.labels:
        return None
    return {c: t for c, t in zip(layout.columns, layout.labels) if t}


def explain_no_match(detection: Detection, limit: int = 2) -> str:
    """Why no dataset fits, naming the closest datasets and the columns they miss."""
    close = [c for c in detection.alternatives if c.missing_required][:limit]
    if not close:
        return "no dataset fits: no column name matches any dataset's columns (see the datasets page)"
    parts = [f"{c.dataset} (missing {', '.join(c.missing_required)})" for c in close]
    return "no dataset fits: closest are " + " and ".join(parts) if len(parts) > 1 \
        else f"no dataset fits: closest is {parts[0]}"
