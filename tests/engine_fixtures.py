"""pytest fixtures for the engine tests: a real PostgreSQL started for the test run, a local
Spark, and the comparison of two computes.

A machine without PostgreSQL's server programs or Java skips those tests with a message saying
what to install; under CI (``CI=true``) they fail instead: CI installs both.
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess

import pandas as pd
import pytest

import pg_cluster

IN_CI = os.environ.get("CI", "").lower() == "true"


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} (CI must install it: see .ci/run)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def postgres_url():
    """The address of a database ``kpi`` on a PostgreSQL started for this test run."""
    try:
        cluster = pg_cluster.Cluster()
    except pg_cluster.Unavailable as exc:
        _missing(f"PostgreSQL is not installed here: {exc}")
    cluster.start()
    yield cluster.url
    cluster.stop()


def _java_17() -> bool:
    java = shutil.which("java")
    if not java:
        return False
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    return out.returncode == 0


@pytest.fixture(scope="module")
def local_spark():
    """The process's local Spark (pyspark, Java 17), stopped after the module: a running Spark keeps
    a core busy, which the tests after it would pay for."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        _missing("pyspark is not installed (pip install -r requirements-spark.txt)")
    if not _java_17():
        _missing("Java is not installed: Spark needs a Java 17 runtime (apt-get install openjdk-17-jre-headless)")
    from kpi.engines.spark import local_spark as start, stop_local_spark
    yield start()
    stop_local_spark()


KEY = ["kpi", "grain", "period", "segment"]


def differences(expected: pd.DataFrame, got: pd.DataFrame, rel: float = 1e-9) -> list[str]:
    """Every row where two computes disagree: a row only one has, a partial flag, or a value,
    numerator or denominator further apart than ``rel`` relative (1e-9 absolute near zero)."""
    a = expected.assign(segment=expected["segment"].fillna("\x00none"))
    b = got.assign(segment=got["segment"].fillna("\x00none"))
    both = a.merge(b, on=KEY, how="outer", suffixes=("_a", "_b"), indicator=True)
    out = []
    for row in both.itertuples(index=False):
        where = f"{row.kpi} {row.grain} {row.period} segment={row.segment!r}"
        if row[-1] != "both":
            out.append(f"{where}: only in {'DuckDB' if row[-1] == 'left_only' else 'the other engine'}")
            continue
        for col in ("value", "numerator", "denominator"):
            x, y = getattr(row, f"{col}_a"), getattr(row, f"{col}_b")
            if pd.isna(x) and pd.isna(y):
                continue
            if pd.isna(x) or pd.isna(y) or not math.isclose(x, y, rel_tol=rel, abs_tol=1e-9):
                out.append(f"{where}: {col} {x!r} (DuckDB) vs {y!r}")
        if bool(row.partial_a) != bool(row.partial_b):
            out.append(f"{where}: partial {row.partial_a} vs {row.partial_b}")
    return out
