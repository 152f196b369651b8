"""The workspace's saved plans: goals and OKRs, the chosen KPI set, the wizard's progress, annotations.

Each is one named JSON document in the workspace file (see ``Workspace.doc``), so it survives
restarts and travels with a share link; every save bumps the data version, which drops caches.

Several people may edit one workspace at once (an editor link open twice, owner and editor), so
no save overwrites what it did not read: a whole-document save carries the version it was read at
(``expect``) and is refused with :class:`~kpi.errors.StaleWrite` once someone else saved in
between; adding or deleting one item (a note, an objective) changes the latest document in one
write (``Workspace.update_doc``), so two people's items both stay. Items are named by id, never by
their place in a list.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from typing import Callable

from .goals import GoalsDoc
from .workspace import Workspace

GOALS, KPI_SET, WIZARD, CUSTOM_KPIS, ANNOTATIONS = "goals", "kpi_set", "wizard", "custom_kpis", "annotations"
EMPTY_KPI_SET = {"kpis": [], "goals": [], "stage": None}


def goals_from(raw) -> GoalsDoc:
    return GoalsDoc.from_dict(raw, source="saved goals") if raw else GoalsDoc()


def load_goals(ws: Workspace) -> GoalsDoc:
    return goals_from(ws.doc(GOALS))


def load_goals_entry(ws: Workspace) -> tuple[GoalsDoc, int]:
    """The goals and the version they were read at (give it to ``save_goals(expect=)``)."""
    raw, version = ws.doc_entry(GOALS)
    return goals_from(raw), version


def save_goals(ws: Workspace, doc: GoalsDoc, *, expect: int | None = None) -> int:
    """Save the goals whole; with ``expect``, only if nobody saved them since that version."""
    return ws.set_doc(GOALS, doc.to_dict(), expect=expect, what="The goals")


def update_goals(ws: Workspace, change: Callable[[GoalsDoc], GoalsDoc]) -> GoalsDoc:
    """Apply ``change`` to the latest saved goals in one write (it may run again after a conflict)."""
    return goals_from(ws.update_doc(GOALS, lambda raw: change(goals_from(raw)).to_dict(), what="The goals"))


def load_kpi_set(ws: Workspace) -> dict:
    """The saved KPI set: ``{"kpis": [...], "goals": [...], "stage": str|None}`` (empty before the wizard)."""
    return ws.doc(KPI_SET, dict(EMPTY_KPI_SET))


def kpi_set_body(kpis: list[str], goals: list[str], stage: str | None) -> dict:
    return {"kpis": list(kpis), "goals": list(goals), "stage": stage}


def save_kpi_set(ws: Workspace, kpis: list[str], goals: list[str], stage: str | None, *,
                 expect: int | None = None) -> int:
    return ws.set_doc(KPI_SET, kpi_set_body(kpis, goals, stage), expect=expect, what="The KPI set")


def load_wizard(ws: Workspace) -> dict:
    return ws.doc(WIZARD, {})


def load_wizard_entry(ws: Workspace) -> tuple[dict, int]:
    return ws.doc_entry(WIZARD, {})


def save_wizard(ws: Workspace, state: dict, *, expect: int | None = None) -> int:
    return ws.set_doc(WIZARD, state, expect=expect, what="The KPI wizard's progress")


# -- notes on the charts (annotations) -------------------------------------------------------------
def _note_ids(items: list) -> list[dict]:
    """Every note with an id. Notes saved before notes had ids get one from their content and their
    place among identical notes: the same in every session, so a delete names the same note."""
    out, seen = [], {}
    for item in items or []:
        if not isinstance(item, dict):
            continue
        if not item.get("id"):
            body = json.dumps({k: item.get(k) for k in ("date", "text", "kpi")}, sort_keys=True, default=str)
            nth = seen[body] = seen.get(body, 0) + 1
            item = {**item, "id": "n" + hashlib.sha256(f"{body}#{nth}".encode()).hexdigest()[:12]}
        out.append(item)
    return out


def load_annotations(ws: Workspace) -> list[dict]:
    """The notes drawn on the charts, each ``{"id", "date", "text", "kpi"}``."""
    return _note_ids(ws.doc(ANNOTATIONS, []))


def add_annotation(ws: Workspace, date: str, text: str, kpi: str | None) -> str:
    """Add a note to the latest saved notes; its id."""
    note_id = "n" + secrets.token_hex(6)
    ws.update_doc(ANNOTATIONS, lambda items: _note_ids(items) + [
        {"id": note_id, "date": date, "text": text, "kpi": kpi}], [], what="The notes")
    return note_id


def delete_annotation(ws: Workspace, note_id: str) -> bool:
    """Delete the note with this id (whatever others added or deleted meanwhile); False when it
    was already gone."""
    found = []

    def without(items):
        notes = _note_ids(items)
        found[:] = [n for n in notes if n["id"] == note_id]
        return [n for n in notes if n["id"] != note_id]
    ws.update_doc(ANNOTATIONS, without, [], what="The notes")
    return bool(found)


def save_annotations(ws: Workspace, items: list[dict], *, expect: int | None = None) -> int:
    return ws.set_doc(ANNOTATIONS, _note_ids(items), expect=expect, what="The notes")
