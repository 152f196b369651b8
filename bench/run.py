"""The benchmark of issue 2: ingest, the whole catalog, and the engine against plain pandas, on large data.

    python bench/run.py [--events 10000000] [--customers 500000] [--repeat 3] [--out /tmp/kpi_bench]

Generates the data with ``sample_data/generate.py`` (reused when already there), then times
(a) ingest of every file into a fresh workspace file against ``pandas.read_csv`` of the events
CSV, (b) the whole catalog at month grain, (c) the pandas reference (``pandas_reference.py``)
against ``compute`` on the KPIs both compute, (d) the peak memory of each side, each measured in a
process of its own, and (e) checks that both sides give the same numbers. Prints a table of the
figures and of the targets, met or not met. ``--events 1000000 --customers 50000`` is a quick run.

Every time is given as wall-clock seconds and as the CPU seconds of the step's process (all its
threads). On a shared machine the wall clock also counts the time other processes held the CPU;
the load average around each step is printed so a reader can tell.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

GENERATOR = ROOT / "sample_data" / "generate.py"
DATASETS = ("events", "customers", "subscriptions", "payments", "marketing", "surveys", "releases", "sprints",
            "defects", "codebase", "test_runs", "tickets", "incidents", "compliance", "kpi_values")
TARGET_CATALOG_SECONDS = 2.0
TARGET_SPEEDUP = 5.0
TARGET_PEAK_MB = 1024.0
TARGET_INGEST_RATIO = 2.0


def peak_rss_mb() -> float:
    """This process's resident-set high-water mark (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(fn, *args, **kwargs):
    """({'wall': s, 'cpu': s}, result); cpu counts every thread of this process (DuckDB's too)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}, result


def add_times(*times: dict) -> dict:
    return {"wall": sum(t["wall"] for t in times), "cpu": sum(t["cpu"] for t in times)}


# ---------------------------------------------------------------------------------------------
# The measured steps: each runs in a process of its own (``--child``) so its memory peak is its own
# ---------------------------------------------------------------------------------------------
def child_ingest(data: Path, workspace: Path, repeat: int) -> dict:
    from kpi.ingest import ingest_file
    from kpi.workspace import Workspace

    for stale in (workspace, workspace.with_name(workspace.name + ".wal")):
        stale.unlink(missing_ok=True)
    files = {}
    opened, ws = timed(Workspace, workspace)
    for name in DATASETS:
        took, result = timed(ingest_file, ws, data / f"{name}.csv")
        files[name] = {"time": took, "rows": result.rows, "warnings": result.warnings}
    closed, _ = timed(ws.close)   # the final checkpoint writes the tables to the file
    total = add_times(opened, closed, *(f["time"] for f in files.values()))
    return {"files": files, "close": closed, "total": total, "workspace_mb": workspace.stat().st_size / 2**20,
            "peak_mb": peak_rss_mb()}


def child_read_csv(data: Path, workspace: Path, repeat: int) -> dict:
    import pandas as pd

    took, frame = timed(pd.read_csv, data / "events.csv")
    return {"time": took, "rows": len(frame), "peak_mb": peak_rss_mb()}


def child_read_csv_typed(data: Path, workspace: Path, repeat: int) -> dict:
    import pandas as pd

    # As ingest stores them: ids as text, timestamps parsed.
    took, frame = timed(pd.read_csv, data / "events.csv", dtype={"user_id": str, "session_id": str},
                        parse_dates=["timestamp"])
    return {"time": took, "rows": len(frame), "peak_mb": peak_rss_mb()}


def _engine_runs(workspace: Path, kpis, repeat: int):
    from kpi.compute import compute
    from kpi.workspace import Workspace

    opened, ws = timed(Workspace, workspace)
    runs = []
    for _ in range(repeat + 1):
        took, frame = timed(compute, ws, kpis, grain="month")
        runs.append(took)
    ws.close()
    return opened, runs, frame


def child_catalog(data: Path, workspace: Path, repeat: int) -> dict:
    opened, runs, frame = _engine_runs(workspace, None, repeat)
    return {"open": opened, "cold": runs[0], "warm": runs[1:], "kpis": int(frame["kpi"].nunique()),
            "rows": len(frame), "notes": list(frame.attrs.get("notes", [])), "peak_mb": peak_rss_mb()}


def child_per_kpi(data: Path, workspace: Path, repeat: int) -> dict:
    """compute(ws, [k]) alone for every KPI of the catalog: the median of ``repeat`` runs each.
    Each figure includes the per-call setup (as-of date, periods, base views)."""
    from kpi.compute import compute
    from kpi.workspace import Workspace

    ws = Workspace(workspace)
    ids = list(dict.fromkeys(compute(ws, None, grain="month")["kpi"]))
    times = {}
    for k in ids:
        runs = [timed(compute, ws, [k], grain="month")[0] for _ in range(max(repeat, 1))]
        times[k] = {"wall": median(runs, "wall"), "cpu": median(runs, "cpu")}
    ws.close()
    return {"times": times, "peak_mb": peak_rss_mb()}


def child_engine_shared(data: Path, workspace: Path, repeat: int) -> dict:
    from pandas_reference import KPIS

    opened, runs, frame = _engine_runs(workspace, list(KPIS), repeat)
    frame.to_pickle(workspace.parent / "engine_shared.pkl")
    return {"open": opened, "cold": runs[0], "warm": runs[1:], "rows": len(frame), "peak_mb": peak_rss_mb()}


def child_pandas_shared(data: Path, workspace: Path, repeat: int) -> dict:
    import pandas_reference as ref

    read, frames = timed(ref.read_inputs, data)
    found, as_of = timed(ref.as_of_date, data, frames)
    runs = []
    for _ in range(repeat + 1):
        took, frame = timed(ref.compute_frames, frames, as_of)
        runs.append(took)
    frame.to_pickle(workspace.parent / "pandas_shared.pkl")
    return {"read": add_times(read, found), "as_of": str(as_of.date()), "cold": runs[0], "warm": runs[1:],
            "rows": len(frame), "peak_mb": peak_rss_mb()}


CHILDREN = {"ingest": child_ingest, "read_csv": child_read_csv, "read_csv_typed": child_read_csv_typed,
            "catalog": child_catalog, "engine_shared": child_engine_shared, "pandas_shared": child_pandas_shared,
            "per_kpi": child_per_kpi}


def run_child(step: str, data: Path, workspace: Path, repeat: int) -> dict:
    out = workspace.parent / f"{step}.json"
    out.unlink(missing_ok=True)
    load_before = os.getloadavg()[0]
    print(f"  running {step} (load average {load_before:.1f}) ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--child", step, "--data", str(data), "--workspace", str(workspace),
                    "--repeat", str(repeat), "--result", str(out)], check=True)
    print(f"  {step} done in {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    result = json.loads(out.read_text())
    result["load"] = [load_before, os.getloadavg()[0]]
    return result


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------
def ensure_data(data: Path, events: int, customers: int) -> float | None:
    """Generate the CSVs unless a finished generation is already there; returns seconds spent (None: reused)."""
    marker = data / ".complete"
    if marker.exists() and all((data / f"{d}.csv").exists() for d in DATASETS):
        return None
    if not GENERATOR.exists():
        sys.exit(f"{GENERATOR} is not there: cannot generate the benchmark data")
    marker.unlink(missing_ok=True)
    print(f"generating {events:,} events, {customers:,} customers into {data} ...", file=sys.stderr, flush=True)
    took, _ = timed(subprocess.run, [sys.executable, str(GENERATOR), "--events", str(events), "--customers",
                                     str(customers), "--out", str(data)], check=True, stdout=sys.stderr)
    marker.write_text(json.dumps({"events": events, "customers": customers}))
    return took["wall"]


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------
def median(times: list[dict], key: str) -> float:
    return statistics.median(t[key] for t in times) if times else float("nan")


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def code_version() -> str:
    """The commit measured, and whether kpi/ had changes not yet committed."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "kpi"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes in kpi/" if dirty else "")


