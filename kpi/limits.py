"""How much work one file may cost: each limit on what a file may hold, and the setting that raises it.

Anyone with the app's address can upload, so every read of a file is bounded before DuckDB starts
on it: the bytes it inflates to (and how many times its compressed size that is), its rows, its
Parquet row groups and its longest value. A file over a limit is refused with a message that names
the limit and the environment variable that raises it. What leaves DuckDB for pandas and the
browser (samples, previews, examples, filter choices) is cut to ``SHOWN_CHARS`` per value.
"""
from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .errors import InputError


@dataclass(frozen=True)
class Limit:
    env: str          # the environment variable that sets it
    default: str
    size: bool        # a number of bytes ("2GB", "500MB", "2MiB") rather than a count
    what: str         # what it bounds, in words (README)

    def value(self) -> int:
        text = os.environ.get(self.env, "").strip() or self.default
        found = parse_size(text) if self.size else _parse_count(text)
        if found is None or found <= 0:
            example = "2GB or 500MB" if self.size else "50000000"
            raise InputError(f"the setting {self.env}={text!r} is not understood — give a positive "
                             f"{'size such as ' if self.size else 'whole number such as '}{example}, "
                             f"or remove it to use the default ({self.default})")
        return found


MAX_FILE_SIZE = Limit("KPI_EXPLORER_MAX_FILE_SIZE", "2GB", True,
                      "the size of one file once decompressed (a `.csv.gz` as the CSV it holds)")
MAX_RATIO = Limit("KPI_EXPLORER_MAX_RATIO", "100", False,
                  "how many times its compressed size a `.gz` file may inflate to (checked once it "
                  "passes 64 MB: real exports compress 5 to 20 times)")
MAX_ROWS = Limit("KPI_EXPLORER_MAX_ROWS", "50000000", False, "the rows of one file")
MAX_ROW_GROUPS = Limit("KPI_EXPLORER_MAX_ROW_GROUPS", "10000", False,
                       "the row groups of one Parquet file (each costs a read of its own)")
MAX_CELL_SIZE = Limit("KPI_EXPLORER_MAX_CELL_SIZE", "2MB", True,
                      "the longest value: one line of a CSV file, one cell of a Parquet file")
LIMITS = (MAX_FILE_SIZE, MAX_RATIO, MAX_ROWS, MAX_ROW_GROUPS, MAX_CELL_SIZE)

RATIO_FROM = 64 * 10**6   # bytes: below this a small file of repeated rows is harmless whatever its ratio
SHOWN_CHARS = 1000        # characters of one value that reach pandas or the browser (samples, previews)
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(text: str) -> int | None:
    """'2GB' -> 2,000,000,000 bytes ('2GiB' -> 2**31); a plain number is bytes. None when unreadable."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _parse_count(text: str) -> int | None:
    cleaned = str(text).replace("_", "").replace(",", "").strip()
    return int(cleaned) if cleaned.isdigit() else None


def size_words(n: float) -> str:
    """Bytes as a person reads them: '2.4 MB', '1 GB'."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            shown = f"{n / scale:,.1f}".removesuffix(".0")
            return f"{shown} {unit}"
    return f"{int(n):,} bytes"


def raise_hint(limit: Limit, now: int | str) -> str:
    return (f"if the file is genuine, raise the limit with the setting {limit.env} (now {now}) in the "
            f"environment of the app's server or of the command")


# --- the checks --------------------------------------------------------------------------------
def check_file_size(path: str | Path, name: str) -> None:
    """A file on disk (CSV or Parquet) is no larger than MAX_FILE_SIZE."""
    size = os.stat(path).st_size
    most = MAX_FILE_SIZE.value()
    if size > most:
        raise InputError.at(file=name, problem=f"the file is {size_words(size)}, more than the "
                                               f"{size_words(most)} one file may hold",
                            hint="split it (one file per year, say) and load the parts with append, or "
                                 + raise_hint(MAX_FILE_SIZE, size_words(most)))


_INFLATED: dict[tuple, int] = {}   # (path, size, mtime) -> bytes inflated: one pass per uploaded file


