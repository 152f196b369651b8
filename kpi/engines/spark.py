"""Apache Spark (PySpark): local mode over a folder of Parquet files, or a cluster by Spark Connect.

The source is either a folder holding one Parquet file (or folder of files) per dataset, named
after it (``events.parquet``, ``payments/``…), or a Spark Connect address (``sc://HOST:PORT``)
whose catalog holds one table per dataset (in ``--schema`` when given). Each compute works in a
session of its own (its temporary views are its own). Spark spends about a second scheduling each
query whatever the data size, so a compute's independent KPI queries are submitted together.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from ..datasets import DATASETS
from .base import CatalogCache, Engine, SourceError, TranslatingSession, duckdb_type

_LOCK = threading.Lock()
_LOCAL: dict[str, object] = {}   # one local Spark per process (a JVM each), by master


def _pyspark():
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError:
        raise SourceError("spark: the pyspark package is not installed — pip install -r requirements-spark.txt") from None
    return SparkSession


def local_spark(master: str | None = None):
    """The process's local Spark (started once: about ten seconds). Needs Java 17."""
    master = master or os.environ.get("KPI_SPARK_MASTER", "local[2]")
    with _LOCK:
        if master not in _LOCAL:
            SparkSession = _pyspark()
            builder = (SparkSession.builder.master(master).appName("kpi-explorer")
                       .config("spark.sql.session.timeZone", "UTC")
                       .config("spark.ui.enabled", "false")
                       .config("spark.ui.showConsoleProgress", "false")
                       .config("spark.sql.shuffle.partitions", os.environ.get("KPI_SPARK_PARTITIONS", "4"))
                       .config("spark.driver.memory", os.environ.get("KPI_SPARK_MEMORY", "4g"))
                       .config("spark.sql.ansi.enabled", "false"))
            try:
                spark = builder.getOrCreate()
            except Exception as exc:  # noqa: BLE001 — Java missing or the JVM refused to start
                raise SourceError(f"spark: cannot start a local Spark ({_first_line(exc)}) — "
                                  "it needs Java 17 (apt-get install openjdk-17-jre-headless)") from None
            spark.sparkContext.setLogLevel("ERROR")
            _LOCAL[master] = spark
        return _LOCAL[master]


def stop_local_spark() -> None:
    """Stop the process's local Sparks (their executors and heartbeats); the next use starts anew."""
    with _LOCK:
        for spark in _LOCAL.values():
            spark.stop()
        _LOCAL.clear()


def _session_settings(spark) -> None:
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    # DuckDB's semantics for the KPI SQL: integer overflow and bad casts as nulls are not hidden
    # by ANSI mode differences (our SQL never relies on either).
    spark.conf.set("spark.sql.ansi.enabled", "false")


class SparkSession_(TranslatingSession):
    # KPI queries submitted at once (each costs Spark about a second of scheduling whatever the
    # data size, so they overlap; one UNION ALL of them was slower here: Catalyst plans it slowly).
    parallel = int(os.environ.get("KPI_SPARK_PARALLEL", "4"))

    def __init__(self, spark):
        super().__init__("spark")
        self.spark = spark
        self.kept: list = []

    def _execute(self, sql: str, params: Sequence) -> tuple[list[tuple], list[str]]:
        text, args = self.translate(sql, params)
        df = self.spark.sql(text, args=args or None)
        return [tuple(r) for r in df.collect()], list(df.columns)

    def columns_of(self, table: str) -> list[str]:
        return list(self.spark.table(table.strip('"')).columns)

    def temp(self, name: str, sql: str, params: Sequence = (), *, view: bool = False) -> None:
        text, args = self.translate(sql, params)
        df = self.spark.sql(text, args=args or None)
        if not view:
            # Computed once, now, and kept: a temp view would be computed again by every query
            # reading it, and the KPI queries that read it run at once.
            df = df.persist()
            df.count()
            self.kept.append(df)
        df.createOrReplaceTempView(name)

    def close(self) -> None:
        for df in self.kept:
            df.unpersist()
        self.kept.clear()

    def values(self, name: str, values: Sequence[str]) -> None:
        from pyspark.sql.types import StringType, StructField, StructType
        schema = StructType([StructField("v", StringType(), True)])
        self.spark.createDataFrame([(v,) for v in values], schema).createOrReplaceTempView(name)


class SparkEngine(Engine):
    kind = "spark"

    def __init__(self, source: str, schema: str | None = None):
        self.source = source
        self.schema = schema
        self.remote = source.startswith("sc://")
        if not self.remote:
            folder = Path(source)
            if not folder.is_dir():
                raise SourceError(f"spark: {source} is not a folder of Parquet files nor a Spark Connect "
                                  "address (sc://HOST:PORT)")
            self.files = _dataset_files(folder)
            if not self.files:
                raise SourceError(f"spark: {source} holds no Parquet file named after a dataset "
                                  f"(e.g. events.parquet) — datasets are {', '.join(DATASETS)}")
        self._catalog = CatalogCache(self._read_tables)
        self._schemas: dict = {}

    @property
    def where(self) -> str:
        if self.remote:
            return f"on Spark at {self.source.split(';')[0]}" + (f" (schema {self.schema})" if self.schema else "")
        return f"on a local Spark (Parquet files in {Path(self.source).name})"

    def _new_session(self):
        """A Spark session of its own (its temporary views are its own)."""
        if self.remote:
            SparkSession = _pyspark()
            try:
                spark = SparkSession.builder.remote(self.source).create()
            except Exception as exc:  # noqa: BLE001 — an address nothing answers at
                raise SourceError(f"spark: cannot connect to {self.source} — {_first_line(exc)}") from None
        else:
            spark = local_spark().newSession()
        _session_settings(spark)
        if self.schema:
            spark.catalog.setCurrentDatabase(self.schema)
        if not self.remote:
            for name, path in self.files.items():
                # The schema read once (inferring it reads the files' footers: a job each time).
                known = self._schemas.get(name)
                df = (spark.read.schema(known) if known is not None else spark.read).parquet(str(path))
                self._schemas.setdefault(name, df.schema)
                df.createOrReplaceTempView(name)
        return spark

    @contextmanager
    def session(self) -> Iterator[SparkSession_]:
        try:
            spark = self._new_session()
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 — a bad schema, an unreadable file
            raise SourceError(f"spark: cannot open {self.source} — {_first_line(exc)}") from None
        session = SparkSession_(spark)
        try:
            yield session
        finally:
            session.close()
            if self.remote:
                spark.stop()

    def _read_tables(self) -> dict[str, dict[str, str]]:
        with self.session() as session:
            return self._tables_of(session.spark)

    def _tables_of(self, spark) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        names = list(self.files) if not self.remote else \
            [t.name for t in spark.catalog.listTables(self.schema) if t.name in DATASETS]
        for name in names:
            try:
                fields = spark.table(name).schema.fields
            except Exception as exc:  # noqa: BLE001
                raise SourceError(f"spark: cannot read the {name} table — {_first_line(exc)}") from None
            out[name] = {f.name: duckdb_type(f.dataType.simpleString()) for f in fields}
        return out

    def tables(self) -> dict[str, dict[str, str]]:
        return self._catalog.get()


def _dataset_files(folder: Path) -> dict[str, Path]:
    """The folder's Parquet data per dataset: ``events.parquet`` or a folder ``events/``."""
    found = {}
    for name in DATASETS:
        for candidate in (folder / f"{name}.parquet", folder / name):
            if candidate.exists():
                found[name] = candidate
                break
    return found


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
