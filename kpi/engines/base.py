"""What an engine gives the KPI code: its datasets' tables and columns, and sessions that run SQL.

Every KPI statement is written in DuckDB's dialect with ``?`` parameters. An :class:`Engine` knows
the source (which dataset tables exist, their columns and types); a :class:`Session` is one
compute's connection: it runs statements, makes the compute's temporary tables and runs a batch of
independent statements (Spark runs them at once: each of its queries costs about a second of
scheduling, whatever the data size).
"""
from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Iterator, Sequence

import pandas as pd

from ..datasets import DATASETS
from ..errors import InputError
from . import dialect

Query = tuple[str, Sequence]


class SourceError(InputError):
    """The source cannot be reached, or lacks a table or a column the data needs."""


class Session:
    """One compute's connection. Subclasses implement ``_execute`` (rows and column names)."""

    kind = "duckdb"
    prepared: frozenset[str] = frozenset()   # tables prepared at ingest (DuckDB workspaces only)
    parallel = 1                             # statements run_all may run at once

    def rows(self, sql: str, params: Sequence = ()) -> list[tuple]:
        return self._execute(sql, params)[0]

    def frame(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        rows, names = self._execute(sql, params)
        return pd.DataFrame.from_records(rows, columns=names)

    def columns_of(self, table: str) -> list[str]:
        """The columns of a table or view, in order."""
        return self._execute(f"SELECT * FROM {table} LIMIT 0", ())[1]

    def run_all(self, queries: list[Query]) -> list[list[tuple]]:
        """The rows of each statement, in order; independent statements, so they may run at once."""
        if self.parallel <= 1 or len(queries) <= 1:
            return [self.rows(sql, params) for sql, params in queries]
        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            return list(pool.map(lambda q: self.rows(*q), queries))

    # -- to implement ---------------------------------------------------------------------
    def _execute(self, sql: str, params: Sequence) -> tuple[list[tuple], list[str]]:
        raise NotImplementedError

    def temp(self, name: str, sql: str, params: Sequence = (), *, view: bool = False) -> None:
        """Make (or replace) the temporary table — or view — ``name`` of this session."""
        raise NotImplementedError

    def values(self, name: str, values: Sequence[str]) -> None:
        """A temporary one-column table ``name(v)`` of text values, filled with bound parameters."""
        raise NotImplementedError


class TranslatingSession(Session):
    """A session of an engine that speaks another dialect: each statement is translated first."""

    def __init__(self, target: str):
        self.kind = target

    def translate(self, sql: str, params: Sequence) -> tuple[str, dict]:
        return dialect.translate(sql, params, self.kind)


class Engine:
    """Where a workspace's KPIs are computed."""

    kind = "duckdb"

    @property
    def where(self) -> str:
        """Where the numbers are computed, in words, for a spinner or a note."""
        raise NotImplementedError

    @contextmanager
    def session(self) -> Iterator[Session]:
        raise NotImplementedError
        yield

    def tables(self) -> dict[str, dict[str, str]]:
        """{dataset: {column: type}} for each dataset the source holds (types in DuckDB's words)."""
        raise NotImplementedError

    # -- derived from tables() ------------------------------------------------------------
    def datasets(self) -> list[str]:
        have = self.tables()
        return [d for d in DATASETS if d in have]

    def columns(self, dataset: str) -> list[str]:
        return list(self.tables().get(dataset, {}))

    def column_types(self, dataset: str) -> dict[str, str]:
        return dict(self.tables().get(dataset, {}))

    def filled(self) -> set[tuple[str, str]]:
        """(dataset, column) for each canonical column of the source's datasets that holds at least
        one value: asked in one statement (a probe per column costs a round trip, and on Spark a job)."""
        probes = [(ds, c) for ds in self.datasets() for c in DATASETS[ds].column_names if c in self.columns(ds)]
        if not probes:
            return set()
        union = " UNION ALL ".join(
            f'SELECT {i} AS i FROM (SELECT 1 AS one FROM "{ds}" WHERE "{c}" IS NOT NULL LIMIT 1) q{i}'
            for i, (ds, c) in enumerate(probes))
        return {probes[r[0]] for r in self.rows(union)}

    def filled_set(self) -> set[tuple[str, str]]:
        """:meth:`filled`, asked once a minute at most."""
        cache = self.__dict__.get("_filled_cache")
        if cache is None:
            cache = self.__dict__["_filled_cache"] = CatalogCache(self.filled)
        return cache.get()

    def rows(self, sql: str, params: Sequence = ()) -> list[tuple]:
        with self.session() as s:
            return s.rows(sql, params)

    def frame(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        with self.session() as s:
            return s.frame(sql, params)

    def problems(self) -> list[str]:
        """What keeps the source's tables from being read as datasets, one sentence each: no table
        named after a dataset, a required column missing, a canonical column of another type."""
        tables = self.tables()
        found = [d for d in DATASETS if d in tables]
        if not found:
            return [f"{self.kind}: no table {self.where.removeprefix('in ').removeprefix('on ')} is named after a "
                    f"dataset — name them {', '.join(list(DATASETS)[:4])}… (one table per dataset)"]
        out = []
        for ds in found:
            have = tables[ds]
            for col in DATASETS[ds].columns:
                if col.name not in have:
                    if col.required:
                        out.append(f"{self.kind}: table {ds} has no column {col.name} ({_KIND_WORDS[col.type]}), "
                                   "which it needs")
                    continue
                if not _fits(col.type, have[col.name]):
                    out.append(f"{self.kind}: column {ds}.{col.name} holds {have[col.name].lower()}, "
                               f"not {_KIND_WORDS[col.type]}")
        return out

    def close(self) -> None:
        pass


class CatalogCache:
    """A source's tables and columns, read once a minute at most: every page asks for them and a
    warehouse's catalog is slow to ask (Spark has no information_schema at all)."""

    def __init__(self, read, seconds: float = 60.0):
        self._read, self._seconds = read, seconds
        self._lock = threading.Lock()
        self._value: dict | None = None
        self._at: dt.datetime | None = None

    def get(self) -> dict:
        with self._lock:
            now = dt.datetime.now()
            if self._value is None or (now - self._at).total_seconds() > self._seconds:
                self._value, self._at = self._read(), now
            return self._value

    def forget(self) -> None:
        with self._lock:
            self._value = None


# Types as each engine's catalog names them, in DuckDB's words (custom KPIs sum or average
# only numeric columns, and the CLI checks a source's canonical columns by them).
_TYPE_WORDS = {
    "double precision": "DOUBLE", "double": "DOUBLE", "real": "FLOAT", "float": "FLOAT",
    "bigint": "BIGINT", "integer": "INTEGER", "int": "INTEGER", "smallint": "SMALLINT", "tinyint": "TINYINT",
    "boolean": "BOOLEAN", "text": "VARCHAR", "string": "VARCHAR", "character varying": "VARCHAR",
    "character": "VARCHAR", "varchar": "VARCHAR", "date": "DATE",
    "timestamp without time zone": "TIMESTAMP", "timestamp_ntz": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMP WITH TIME ZONE", "timestamp": "TIMESTAMP",
}


def duckdb_type(name: str) -> str:
    """An engine's type name in DuckDB's words (numeric/decimal keep their precision)."""
    low = (name or "").strip().lower()
    if low.startswith(("numeric", "decimal")):
        return "DECIMAL" + low[len("numeric"):] if low.startswith("numeric") else low.upper()
    if low.startswith(("varchar", "char")):
        return "VARCHAR"
    return _TYPE_WORDS.get(low, low.upper())


_KIND_WORDS = {"id": "an id: text or an integer", "text": "text", "date": "a date", "timestamp": "a timestamp",
               "number": "a number", "int": "an integer", "bool": "true/false"}
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")
_NUMBERS = _INTEGERS + ("DOUBLE", "FLOAT", "REAL", "DECIMAL")


def _fits(kind: str, sql_type: str) -> bool:
    """Whether a column of ``sql_type`` (DuckDB's words) can stand for a canonical column of ``kind``."""
    t = sql_type.upper()
    if kind == "id":
        return t == "VARCHAR" or t in _INTEGERS
    if kind == "text":
        return t == "VARCHAR"
    if kind == "date":
        return t == "DATE"
    if kind == "timestamp":
        return t.startswith("TIMESTAMP")
    if kind == "number":
        return t.startswith(_NUMBERS)
    if kind == "int":
        return t in _INTEGERS or t.startswith("DECIMAL")
    if kind == "bool":
        return t == "BOOLEAN"
    return True
