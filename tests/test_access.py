"""Share links: tokens resolve to their workspace and role, anything else is refused, and a viewer's
workspace refuses every write in Python and at the DuckDB level."""
from __future__ import annotations

import datetime as dt
import json
import stat

import duckdb
import pandas as pd
import pytest

from kpi import access, custom, memory, store
from kpi.custom import CustomKpi, Measure
from kpi.errors import InputError, PermissionDenied
from kpi.goals import GoalsDoc, Target
from kpi.workspace import data_home
from kpi.workspaces import load_sample, new_workspace_id, open_workspace

PAYMENTS = pd.DataFrame({"customer_id": ["c1", "c2"], "date": ["2026-01-05", "2026-02-03"],
                         "amount": [100.0, 250.0]})


@pytest.fixture
def wid():
    workspace_id = new_workspace_id()
    with open_workspace(workspace_id) as ws:
        ws.load_frame("payments", PAYMENTS)
        store.save_goals(ws, GoalsDoc(targets=[Target("mrr", 500, dt.date(2026, 12, 31), id="t1")]))
    return workspace_id


def test_a_token_opens_its_workspace_with_its_role(wid):
    editor, viewer = access.create_share(wid, "editor"), access.create_share(wid, "viewer")
    assert access.resolve(editor) == (wid, "editor")
    assert access.resolve(viewer) == (wid, "viewer")
    assert sorted(s.role for s in access.shares_of(wid)) == ["editor", "viewer"]
    assert access.shares_of(new_workspace_id()) == []


def test_tokens_are_long_unique_and_only_their_hash_is_stored(wid):
    tokens = {access.create_share(wid, "viewer") for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(t) == 32 for t in tokens)  # 24 random bytes = 192 bits
    text = access.registry_path().read_text()
    assert not any(t in text for t in tokens)
    assert len(json.loads(text)["shares"]) == 50
    assert stat.S_IMODE(access.registry_path().stat().st_mode) == 0o600
    assert access.registry_path().parent == data_home()


@pytest.mark.parametrize("bad", ["", None, "x", "a" * 32, "a" * 33, "../../etc/passwd" + "a" * 16,
                                 "<script>alert(1)</script>aaaaaaa", 42])
def test_forged_empty_and_malformed_tokens_are_refused(wid, bad):
    access.create_share(wid, "viewer")
    with pytest.raises(access.InvalidShare, match="not valid or was revoked"):
        access.resolve(bad)


def test_a_token_with_one_character_changed_is_refused(wid):
    token = access.create_share(wid, "editor")
    for i in (0, 15, 31):
        tampered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        with pytest.raises(access.InvalidShare):
            access.resolve(tampered)
    assert access.resolve(token) == (wid, "editor")


def test_a_revoked_token_is_refused_and_others_keep_working(wid):
    gone, kept = access.create_share(wid, "viewer"), access.create_share(wid, "viewer")
    assert access.revoke(gone) is True
    assert access.revoke(gone) is False
    with pytest.raises(access.InvalidShare):
        access.resolve(gone)
    assert access.resolve(kept) == (wid, "viewer")
    [share] = access.shares_of(wid)
    assert access.revoke_share(wid, share.id) is True
    with pytest.raises(access.InvalidShare):
        access.resolve(kept)


def test_a_share_of_a_missing_workspace_or_role_is_refused(wid):
    with pytest.raises(InputError):
        access.create_share(wid, "owner")
    with pytest.raises(InputError):
        access.create_share(new_workspace_id(), "viewer")


def test_a_corrupt_registry_is_a_clear_error_not_a_traceback(wid):
    access.registry_path().parent.mkdir(parents=True, exist_ok=True)
    access.registry_path().write_text("{not json")
    with pytest.raises(InputError, match="share registry"):
        access.resolve("a" * 32)


def _write_paths(ws):
    """Every way the core can change a workspace."""
    kpi = CustomKpi("cash_in", "Cash in", Measure("payments", "count"))
    return {
        "setting": lambda: ws.set_setting("name", "Hacked"),
        "doc": lambda: ws.set_doc("goals", {}),
        "goals": lambda: store.save_goals(ws, GoalsDoc()),
        "kpi set": lambda: store.save_kpi_set(ws, ["mrr"], [], None),
        "wizard": lambda: store.save_wizard(ws, {"step": 3}),
        "annotations": lambda: store.save_annotations(ws, [{"date": "2026-01-01", "text": "x"}]),
        "custom kpi": lambda: custom.save_custom_kpi(ws, kpi),
        "delete custom kpi": lambda: custom.delete_custom_kpi(ws, "cash_in"),
        "delete dataset": lambda: ws.drop_dataset("payments"),
        "load frame": lambda: ws.load_frame("payments", PAYMENTS),
        "load sample": lambda: load_sample(ws),
    }


def _upload(ws, tmp_path):
    from kpi.ingest import ingest_file
    path = tmp_path / "payments.csv"
    PAYMENTS.to_csv(path, index=False)
    return ingest_file(ws, path, dataset="payments")


def _assert_unchanged(wid):
    with open_workspace(wid) as ws:
        assert ws.row_count("payments") == 2
        assert ws.setting("name") is None
        assert [t.kpi for t in store.load_goals(ws).targets] == ["mrr"]
        assert store.load_annotations(ws) == []


def test_every_write_through_a_viewer_link_is_refused(wid, tmp_path):
    with access.open_shared(access.create_share(wid, "viewer")) as ws:
        assert ws.read_only
        for name, write in _write_paths(ws).items():
            with pytest.raises(PermissionDenied, match="read-only"):
                write()
        with pytest.raises(PermissionDenied):
            _upload(ws, tmp_path)
        memory.remember(ws, ["a", "b"], dataset="payments", mapping={"amount": "a"})  # keeps nothing
        # Reads work: the viewer sees the data and the goals.
        assert ws.row_count("payments") == 2
        assert [t.kpi for t in store.load_goals(ws).targets] == ["mrr"]
        # Below the Python check, DuckDB itself refuses (the file is opened read-only).
        with ws.cursor() as cur, pytest.raises(duckdb.Error):
            cur.execute("DROP TABLE payments")
    _assert_unchanged(wid)


def test_a_read_only_view_refuses_writes_while_the_editor_keeps_writing(wid, tmp_path):
    # The app's case: the editor's database object is open in the same process.
    editor = open_workspace(wid)
    view = editor.read_only_view()
    for name, write in _write_paths(view).items():
        with pytest.raises(PermissionDenied):
            write()
    with pytest.raises(PermissionDenied):
        _upload(view, tmp_path)
    for sql in ("DROP TABLE payments", "DELETE FROM payments", "CREATE TABLE evil AS SELECT 1",
                "UPDATE _kpi_meta SET value = 'x'"):
        with view.cursor() as cur, pytest.raises(duckdb.Error):
            cur.execute(sql)
    # Temporary tables (KPI computation uses them) still work, and so does computing.
    from kpi.compute import compute
    assert len(compute(view, ["revenue"], grain="month"))
    editor.set_setting("name", "Team")
    assert view.setting("name") == "Team"          # the viewer sees the editor's change
    view.close()                                    # does not close the editor's database
    editor.set_setting("name", None)
    _assert_unchanged(wid)
    editor.close()


def test_an_editor_link_opens_a_writable_workspace(wid):
    with access.open_shared(access.create_share(wid, "editor")) as ws:
        assert not ws.read_only
        ws.set_setting("name", "Renamed")
        assert ws.setting("name") == "Renamed"
