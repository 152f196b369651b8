"""A workspace whose data lives in a database or a lake: the workspace file keeps what the team
made (goals, KPI set, custom KPIs, settings, share links); the datasets are the source's tables.

The deployer declares the connections (the app reads Streamlit's ``[connections.NAME]`` secrets);
a workspace stores only the name of the one it uses, never an address or a password.
"""
from __future__ import annotations

import threading
from typing import Any, Mapping

import pandas as pd

from ..datasets import DATASETS
from ..errors import InputError
from .base import Engine, SourceError

SETTING = "connection"   # the workspace setting naming its connection

_DECLARED: dict[str, dict] = {}
_ENGINES: dict[tuple, Engine] = {}
_LOCK = threading.Lock()


def declare(connections: Mapping[str, Mapping[str, Any]]) -> None:
    """The connections this server may use, by name (the deployer's secrets)."""
    with _LOCK:
        _DECLARED.clear()
        for name, config in (connections or {}).items():
            kind = engine_kind(config)
            if kind is not None:
                _DECLARED[str(name)] = dict(config)


def declared() -> dict[str, str]:
    """{name: engine kind} of the declared connections (nothing secret)."""
    with _LOCK:
        return {name: engine_kind(c) for name, c in _DECLARED.items()}


def engine_kind(config: Mapping[str, Any]) -> str | None:
    """'postgres' or 'spark' for a connection's settings (Streamlit's ``type``/``dialect``/``url``)."""
    words = " ".join(str(config.get(k, "")) for k in ("engine", "type", "dialect", "url")).lower()
    if "spark" in words or str(config.get("url", "")).startswith("sc://"):
        return "spark"
    if "postgres" in words:
        return "postgres"
    return None


def _url(config: Mapping[str, Any]) -> str:
    if config.get("url"):
        return str(config["url"])
    from urllib.parse import quote
    user = quote(str(config.get("username") or config.get("user") or ""), safe="")
    password = config.get("password")
    auth = f"{user}:{quote(str(password), safe='')}@" if password else (f"{user}@" if user else "")
    host, port = config.get("host", "localhost"), config.get("port", 5432)
    return f"postgresql://{auth}{host}:{port}/{config.get('database', '')}"


def engine_for(name: str) -> Engine:
    """The engine of a declared connection (made once per server)."""
    with _LOCK:
        config = _DECLARED.get(name)
    if config is None:
        raise InputError(f"The connection {name!r} is not declared on this server — ask whoever runs it to "
                         "add it to .streamlit/secrets.toml, or disconnect this workspace.")
    kind = engine_kind(config)
    key = (name, kind, repr(sorted(config.items())))
    with _LOCK:
        if key not in _ENGINES:
            from . import open_engine
            if kind == "spark":
                source = str(config.get("url") or config.get("folder") or "")
            else:
                source = _url(config)
            _ENGINES[key] = open_engine(kind, source, config.get("schema"))
        return _ENGINES[key]


class ConnectedWorkspace:
    """The workspace's documents and settings, the source's datasets (everything else is the
    workspace's own: ``ws.doc``, ``ws.set_doc``, ``ws.setting``…)."""

    def __init__(self, ws, engine: Engine, name: str | None = None):
        self._ws = ws
        self.engine = engine
        self.connection = name

    def __getattr__(self, name):
        return getattr(self._ws, name)

    @property
    def workspace(self):
        return self._ws

    def datasets(self) -> list[str]:
        return self.engine.datasets()

    def has(self, dataset: str) -> bool:
        return dataset in self.datasets()

    def columns(self, dataset: str) -> list[str]:
        return self.engine.columns(dataset)

    def has_column(self, dataset: str, column: str) -> bool:
        """True when the source's dataset has the column and it holds at least one value."""
        if not self.has(dataset) or column not in self.columns(dataset):
            return False
        if column in DATASETS[dataset].column_names:
            return (dataset, column) in self.engine.filled_set()
        q = '"' + column.replace('"', '""') + '"'
        return bool(self.rows(f'SELECT 1 FROM "{dataset}" WHERE {q} IS NOT NULL LIMIT 1'))

    def segment_columns(self) -> dict[str, list[str]]:
        return {ds: [c for c in self.columns(ds) if c not in DATASETS[ds].column_names] for ds in self.datasets()}

    def rows(self, sql: str, params=None) -> list[tuple]:
        return self.engine.rows(sql, params or ())

    def df(self, sql: str, params=None) -> pd.DataFrame:
        return self.engine.frame(sql, params or ())

    def row_count(self, dataset: str) -> int:
        return int(self.rows(f'SELECT count(*) FROM "{dataset}"')[0][0])

    def dataset_info(self) -> pd.DataFrame:
        names = self.datasets()
        # Rows are not counted: a count is a scan of the whole table in a warehouse.
        return pd.DataFrame({"name": names, "source": [self.engine.where] * len(names),
                             "mapping": ["{}"] * len(names), "rows": [0] * len(names),
                             "loaded_at": [None] * len(names), "extra_columns": ["[]"] * len(names)})

    def cursor(self):
        raise InputError(f"This workspace's data is {self.engine.where}: files cannot be loaded into it. "
                         "Disconnect it on the Data page to work on uploaded files again.")


def connection_of(ws) -> str | None:
    """The name of the connection a workspace computes on (None: its own uploaded data)."""
    inner = getattr(ws, "workspace", ws)
    try:
        return inner.setting(SETTING) or None
    except Exception:  # noqa: BLE001 — a workspace without settings computes on itself
        return None


def connect(ws, name: str) -> ConnectedWorkspace:
    """Point a workspace at a declared connection (checked first: it must hold at least one dataset)."""
    ws.require_writable("connect a database")
    engine = engine_for(name)
    found = engine.datasets()
    if not found:
        raise SourceError(f"{engine.where}: no table is named after a dataset — name them events, payments, "
                          "subscriptions… (see the dataset list)")
    getattr(ws, "workspace", ws).set_setting(SETTING, name)
    return ConnectedWorkspace(ws, engine, name)


def disconnect(ws) -> None:
    ws.require_writable("disconnect the database")
    getattr(ws, "workspace", ws).set_setting(SETTING, "")
