"""Removing the workspaces nobody used.

Every visitor gets a workspace, and a URL-fuzzing run leaves dozens: ``python -m kpi cleanup``
(from cron) removes those that hold nothing and were not touched for a while — never one with
data, goals, a name or share links, nor one the app holds open.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .access import shares_of
from .errors import InputError
from .workspace import DOCS_TABLE, META_TABLE, Workspace, data_home
from .workspaces import is_sample, is_valid_id, was_deleted

KEEP_EMPTY = os.environ.get("KPI_EXPLORER_KEEP_EMPTY", "30d")   # the cleanup's default age
_BOOKKEEPING = re.compile(r"^(data_version|plan_version|version:.*)$")   # settings nobody typed


def holds_nothing(ws: Workspace) -> bool:
    """True when a workspace has no dataset, no saved document with anything in it (goals, KPI set,
    wizard, notes, custom KPIs, remembered headers) and no setting a person made (a name)."""
    if ws.datasets():
        return False
    bodies = [json.loads(r[0]) for r in ws.rows(f"SELECT body FROM {DOCS_TABLE}")] if ws._has_table(DOCS_TABLE) else []
    if any(_has_content(b) for b in bodies):
        return False
    settings = [r[0] for r in ws.rows(f"SELECT key FROM {META_TABLE}")] if ws._has_table(META_TABLE) else []
    return all(_BOOKKEEPING.match(k) for k in settings)


_NOT_CONTENT = {"step", "cadence", "saved_at", "choice", "version", "proposed_for"}   # defaults and bookkeeping


def _has_content(body) -> bool:
    if isinstance(body, dict):
        return any(_has_content(v) for k, v in body.items() if k not in _NOT_CONTENT)
    if isinstance(body, (list, tuple)):
        return any(_has_content(v) for v in body)
    return body not in (None, "", False, 0)


@dataclass
class Cleanup:
    removed: list[str] = field(default_factory=list)        # ids (of workspaces that held nothing)
    in_use: list[str] = field(default_factory=list)         # held open by the app or another process
    kept: int = 0                                          # with data, goals, a name or share links, or recent


def parse_age(text: str) -> timedelta:
    """'30d', '12h', '2w' (days, hours, weeks) as a duration."""
    found = re.fullmatch(r"\s*(\d{1,5})\s*([hdw])\s*", str(text or ""))
    if not found:
        raise InputError(f"{text!r} is not an age — give a number and a unit, like 30d (days), 12h (hours) or 2w (weeks)")
    n, unit = int(found.group(1)), found.group(2)
    return timedelta(hours=n) if unit == "h" else timedelta(days=n * (7 if unit == "w" else 1))


def remove_empty_workspaces(older_than: timedelta, *, dry_run: bool = False, now: datetime | None = None) -> Cleanup:
    """Remove the workspaces of the data folder that hold nothing (``holds_nothing``), have no share
    link and were last written more than ``older_than`` ago. A workspace the app (or anything) holds
    open is left for a later run; one with data, goals or share links is never touched; damaged
    copies kept aside and deletion markers stay."""
    now = now or datetime.now(timezone.utc)
    folder = data_home() / "workspaces"
    out = Cleanup()
    for path in sorted(folder.glob("*.duckdb")) if folder.is_dir() else []:
        workspace_id = path.stem
        if not is_valid_id(workspace_id) or is_sample(workspace_id) or was_deleted(workspace_id):
            continue   # the sample, damaged copies (``<id>.damaged-<time>``) and markers are not ours to clean
        files = [path, path.with_name(path.name + ".wal")]
        written = max(datetime.fromtimestamp(f.stat().st_mtime, timezone.utc) for f in files if f.exists())
        if now - written < older_than or shares_of(workspace_id):
            out.kept += 1
            continue
        try:
            # Opened for writing: while we decide and delete, the app cannot open it (DuckDB's lock),
            # and the files go before it is closed.
            ws = Workspace(path)
        except InputError as exc:
            if "lock" in str(exc.__cause__ or "").lower():
                out.in_use.append(workspace_id)
            else:
                out.kept += 1          # damaged: the app keeps it aside when someone opens it
            continue
        try:
            empty = holds_nothing(ws)
            if empty and not dry_run:
                for f in files:
                    f.unlink(missing_ok=True)
        finally:
            ws.close()
        if empty:
            out.removed.append(workspace_id)
        else:
            out.kept += 1
    return out
