"""A workspace: one DuckDB file holding a team's datasets, their mappings, settings and goals.

Streamlit serves each browser session from its own thread and a DuckDB connection must not be
shared between threads, so every query takes its own cursor from the one database object and
closes it afterwards (``../shared/notes/stack.md``).
"""
from __future__ import annotations

import json
import os
import re
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pandas as pd

from . import derived
from .datasets import DATASETS, SQL_TYPES
from .errors import InputError, PermissionDenied, WorkspaceGone

META_TABLE = "_kpi_meta"          # key/value settings, data version
DATASET_TABLE = "_kpi_datasets"   # one row per loaded dataset: source, mapping, rows
DOCS_TABLE = "_kpi_docs"          # named JSON documents: goals, KPI set, custom KPIs, annotations, ...

DEFAULT_SETTINGS = {"gross_margin": "1.0"}
DATA_DOCS = {"custom_kpis"}  # documents that change what compute() returns


def data_home() -> Path:
    """The data folder: ``$KPI_EXPLORER_HOME`` or ``~/.kpi_explorer``."""
    home = os.environ.get("KPI_EXPLORER_HOME")
    return Path(home).expanduser() if home else Path.home() / ".kpi_explorer"


def quote_ident(name: str) -> str:
    """A SQL identifier for any text (file headers included): double-quoted, quotes doubled."""
    return '"' + str(name).replace('"', '""') + '"'


_DAMAGE = re.compile(r"Corrupt database file|Could not read enough bytes|checksum .* does not match", re.IGNORECASE)


class _Gate:
    """The units of work in flight on one database object, and whether it still takes new ones."""

    def __init__(self):
        self.cond = threading.Condition()
        self.active = 0
        self.gone: str | None = None


