"""Where workspaces live on the server: unguessable ids mapped to DuckDB files under the data folder."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
import os
import re
import secrets
from pathlib import Path

import duckdb

from . import derived
from .errors import InputError, WorkspaceGone
from .workspace import (DATASET_TABLE, NO_CHECK, Workspace, data_home, private_file,
                        private_folder, quote_ident)

# 128 bits from the OS's CSPRNG, URL-safe: an id cannot be guessed or enumerated.
ID_BYTES = 16
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"
# The public sample workspace: one per server, read-only for everyone, copied to be edited.
SAMPLE_ID = "sample"
SAMPLE_GOALS = ("revenue", "retention")
SAMPLE_STAGE = "growth"
DELETED = "This workspace was deleted by its owner."


def new_workspace_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


def is_valid_id(workspace_id: str | None) -> bool:
    return bool(workspace_id) and (workspace_id == SAMPLE_ID or bool(_ID_RE.match(workspace_id)))


def is_sample(ws_or_id) -> bool:
    """Whether a workspace (or id) is the public, read-only sample."""
    if isinstance(ws_or_id, Workspace):
        return ws_or_id.path is not None and ws_or_id.path == workspace_path(SAMPLE_ID)
    return ws_or_id == SAMPLE_ID


def workspace_path(workspace_id: str) -> Path:
    """The file of a workspace id; a malformed id is refused before it can touch the file system."""
    if not is_valid_id(workspace_id):
        raise InputError("This workspace link is not valid — check that it was copied whole.")
    return data_home() / "workspaces" / f"{workspace_id}.duckdb"


def _tombstone(workspace_id: str) -> Path:
    path = workspace_path(workspace_id)
    return path.with_name(f"{path.stem}.deleted")


def was_deleted(workspace_id: str) -> bool:
    return is_valid_id(workspace_id) and _tombstone(workspace_id).exists()


def workspace_exists(workspace_id: str) -> bool:
    return is_valid_id(workspace_id) and workspace_path(workspace_id).exists() and not was_deleted(workspace_id)


def open_workspace(workspace_id: str, *, read_only: bool = False) -> Workspace:
    """Open (or create) a workspace's file; a deleted workspace is never made again under its id."""
    if was_deleted(workspace_id):
        raise WorkspaceGone(DELETED)
    path = workspace_path(workspace_id)
    if not read_only:
        # The folder's listing holds every workspace id, and an id opens its workspace: the
        # server's user alone may read it (files 0600, folder 0700, also for older files).
        private_folder(path.parent)
        if path.exists():
            private_file(path)
    return Workspace(path, read_only=read_only)


def open_or_recover(workspace_id: str) -> tuple[Workspace, str | None]:
    """Open a workspace; a damaged file is kept aside (never deleted) and a fresh one takes its place.

    Returns the workspace and, after a recovery, the sentence that tells the user what happened.
    """
    path = workspace_path(workspace_id)
    try:
        ws = open_workspace(workspace_id)
    except InputError as exc:
        # A lock held by another process (a cron `check`, a second server) is not damage.
        if not path.exists() or "could not set lock" in str(exc.__cause__ or "").lower():
            raise
    else:
        try:  # DuckDB reads blocks lazily: read the catalog and the datasets' sizes once now
            for name in ws.datasets():
                ws.row_count(name)
            return ws, None
        except (duckdb.Error, InputError):  # damage shows on the first read of a damaged block
            ws.close()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.stem}.damaged-{stamp}.duckdb")
    os.replace(path, aside)
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        os.replace(wal, aside.with_name(aside.name + ".wal"))
    return Workspace(path), ("This workspace's file could not be read, so it was kept aside on the server "
                             f"(saved {stamp}) and you have a fresh, empty workspace. Load your data again, "
                             "or ask the administrator to look at the saved copy.")


CORE = Path(__file__).resolve().parent


INGEST_CODE = ("ingest.py", "detect.py", "derived.py", "workspace.py", "datasets.py")
PLAN_CODE = ("wizard.py", "goals.py", "lifecycle.py", "stages.py", "catalog.py", "compute.py")


