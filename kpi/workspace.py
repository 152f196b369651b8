"""A workspace: one DuckDB file holding a team's datasets, their mappings, settings and goals.

Streamlit serves each browser session from its own thread and a DuckDB connection must not be
shared between threads, so every query takes its own cursor from the one database object and
closes it afterwards (``../shared/notes/stack.md``).
"""
from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, TypeVar

import duckdb
import pandas as pd

from . import derived
from .datasets import DATASETS, SQL_TYPES
from .errors import Busy, InputError, PermissionDenied, StaleWrite, WorkspaceGone

log = logging.getLogger(__name__)

META_TABLE = "_kpi_meta"          # key/value settings, data version
DATASET_TABLE = "_kpi_datasets"   # one row per loaded dataset: source, mapping, rows
DOCS_TABLE = "_kpi_docs"          # named JSON documents: goals, KPI set, custom KPIs, annotations, ...

DEFAULT_SETTINGS = {"gross_margin": "1.0"}
DATA_DOCS = {"custom_kpis"}  # documents that change what compute() returns

# Saves: one writer at a time per file in this process (DuckDB refuses the second of two
# overlapping writes to the same row with "Conflict on update!"); a conflict that still happens is
# retried after a short, growing pause, and then reported as Busy, never as DuckDB's own words.
WRITE_WAIT = 60.0          # seconds a save waits for another save's turn
CONFLICT_RETRIES = 8       # pauses of 10, 20, 40 ... ms (about 2.5 s in all)
_CONFLICT = re.compile(r"conflict on|duplicate key|constraint violation", re.IGNORECASE)
NO_CHECK = object()            # "no expectation": a write that does not compare first
T = TypeVar("T")

_writers: dict[str, threading.RLock] = {}
_writers_guard = threading.Lock()


def _writer_for(path: Path | None) -> threading.RLock:
    """The write turn of one file, shared by every Workspace object on it in this process (DuckDB
    gives them all the same database)."""
    if path is None:
        return threading.RLock()
    with _writers_guard:
        return _writers.setdefault(os.path.realpath(path), threading.RLock())


def is_conflict(exc: BaseException) -> bool:
    """Whether a DuckDB error is a write-write conflict that a later attempt can get past."""
    return isinstance(exc, (duckdb.TransactionException, duckdb.ConstraintException)) and bool(
        _CONFLICT.search(str(exc)))


def private_folder(path: Path) -> None:
    """Make a folder the server's user alone can list and enter (0700): a workspace's file name is
    its id, and its id is the owner's credential."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        os.chmod(path, 0o700)
    except OSError:
        pass  # a folder someone else owns keeps its mode


def private_file(path: Path) -> None:
    """Make a file readable and writable by the server's user only (0600)."""
    try:
        os.chmod(path, 0o600)
    except OSError:
        pass


def data_home() -> Path:
    """The data folder: ``$KPI_EXPLORER_HOME`` or ``~/.kpi_explorer``."""
    home = os.environ.get("KPI_EXPLORER_HOME")
    return Path(home).expanduser() if home else Path.home() / ".kpi_explorer"


def quote_ident(name: str) -> str:
    """A SQL identifier for any text (file headers included): double-quoted, quotes doubled."""
    return '"' + str(name).replace('"', '""') + '"'


_DAMAGE = re.compile(r"Corrupt database file|Could not read enough bytes|checksum .* does not match", re.IGNORECASE)


# A file another database object of this process attached and has just detached: DuckDB lets it go
# once the transactions that saw it end (a copy attaches its target; see workspaces.copy_workspace).
_DETACHING = re.compile(r"Unique file handle conflict", re.IGNORECASE)


