"""Where workspaces live on the server: unguessable ids mapped to DuckDB files under the data folder."""
from __future__ import annotations

import re
import secrets
from pathlib import Path

from .errors import InputError
from .workspace import Workspace, data_home

# 128 bits from the OS's CSPRNG, URL-safe: an id cannot be guessed or enumerated.
ID_BYTES = 16
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"


def new_workspace_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


def is_valid_id(workspace_id: str | None) -> bool:
    return bool(workspace_id) and bool(_ID_RE.match(workspace_id))


def workspace_path(workspace_id: str) -> Path:
    """The file of a workspace id; a malformed id is refused before it can touch the file system."""
    if not is_valid_id(workspace_id):
        raise InputError("This workspace link is not valid — check that it was copied whole.")
    return data_home() / "workspaces" / f"{workspace_id}.duckdb"


def workspace_exists(workspace_id: str) -> bool:
    return is_valid_id(workspace_id) and workspace_path(workspace_id).exists()


def open_workspace(workspace_id: str, *, read_only: bool = False) -> Workspace:
    return Workspace(workspace_path(workspace_id), read_only=read_only)


def load_sample(ws: Workspace, folder: Path = SAMPLE_DIR):
    """Load the demo datasets of ``sample_data/`` into a workspace (replacing what is there)."""
    from .ingest import ingest_folder
    return ingest_folder(ws, folder, mode="replace")