def _sample_digest(folder: Path, code: tuple[str, ...] = INGEST_CODE) -> str:
    """Changes when a sample file or the code that makes something of it changes."""
    h = hashlib.sha256()
    for f in sorted(folder.glob("*.csv")) + [CORE / n for n in code]:
        if f.exists():
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def sample_template(folder: Path = SAMPLE_DIR) -> Path:
    """A workspace file holding the ingested sample, built once per sample version and reused."""
    from .ingest import ingest_folder
    cache = os.environ.get("KPI_EXPLORER_CACHE")
    folder_for = Path(cache) if cache else data_home() / "templates"
    target = folder_for / f"sample-{_sample_digest(folder)}.duckdb"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.{secrets.token_hex(4)}.tmp")
    with Workspace(tmp) as ws:
        ingest_folder(ws, folder, mode="replace")
    os.replace(tmp, target)  # atomic: a half-built template is never seen
    return target


def copy_workspace(ws: Workspace, name: str | None = None) -> str:
    """A new workspace holding everything of ``ws`` (data, mappings, goals, settings); its id.

    Copied in one transaction from ``ws``'s own connection (DuckDB opens a file once per process).
    Share links are not copied: the copy is private until its owner shares it.
    """
    if is_sample(ws):  # anyone may copy the public sample; it is copied from the server's own object
        ws = getattr(ws, "_view_of", None) or ws
    ws.require_writable("copy this workspace")
    new_id = new_workspace_id()
    target = workspace_path(new_id)
    open_workspace(new_id).close()  # the metadata tables, with their keys
    alias = f"kpi_copy_{secrets.token_hex(6)}"
    with ws.cursor() as cur:
        cur.execute(f"ATTACH ? AS {alias}", [str(target)])
        try:
            tables = [r[0] for r in cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                "AND table_catalog = current_database()").fetchall()]
            made = {r[0] for r in cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = ?", [alias]).fetchall()}
            cur.execute("BEGIN TRANSACTION")
            for t in tables:
                q = quote_ident(t)
                if t in made:
                    cur.execute(f"INSERT INTO {alias}.main.{q} SELECT * FROM main.{q}")
                else:
                    cur.execute(f"CREATE TABLE {alias}.main.{q} AS SELECT * FROM main.{q}")
            cur.execute("COMMIT")
        finally:
            cur.execute(f"DETACH {alias}")
    with open_workspace(new_id) as copy:
        copy.set_setting("name", name or f"Copy of {ws.setting('name') or 'my workspace'}")
    return new_id


def rename_workspace(ws: Workspace, name: str, *, expect=NO_CHECK) -> None:
    """Rename; with ``expect`` (the name the user saw, None for none), a rename someone else made
    since is not overwritten (``StaleWrite``)."""
    name = " ".join(str(name).split())[:80]
    if not name:
        raise InputError("Give the workspace a name (a few words).")
    ws.set_setting("name", name, expect=expect)


def delete_workspace(ws: Workspace, workspace_id: str) -> None:
    """Delete a workspace for good (the caller asked the user to confirm).

    A marker is written first, so no session can make the workspace again under its id and its
    share links stop working; then the database waits for the queries in flight (other sessions
    may be reading it), closes, and its files go.
    """
    ws.require_writable("delete this workspace")
    if is_sample(workspace_id) or workspace_path(workspace_id) != ws.path:
        raise InputError("Only the workspace that is open can be deleted.")
    path, marker = workspace_path(workspace_id), _tombstone(workspace_id)
    marker.write_text(datetime.now(timezone.utc).isoformat(timespec="seconds") + "\n")
    try:
        ws.shut(DELETED)
    except InputError:
        marker.unlink(missing_ok=True)
        raise
    for f in (path, path.with_name(path.name + ".wal")):
        f.unlink(missing_ok=True)
    # Its share links stop working at once: kpi/access.py answers only for workspaces that exist.


def load_sample(ws: Workspace, folder: Path = SAMPLE_DIR) -> list[str]:
    """Load the demo datasets of ``sample_data/`` into a workspace, replacing those datasets.

    Copies the tables of the prepared template in one transaction (a second or less) instead of
    ingesting the CSVs again; returns the datasets loaded.
    """
    ws.require_writable("load data")
    template = sample_template(folder)
    alias = f"kpi_tpl_{secrets.token_hex(6)}"
    with ws.writing("load data"), ws.cursor() as cur:
        cur.execute(f"ATTACH ? AS {alias} (READ_ONLY)", [str(template)])
        try:
            names = [r[0] for r in cur.execute(f"SELECT name FROM {alias}.main.{DATASET_TABLE}").fetchall()]
            tables = [r[0] for r in cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = 'main'",
                [alias]).fetchall()]
            copy = [t for t in tables if t in names or t in derived.ALL_TABLES]
            cur.execute("BEGIN TRANSACTION")
            try:
                for t in copy:
                    cur.execute(f"CREATE OR REPLACE TABLE main.{quote_ident(t)} AS SELECT * FROM {alias}.main.{quote_ident(t)}")
                cur.execute(f"DELETE FROM main.{DATASET_TABLE} WHERE name IN (SELECT name FROM {alias}.main.{DATASET_TABLE})")
                cur.execute(f"INSERT INTO main.{DATASET_TABLE} SELECT * FROM {alias}.main.{DATASET_TABLE}")
                ws.bump_version(cur)
                for name in names:   # a load someone prepared before this one is now stale
                    ws.bump_version(cur, f"version:dataset:{name}")
                cur.execute("COMMIT")
            except Exception:
                cur.execute("ROLLBACK")
                raise
        finally:
            cur.execute(f"DETACH {alias}")
    return names


