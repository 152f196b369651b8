"""Hostile files at full size (issue 13): a gzip bomb, a Parquet file of 200,000 row groups, one of
50 MB of cells, a 100 MB payments export to stage, a payment dated 0001-01-01. Times and peaks come
from ``farm-bench``, which runs each command in a process of its own (see docs/robustness.md).

    .venv/bin/python bench/hostile.py make /tmp/kpi_hostile       # writes the files (about a minute)
    .venv/bin/python bench/hostile.py stage FILE                  # what the Data page does on upload
    .venv/bin/python bench/hostile.py daygrid WORKSPACE           # the whole catalog at day grain

``stage`` runs the upload's steps in order — sniff, sample, detection, personal data, the questions
with their effects, the preview — and prints what the user would see (the refusal, or the guess).
"""
from __future__ import annotations

import argparse
import gzip
import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kpi.errors import KpiError  # noqa: E402


def make_bomb(path: Path, gigabytes: float = 1.0) -> None:
    """One customer row repeated to 1 GB: about 2.4 MB once gzipped."""
    row = b"C000001,2024-01-01,ads\n"
    block = row * (1_000_000 // len(row))
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b"customer_id,signup_date,channel\n")
        for _ in range(int(gigabytes * 1000)):
            out.write(block)


def make_row_groups(path: Path, groups: int = 200_000) -> None:
    """A customers table written one row per row group (what a streaming writer with tiny batches does)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.table({"customer_id": [f"C{i}" for i in range(groups)], "signup_date": ["2024-01-01"] * groups,
                      "channel": ["ads"] * groups})
    pq.write_table(table, path, row_group_size=1)


def make_cells(path: Path, rows: int = 100, cell: int = 500_000) -> None:
    """100 customers, each with a 500 KB note of distinct words (50 MB of text, a few MB on disk)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    rng = random.Random(13)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
    notes = []
    for i in range(rows):
        text = " ".join(rng.choice(words) for _ in range(cell // 6))
        notes.append((f"note {i}: " + text)[:cell])
    pq.write_table(pa.table({"customer_id": [f"C{i}" for i in range(rows)],
                             "signup_date": ["2024-01-01"] * rows, "notes": notes}), path, compression="zstd")


def make_cents(path: Path, megabytes: int = 100) -> None:
    """A payments export in cents (the cents question is asked), about 100 MB of CSV, gzipped."""
    rng = random.Random(7)
    with gzip.open(path, "wt", compresslevel=6) as out:
        out.write("customer_id,date,amount,product\n")
        written, i = 0, 0
        while written < megabytes * 1_000_000:
            line = (f"cus_{rng.randrange(10**6):06d},2025-{1 + i % 12:02d}-{1 + i % 28:02d},"
                    f"{rng.choice((1900, 4900, 9900, 19900))},{rng.choice(('pro', 'team', 'basic'))}\n")
            out.write(line)
            written += len(line)
            i += 1


def make_year_one(folder: Path) -> Path:
    """The sample workspace plus one payment dated 0001-01-01."""
    from kpi.ingest import ingest_folder
    from kpi.workspace import Workspace
    from kpi.workspaces import SAMPLE_DIR
    data = folder / "sample_year_one"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(SAMPLE_DIR, data, ignore=shutil.ignore_patterns("*.py", "*.md"))
    with open(data / "payments.csv", "a", encoding="utf-8") as out:
        out.write("C00004,0001-01-01,10,Acme Analytics\n")
    target = folder / "year_one.duckdb"
    target.unlink(missing_ok=True)
    with Workspace(target) as ws:
        ingest_folder(ws, data)
    return target


def make(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, maker in (("customers.csv.gz", make_bomb), ("row_groups_customers.parquet", make_row_groups),
                        ("cells_customers.parquet", make_cells), ("payments_cents.csv.gz", make_cents)):
        path = folder / name
        if not path.exists():
            started = time.perf_counter()
            maker(path)
            print(f"{name}: {path.stat().st_size / 1e6:,.1f} MB ({time.perf_counter() - started:.1f} s to write)")
    print(f"{make_year_one(folder)}: the sample workspace with a payment dated 0001-01-01")


def stage(path: Path) -> int:
    """The Data page's steps on one upload, in order; prints what the user would see."""
    from kpi.detect import detect, read_sample, sniff
    from kpi.ingest import detect_personal_data, preview
    from kpi.questions import questions_for
    try:
        layout = sniff(path)
        sample = read_sample(layout)
        found = detect(list(layout.columns), sample, path.name)
        detect_personal_data(list(layout.columns), sample)
        questions = questions_for(path, dataset=found.dataset, mapping=dict(found.mapping))
        shown = preview(path, found.dataset, dict(found.mapping), 8)
    except KpiError as exc:
        print(f"refused: {exc}")
        return 2
    widest = max(int(shown[c].astype("string").str.len().fillna(0).max()) for c in shown.columns)
    print(f"{found.dataset}: {len(questions)} questions ({', '.join(q.id for q in questions)}), "
          f"preview of {len(shown)} rows, longest value shown {widest:,} characters")
    return 0


def daygrid(path: Path) -> int:
    from kpi.compute import compute
    from kpi.workspace import Workspace
    with Workspace(path, read_only=True) as ws:
        frame = compute(ws, None, grain="day")
    print(f"{len(frame):,} rows from {frame['period'].min()}; notes: {frame.attrs.get('notes', [])[:1]}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["make", "stage", "daygrid"])
    parser.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    if args.step == "make":
        make(args.path)
        return 0
    return stage(args.path) if args.step == "stage" else daygrid(args.path)


if __name__ == "__main__":
    sys.exit(main())
