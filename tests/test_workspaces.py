"""Workspace ids, files and recovery from a damaged file."""
import os

import pytest

from kpi.errors import InputError
from kpi.workspaces import (is_valid_id, new_workspace_id, open_or_recover, open_workspace, workspace_path)


def test_ids_are_long_random_and_checked_before_touching_the_disk():
    ids = {new_workspace_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) >= 22 and is_valid_id(i) for i in ids)
    for bad in ["", "short", "../../etc/passwd", "a" * 21, "x" * 22 + "/", "ab cd" * 6]:
        assert not is_valid_id(bad)
        with pytest.raises(InputError):
            workspace_path(bad)


def test_a_damaged_workspace_file_is_kept_aside_and_replaced_by_a_fresh_one():
    wid = new_workspace_id()
    with open_workspace(wid) as ws:
        ws.set_setting("name", "Team A")
    path = workspace_path(wid)
    damaged = bytearray(path.read_bytes())
    damaged[100:5000] = os.urandom(4900)
    path.write_bytes(bytes(damaged))

    ws, note = open_or_recover(wid)
    with ws:
        assert ws.datasets() == [] and ws.setting("name") is None
    assert note and "kept aside" in note
    aside = [p for p in path.parent.iterdir() if ".damaged-" in p.name and p.suffix == ".duckdb"]
    assert len(aside) == 1 and aside[0].read_bytes() == bytes(damaged)  # nothing of the user's is lost

    # The fresh file opens normally the next time: no recovery loop.
    ws2, note2 = open_or_recover(wid)
    ws2.close()
    assert note2 is None


def test_copy_rename_and_delete_a_workspace():
    import pandas as pd
    from kpi import store
    from kpi.goals import GoalsDoc, Target
    from kpi.workspaces import copy_workspace, delete_workspace, rename_workspace
    import datetime as dt

    wid = new_workspace_id()
    ws = open_workspace(wid)
    ws.load_frame("payments", pd.DataFrame({"customer_id": ["a", "b"], "date": ["2025-01-01", "2025-01-02"],
                                            "amount": [10, 20]}))
    store.save_goals(ws, GoalsDoc(targets=[Target("revenue", 100, dt.date(2025, 12, 31))]))
    rename_workspace(ws, "  Growth   team  ")
    assert ws.setting("name") == "Growth team"
    with pytest.raises(InputError):
        rename_workspace(ws, "   ")

    copy_id = copy_workspace(ws)
    assert copy_id != wid
    with open_workspace(copy_id) as copy:
        assert copy.datasets() == ["payments"] and copy.row_count("payments") == 2
        assert store.load_goals(copy).targets[0].kpi == "revenue"
        assert copy.setting("name") == "Copy of Growth team"
        copy.load_frame("payments", pd.DataFrame({"customer_id": ["c"], "date": ["2025-02-01"], "amount": [5]}))
    assert ws.row_count("payments") == 2  # the copy is independent

    delete_workspace(ws, wid)
    assert not workspace_path(wid).exists() and workspace_path(copy_id).exists()


def test_a_viewer_cannot_rename_copy_into_or_delete():
    from kpi.errors import PermissionDenied
    from kpi.workspaces import delete_workspace, rename_workspace
    wid = new_workspace_id()
    editor = open_workspace(wid)
    viewer = editor.read_only_view()
    with pytest.raises(PermissionDenied):
        rename_workspace(viewer, "Mine now")
    with pytest.raises(PermissionDenied):
        delete_workspace(viewer, wid)
    assert workspace_path(wid).exists()
    editor.close()


def _workspace_with_payments():
    import pandas as pd
    wid = new_workspace_id()
    ws = open_workspace(wid)
    ws.load_frame("payments", pd.DataFrame({"customer_id": ["a", "b"], "date": ["2025-01-01", "2025-01-02"],
                                            "amount": [10, 20]}))
    return wid, ws


