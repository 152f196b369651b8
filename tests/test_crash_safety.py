"""Crashes: a process killed (SIGKILL) in the middle of an ingest or a goals save leaves a workspace
that opens and holds either the state before or the state after, never a mix or a broken file.
A damaged workspace file is refused with a plain ``InputError``, not a raw DuckDB error.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kpi.errors import InputError
from kpi.goals import GoalsDoc
from kpi.ingest import ingest_file
from kpi.store import load_goals, save_goals
from kpi.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
KILLS = 24            # iterations: half ingests, half goals saves
SEED = 20261123

CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
from kpi.workspace import Workspace
from kpi.ingest import ingest_file
from kpi.goals import GoalsDoc
from kpi.store import save_goals
ws = Workspace(sys.argv[2])
print("ready", flush=True)
if sys.argv[3] == "ingest":
    ingest_file(ws, sys.argv[4])
else:
    for _ in range(int(sys.argv[5])):          # many saves: the kill lands inside one of them
        save_goals(ws, GoalsDoc(cadence=sys.argv[4]))
ws.close()
print("done", flush=True)
"""


def customers_csv(path: Path, rows: int, prefix: str) -> Path:
    """A few-MB customers file; prefix makes the ids (and so the checksum) differ between files."""
    with open(path, "w") as fh:
        fh.write("customer_id,signup_date,channel,trial_start,country\n")
        for i in range(rows):
            fh.write(f"{prefix}{i:07d},2024-{1 + i % 12:02d}-{1 + i % 28:02d},channel_{i % 7},"
                     f"2024-{1 + i % 12:02d}-{1 + i % 28:02d},country_{i % 40}\n")
    return path


def state(ws: Workspace) -> tuple:
    """What distinguishes one complete state from another: the customers rows and their checksum,
    the row count the dataset list records, and the saved goals."""
    count, digest = ws.rows("SELECT count(*), sum(hash(customer_id, signup_date, channel))::VARCHAR "
                            "FROM customers")[0]
    recorded = ws.rows("SELECT rows FROM _kpi_datasets WHERE name = 'customers'")[0][0]
    return count, digest, recorded, load_goals(ws).cadence


