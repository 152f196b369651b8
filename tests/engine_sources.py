"""Copies of a workspace's datasets where other engines read them: PostgreSQL tables (in a schema)
and Parquet files (a folder Spark reads), with the canonical SQL types cli.md asks of a source.
Used by the engine tests and bench/engines.py."""
from __future__ import annotations

import tempfile
from pathlib import Path

from kpi.workspace import Workspace, quote_ident

# DuckDB types of a workspace's tables as PostgreSQL names them.
PG_TYPES = {"VARCHAR": "text", "DATE": "date", "TIMESTAMP": "timestamp", "DOUBLE": "double precision",
            "BIGINT": "bigint", "INTEGER": "integer", "BOOLEAN": "boolean", "FLOAT": "real",
            "TIMESTAMP WITH TIME ZONE": "timestamptz", "HUGEINT": "numeric", "SMALLINT": "smallint"}


def _pg_type(duck: str) -> str:
    if duck.startswith("DECIMAL"):
        return "numeric" + duck[len("DECIMAL"):]
    return PG_TYPES.get(duck, "text")


def to_postgres(ws: Workspace, url: str, schema: str = "public", datasets: list[str] | None = None) -> None:
    """Each dataset of ``ws`` as a table of ``schema`` (made when missing), rows copied as CSV."""
    import psycopg
    folder = Path(tempfile.mkdtemp(prefix="kpi-pg-copy-"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
        for name in datasets or ws.datasets():
            columns = ws.rows("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                              "AND table_schema = 'main' ORDER BY ordinal_position", [name])
            table = f"{quote_ident(schema)}.{quote_ident(name)}"
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(f"CREATE TABLE {table} ("
                         + ", ".join(f"{quote_ident(c)} {_pg_type(t)}" for c, t in columns) + ")")
            path = folder / f"{name}.csv"
            # Timestamps with a zone are written in UTC (the workspace's zone), read back as such.
            ws.rows(f"COPY (SELECT * FROM {quote_ident(name)}) TO '{path}' (FORMAT csv, HEADER false, "
                    "FORCE_QUOTE *, NULLSTR '')")
            with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN (FORMAT csv, NULL '')") as copy:
                with open(path, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        copy.write(chunk)
            path.unlink()
            conn.execute(f"ANALYZE {table}")
    folder.rmdir()


def to_parquet(ws: Workspace, folder: Path, datasets: list[str] | None = None) -> Path:
    """Each dataset of ``ws`` as ``folder/<dataset>.parquet``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in datasets or ws.datasets():
        path = folder / f"{name}.parquet"
        ws.rows(f"COPY (SELECT * FROM {quote_ident(name)}) TO '{path}' (FORMAT parquet)")
    return folder
