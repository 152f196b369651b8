"""The workspace's saved plans: goals and OKRs, the chosen KPI set, the wizard's progress, annotations.

Each is one named JSON document in the workspace file (see ``Workspace.doc``), so it survives
restarts and travels with a share link; every save bumps the data version, which drops caches.
"""
from __future__ import annotations

from .goals import GoalsDoc
from .workspace import Workspace

GOALS, KPI_SET, WIZARD, CUSTOM_KPIS, ANNOTATIONS = "goals", "kpi_set", "wizard", "custom_kpis", "annotations"


def load_goals(ws: Workspace) -> GoalsDoc:
    raw = ws.doc(GOALS)
    return GoalsDoc.from_dict(raw, source="saved goals") if raw else GoalsDoc()


def save_goals(ws: Workspace, doc: GoalsDoc) -> None:
    ws.set_doc(GOALS, doc.to_dict())


def load_kpi_set(ws: Workspace) -> dict:
    """The saved KPI set: ``{"kpis": [...], "goals": [...], "stage": str|None}`` (empty before the wizard)."""
    return ws.doc(KPI_SET, {"kpis": [], "goals": [], "stage": None})


def save_kpi_set(ws: Workspace, kpis: list[str], goals: list[str], stage: str | None) -> None:
    ws.set_doc(KPI_SET, {"kpis": list(kpis), "goals": list(goals), "stage": stage})


def load_wizard(ws: Workspace) -> dict:
    return ws.doc(WIZARD, {})


def save_wizard(ws: Workspace, state: dict) -> None:
    ws.set_doc(WIZARD, state)


def load_annotations(ws: Workspace) -> list[dict]:
    return ws.doc(ANNOTATIONS, [])


def save_annotations(ws: Workspace, items: list[dict]) -> None:
    ws.set_doc(ANNOTATIONS, items)
