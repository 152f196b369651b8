"""The embedded engine: DuckDB inside the workspace file, where uploads land (the default).

Statements run as written (KPI SQL is DuckDB's dialect) on a cursor of the workspace's own, and the
tables prepared at ingest (``kpi/derived.py``) are there to be used when exact.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import pandas as pd

from .. import derived
from .base import Engine, Session


class EmbeddedSession(Session):
    kind = "duckdb"

    def __init__(self, cur):
        self.cur = cur
        found = cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                            "AND table_name LIKE '\\_kpi\\_%' ESCAPE '\\'").fetchall()
        self.prepared = frozenset(r[0] for r in found)

    def _execute(self, sql: str, params: Sequence) -> tuple[list[tuple], list[str]]:
        result = self.cur.execute(sql, list(params or []))
        return result.fetchall(), [c[0] for c in result.description or []]

    def rows(self, sql: str, params: Sequence = ()) -> list[tuple]:
        return self.cur.execute(sql, list(params or [])).fetchall()

    def frame(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        return self.cur.execute(sql, list(params or [])).df()

    def temp(self, name: str, sql: str, params: Sequence = (), *, view: bool = False) -> None:
        self.cur.execute(f"CREATE OR REPLACE TEMP {'VIEW' if view else 'TABLE'} {name} AS {sql}", list(params or []))

    def values(self, name: str, values: Sequence[str]) -> None:
        self.cur.execute(f"CREATE OR REPLACE TEMP TABLE {name} (v VARCHAR)")
        self.cur.executemany(f"INSERT INTO {name} VALUES (?)", [[v] for v in values])

    def has_timeline(self) -> bool:
        return derived.has_timeline(self.cur)


class EmbeddedEngine(Engine):
    """DuckDB over one workspace (its datasets are the workspace's loaded datasets)."""

    kind = "duckdb"

    def __init__(self, ws):
        self.ws = ws

    @property
    def where(self) -> str:
        return "in this workspace"

    @contextmanager
    def session(self) -> Iterator[EmbeddedSession]:
        with self.ws.cursor() as cur:
            yield EmbeddedSession(cur)

    def tables(self) -> dict[str, dict[str, str]]:
        loaded = set(self.ws.datasets())
        out: dict[str, dict[str, str]] = {}
        for table, column, kind in self.ws.rows(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"):
            if table in loaded:
                out.setdefault(table, {})[column] = kind
        return out

    def datasets(self) -> list[str]:
        return self.ws.datasets()

    def columns(self, dataset: str) -> list[str]:
        return self.ws.columns(dataset)
