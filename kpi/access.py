"""Share links: unguessable tokens that open one workspace as an editor or as a read-only viewer.

A token is shown once, in the link; the server keeps only its SHA-256 in a registry file under the
data folder (``access.json``), so a copy of the data folder does not hand out working links.
Revoking a share deletes its entry and the link stops working on its next use.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import InputError, PermissionDenied
from .workspace import Workspace, data_home
from .workspaces import is_sample, is_valid_id, open_workspace, workspace_exists

ROLES = ("editor", "viewer")
TOKEN_BYTES = 24                       # 192 bits from the OS's CSPRNG
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")  # token_urlsafe(24) is 32 characters
REGISTRY_NAME = "access.json"
INVALID_LINK = "This link is not valid or was revoked — ask the person who sent it for a new one."

_lock = threading.Lock()


class InvalidShare(InputError):
    """A share token that is malformed, unknown, revoked or whose workspace is gone."""

    def __init__(self, message: str = INVALID_LINK):
        super().__init__(message)


@dataclass(frozen=True)
class Share:
    """One share link as the registry knows it: never the token itself, only a handle to it."""
    id: str            # the first 16 hex digits of the token's hash: enough to name it in a list
    workspace: str
    role: str
    created: str       # ISO timestamp, UTC


def registry_path() -> Path:
    return data_home() / REGISTRY_NAME


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@contextmanager
def _registry(write: bool) -> Iterator[dict]:
    """The registry's content; with ``write``, saved atomically (temp file + rename) afterwards."""
    path = registry_path()
    with _lock:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {"shares": []}
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: the share registry cannot be read ({exc}) — restore it from a "
                             "backup or delete it (every share link then stops working)") from exc
        yield data
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
            tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)


def create_share(workspace_id: str, role: str) -> str:
    """A new share link's token for a workspace; the caller shows it once, the server keeps its hash."""
    if role not in ROLES:
        raise InputError(f"unknown role {role!r} — use editor or viewer")
    if not workspace_exists(workspace_id):
        raise InputError("This workspace does not exist, so it cannot be shared.")
    if is_sample(workspace_id):
        raise PermissionDenied("The sample workspace is public and read-only: share its address, or copy it first.")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with _registry(write=True) as data:
        # Links of workspaces deleted since are dropped here (they already open nothing).
        data["shares"] = [e for e in data["shares"] if is_valid_id(e.get("workspace"))
                          and workspace_exists(e["workspace"])]
        data["shares"].append({"hash": _digest(token), "workspace": workspace_id, "role": role,
                               "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    return token


def _find(data: dict, token: str) -> dict | None:
    wanted = _digest(token)
    found = None
    for entry in data["shares"]:  # constant-time per entry, and no early exit
        if hmac.compare_digest(entry.get("hash", ""), wanted):
            found = entry
    return found


def resolve(token: str | None) -> tuple[str, str]:
    """``(workspace_id, role)`` of a live share token; :class:`InvalidShare` for anything else."""
    if not isinstance(token, str) or not _TOKEN_RE.match(token):
        raise InvalidShare()
    with _registry(write=False) as data:
        entry = _find(data, token)
    if entry is None or entry.get("role") not in ROLES or not is_valid_id(entry.get("workspace")) \
            or not workspace_exists(entry["workspace"]):
        raise InvalidShare()
    return entry["workspace"], entry["role"]


def revoke(token: str) -> bool:
    """Stop a share link from working; False when it was not a live link."""
    if not isinstance(token, str) or not _TOKEN_RE.match(token):
        return False
    with _registry(write=True) as data:
        entry = _find(data, token)
        if entry is None:
            return False
        data["shares"] = [e for e in data["shares"] if e is not entry]
    return True


def revoke_share(workspace_id: str, share_id: str) -> bool:
    """Revoke a link by its handle from :func:`shares_of` (the token itself is not kept)."""
    with _registry(write=True) as data:
        keep = [e for e in data["shares"]
                if not (e.get("workspace") == workspace_id and e.get("hash", "")[:16] == share_id)]
        gone = len(keep) != len(data["shares"])
        data["shares"] = keep
    return gone


def revoke_all(workspace_id: str) -> int:
    """Revoke every link to a workspace (it was deleted); how many there were."""
    with _registry(write=True) as data:
        keep = [e for e in data["shares"] if e.get("workspace") != workspace_id]
        gone = len(data["shares"]) - len(keep)
        data["shares"] = keep
    return gone


def shares_of(workspace_id: str) -> list[Share]:
    """The live share links of a workspace, oldest first (none once it is deleted)."""
    if not is_valid_id(workspace_id) or not workspace_exists(workspace_id):
        return []
    with _registry(write=False) as data:
        return [Share(e["hash"][:16], e["workspace"], e["role"], e.get("created", ""))
                for e in data["shares"] if e.get("workspace") == workspace_id]


def open_shared(token: str) -> Workspace:
    """The workspace of a share token, read-only at the DuckDB level for a viewer.

    For a process that opens the file only through this link (a script, a test). The app keeps one
    database object per workspace and hands viewers ``Workspace.read_only_view()`` instead.
    """
    workspace_id, role = resolve(token)
    return open_workspace(workspace_id, read_only=role == "viewer")