def test_a_deleted_workspace_stays_deleted_and_its_links_stop_working():
    import gc
    from kpi import access
    from kpi.errors import WorkspaceGone
    from kpi.workspaces import delete_workspace, was_deleted, workspace_exists
    wid, ws = _workspace_with_payments()
    viewer = ws.read_only_view()                 # another session looking at it
    token = access.create_share(wid, "viewer")
    delete_workspace(ws, wid)

    path = workspace_path(wid)
    assert not path.exists() and not path.with_name(path.name + ".wal").exists()
    assert was_deleted(wid) and not workspace_exists(wid)
    with pytest.raises(WorkspaceGone, match="deleted"):
        viewer.datasets()                         # the other session is told, not crashed
    assert viewer.gone and ws.gone
    with pytest.raises(access.InvalidShare):
        access.resolve(token)
    assert access.shares_of(wid) == []
    with pytest.raises(WorkspaceGone):
        open_or_recover(wid)                      # never made again, empty, under the same id
    del ws, viewer
    gc.collect()
    assert not path.exists()                      # nothing writes the file back


def test_delete_waits_for_queries_in_flight_and_gives_up_cleanly_when_they_last():
    import threading
    import time
    from kpi.workspaces import delete_workspace, was_deleted
    wid, ws = _workspace_with_payments()
    hold, done = threading.Event(), threading.Event()

    def reader(seconds):
        with ws.cursor() as cur:
            hold.set()
            time.sleep(seconds)
            cur.execute("SELECT count(*) FROM payments").fetchall()
        done.set()

    # A query that lasts longer than the wait: the delete is refused and the workspace is intact.
    t = threading.Thread(target=reader, args=(1.0,))
    t.start()
    hold.wait()
    with pytest.raises(InputError, match="try again"):
        ws.shut("test", timeout=0.1)
    t.join()
    assert ws.gone is None and ws.row_count("payments") == 2

    # A short one: the delete waits for it to finish, then the file goes.
    hold.clear()
    done.clear()
    t = threading.Thread(target=reader, args=(0.3,))
    t.start()
    hold.wait()
    delete_workspace(ws, wid)
    assert done.is_set()                          # the reader finished before the database closed
    t.join()
    assert was_deleted(wid) and not workspace_path(wid).exists()


def test_only_the_open_workspace_can_be_deleted():
    from kpi.workspaces import SAMPLE_ID, delete_workspace
    wid, ws = _workspace_with_payments()
    other, other_ws = _workspace_with_payments()
    for target in (other, SAMPLE_ID):
        with pytest.raises(InputError):
            delete_workspace(ws, target)
    assert workspace_path(other).exists() and workspace_path(wid).exists()
    ws.close()
    other_ws.close()


def test_the_public_sample_is_built_once_planned_read_only_and_copyable():
    from kpi import store
    from kpi.errors import PermissionDenied
    from kpi.workspaces import (SAMPLE_ID, copy_workspace, delete_workspace, is_sample, open_sample,
                                rename_workspace)
    sample = open_sample()
    path = workspace_path(SAMPLE_ID)
    built = path.stat().st_mtime_ns
    assert is_sample(sample) and "payments" in sample.datasets() and sample.setting("name") == "Sample workspace"
    plan = store.load_kpi_set(sample)
    assert plan["goals"] == ["revenue", "retention"] and plan["stage"] == "growth"
    assert 5 <= len(plan["kpis"]) <= 7             # a balanced set, as the wizard's check wants
    targets = store.load_goals(sample).targets
    assert targets and {t.kpi for t in targets} <= set(plan["kpis"])
    sample.close()
    open_sample().close()                          # the same sample: not built again
    assert path.stat().st_mtime_ns == built

    server = open_sample()
    view = server.read_only_view()                 # what every session gets
    with pytest.raises(PermissionDenied):
        rename_workspace(view, "Mine now")
    with pytest.raises(PermissionDenied):
        delete_workspace(view, SAMPLE_ID)
    from kpi import access
    for role in ("editor", "viewer"):               # no link can make the public sample writable
        with pytest.raises(PermissionDenied):
            access.create_share(SAMPLE_ID, role)
    copy_id = copy_workspace(view)                 # anyone may copy the sample into their own
    with open_workspace(copy_id) as copy:
        assert copy.setting("name") == "Copy of Sample workspace" and not is_sample(copy)
        assert copy.row_count("payments") == server.row_count("payments")
        assert store.load_kpi_set(copy) == plan
        rename_workspace(copy, "Ours")             # and it is writable
    server.close()


def test_a_viewer_cannot_copy_a_private_workspace():
    from kpi.errors import PermissionDenied
    from kpi.workspaces import copy_workspace
    wid, ws = _workspace_with_payments()
    with pytest.raises(PermissionDenied):
        copy_workspace(ws.read_only_view())
    ws.close()
