"""The user's mapping corrections, remembered per header signature in the workspace.

Next month's export of the same tool has the same header: when a user corrected a mapping (or
answered a question) once, the file maps itself the next time. The memory is the workspace
document ``mapping_memory``: ``{"entries": {signature: {...}}}``, where the signature is a hash of
the file's header names, normalised and sorted (a tool that reorders its columns keeps its key).
A header that gained or lost a column or two still finds its entry when every remembered column
is there and the two headers mostly agree.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable

from .datasets import normalise_name

DOC = "mapping_memory"
CLOSE_ENOUGH = 0.8   # share of header names two exports must have in common to be one tool's


@dataclass(frozen=True)
class Remembered:
    dataset: str
    mapping: dict[str, str | None]     # canonical column -> file column (None: left unmapped on purpose)
    answers: dict[str, str] = field(default_factory=dict)
    file_name: str = ""
    saved_at: str = ""
    exact: bool = True                 # False: found through a header that differs a little


def _names(columns: Iterable[str]) -> list[str]:
    return sorted({normalise_name(c) for c in columns})


def header_signature(columns: Iterable[str]) -> str:
    """A short key for a header: the same for the same column names in any order or case."""
    return hashlib.sha256("\n".join(_names(columns)).encode()).hexdigest()[:16]


def _entries(ws) -> dict:
    doc = ws.doc(DOC, None) if ws is not None else None
    return dict((doc or {}).get("entries", {}))


def recall(ws, columns: Iterable[str]) -> Remembered | None:
    """What the user confirmed for this header before, if anything."""
    if ws is None:
        return None
    columns = list(columns)
    entries = _entries(ws)
    if not entries:
        return None
    key = header_signature(columns)
    exact = key in entries
    entry = entries.get(key)
    if entry is None:
        names = set(_names(columns))
        best, best_score = None, 0.0
        for candidate in entries.values():
            theirs = set(candidate.get("header", []))
            mapped = [c for c in candidate.get("mapping", {}).values() if c]
            if not theirs or not all(c in columns for c in mapped):
                continue
            score = len(names & theirs) / len(names | theirs)
            if score >= CLOSE_ENOUGH and score > best_score:
                best, best_score = candidate, score
        entry = best
    if entry is None:
        return None
    mapping = {k: v for k, v in entry.get("mapping", {}).items() if v is None or v in columns}
    return Remembered(dataset=entry["dataset"], mapping=mapping, answers=dict(entry.get("answers", {})),
                      file_name=entry.get("file_name", ""), saved_at=entry.get("saved_at", ""), exact=exact)


def remember(ws, columns: Iterable[str], *, dataset: str, mapping: dict[str, str | None],
             answers: dict[str, str] | None = None, file_name: str = "") -> None:
    """Keep the confirmed dataset, mapping and answers for this header (a read-only workspace keeps nothing)."""
    if ws is None or getattr(ws, "read_only", False):
        return
    columns = list(columns)
    entry = {"dataset": dataset, "mapping": dict(mapping), "answers": dict(answers or {}), "file_name": file_name,
             "header": _names(columns), "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    key = header_signature(columns)
    # One write on the latest entries: headers others confirmed meanwhile stay remembered.
    ws.update_doc(DOC, lambda doc: {"entries": {**dict((doc or {}).get("entries", {})), key: entry}})


def forget(ws, columns: Iterable[str]) -> bool:
    """Drop what was remembered for this header; True when there was something."""
    key = header_signature(columns)
    if key not in _entries(ws):
        return False
    ws.update_doc(DOC, lambda doc: {"entries": {k: v for k, v in dict((doc or {}).get("entries", {})).items()
                                                if k != key}})
    return True
