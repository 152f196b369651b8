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