class Workspace:
    """One workspace file. ``Workspace(None)`` is an in-memory workspace (tests, folder input)."""

    def __init__(self, path: str | os.PathLike | None = None, *, read_only: bool = False):
        self.path = Path(path) if path is not None else None
        self.read_only = read_only
        if self.path is not None and not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if read_only and self.path is not None and not self.path.exists():
            raise InputError(f"{self.path}: no such workspace file — check the path")
        try:
            self._db = duckdb.connect(str(self.path) if self.path else ":memory:", read_only=read_only)
        except duckdb.Error as exc:
            raise InputError(f"{self._file_name()}: cannot open the workspace file — it is damaged or "
                             "not a workspace saved by KPI Explorer") from exc
        # Timestamps with a zone are converted to UTC (datasets.md), whatever the server's zone is.
        self._db.execute("SET GLOBAL TimeZone = 'UTC'")
        # Many workspaces share one server: each may hold this much before DuckDB spills to disk.
        self._db.execute("SET GLOBAL memory_limit = ?", [os.environ.get("KPI_EXPLORER_MEMORY_LIMIT", "1GB")])
        if self.path is None:
            spill = data_home() / "tmp"
            spill.mkdir(parents=True, exist_ok=True)
            self._db.execute("SET GLOBAL temp_directory = ?", [str(spill)])
        self._lock = threading.Lock()
        self._gate = _Gate()
        try:
            if not read_only:
                self._ensure_meta()
        except duckdb.Error as exc:
            self._db.close()
            raise InputError(f"{self._file_name()}: cannot open the workspace file — it is damaged or "
                             "not a workspace saved by KPI Explorer") from exc

    def _file_name(self) -> str:
        # Only the name: the folder is the server's business. (The app never shows this message
        # for its own workspaces, whose file names hold their ids: it recovers instead.)
        return self.path.name if self.path is not None else "in-memory workspace"

    _view_of: "Workspace | None" = None  # set on a read-only view sharing another's database

    def read_only_view(self) -> "Workspace":
        """A read-only Workspace over this one's database (a viewer's share link).

        One process cannot open a DuckDB file read-write and read-only at once ("different
        configuration"), and a viewer opening it read-only first would lock the editors out. So a
        view shares the database object and runs every unit of work in a ``READ ONLY``
        transaction: DuckDB refuses writes, and ``require_writable`` refuses them before that.
        """
        view = object.__new__(Workspace)
        view.path, view.read_only, view._db = self.path, True, self._db
        view._lock, view._view_of, view._gate = threading.Lock(), self, self._gate
        return view

    @property
    def gone(self) -> str | None:
        """Why this workspace can no longer be used (deleted), or None while it can."""
        return self._gate.gone

    def shut(self, reason: str, timeout: float = 30.0) -> None:
        """Refuse new work with ``reason``, wait for the units of work in flight, then close.

        Used before a workspace's file is deleted: DuckDB writes the file again when the last
        cursor on it closes, so every cursor must be done before the file goes.
        """
        gate = self._gate
        with gate.cond:
            gate.gone = reason
            if not gate.cond.wait_for(lambda: gate.active == 0, timeout=timeout):
                gate.gone = None
                raise InputError("Someone else is working in this workspace right now — try again in a minute.")
        self._db.close()

    # -- connection handling -------------------------------------------------------------
    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own for one unit of work; closed afterwards."""
        gate = self._gate
        with gate.cond:
            if gate.gone:
                raise WorkspaceGone(gate.gone)
            with self._lock:
                cur = self._db.cursor()
            gate.active += 1
        try:
            if self._view_of is not None:
                cur.execute("BEGIN TRANSACTION READ ONLY")
            yield cur
        except duckdb.Error as exc:
            # DuckDB reads blocks lazily: damage in the middle of a file shows on the first query
            # that reaches it. Say so plainly; the app keeps the file aside (workspaces.open_or_recover).
            if _DAMAGE.search(str(exc)):
                raise InputError(f"{self._file_name()}: the workspace file is damaged (part of it cannot be "
                                 "read) — restore it from a backup or load the data again") from exc
            raise
        finally:
            cur.close()  # closing a cursor rolls back its open transaction
            with gate.cond:
                gate.active -= 1
                gate.cond.notify_all()

    def rows(self, sql: str, params: list | tuple | None = None) -> list[tuple]:
        with self.cursor() as cur:
            return cur.execute(sql, params or []).fetchall()

    def df(self, sql: str, params: list | tuple | None = None) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute(sql, params or []).df()

    def close(self) -> None:
        if self._view_of is None:  # a view does not own the database it shares
            self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def require_writable(self, action: str = "change this workspace") -> None:
        if self.read_only:
            raise PermissionDenied(f"This workspace is read-only: you cannot {action}.")

    # -- metadata ------------------------------------------------------------------------
    def _ensure_meta(self) -> None:
        with self.cursor() as cur:
            cur.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)")
            cur.execute(f"""CREATE TABLE IF NOT EXISTS {DATASET_TABLE} (
                name VARCHAR PRIMARY KEY, source VARCHAR, mapping VARCHAR, rows BIGINT,
                loaded_at TIMESTAMP, extra_columns VARCHAR)""")
            cur.execute(f"CREATE TABLE IF NOT EXISTS {DOCS_TABLE} (name VARCHAR PRIMARY KEY, body VARCHAR)")

    def _has_table(self, name: str) -> bool:
        return bool(self.rows("SELECT 1 FROM information_schema.tables WHERE table_name = ? "
                              "AND table_schema = 'main'", [name]))

    def setting(self, key: str, default: str | None = None) -> str | None:
        if not self._has_table(META_TABLE):
            return DEFAULT_SETTINGS.get(key, default)
        found = self.rows(f"SELECT value FROM {META_TABLE} WHERE key = ?", [key])
        return found[0][0] if found else DEFAULT_SETTINGS.get(key, default)

    def set_setting(self, key: str, value: Any) -> None:
        self.require_writable("change settings")
        with self.cursor() as cur:
            cur.execute(f"INSERT OR REPLACE INTO {META_TABLE} VALUES (?, ?)", [key, None if value is None else str(value)])
        self.bump_version()

    @property
    def data_version(self) -> int:
        """Changes whenever data, mappings, settings or goals change: part of every cache key."""
        return int(self.setting("data_version", "0") or 0)

    @property
    def plan_version(self) -> int:
        """Changes whenever goals, the KPI set, the wizard or annotations are saved."""
        return int(self.setting("plan_version", "0") or 0)

    def bump_version(self, cur: duckdb.DuckDBPyConnection | None = None, key: str = "data_version") -> None:
        sql = (f"INSERT OR REPLACE INTO {META_TABLE} SELECT ?, "
               f"CAST(COALESCE((SELECT CAST(value AS BIGINT) FROM {META_TABLE} WHERE key = ?), 0) + 1 AS VARCHAR)")
        if cur is not None:
            cur.execute(sql, [key, key])
        else:
            with self.cursor() as c:
                c.execute(sql, [key, key])

    def doc(self, name: str, default: Any = None) -> Any:
        """A named JSON document of the workspace (goals, KPI set, custom KPIs, ...)."""
        if not self._has_table(DOCS_TABLE):
            return default
        found = self.rows(f"SELECT body FROM {DOCS_TABLE} WHERE name = ?", [name])
        return json.loads(found[0][0]) if found else default

    def set_doc(self, name: str, body: Any) -> None:
        self.require_writable("save changes")
        with self.cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            cur.execute(f"INSERT OR REPLACE INTO {DOCS_TABLE} VALUES (?, ?)", [name, json.dumps(body, default=str)])
            # Custom KPI definitions change computed numbers; plans (goals, KPI set, ...) do not.
            self.bump_version(cur, "data_version" if name in DATA_DOCS else "plan_version")
            cur.execute("COMMIT")

    # -- datasets ------------------------------------------------------------------------
    def datasets(self) -> list[str]:
        """Names of the loaded datasets, in the catalog's order."""
        if not self._has_table(DATASET_TABLE):
            return []
        have = {r[0] for r in self.rows(f"SELECT name FROM {DATASET_TABLE}")}
        return [d for d in DATASETS if d in have]

    def has(self, dataset: str) -> bool:
        return dataset in self.datasets()

    def columns(self, dataset: str) -> list[str]:
        """Columns of a loaded dataset's table: canonical ones first, then extra (segment) columns."""
        return [r[0] for r in self.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main' "
            "ORDER BY ordinal_position", [dataset])]

    def dataset_info(self) -> pd.DataFrame:
        if not self._has_table(DATASET_TABLE):
            return pd.DataFrame(columns=["name", "source", "mapping", "rows", "loaded_at", "extra_columns"])
        return self.df(f"SELECT * FROM {DATASET_TABLE}")

    def row_count(self, dataset: str) -> int:
        return int(self.rows(f"SELECT count(*) FROM {quote_ident(dataset)}")[0][0])

    def has_column(self, dataset: str, column: str) -> bool:
        """True when the dataset is loaded and its column holds at least one value."""
        if not self.has(dataset) or column not in self.columns(dataset):
            return False
        q = quote_ident(column)
        return bool(self.rows(f"SELECT 1 FROM {quote_ident(dataset)} WHERE {q} IS NOT NULL LIMIT 1"))

    def segment_columns(self) -> dict[str, list[str]]:
        """Extra (non-canonical) columns per dataset: the segments a breakdown can use."""
        out = {}
        for ds in self.datasets():
            canon = set(DATASETS[ds].column_names)
            out[ds] = [c for c in self.columns(ds) if c not in canon]
        return out

    def replace_table(self, cur: duckdb.DuckDBPyConnection, dataset: str, select_sql: str,
                      params: list | None = None, *, source: str = "", mapping: dict | None = None,
                      mode: str = "replace") -> int:
        """Swap in a dataset from a SELECT inside the caller's open transaction.

        ``mode='append'`` unions with the rows already there and drops exact duplicate rows.
        Returns the new row count. The caller commits (or rolls back: nothing changes then).
        """
        self.require_writable("load data")
        target = quote_ident(dataset)
        staging = quote_ident(f"_kpi_staging_{dataset}")
        cur.execute(f"DROP TABLE IF EXISTS {staging}")
        if mode == "append" and self._table_exists(cur, dataset):
            old_cols = [r[0] for r in cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema='main' "
                "ORDER BY ordinal_position", [dataset]).fetchall()]
            cur.execute(f"CREATE TEMP TABLE _kpi_new AS {select_sql}", params or [])
            new_cols = [r[0] for r in cur.execute("SELECT * FROM _kpi_new LIMIT 0").description]
            cols = old_cols + [c for c in new_cols if c not in old_cols]

            def pick(have):
                return ", ".join(quote_ident(c) if c in have else f"NULL AS {quote_ident(c)}" for c in cols)
            cur.execute(f"CREATE TABLE {staging} AS SELECT DISTINCT * FROM ("
                        f"SELECT {pick(old_cols)} FROM {target} UNION ALL SELECT {pick(new_cols)} FROM _kpi_new)")
            cur.execute("DROP TABLE _kpi_new")
        elif mode in ("replace", "append"):
            cur.execute(f"CREATE TABLE {staging} AS {select_sql}", params or [])
        else:
            raise InputError(f"unknown mode {mode!r} — use replace or append")
        cur.execute(f"DROP TABLE IF EXISTS {target}")
        cur.execute(f"ALTER TABLE {staging} RENAME TO {target}")
        rows = cur.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0]
        canon = set(DATASETS[dataset].column_names)
        extra = [r[0] for r in cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema='main'",
            [dataset]).fetchall() if r[0] not in canon]
        derived.refresh(cur, dataset)
        cur.execute(f"INSERT OR REPLACE INTO {DATASET_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
                    [dataset, source, json.dumps(mapping or {}), rows,
                     datetime.now(timezone.utc).replace(tzinfo=None), json.dumps(extra)])
        self.bump_version(cur)
        return rows

    @staticmethod
    def _table_exists(cur, name: str) -> bool:
        return bool(cur.execute("SELECT 1 FROM information_schema.tables WHERE table_name = ? AND table_schema='main'",
                                [name]).fetchall())

    def drop_dataset(self, dataset: str) -> None:
        self.require_writable("delete data")
        with self.cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            cur.execute(f"DROP TABLE IF EXISTS {quote_ident(dataset)}")
            cur.execute(f"DELETE FROM {DATASET_TABLE} WHERE name = ?", [dataset])
            derived.refresh(cur, dataset)
            self.bump_version(cur)
            cur.execute("COMMIT")

    def load_frame(self, dataset: str, frame: pd.DataFrame, *, mode: str = "replace", source: str = "frame") -> int:
        """Load a small, already-canonical frame (tests, generated tables): columns are cast to
        the dataset's types; unknown columns are kept as segments. Not for user files: use ingest."""
        self.require_writable("load data")
        if dataset not in DATASETS:
            raise InputError(f"unknown dataset {dataset!r}")
        ds = DATASETS[dataset]
        missing = [c for c in ds.required if c not in frame.columns]
        if missing:
            raise InputError(f"{dataset}: missing required column(s) {', '.join(missing)}")
        parts = []
        for col in ds.columns:
            sql_type = SQL_TYPES[col.type]
            if col.name in frame.columns:
                parts.append(f"TRY_CAST({quote_ident(col.name)} AS {sql_type}) AS {quote_ident(col.name)}")
            else:
                parts.append(f"CAST(NULL AS {sql_type}) AS {quote_ident(col.name)}")
        for extra in frame.columns:
            if extra not in ds.column_names:
                parts.append(f"CAST({quote_ident(extra)} AS VARCHAR) AS {quote_ident(extra)}")
        frame = frame.copy()
        for c in frame.columns:  # str dates/timestamps cast cleanly; None stays NULL
            if frame[c].dtype == object:
                frame[c] = frame[c].astype("string")
        with self.cursor() as cur:
            cur.register("_kpi_frame", frame)
            cur.execute("BEGIN TRANSACTION")
            try:
                n = self.replace_table(cur, dataset, f"SELECT {', '.join(parts)} FROM _kpi_frame",
                                       source=source, mode=mode)
                cur.execute("COMMIT")
            except Exception:
                cur.execute("ROLLBACK")
                raise
        return n