def check_gzip(path: str | Path, name: str) -> int:
    """Inflate a gzip file without keeping it, and refuse it as soon as it passes MAX_FILE_SIZE or
    MAX_RATIO times its compressed size (past RATIO_FROM): a bomb is refused after reading a few
    hundred megabytes, not a gigabyte. Returns the inflated size."""
    st = os.stat(path)
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key in _INFLATED:
        return _INFLATED[key]
    most, ratio = MAX_FILE_SIZE.value(), MAX_RATIO.value()
    compressed = max(st.st_size, 1)
    bound = min(most, max(RATIO_FROM, ratio * compressed))
    inflated = 0
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        with open(path, "rb") as fh:
            while inflated <= bound:
                chunk = fh.read(1 << 20)
                if not chunk:   # read to the end: what zlib still holds (only then: flush inflates at once)
                    inflated += len(decoder.flush())
                    break
                while chunk and inflated <= bound:   # at most 4 MB inflated at a time
                    inflated += len(decoder.decompress(chunk, 1 << 22))
                    chunk = decoder.unconsumed_tail
                    if not chunk and decoder.eof and decoder.unused_data.startswith(b"\x1f\x8b"):
                        # the next member of a multi-member gzip (what `cat a.gz b.gz` makes)
                        chunk, decoder = decoder.unused_data, zlib.decompressobj(16 + zlib.MAX_WBITS)
    except zlib.error as exc:
        raise InputError.at(file=name, problem=f"the gzip file is damaged after {size_words(inflated)} ({exc})",
                            hint="compress the CSV again with gzip") from None
    if inflated > bound and bound == most:
        raise InputError.at(file=name, problem=f"the file inflates to more than {size_words(most)}, the most "
                                               f"one file may hold once decompressed",
                            hint="split it and load the parts with append, or " + raise_hint(MAX_FILE_SIZE,
                                                                                             size_words(most)))
    if inflated > bound:
        raise InputError.at(file=name, problem=f"the file inflates to more than {ratio:,} times its size "
                                               f"({size_words(st.st_size)} compressed, over "
                                               f"{size_words(bound)} so far): this looks like a file built "
                                               f"to fill the server (a real export compresses 5 to 20 times)",
                            hint=raise_hint(MAX_RATIO, f"{ratio:,}"))
    if len(_INFLATED) > 64:
        _INFLATED.clear()
    _INFLATED[key] = inflated
    return inflated


def check_parquet(con: duckdb.DuckDBPyConnection, path: str | Path, name: str) -> None:
    """A Parquet file's rows and row groups, read from the head of its footer, within their limits."""
    check_file_size(path, name)
    found = parquet_counts(path)
    if found is None:   # a footer this reader does not follow: DuckDB reads all of it
        found = con.execute("SELECT num_rows, num_row_groups FROM parquet_file_metadata(?)",
                            [str(path)]).fetchall()[0]
    rows, groups = found
    most = MAX_ROW_GROUPS.value()
    if groups > most:
        raise InputError.at(file=name, problem=f"the Parquet file is split into {groups:,} row groups, more "
                                               f"than the {most:,} KPI Explorer reads (each costs a read of "
                                               f"its own)",
                            hint="write it again with larger row groups (e.g. pyarrow's row_group_size, "
                                 "or COPY ... (ROW_GROUP_SIZE 1000000)), or " + raise_hint(MAX_ROW_GROUPS,
                                                                                           f"{most:,}"))
    check_rows(rows, name)