def run_child(ws_path: Path, args: list[str], kill_after: float | None) -> str:
    """Run the child; SIGKILL it ``kill_after`` seconds after it has opened the workspace."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(ROOT), str(ws_path), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    if kill_after is None:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        return "finished"
    time.sleep(kill_after)
    finished = proc.poll() is not None
    if not finished:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    return "finished" if finished and proc.returncode == 0 else "killed"


def test_killed_writers_leave_the_old_or_the_new_state(tmp_path, capsys):
    ws_path = tmp_path / "team.duckdb"
    files = {"A": customers_csv(tmp_path / "customers_a.csv", 40_000, "A"),
             "B": customers_csv(tmp_path / "customers_b.csv", 55_000, "B")}
    assert files["B"].stat().st_size > 2_500_000
    # the two complete states of the customers table, and how long a whole ingest takes
    with Workspace(ws_path) as ws:
        ingest_file(ws, files["B"])
        b_rows = state(ws)[:2]
        ingest_file(ws, files["A"])
        save_goals(ws, GoalsDoc(cadence="monthly"))
        current = state(ws)
    a_rows = current[:2]
    started = time.time()
    run_child(ws_path, ["ingest", str(files["B"])], kill_after=None)
    ingest_seconds = time.time() - started
    with Workspace(ws_path) as ws:
        current = state(ws)
    assert current[:2] == b_rows
    rows_of = {"A": a_rows, "B": b_rows}

    rng = random.Random(SEED)
    outcomes = {"killed": 0, "finished": 0}
    for i in range(KILLS):
        if i % 2 == 0:   # ingest the file the workspace does not hold
            other = "A" if current[:2] == b_rows else "B"
            args, expected = ["ingest", str(files[other])], [current, (*rows_of[other], rows_of[other][0], current[3])]
            delay = rng.uniform(0, ingest_seconds)
        else:            # save other goals many times over
            cadence = rng.choice([c for c in ("weekly", "biweekly", "monthly", "quarterly") if c != current[3]])
            args, expected = ["goals", cadence, "200"], [current, (*current[:3], cadence)]
            delay = rng.uniform(0, 0.5)
        outcomes[run_child(ws_path, args, kill_after=delay)] += 1
        try:
            ws = Workspace(ws_path)
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"kill {i} (after {delay:.2f} s of {args[0]}): the workspace no longer opens: {exc}")
        with ws:
            now = state(ws)
            assert ws.datasets() == ["customers"]
            assert ws.data_version > 0
        assert now in expected, f"kill {i} ({args[0]} after {delay:.2f} s): {now} is neither {expected}"
        current = now
    with capsys.disabled():
        print(f"\ncrash safety: {KILLS} runs, {outcomes['killed']} killed mid-way, {outcomes['finished']} "
              f"finished first; whole ingest {ingest_seconds:.2f} s; every reopen held the old or new state")
    assert outcomes["killed"] >= KILLS // 2


# --- a damaged workspace file ---------------------------------------------------------------------
@pytest.fixture
def saved_workspace(tmp_path):
    path = tmp_path / "team.duckdb"
    with Workspace(path) as ws:
        ingest_file(ws, customers_csv(tmp_path / "c.csv", 20_000, "C"))
        ws.rows("CHECKPOINT")
    return path


def open_damaged(path: Path):
    """Open a damaged file; the test fails on anything but a clear InputError (or a clean open)."""
    try:
        ws = Workspace(path)
    except InputError as err:
        assert path.name in str(err) or str(path) in str(err)
        return str(err)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"raw {type(exc).__name__}: {exc}")
    try:
        ws.datasets()
        ws.row_count("customers")
    except InputError as err:
        return str(err)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"opened, then a raw {type(exc).__name__} on first read: {exc}")
    finally:
        ws.close()
    return "opened"


def test_a_workspace_file_of_junk_is_refused_plainly(tmp_path):
    path = tmp_path / "junk.duckdb"
    path.write_bytes(random.Random(1).randbytes(300_000))
    assert "cannot open the workspace file" in open_damaged(path)


def test_a_truncated_workspace_file_is_refused_plainly(saved_workspace):
    data = saved_workspace.read_bytes()
    saved_workspace.write_bytes(data[: len(data) // 3])
    assert open_damaged(saved_workspace) != "opened"


def test_a_workspace_file_overwritten_in_the_middle_is_refused_plainly(saved_workspace):
    data = bytearray(saved_workspace.read_bytes())
    middle = len(data) // 2
    data[middle: middle + 64 * 1024] = random.Random(2).randbytes(64 * 1024)
    saved_workspace.write_bytes(bytes(data))
    assert open_damaged(saved_workspace) != "opened"


# --- the app's session layer on a damaged workspace link ------------------------------------------
def damage(path: Path, kind: str, tmp: Path) -> None:
    if kind == "junk":
        path.write_bytes(random.Random(1).randbytes(300_000))
        return
    with Workspace(path) as ws:
        ingest_file(ws, customers_csv(tmp / "c.csv", 20_000, "C"))
        ws.rows("CHECKPOINT")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


@pytest.mark.parametrize("kind", ["junk", "truncated"])
def test_a_damaged_workspace_link_shows_a_message_not_a_traceback(tmp_path, kind):
    from streamlit.testing.v1 import AppTest
    from kpi.workspaces import new_workspace_id, workspace_path
    wid = new_workspace_id()
    path = workspace_path(wid)
    path.parent.mkdir(parents=True, exist_ok=True)
    damage(path, kind, tmp_path)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["ws"] = wid
    at.run()
    assert not at.exception, at.exception[0].message
    at.run()                                   # and not on the next run either (no crash loop)
    assert not at.exception


# --- the CLI stopped while it reads a copy of a workspace the app holds -----------------------------------
def test_a_stopped_or_killed_command_leaves_no_workspace_copy_behind(tmp_path):
    """cron's `timeout` stops a command with SIGTERM: the copy it was reading goes with it. A command
    killed outright (SIGKILL) cannot clean up: the next command sweeps copies over a day old."""
    ws_path = tmp_path / "held.duckdb"
    holder = Workspace(ws_path)                 # the app's server holds the file
    ingest_file(holder, customers_csv(tmp_path / "customers.csv", 40_000, "C"))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    stale = scratch / "kpi-snapshot-left-by-a-killed-run"
    stale.mkdir()
    os.utime(stale, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    running = scratch / "kpi-snapshot-of-a-command-running-now"
    running.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    stopped = 0
    try:
        for delay in (0.0, 0.05, 0.1, 0.2, 0.4, None):
            child = subprocess.Popen([sys.executable, "-m", "kpi", "compute", "--data", str(ws_path), "--grain", "day"],
                                     cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            assert "reading a copy" in child.stderr.readline()
            if delay is not None:
                time.sleep(delay)
                child.send_signal(signal.SIGTERM)
            said = child.stderr.read()
            code = child.wait(timeout=120)
            # finished (0), stopped by the signal (143), or stopped while Python was shutting down
            # after its work (-SIGTERM: the handler is gone by then); never a traceback
            assert code in (0, 143, -signal.SIGTERM) and "Traceback" not in said, (delay, code, said)
            stopped += code == 143
            assert sorted(p.name for p in scratch.iterdir()) == [running.name]
    finally:
        holder.close()
    assert stopped >= 1                          # at least one stop landed while the copy was in use
