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
