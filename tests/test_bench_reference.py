"""The benchmark's plain-pandas reference and the DuckDB engine must give the same numbers.

Two independent implementations of ``shared/spec/kpis.md`` — ``bench/pandas_reference.py`` and
``kpi.compute`` — are run on generated data (and on ``sample_data/`` when its CSVs are there), for
every heavy KPI and every month, within 1e-9 relative.
"""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.pandas_reference import KPIS, as_of_date, compute_reference, differences, read_inputs  # noqa: E402
from kpi.compute import compute  # noqa: E402
from kpi.workspace import Workspace  # noqa: E402

ingest = pytest.importorskip("kpi.ingest")
GENERATOR = ROOT / "sample_data" / "generate.py"


def generate(out: Path, *extra: str) -> Path:
    if not GENERATOR.exists():
        pytest.skip("sample_data/generate.py is not there yet")
    subprocess.run([sys.executable, str(GENERATOR), "--customers", "300", "--events", "20000",
                    "--out", str(out), "--quiet", *extra], check=True)
    return out


def engine_values(folder: Path, tmp_path: Path) -> pd.DataFrame:
    with Workspace(tmp_path / "bench.duckdb") as ws:
        ingest.ingest_folder(ws, folder)
        return compute(ws, list(KPIS), grain="month")


def assert_same(folder: Path, tmp_path: Path) -> pd.DataFrame:
    reference = compute_reference(folder)
    engine = engine_values(folder, tmp_path)
    bad = differences(reference, engine)
    assert bad.empty, f"pandas reference and engine differ:\n{bad.to_string()}"
    assert set(reference["kpi"]) == set(KPIS)
    return reference


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("generated"))


def test_reference_matches_engine_on_generated_data(generated, tmp_path):
    reference = assert_same(generated, tmp_path)
    # Every month of the two years, and numbers that mean something (not all empty or zero).
    assert reference.groupby("kpi")["period"].nunique().min() >= 24
    assert (reference.groupby("kpi")["value"].apply(lambda v: v.fillna(0).abs().sum()) > 0).all()


def test_reference_matches_engine_without_session_ids(generated, tmp_path):
    # No session_id column at all: every session comes from 30-minute gaps.
    folder = tmp_path / "data"
    shutil.copytree(generated, folder)
    events = pd.read_csv(folder / "events.csv", dtype=str, keep_default_na=False)
    events.drop(columns="session_id").to_csv(folder / "events.csv", index=False)
    assert_same(folder, tmp_path)


def test_reference_matches_engine_with_rows_after_today(tmp_path):
    # Data running past today: rows after the as-of date are ignored and the last month is partial.
    end = dt.date.today() + dt.timedelta(days=75)
    folder = generate(tmp_path / "data", "--end", end.isoformat())
    reference = assert_same(folder, tmp_path)
    as_of = as_of_date(folder, read_inputs(folder)).date()
    assert dt.date.today() - dt.timedelta(days=3) <= as_of <= dt.date.today()
    assert reference["period"].max() == as_of.replace(day=1)


@pytest.mark.skipif(not (ROOT / "sample_data" / "events.csv").exists(), reason="sample_data/ has no CSVs yet")
def test_reference_matches_engine_on_sample_data(tmp_path):
    assert_same(ROOT / "sample_data", tmp_path)
