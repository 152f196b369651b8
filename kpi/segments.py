"""Which columns a person would break a KPI down by, judged from each column's values.

A breakdown helps when a column sorts rows into a few groups a PM recognises — plan, country,
channel, priority. Exports carry many other columns: ids, e-mails, dates and timestamps, yes/no
flags, amounts and free text. None of them is excluded by its name (a file can call anything
anything); each is judged from its values, in one SQL pass per dataset:

- *empty* — no value at all; *one value* — nothing to compare;
- *numbers* — 90 % or more of the values read as numbers (amounts, counts, card months);
- *dates* — 90 % or more read as dates or timestamps;
- *a yes/no flag* — two values, both words like true/false, yes/no, 0/1;
- *contact details* — half or more are e-mail addresses or links;
- *free text* — on average four words or more, or 40 characters or more;
- *too many values* — more than :data:`MAX_SEGMENTS` different values;
- *like an id* — four values or more, and more of them than half the customers (or rows) they
  describe: a value per customer (names, card numbers, ids repeated on every payment) says nothing
  about a group. (Two or three values are groups even in a table of three customers.)

What is left is a *segment column*. :func:`breakdown_columns` lists them for the sidebar and for
"what changed"; ``kpi.compute.split_problem`` says in a sentence why a KPI cannot be split by one
(the engine's own rule, ``segment_source``).
"""
from __future__ import annotations

from dataclasses import dataclass

from . import engines
from .datasets import DATASETS
from .workspace import Workspace, quote_ident

MAX_SEGMENTS = 30           # more groups than a chart or a person can compare
MIN_ID_VALUES = 4           # fewer different values than this are groups, never an id
MOSTLY = 0.9                # share of values that makes a column numbers or dates
FLAG_WORDS = ("true", "false", "yes", "no", "y", "n", "t", "f", "0", "1", "on", "off")
TEXT_WORDS, TEXT_LENGTH = 4, 40

# Why a column is not offered, in the words the page shows after "<column> is not offered: it …".
REASONS = {
    "empty": "has no values",
    "single": "has one value only",
    "number": "holds numbers (amounts or counts), not groups",
    "date": "holds dates or times",
    "flag": "is a yes/no flag",
    "contact": "holds e-mail addresses or links",
    "text": "holds free text",
    "many": f"has more than {MAX_SEGMENTS} different values",
    "id": "has about one value per customer or row, like an id",
}


@dataclass(frozen=True)
class ColumnProfile:
    """What one column of one dataset holds, and whether it is a segment column."""
    dataset: str
    column: str
    filled: int        # rows with a value (not empty, not blank)
    distinct: int      # different values
    entities: int      # customers (or users) the rows describe; rows when the dataset has no id
    kind: str          # "segment" or a key of REASONS

    @property
    def is_segment(self) -> bool:
        return self.kind == "segment"

    @property
    def reason(self) -> str:
        return REASONS.get(self.kind, "")


def candidate_columns(ws: Workspace, dataset: str) -> list[str]:
    """The columns of a dataset the core can break a KPI down by: its text columns (not the event
    name, sprint or control names, which identify things) and every extra column of the file."""
    canon = {c.name: c for c in DATASETS[dataset].columns}
    out = []
    for col in ws.columns(dataset):
        spec = canon.get(col)
        if spec is None or (spec.type == "text" and col not in ("event", "sprint", "control")):
            out.append(col)
    return out


def _judge(filled: int, distinct: int, entities: int, numbers: int, dates: int, flags: int,
           contacts: int, words: float, length: float, sql_type: str) -> str:
    if filled == 0:
        return "empty"
    if distinct == 1:
        return "single"
    if sql_type in ("DOUBLE", "BIGINT", "INTEGER", "DECIMAL", "FLOAT", "HUGEINT") or numbers >= MOSTLY * filled:
        return "number"
    if sql_type.startswith(("DATE", "TIMESTAMP")) or dates >= MOSTLY * filled:
        return "date"
    if sql_type == "BOOLEAN" or (distinct == 2 and flags == filled):
        return "flag"
    if contacts * 2 >= filled:
        return "contact"
    if words >= TEXT_WORDS or length >= TEXT_LENGTH:
        return "text"
    if distinct > MAX_SEGMENTS:
        return "many"
    if distinct >= MIN_ID_VALUES and distinct * 2 > entities:
        return "id"
    return "segment"


