"""Two (or eight) people writing to one workspace at once, with real threads on a real DuckDB file.

Streamlit serves every browser session from its own thread, and all sessions of one workspace
share one database object (``ui/session.py``). Before saves took turns, 117 of 240 concurrent
saves raised DuckDB's ``Conflict on update!`` and overlapping read-modify-writes lost each other's
changes. Now: zero exceptions, zero lost updates; a save made from an old version is refused with
``StaleWrite`` and loses nothing; a DuckDB conflict from outside the write turn is retried and
then reported in plain words.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import duckdb
import pytest

from kpi import custom, memory, store, workspace as workspace_module
from kpi.errors import Busy, KpiError, StaleWrite
from kpi.goals import GoalsDoc, Objective
from kpi.ingest import ingest_file, workspace_secret
from kpi.workspace import Workspace

THREADS, SAVES = 8, 30          # 240 saves


def race(n: int, work) -> list:
    """Run ``work(i)`` for i in range(n) on THREADS threads released together; the results."""
    start = threading.Barrier(min(n, THREADS))

    def one(i):
        if i < THREADS:
            start.wait()
        return work(i)
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(n)))


def test_240_concurrent_saves_from_8_threads_lose_nothing(tmp_path, capsys):
    ws = Workspace(tmp_path / "team.duckdb")
    errors: list[BaseException] = []

    def save(i: int) -> None:
        try:
            kind = i % 4
            if kind == 0:     # an objective added to the latest goals
                store.update_goals(ws, lambda d: d.add_objective(Objective(f"o{i}", f"Objective {i}")))
            elif kind == 1:   # a note on the charts
                store.add_annotation(ws, "2025-01-01", f"note {i}", None)
            elif kind == 2:   # a setting
                ws.set_setting(f"setting_{i}", i)
            else:             # a whole-document save from the version read: refused when stale, then redone
                while True:
                    body, version = ws.doc_entry("counter", {"saves": []})
                    try:
                        ws.set_doc("counter", {"saves": body["saves"] + [i]}, expect=version)
                        return
                    except StaleWrite:
                        continue
        except BaseException as exc:  # noqa: BLE001 - counted, then asserted empty
            errors.append(exc)

    started = time.perf_counter()
    race(THREADS * SAVES, save)
    seconds = time.perf_counter() - started
    assert not errors, f"{len(errors)} saves failed, first: {type(errors[0]).__name__}: {errors[0]}"
    n = THREADS * SAVES
    goals = store.load_goals(ws)
    assert sorted(o.id for o in goals.objectives) == sorted(f"o{i}" for i in range(0, n, 4))
    assert sorted(a["text"] for a in store.load_annotations(ws)) == sorted(f"note {i}" for i in range(1, n, 4))
    assert all(ws.setting(f"setting_{i}") == str(i) for i in range(2, n, 4))
    assert sorted(ws.doc("counter")["saves"]) == list(range(3, n, 4))
    # every save bumped its document's version exactly once
    assert ws.doc_version(store.GOALS) == len(range(0, n, 4))
    assert ws.doc_version(store.ANNOTATIONS) == len(range(1, n, 4))
    assert ws.doc_version("counter") == len(range(3, n, 4))
    ws.close()
    with Workspace(tmp_path / "team.duckdb", read_only=True) as again:   # and it is all on disk
        assert len(store.load_goals(again).objectives) == len(range(0, n, 4))
    with capsys.disabled():
        print(f"\nconcurrent writers: {n} saves from {THREADS} threads in {seconds:.1f} s, "
              f"0 exceptions, 0 lost updates")


def test_two_workspace_objects_on_one_file_take_turns(tmp_path):
    """Two Workspace objects on one file in one process (a CLI and a test, or a script) share the
    database and its write turn."""
    path = tmp_path / "team.duckdb"
    first, second = Workspace(path), Workspace(path)
    race(80, lambda i: store.add_annotation(first if i % 2 else second, "2025-01-01", f"n{i}", None))
    assert sorted(n["text"] for n in store.load_annotations(first)) == sorted(f"n{i}" for i in range(80))
    first.close(), second.close()


def test_a_save_from_an_old_version_is_refused_and_the_newer_kept(tmp_path):
    ws = Workspace(tmp_path / "team.duckdb")
    doc_a, version_a = store.load_goals_entry(ws)          # A opens the goals
    doc_b, version_b = store.load_goals_entry(ws)          # B opens them too
    store.save_goals(ws, doc_b.add_objective(Objective("o1", "B's objective")), expect=version_b)
    with pytest.raises(StaleWrite, match="changed since you opened it — reload"):
        store.save_goals(ws, doc_a.add_objective(Objective("o1", "A's objective")), expect=version_a)
    assert [o.title for o in store.load_goals(ws).objectives] == ["B's objective"]
    # after a reload A's change goes in
    doc_a, version_a = store.load_goals_entry(ws)
    store.save_goals(ws, doc_a.add_objective(Objective("o2", "A's objective")), expect=version_a)
    assert [o.title for o in store.load_goals(ws).objectives] == ["B's objective", "A's objective"]


def test_overlapping_goals_page_runs_keep_both_objectives_or_refuse_the_second(tmp_path):
    """The Goals page reads the goals at the top of a run and saves at the end. Two runs that
    overlap: the first save wins, the second is told to reload; nobody is told "saved" for an
    objective that is gone."""
    ws = Workspace(tmp_path / "team.duckdb")
    both_read = threading.Barrier(2)
    told = {}

    def page_run(who: str) -> None:
        doc, version = store.load_goals_entry(ws)          # the top of the run
        both_read.wait()
        try:
            new_id = f"o{len(doc.objectives) + 1}"
            store.save_goals(ws, doc.add_objective(Objective(new_id, f"{who}'s objective")), expect=version)
            told[who] = "saved"
        except StaleWrite as exc:
            told[who] = str(exc)
    race(2, lambda i: page_run("AB"[i]))
    saved = [w for w, t in told.items() if t == "saved"]
    assert len(saved) == 1
    other = "B" if saved == ["A"] else "A"
    assert "changed since you opened it — reload" in told[other]
    assert [o.title for o in store.load_goals(ws).objectives] == [f"{saved[0]}'s objective"]


def test_notes_are_deleted_by_id_not_by_place(tmp_path):
    ws = Workspace(tmp_path / "team.duckdb")
    ids = [store.add_annotation(ws, "2025-01-0%d" % k, f"n{k}", None) for k in (1, 2, 3)]
    shown_to_a = store.load_annotations(ws)                 # A's page lists n1, n2, n3
    assert store.delete_annotation(ws, ids[0])              # B deletes n1
    a_clicks = next(n for n in shown_to_a if n["text"] == "n2")
    assert store.delete_annotation(ws, a_clicks["id"])      # A's Delete on n2
    assert [n["text"] for n in store.load_annotations(ws)] == ["n3"]
    assert not store.delete_annotation(ws, ids[0])          # already gone: nothing else goes


def test_notes_saved_before_ids_get_the_same_id_in_every_session(tmp_path):
    ws = Workspace(tmp_path / "team.duckdb")
    legacy = [{"date": "2025-01-01", "text": "same", "kpi": None}, {"date": "2025-01-01", "text": "same", "kpi": None},
              {"date": "2025-02-01", "text": "other", "kpi": "mrr"}]
    ws.set_doc(store.ANNOTATIONS, legacy)
    first, second = store.load_annotations(ws), store.load_annotations(ws)
    assert [n["id"] for n in first] == [n["id"] for n in second]
    assert len({n["id"] for n in first}) == 3               # two identical notes are still two notes
    store.delete_annotation(ws, first[1]["id"])
    assert [n["text"] for n in store.load_annotations(ws)] == ["same", "other"]


def test_custom_kpis_saved_and_deleted_at_once_by_id(tmp_path):
    ws = Workspace(tmp_path / "team.duckdb")
    ws.load_frame("payments", __import__("pandas").DataFrame(
        {"customer_id": ["c1", "c2"], "date": ["2025-01-01", "2025-01-02"], "amount": [10.0, 20.0]}))
    kpis = [custom.CustomKpi(f"custom_{i}", f"Count {i}", custom.Measure("payments", "count")) for i in range(16)]
    custom.save_custom_kpi(ws, kpis[0])
    race(16, lambda i: custom.delete_custom_kpi(ws, "custom_0") if i == 0 else custom.save_custom_kpi(ws, kpis[i]))
    assert sorted(custom.load_custom_kpis(ws)) == sorted(f"custom_{i}" for i in range(1, 16))


def test_header_memory_keeps_every_confirmed_header(tmp_path):
    ws = Workspace(tmp_path / "team.duckdb")
    race(24, lambda i: memory.remember(ws, [f"col_{i}", "amount"], dataset="payments", mapping={"amount": "amount"}))
    assert all(memory.recall(ws, [f"col_{i}", "amount"]) is not None for i in range(24))


def test_the_pseudonym_key_is_made_once_whoever_asks_first(tmp_path):
    ws = Workspace(tmp_path / "team.duckdb")
    keys = race(16, lambda i: workspace_secret(ws))
    assert len(set(keys)) == 1 and len(keys[0]) == 64


def _csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_two_editors_loading_different_datasets_at_once_both_succeed(tmp_path):
    ws = Workspace(tmp_path / "team.duckdb")
    customers = _csv(tmp_path / "customers.csv", "customer_id,signup_date,country",
                     [f"c{i},2025-01-{1 + i % 28:02d},FR" for i in range(3000)])
    payments = _csv(tmp_path / "payments.csv", "customer_id,date,amount",
                    [f"c{i},2025-02-{1 + i % 28:02d},{i}" for i in range(2000)])
    for _ in range(4):      # several rounds: the two loads overlap in different ways
        results = race(2, lambda i: ingest_file(ws, (customers, payments)[i]))
        assert [r.rows for r in results] == [3000, 2000]
        assert ws.row_count("customers") == 3000 and ws.row_count("payments") == 2000


def test_a_load_prepared_before_someone_else_loaded_that_dataset_is_refused(tmp_path):
    ws = Workspace(tmp_path / "team.duckdb")
    mine = _csv(tmp_path / "payments_a.csv", "customer_id,date,amount", ["a1,2025-01-01,5"])
    theirs = _csv(tmp_path / "payments_b.csv", "customer_id,date,amount", ["b1,2025-01-01,7", "b2,2025-01-02,8"])
    seen = ws.dataset_version("payments")                   # A looks: payments is empty
    ingest_file(ws, theirs, expect=ws.dataset_version("payments"))   # B loads payments
    with pytest.raises(StaleWrite, match="The payments dataset changed since you opened it"):
        ingest_file(ws, mine, expect=seen)                  # A's replace would wipe B's rows
    assert ws.row_count("payments") == 2
    ingest_file(ws, mine, mode="append", expect=ws.dataset_version("payments"))   # after a reload
    assert ws.row_count("payments") == 3


def test_a_duckdb_conflict_is_retried_then_reported_in_plain_words(tmp_path, monkeypatch):
    """A writer outside the write turn (here a raw cursor holding an open transaction on the same
    row) makes DuckDB refuse the save with a conflict: the save pauses and tries again."""
    ws = Workspace(tmp_path / "team.duckdb")
    ws.set_doc(store.GOALS, GoalsDoc().to_dict())
    outsider = ws._db.cursor()
    hold = "UPDATE _kpi_meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) WHERE key = 'plan_version'"
    outsider.execute("BEGIN TRANSACTION")
    outsider.execute(hold)
    attempts = []
    real_sleep = time.sleep
    monkeypatch.setattr(workspace_module.time, "sleep", lambda s: (attempts.append(s), real_sleep(s)))

    def release_later():
        real_sleep(0.05)
        outsider.execute("COMMIT")
    releaser = threading.Thread(target=release_later)
    releaser.start()
    store.save_goals(ws, GoalsDoc(cadence="weekly"))        # retried until the outsider is done
    releaser.join()
    assert attempts, "the first attempt should have met the outsider's open transaction"
    assert store.load_goals(ws).cadence == "weekly"

    outsider.execute("BEGIN TRANSACTION")                   # an outsider that never lets go
    outsider.execute(hold)
    monkeypatch.setattr(workspace_module, "CONFLICT_RETRIES", 2)
    with pytest.raises(Busy) as refused:
        store.save_goals(ws, GoalsDoc(cadence="monthly"))
    assert "try again" in str(refused.value)
    assert "Conflict" not in str(refused.value) and "TransactionContext" not in str(refused.value)
    outsider.execute("ROLLBACK")
    outsider.close()
    assert store.load_goals(ws).cadence == "weekly"


def test_a_stale_setting_is_refused(tmp_path):
    ws = Workspace(tmp_path / "team.duckdb")
    ws.set_setting("name", "Growth team")
    shown = ws.setting("name")
    ws.set_setting("name", "Growth team (EU)", expect=shown)       # B renames
    with pytest.raises(StaleWrite):
        ws.set_setting("name", "Retention team", expect=shown)     # A's rename from the old name
    assert ws.setting("name") == "Growth team (EU)"


def test_viewers_still_cannot_write(tmp_path):
    ws = Workspace(tmp_path / "team.duckdb")
    view = ws.read_only_view()
    for attempt in (lambda: store.add_annotation(view, "2025-01-01", "x", None),
                    lambda: store.update_goals(view, lambda d: d),
                    lambda: view.set_setting("name", "x"),
                    lambda: custom.delete_custom_kpi(view, "x")):
        with pytest.raises(KpiError, match="read-only"):
            attempt()
    assert ws.doc(store.ANNOTATIONS) is None


def test_workspace_files_are_private(tmp_path):
    folder = tmp_path / "new_folder"
    ws = Workspace(folder / "team.duckdb")
    ws.close()
    assert (folder.stat().st_mode & 0o777) == 0o700
    assert ((folder / "team.duckdb").stat().st_mode & 0o777) == 0o600
