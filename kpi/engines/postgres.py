"""PostgreSQL (psycopg 3): the KPI SQL runs in the database, only the small result comes back.

The source is a database (``postgresql://USER@HOST:PORT/DB``) and a schema (``public`` unless
given) holding one table or view per dataset. Each compute gets its own connection: its temporary
tables are that connection's, so computes never see each other's.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence
from urllib.parse import urlsplit

from .base import CatalogCache, Engine, SourceError, TranslatingSession, duckdb_type


def _driver():
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is in requirements.txt
        raise SourceError("PostgreSQL needs the psycopg package: pip install 'psycopg[binary]'") from None
    return psycopg


class PostgresSession(TranslatingSession):
    def __init__(self, conn):
        super().__init__("postgres")
        self.conn = conn
        self.made: dict[str, str] = {}

    def _execute(self, sql: str, params: Sequence) -> tuple[list[tuple], list[str]]:
        text, args = self.translate(sql, params)
        with self.conn.cursor() as cur:
            cur.execute(text, args or None)
            if cur.description is None:
                return [], []
            return cur.fetchall(), [c.name for c in cur.description]

    def _drop(self, name: str) -> None:
        kind = self.made.pop(name, None)
        if kind is not None:
            self.conn.execute(f"DROP {kind} IF EXISTS {name} CASCADE")

    def temp(self, name: str, sql: str, params: Sequence = (), *, view: bool = False) -> None:
        self._drop(name)
        kind = "VIEW" if view else "TABLE"
        text, args = self.translate(sql, params)
        if args:  # a view cannot hold parameters: a table holds their values
            kind = "TABLE"
        self.conn.execute(f"CREATE TEMP {kind} {name} AS {text}", args or None)
        self.made[name] = kind
        if kind == "TABLE":  # temporary tables get no statistics unless asked: the planner needs them
            self.conn.execute(f"ANALYZE {name}")

    def values(self, name: str, values: Sequence[str]) -> None:
        self._drop(name)
        self.conn.execute(f"CREATE TEMP TABLE {name} (v TEXT)")
        self.made[name] = "TABLE"
        with self.conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {name} VALUES (%s)", [(v,) for v in values])


class PostgresEngine(Engine):
    kind = "postgres"

    def __init__(self, url: str, schema: str | None = None, *, connect_timeout: int = 10):
        self.url = url
        self.schema = schema or "public"
        self.connect_timeout = connect_timeout
        self._catalog = CatalogCache(self._read_tables)
        parts = urlsplit(url)
        self._shown = f"{(parts.path or '/').lstrip('/') or 'postgres'} on {parts.hostname or 'localhost'}"

    @property
    def where(self) -> str:
        return f"in PostgreSQL ({self._shown}, schema {self.schema})"

    def _connect(self):
        psycopg = _driver()
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=self.connect_timeout)
        except psycopg.Error as exc:
            raise SourceError(f"postgres: cannot connect to {self._shown} — {_first_line(exc)}. "
                              "Check the address, user and password of the source.") from None
        conn.execute("SET TIME ZONE 'UTC'")
        # Unqualified names are the schema's tables; the session's temporary tables come first.
        conn.execute("SELECT set_config('search_path', %s, false)", [_quote(self.schema)])
        return conn

    @contextmanager
    def session(self) -> Iterator[PostgresSession]:
        psycopg = _driver()
        conn = self._connect()
        try:
            yield PostgresSession(conn)
        except psycopg.Error as exc:
            raise SourceError(f"postgres: a query failed in {self._shown} — {_first_line(exc)}") from exc
        finally:
            conn.close()

    def _read_tables(self) -> dict[str, dict[str, str]]:
        conn = self._connect()
        try:
            found = conn.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s ORDER BY table_name, ordinal_position", [self.schema]).fetchall()
        finally:
            conn.close()
        out: dict[str, dict[str, str]] = {}
        for table, column, kind in found:
            out.setdefault(table, {})[column] = duckdb_type(kind)
        if not out:
            raise SourceError(f"postgres: the schema {self.schema!r} of {self._shown} holds no tables — "
                              "give the schema that holds the dataset tables with --schema")
        return out

    def tables(self) -> dict[str, dict[str, str]]:
        return self._catalog.get()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