def profile_dataset(ws: Workspace, dataset: str) -> list[ColumnProfile]:
    """Every candidate column of one dataset, judged in one query over its rows."""
    columns = candidate_columns(ws, dataset)
    if not columns:
        return []
    types = engines.of(ws).column_types(dataset)   # in DuckDB's words, whatever the engine
    id_col = DATASETS[dataset].id_column
    has_id = id_col is not None and ws.has_column(dataset, id_col)
    entities = f"count(DISTINCT {quote_ident(id_col)})" if has_id else "count(*)"
    flag_list = ", ".join(f"'{w}'" for w in FLAG_WORDS)   # our own constants, not user text
    parts = [entities]
    for i, col in enumerate(columns):
        v = f"NULLIF(trim(CAST({quote_ident(col)} AS VARCHAR)), '')"
        parts += [f"count({v})", f"count(DISTINCT {v})",
                  f"count(TRY_CAST({v} AS DOUBLE))",
                  f"count(*) FILTER (WHERE TRY_CAST({v} AS TIMESTAMP) IS NOT NULL "
                  f"OR regexp_matches({v}, '^\\d{{1,4}}[-/.]\\d{{1,2}}[-/.]\\d{{1,4}}'))",
                  f"count(*) FILTER (WHERE lower({v}) IN ({flag_list}))",
                  f"count(*) FILTER (WHERE {v} LIKE '%@%.%' OR lower({v}) LIKE 'http%')",
                  f"COALESCE(avg(length({v}) - length(replace({v}, ' ', '')) + 1), 0)",
                  f"COALESCE(avg(length({v})), 0)"]
    row = ws.rows(f"SELECT {', '.join(parts)} FROM {quote_ident(dataset)}")[0]
    n_entities, stats = int(row[0]), row[1:]
    out = []
    for i, col in enumerate(columns):
        filled, distinct, numbers, dates, flags, contacts, words, length = stats[8 * i: 8 * i + 8]
        kind = _judge(int(filled), int(distinct), n_entities, int(numbers), int(dates), int(flags), int(contacts),
                      float(words), float(length), str(types.get(col, "VARCHAR")).upper())
        out.append(ColumnProfile(dataset, col, int(filled), int(distinct), n_entities, kind))
    return out


def column_profiles(ws: Workspace) -> list[ColumnProfile]:
    """Every candidate column of every loaded dataset (kpi_values' segments are its own)."""
    return [p for ds in ws.datasets() if ds != "kpi_values" for p in profile_dataset(ws, ds)]


def breakdown_columns(ws: Workspace, profiles: list[ColumnProfile] | None = None) -> list[str]:
    """The segment columns of the loaded data, by name: what the sidebar's breakdown and filter
    offer and what "what changed" compares. A name is kept when it is a segment column in at least
    one dataset holding it (``product`` may be a segment of subscriptions and free text elsewhere)."""
    profiles = column_profiles(ws) if profiles is None else profiles
    return sorted({p.column for p in profiles if p.is_segment})


def left_out_columns(ws: Workspace, profiles: list[ColumnProfile] | None = None) -> dict[str, str]:
    """Candidate columns that are not offered, each with why (the first dataset's reason)."""
    profiles = column_profiles(ws) if profiles is None else profiles
    kept = set(breakdown_columns(ws, profiles))
    out: dict[str, str] = {}
    for p in profiles:
        if p.column not in kept and p.column not in out:
            out[p.column] = p.reason
    return out


__all__ = ["MAX_SEGMENTS", "REASONS", "ColumnProfile", "candidate_columns", "profile_dataset", "column_profiles",
           "breakdown_columns", "left_out_columns"]
