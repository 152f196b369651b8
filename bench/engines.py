"""Time the whole catalog at month grain on each engine: DuckDB, PostgreSQL and Spark (local mode).

    .venv/bin/python bench/engines.py --events 1000000 --customers 50000
    .venv/bin/python bench/engines.py --events 10000000 --customers 500000 --engines duckdb,postgres

The data is the sample generator's (as bench/run.py makes it), ingested into a workspace file;
its tables are copied into a PostgreSQL started for the run (tests/pg_cluster.py) and into Parquet
files for Spark. Each engine computes every KPI once cold, then ``--repeat`` times; the figure is
the median wall time of those, and every engine's numbers are checked against DuckDB's.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE), str(ROOT / "tests")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--engines", default="duckdb,postgres,spark")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs after the first (cold) one")
    parser.add_argument("--out", type=Path, default=Path("/tmp/kpi_bench_engines"))
    args = parser.parse_args(argv)

    import engine_sources
    import pg_cluster
    from engine_fixtures import differences
    from run import ensure_data
    from kpi import engines
    from kpi.compute import compute
    from kpi.ingest import ingest_folder
    from kpi.workspace import Workspace

    data = args.out / f"data_{args.events}"
    ensure_data(data, args.events, args.customers)
    path = args.out / f"workspace_{args.events}.duckdb"
    if not path.exists():
        partial = path.with_suffix(".loading")
        partial.unlink(missing_ok=True)
        with Workspace(partial) as ws:
            ingest_folder(ws, data)
        partial.rename(path)
    ws = Workspace(path, read_only=True)
    kinds = args.engines.split(",")
    results, cluster = {}, None

    def timed(target) -> tuple[list[float], object]:
        times, frame = [], None
        for _ in range(1 + args.repeat):
            start = time.perf_counter()
            frame = compute(target, grain="month")
            times.append(time.perf_counter() - start)
            print(f"  {times[-1]:.2f} s", file=sys.stderr, flush=True)
        return times, frame

    try:
        print("duckdb", file=sys.stderr)
        results["duckdb"] = timed(ws)
        expected = results["duckdb"][1]
        if "postgres" in kinds:
            cluster = pg_cluster.Cluster().start()
            start = time.perf_counter()
            engine_sources.to_postgres(ws, cluster.url)
            print(f"postgres (copied in {time.perf_counter() - start:.0f} s)", file=sys.stderr)
            results["postgres"] = timed(engines.attach(ws, engines.open_engine("postgres", cluster.url)))
        if "spark" in kinds:
            folder = engine_sources.to_parquet(ws, args.out / f"parquet_{args.events}")
            from kpi.engines.spark import local_spark
            start = time.perf_counter()
            local_spark()
            print(f"spark (started in {time.perf_counter() - start:.0f} s)", file=sys.stderr)
            results["spark"] = timed(engines.attach(ws, engines.open_engine("spark", str(folder))))
    finally:
        if cluster is not None:
            cluster.stop()

    print(f"\n{args.events:,} events, {args.customers:,} customers; whole catalog at month grain "
          f"({expected['kpi'].nunique()} KPIs, {len(expected):,} values)\n")
    print("| engine | first (cold) | median of the next | same numbers as DuckDB |\n|---|---|---|---|")
    for kind, (times, frame) in results.items():
        diff = differences(expected, frame)
        print(f"| {kind} | {times[0]:.1f} s | {statistics.median(times[1:] or times):.1f} s | "
              f"{'yes' if not diff else f'NO: {len(diff)} differ, e.g. {diff[0]}'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