def _connect(path: Path | None, read_only: bool, wait: float = 20.0) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``, waiting up to ``wait`` seconds for a file this process is detaching."""
    deadline = time.monotonic() + wait
    delay = 0.02
    while True:
        try:
            return duckdb.connect(str(path) if path else ":memory:", read_only=read_only)
        except duckdb.Error as exc:
            if not _DETACHING.search(str(exc)) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


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
        made = self.path is not None and not read_only and not self.path.exists()
        if made and not self.path.parent.exists():
            private_folder(self.path.parent)
        if read_only and self.path is not None and not self.path.exists():
            raise InputError(f"{self.path}: no such workspace file — check the path")
        try:
            self._db = _connect(self.path, read_only)
        except duckdb.Error as exc:
            log.warning("cannot open %s: %s", self.path, exc)   # the server's log keeps the why
            raise InputError(f"{self._file_name()}: cannot open the workspace file — it is damaged or "
                             "not a workspace saved by KPI Explorer") from exc
        if made:
            private_file(self.path)
        # Timestamps with a zone are converted to UTC (datasets.md), whatever the server's zone is.
        self._db.execute("SET GLOBAL TimeZone = 'UTC'")
        # Many workspaces share one server: each may hold this much before DuckDB spills to disk.
        self._db.execute("SET GLOBAL memory_limit = ?", [os.environ.get("KPI_EXPLORER_MEMORY_LIMIT", "1GB")])
        if self.path is None:
            spill = data_home() / "tmp"
            private_folder(spill)
            self._db.execute("SET GLOBAL temp_directory = ?", [str(spill)])
        self._lock = threading.Lock()
        self._gate = _Gate()
        self._writer = _writer_for(self.path)
        try:
            if not read_only:
                self._ensure_meta()
        except duckdb.Error as exc:
            self._db.close()
            log.warning("cannot read the metadata of %s: %s", self.path, exc)
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
        view._writer = self._writer
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

    # -- saving ------------------------------------------------------------------------------
    @contextmanager
    def writing(self, action: str = "save changes") -> Iterator[None]:
        """Hold this file's write turn: saves to one workspace happen one after another.

        Two sessions writing at once would otherwise make DuckDB refuse one of them ("Conflict on
        update!") or, worse, let a read-modify-write of one overwrite the other's. Readers never wait.
        """
        self.require_writable(action)
        if not self._writer.acquire(timeout=WRITE_WAIT):
            raise Busy(action)
        try:
            yield
        finally:
            self._writer.release()

    def write(self, work: Callable[[duckdb.DuckDBPyConnection], T], action: str = "save changes") -> T:
        """Run ``work(cur)`` as one transaction in this file's write turn; its result.

        All of it lands or none of it does. A DuckDB conflict (with a writer that does not take the
        turn, such as a cursor used directly) rolls back and runs ``work`` again after a short
        pause; when it keeps happening the user is told plainly (:class:`Busy`). ``work`` may
        therefore run more than once: it must read what it changes through ``cur``.
        """
        for attempt in range(CONFLICT_RETRIES + 1):
            with self.writing(action), self.cursor() as cur:
                cur.execute("BEGIN TRANSACTION")
                try:
                    result = work(cur)
                    cur.execute("COMMIT")
                    return result
                except duckdb.Error as exc:
                    if not is_conflict(exc):
                        raise
                    # the cursor's close rolls the failed transaction back
            time.sleep(0.01 * 2 ** attempt * random.uniform(0.5, 1.5))
        raise Busy(action)

    # -- metadata ------------------------------------------------------------------------
    def _ensure_meta(self) -> None:
        def make(cur):
            cur.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)")
            cur.execute(f"""CREATE TABLE IF NOT EXISTS {DATASET_TABLE} (
                name VARCHAR PRIMARY KEY, source VARCHAR, mapping VARCHAR, rows BIGINT,
                loaded_at TIMESTAMP, extra_columns VARCHAR)""")
            cur.execute(f"CREATE TABLE IF NOT EXISTS {DOCS_TABLE} (name VARCHAR PRIMARY KEY, body VARCHAR)")
        self.write(make, "open this workspace")

    def _has_table(self, name: str) -> bool:
        return bool(self.rows("SELECT 1 FROM information_schema.tables WHERE table_name = ? "
                              "AND table_schema = 'main'", [name]))

    def setting(self, key: str, default: str | None = None) -> str | None:
        if not self._has_table(META_TABLE):
            return DEFAULT_SETTINGS.get(key, default)
        found = self.rows(f"SELECT value FROM {META_TABLE} WHERE key = ?", [key])
        return found[0][0] if found else DEFAULT_SETTINGS.get(key, default)

    def set_setting(self, key: str, value: Any, *, expect: Any = NO_CHECK) -> None:
        """Save a setting. With ``expect`` (the value the user saw), a setting someone else changed
        in the meantime is not overwritten: :class:`StaleWrite`."""
        stored = None if value is None else str(value)

        def save(cur):
            if expect is not NO_CHECK:
                found = cur.execute(f"SELECT value FROM {META_TABLE} WHERE key = ?", [key]).fetchall()
                now = found[0][0] if found else DEFAULT_SETTINGS.get(key)
                if now != (None if expect is None else str(expect)):
                    raise StaleWrite("This setting")
            cur.execute(f"INSERT OR REPLACE INTO {META_TABLE} VALUES (?, ?)", [key, stored])
            self.bump_version(cur)
        self.write(save, "change settings")

    def setting_or_init(self, key: str, make: Callable[[], str]) -> str:
        """A setting's value, made (once, whoever asks first) when there is none yet."""
        found = self.setting(key)
        if found:
            return found

        def init(cur):
            have = cur.execute(f"SELECT value FROM {META_TABLE} WHERE key = ?", [key]).fetchall()
            if have and have[0][0]:
                return have[0][0]
            value = make()
            cur.execute(f"INSERT OR REPLACE INTO {META_TABLE} VALUES (?, ?)", [key, value])
            self.bump_version(cur)
            return value
        return self.write(init, "change settings")

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
            self.write(lambda c: c.execute(sql, [key, key]))

    # -- documents -----------------------------------------------------------------------
    # Each document has its own version (``version:<name>`` in the metadata), bumped by every save
    # of it: a save made from version n is refused once another save made it n+1.
    @staticmethod
    def _read_doc(cur, name: str, default: Any) -> tuple[Any, int]:
        found = cur.execute(f"SELECT body FROM {DOCS_TABLE} WHERE name = ?", [name]).fetchall()
        version = cur.execute(f"SELECT value FROM {META_TABLE} WHERE key = ?", [f"version:{name}"]).fetchall()
        return (json.loads(found[0][0]) if found else default), int(version[0][0] if version else 0)

    def doc(self, name: str, default: Any = None) -> Any:
        """A named JSON document of the workspace (goals, KPI set, custom KPIs, ...)."""
        if not self._has_table(DOCS_TABLE):
            return default
        found = self.rows(f"SELECT body FROM {DOCS_TABLE} WHERE name = ?", [name])
        return json.loads(found[0][0]) if found else default

    def doc_entry(self, name: str, default: Any = None) -> tuple[Any, int]:
        """A document and its version, read together: give the version back to ``set_doc(expect=)``."""
        if not self._has_table(DOCS_TABLE):
            return default, 0
        with self.cursor() as cur:
            if self._view_of is None:   # a view's cursor is already in a (read-only) transaction
                cur.execute("BEGIN TRANSACTION")
            return self._read_doc(cur, name, default)

    def doc_version(self, name: str) -> int:
        return self.doc_entry(name)[1]

    def _put_doc(self, cur, name: str, body: Any, expect: int | None, current: int, what: str) -> int:
        if expect is not None and expect != current:
            raise StaleWrite(what)
        cur.execute(f"INSERT OR REPLACE INTO {DOCS_TABLE} VALUES (?, ?)", [name, json.dumps(body, default=str)])
        cur.execute(f"INSERT OR REPLACE INTO {META_TABLE} VALUES (?, ?)", [f"version:{name}", str(current + 1)])
        # Custom KPI definitions change computed numbers; plans (goals, KPI set, ...) do not.
        self.bump_version(cur, "data_version" if name in DATA_DOCS else "plan_version")
        return current + 1

    def set_doc(self, name: str, body: Any, *, expect: int | None = None, what: str = "This") -> int:
        """Save a document whole; its new version. With ``expect`` (the version it was read at), a
        document saved by someone else since is not overwritten: :class:`StaleWrite` names ``what``."""
        self.require_writable("save changes")

        def save(cur):
            return self._put_doc(cur, name, body, expect, self._read_doc(cur, name, None)[1], what)
        return self.write(save)

    def update_doc(self, name: str, change: Callable[[Any], Any], default: Any = None, *,
                   expect: int | None = None, what: str = "This") -> Any:
        """Read, change and save a document in one write: ``change(current)`` returns the new body
        (it may run again after a conflict, on what was saved meanwhile). Two sessions adding or
        deleting different items of one document both keep their change. Returns the new body."""
        return self.update_docs({name: change}, {name: default},
                                expect=None if expect is None else {name: expect}, what=what)[name]

    def update_docs(self, changes: Mapping[str, Callable[[Any], Any]] | Callable[[dict], dict],
                    defaults: Mapping[str, Any], *, expect: Mapping[str, int] | None = None,
                    what: str = "This") -> dict:
        """Several documents changed in one write. ``changes`` maps a name to ``change(current)``,
        or is one function given every document in ``defaults`` (name -> current body) that returns
        the new bodies of those it changes. Returns the new bodies."""
        self.require_writable("save changes")

        def save(cur):
            current = {n: self._read_doc(cur, n, d) for n, d in defaults.items()}
            if callable(changes):
                new = changes({n: body for n, (body, _) in current.items()})
            else:
                new = {n: fn(current[n][0]) for n, fn in changes.items()}
            for n, body in new.items():
                self._put_doc(cur, n, body, (expect or {}).get(n), current[n][1], what)
            return new
        return self.write(save)

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
        Returns the new row count. The caller commits (or rolls back: nothing changes then); it
        holds the write turn (``writing``/``write``).
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
        self.bump_version(cur, f"version:dataset:{dataset}")
        return rows

    def dataset_version(self, dataset: str) -> int:
        """Bumped by every load or delete of the dataset: what a load compares with (``expect``)."""
        return int(self.setting(f"version:dataset:{dataset}", "0") or 0)

    @staticmethod
    def _table_exists(cur, name: str) -> bool:
        return bool(cur.execute("SELECT 1 FROM information_schema.tables WHERE table_name = ? AND table_schema='main'",
                                [name]).fetchall())

    def drop_dataset(self, dataset: str) -> None:
        self.require_writable("delete data")

        def drop(cur):
            cur.execute(f"DROP TABLE IF EXISTS {quote_ident(dataset)}")
            cur.execute(f"DELETE FROM {DATASET_TABLE} WHERE name = ?", [dataset])
            derived.refresh(cur, dataset)
            self.bump_version(cur)
            self.bump_version(cur, f"version:dataset:{dataset}")
        self.write(drop, "delete data")

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

        def load(cur):
            cur.register("_kpi_frame", frame)
            try:
                return self.replace_table(cur, dataset, f"SELECT {', '.join(parts)} FROM _kpi_frame",
                                          source=source, mode=mode)
            finally:
                cur.unregister("_kpi_frame")
        return self.write(load, "load data")