def plan_sample(ws: Workspace, goals: tuple[str, ...] = SAMPLE_GOALS, stage: str = SAMPLE_STAGE) -> None:
    """Give a workspace holding the sample data a KPI set and targets, as the wizard would make
    them for a growth-stage product that wants revenue and to keep its customers, balanced (or
    for other ``goals`` and ``stage``: the tests replay a user's wizard choices this way)."""
    from . import catalog, wizard
    from .analysis import series_of
    from .compute import as_of_date, compute
    computable = {k for k, a in catalog.availability(ws).items() if a.computable}
    kpis = wizard.propose_kpis(goals, stage, computable)
    kpis = wizard.auto_balance(kpis, surveys_loaded=ws.has("surveys"), computable=computable,
                               goals=list(goals), stage=stage)
    as_of = as_of_date(ws)
    frame = compute(ws, kpis, grain=wizard.WIZARD_GRAIN)
    state = wizard.WizardState(step=len(wizard.STEPS) - 1, goals=list(goals), stage=stage,
                               kpis=kpis, proposed_for=[sorted(goals), stage])
    drafts = {}
    for k in kpis:
        entry = catalog.CATALOG[k]
        drafts[k] = wizard.draft_target(k, series_of(frame, k), as_of, entry.direction, entry.unit)
        if drafts[k].suggested is not None:
            state.targets[k] = {"target": drafts[k].suggested, "deadline": drafts[k].deadline.isoformat()}
    state.objective = {"choice": "new", "title": wizard.default_objective_title(goals),
                       "why": "Grow recurring revenue without losing the customers we have."}
    wizard.save_plan(ws, state, drafts, as_of)


def open_sample() -> Workspace:
    """The server's public sample workspace, built from ``sample_data/`` (with a KPI set and targets)
    the first time and again whenever the sample changes. The app hands out read-only views of it."""
    path = workspace_path(SAMPLE_ID)
    digest = _sample_digest(SAMPLE_DIR, INGEST_CODE + PLAN_CODE)   # its data, and the plan made of it
    if path.exists():
        ws = Workspace(path)
        if ws.setting("sample_digest") == digest:
            return ws
        ws.close()
    tmp = path.with_name(f"{SAMPLE_ID}.{os.getpid()}.{secrets.token_hex(4)}.building")
    try:
        with Workspace(tmp) as ws:
            load_sample(ws)
            plan_sample(ws)
            ws.set_setting("name", "Sample workspace")
            ws.set_setting("sample_digest", digest)
        os.replace(tmp, path)  # atomic: a half-built sample is never seen
    finally:
        for f in (tmp, tmp.with_name(tmp.name + ".wal")):
            f.unlink(missing_ok=True)
    return Workspace(path)
