"""Where KPIs are computed: DuckDB in the workspace (the default), PostgreSQL or Apache Spark.

The KPI definitions (``kpi/compute.py``, ``kpi/derived.py``'s SQL builders, custom KPIs) are one
dialect of SQL; an engine runs them where the data lives and brings back only the small result.
Ingest, detection, data quality and the workspace file itself stay DuckDB's.
"""
from __future__ import annotations

from .base import Engine, Session, SourceError
from .connected import ConnectedWorkspace, connect, connection_of, declare, declared, disconnect, engine_for
from .embedded import EmbeddedEngine

KINDS = ("duckdb", "postgres", "spark")


def of(ws) -> Engine:
    """The engine a workspace's KPIs are computed on."""
    engine = getattr(ws, "engine", None)
    return engine if isinstance(engine, Engine) else EmbeddedEngine(ws)


def open_engine(kind: str, source: str, schema: str | None = None) -> Engine:
    """An engine for ``--engine KIND --source SOURCE [--schema NAME]`` (cli.md)."""
    if kind == "postgres":
        if not source or not source.startswith(("postgresql://", "postgres://")):
            raise SourceError(f"postgres: --source {source!r} is not a PostgreSQL address — "
                              "write postgresql://USER@HOST:PORT/DB")
        from .postgres import PostgresEngine
        return PostgresEngine(source, schema)
    if kind == "spark":
        if not source:
            raise SourceError("spark: give --source, a folder of Parquet files or sc://HOST:PORT")
        from .spark import SparkEngine
        return SparkEngine(source, schema)
    raise SourceError(f"unknown engine {kind!r} — use one of {', '.join(KINDS)}")


def view(ws):
    """The workspace as KPIs see it: connected to its source when it names a declared connection."""
    if isinstance(ws, ConnectedWorkspace):
        return ws
    name = connection_of(ws)
    if not name:
        return ws
    return ConnectedWorkspace(ws, engine_for(name), name)


def attach(ws, engine: Engine) -> ConnectedWorkspace:
    """A workspace whose datasets are ``engine``'s tables (the CLI's ``--engine``)."""
    return ConnectedWorkspace(ws, engine)


__all__ = ["Engine", "Session", "SourceError", "EmbeddedEngine", "ConnectedWorkspace", "KINDS", "of",
           "open_engine", "view", "attach", "connect", "disconnect", "connection_of", "declare", "declared",
           "engine_for"]