class _Compact:
    """Just enough of Thrift's compact protocol (what a Parquet footer is written in) to skip values."""

    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def byte(self) -> int:
        self.at += 1
        return self.data[self.at - 1]   # IndexError past the end: the caller gives up

    def varint(self) -> int:
        value = shift = 0
        while True:
            b = self.byte()
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def list_header(self) -> tuple[int, int]:
        head = self.byte()
        size = head >> 4
        return (self.varint() if size == 15 else size), head & 0x0F

    def skip(self, kind: int, depth: int = 0) -> None:
        if depth > 32:
            raise ValueError("nested too deeply")
        if kind in (1, 2):            # a boolean field: its value is its type
            return
        if kind == 3:
            self.at += 1
        elif kind in (4, 5, 6):
            self.varint()
        elif kind == 7:
            self.at += 8
        elif kind == 8:
            length = self.varint()   # read before moving on: `self.at += self.varint()` would lose it
            self.at += length
        elif kind in (9, 10):
            size, element = self.list_header()
            for _ in range(size):
                if element in (1, 2):  # booleans in a list take a byte each
                    self.at += 1
                else:
                    self.skip(element, depth + 1)
        elif kind == 11:
            size = self.varint()
            if size:
                types = self.byte()
                for _ in range(size):
                    self.skip(types >> 4, depth + 1)
                    self.skip(types & 0x0F, depth + 1)
        elif kind == 12:
            last = 0
            while True:
                head = self.byte()
                if head & 0x0F == 0:
                    return
                last = last + (head >> 4) if head >> 4 else self.zigzag()
                self.skip(head & 0x0F, depth + 1)
        else:
            raise ValueError(f"unknown type {kind}")


def parquet_counts(path: str | Path, head_bytes: int = 4 << 20) -> tuple[int, int] | None:
    """(rows, row groups) of a Parquet file, read from the first bytes of its footer: the schema, the
    row count and the row-group list's length come before the row groups themselves, which are what
    makes a footer of 200,000 row groups 60 MB. None when the footer is not laid out as expected."""
    import struct
    try:
        with open(path, "rb") as fh:
            fh.seek(-8, os.SEEK_END)
            size, magic = struct.unpack("<I4s", fh.read(8))
            if magic != b"PAR1" or size + 8 > os.fstat(fh.fileno()).st_size:
                return None
            fh.seek(-8 - size, os.SEEK_END)
            reader = _Compact(fh.read(min(size, head_bytes)))
        rows, last = None, 0
        while True:
            head = reader.byte()
            kind = head & 0x0F
            if kind == 0:
                return None
            last = last + (head >> 4) if head >> 4 else reader.zigzag()
            if last == 3 and kind == 6:
                rows = reader.zigzag()
            elif last == 4 and kind == 9 and rows is not None:
                return rows, reader.list_header()[0]
            else:
                reader.skip(kind)
    except (OSError, IndexError, ValueError):
        return None


def check_rows(rows: int, name: str) -> None:
    most = MAX_ROWS.value()
    if rows > most:
        raise InputError.at(file=name, problem=f"the file holds more than {most:,} rows, the most one file "
                                               f"may hold",
                            hint="split it (one file per year, say) and load the parts with append, or "
                                 + raise_hint(MAX_ROWS, f"{most:,}"))


def check_cells(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], name: str,
                labels: list[str]) -> None:
    """The longest text value of the named columns of a table is within MAX_CELL_SIZE (what a CSV
    file's line limit already ensures for CSV files)."""
    if not columns:
        return
    most = MAX_CELL_SIZE.value()
    found = con.execute("SELECT " + ", ".join(f"max(strlen(CAST({c} AS VARCHAR)))" for c in columns)
                        + f" FROM {table}").fetchall()[0]
    for label, longest in zip(labels, found):
        if longest is not None and longest > most:
            raise InputError.at(file=name, column=label,
                                problem=f"a value is {size_words(longest)} long, more than the "
                                        f"{size_words(most)} one value may hold",
                                hint="leave that column out of the export, or " + raise_hint(MAX_CELL_SIZE,
                                                                                           size_words(most)))


# --- bounded reading -------------------------------------------------------------------------------
def connect() -> duckdb.DuckDBPyConnection:
    """A scratch DuckDB connection (previews, samples) held to the workspaces' memory limit, spilling
    where in-memory workspaces spill (not into the server's working folder)."""
    from .workspace import data_home
    spill = data_home() / "tmp"
    spill.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET memory_limit = ?", [os.environ.get("KPI_EXPLORER_MEMORY_LIMIT", "1GB")])
    con.execute("SET temp_directory = ?", [str(spill)])
    return con


def shown(expr: str) -> str:
    """SQL cutting a value to what may reach pandas or the browser."""
    return f"left(CAST({expr} AS VARCHAR), {SHOWN_CHARS})"