def report(args, data: Path, generated: float | None, r: dict, diff) -> str:
    lines = []
    add = lines.append
    size_mb = sum((data / f"{d}.csv").stat().st_size for d in DATASETS) / 2**20
    events_mb = (data / "events.csv").stat().st_size / 2**20
    rows = {name: f["rows"] for name, f in r["ingest"]["files"].items()} if "ingest" in r else {}
    add(f"KPI Explorer benchmark: {args.events:,} events, {args.customers:,} customers, --repeat {args.repeat}")
    add(f"data: {data} ({size_mb:,.0f} MB in 15 CSVs; events.csv {events_mb:,.0f} MB"
        + (f"; {rows['subscriptions']:,} subscription rows" if rows else "") + ")"
        + ("; reused" if generated is None else f"; generated in {generated:.1f} s"))
    add(f"code: {r.get('code', 'unknown')}")
    loads = [x for step in r.values() if isinstance(step, dict) for x in step["load"]]
    add(f"machine: {os.cpu_count()} cores, load average {min(loads):.1f}-{max(loads):.1f} around the steps. "
        "wall = wall-clock s, cpu = CPU s of the step's process (all threads),")
    add("peak = RSS high-water mark of the step's own process")
    add("")

    def row(label, t=None, peak=None, text=""):
        wall = f"{t['wall']:10.2f}" if t else f"{text:>10}"
        cpu = f"{t['cpu']:10.2f}" if t else " " * 10
        add(f"  {label:<62}{wall}{cpu}{'' if peak is None else f'{peak:>10,.0f} MB'}")

    def med(times):
        return {"wall": median(times, "wall"), "cpu": median(times, "cpu")}

    add(f"  {'':<62}{'wall s':>10}{'cpu s':>10}{'peak RSS':>13}")
    add("(a) ingest (kpi.ingest.ingest_file, one file at a time, into a fresh workspace file)")
    ing_ratio = None
    if "ingest" not in r:
        row("skipped (--skip-ingest): the workspace of an earlier run was reused")
    else:
        ing = r["ingest"]
        row("all 15 files, incl. opening and closing the file", ing["total"], ing["peak_mb"])
        row(f"  of which events.csv ({rows['events']:,} rows)", ing["files"]["events"]["time"])
        row("  of which the other 14 files", add_times(*(f["time"] for n, f in ing["files"].items() if n != "events")))
        row("  of which closing (checkpoint)", ing["close"])
        add(f"    workspace file: {ing['workspace_mb']:,.0f} MB")
    rc, rt = r["read_csv"], r["read_csv_typed"]
    row("pandas.read_csv(events.csv)", rc["time"], rc["peak_mb"])
    row("pandas.read_csv(events.csv, ids as str, parse_dates)", rt["time"], rt["peak_mb"])
    if "ingest" in r:
        events_time = r["ingest"]["files"]["events"]["time"]
        ing_ratio = {k: events_time[k] / rc["time"][k] for k in ("wall", "cpu")}
        row("ingest of events.csv / pandas.read_csv (x)", ing_ratio)
        row("ingest of events.csv / typed pandas.read_csv (x)",
            {k: events_time[k] / rt["time"][k] for k in ("wall", "cpu")})

    cat = r["catalog"]
    add(f"(b) whole catalog: compute(ws, None, grain='month') -> {cat['kpis']} KPIs, {cat['rows']:,} rows")
    row("opening the workspace", cat["open"])
    row("first run (cold: fresh process)", cat["cold"], cat["peak_mb"])
    row(f"median of the {len(cat['warm'])} runs after it", med(cat["warm"]))
    add("    (those runs, wall: " + ", ".join(f"{t['wall']:.2f}" for t in cat["warm"]) + ")")
    if "per_kpi" in r:
        times = r["per_kpi"]["times"]
        slowest = sorted(times, key=lambda k: times[k]["cpu"], reverse=True)
        add(f"    each KPI alone, compute(ws, [k]) incl. its setup (median of {max(args.repeat, 1)}), "
            f"the 10 slowest by cpu of {len(times)}:")
        for k in slowest[:10]:
            row(f"  {k}", times[k])
        row(f"  median of all {len(times)}", {"wall": median(list(times.values()), "wall"),
                                              "cpu": median(list(times.values()), "cpu")})

    eng, pdr = r["engine_shared"], r["pandas_shared"]
    add(f"(c) the {len(diff.attrs.get('kpis', []))} shared KPIs at month grain: compute(ws, ids) vs plain pandas")
    row("engine: first run (cold: fresh process)", eng["cold"], eng["peak_mb"])
    row(f"engine: median of the {len(eng['warm'])} runs after it", med(eng["warm"]))
    row("pandas: read_csv of events, customers, subscriptions; as-of date", pdr["read"], pdr["peak_mb"])
    row("pandas: compute, first run", pdr["cold"])
    row(f"pandas: compute, median of the {len(pdr['warm'])} runs after it", med(pdr["warm"]))
    speedup = {k: median(pdr["warm"], k) / median(eng["warm"], k) for k in ("wall", "cpu")}
    end_to_end = {k: (pdr["read"][k] + pdr["cold"][k]) / eng["cold"][k] for k in ("wall", "cpu")}
    row("speed-up, compute only: pandas median / engine median (x)", speedup)
    row("speed-up, pandas read + first compute / engine cold run (x)", end_to_end)

    add("(d) peak memory (RSS high-water mark, each step in its own process)")
    engine_peaks = {"ingest": r.get("ingest", {}).get("peak_mb"), "whole catalog": cat["peak_mb"],
                    "shared KPIs": eng["peak_mb"]}
    for label, peak in engine_peaks.items():
        if peak is not None:
            row(f"engine: {label}", peak=peak)
    row("pandas: reference (read + compute)", peak=pdr["peak_mb"])
    row("pandas: read_csv(events.csv)", peak=rc["peak_mb"])

    add(f"(e) same numbers? {diff.attrs.get('compared', 0):,} (kpi, month) values compared within 1e-9 relative: "
        + ("all equal" if diff.empty else f"{len(diff):,} DIFFER"))
    if not diff.empty:
        add(diff.head(40).to_string(index=False))
    add(f"    as-of date found by pandas: {pdr['as_of']}")

    add("")
    add(f"  {'targets (judged on wall-clock; the cpu figure beside it)':<62}{'wall':>10}{'cpu':>10}")

    def target(label, values: dict, unit, ok_of, extra=""):
        add(f"  {label:<62}{values['wall']:>9.2f}{unit}{values['cpu']:>9.2f}{unit}   {verdict(ok_of(values['wall'])):<8}"
            f"(cpu: {verdict(ok_of(values['cpu']))}){extra}")

    def under(limit):
        return lambda v: v < limit

    target("whole catalog < 2 s (median of the runs after the first)", med(cat["warm"]), "s",
           under(TARGET_CATALOG_SECONDS), f"; cold first run {cat['cold']['wall']:.2f} s")
    target(">= 5x faster than pandas on the shared KPIs (compute only)", speedup, "x",
           lambda v: v >= TARGET_SPEEDUP, f"; end to end {end_to_end['wall']:.1f}x")
    worst = max(p for p in engine_peaks.values() if p is not None)
    add(f"  {'peak memory < 1 GB (worst engine step)':<62}{worst:>10,.0f} MB{'':>8}{verdict(worst < TARGET_PEAK_MB)}")
    if ing_ratio:
        target("ingest of events.csv within 2x of pandas.read_csv", ing_ratio, "x",
               lambda v: v <= TARGET_INGEST_RATIO)
    add(f"  {'same numbers as the pandas reference':<62}{len(diff):>10,} differ{'':>4}{verdict(diff.empty)}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs after the first (cold) one")
    parser.add_argument("--out", type=Path, default=Path("/tmp/kpi_bench"))
    parser.add_argument("--skip-ingest", action="store_true",
                        help="reuse the workspace file of an earlier run instead of timing ingest again")
    parser.add_argument("--per-kpi", action="store_true",
                        help="also time compute(ws, [k]) alone for every KPI and list the slowest")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workspace", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        result = CHILDREN[args.child](args.data, args.workspace, args.repeat)
        args.result.write_text(json.dumps(result, default=str))
        return 0

    tag = f"e{args.events}-c{args.customers}"
    data = args.out / f"data-{tag}"
    work = args.out / f"run-{tag}"
    work.mkdir(parents=True, exist_ok=True)
    workspace = work / "workspace.duckdb"
    generated = ensure_data(data, args.events, args.customers)

    results = {"code": code_version()}
    if not (args.skip_ingest and workspace.exists()):
        results["ingest"] = run_child("ingest", data, workspace, args.repeat)
    steps = ["read_csv", "read_csv_typed", "catalog", "engine_shared", "pandas_shared"]
    for step in steps + (["per_kpi"] if args.per_kpi else []):
        results[step] = run_child(step, data, workspace, args.repeat)

    import pandas as pd
    from pandas_reference import KPIS, differences

    reference = pd.read_pickle(work / "pandas_shared.pkl")
    engine = pd.read_pickle(work / "engine_shared.pkl")
    diff = differences(reference, engine)
    diff.attrs["compared"] = len(reference)
    diff.attrs["kpis"] = list(KPIS)
    text = report(args, data, generated, results, diff)
    print(text)
    (work / "report.txt").write_text(text + "\n")
    (work / "results.json").write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
