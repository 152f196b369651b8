"""Load a file (or a folder of files) into the workspace as a typed dataset, all-or-nothing per file.

A clean file (ISO dates, plain numbers: what most tools and databases write) is read by DuckDB's
typed CSV reader straight into the dataset, in one pass; the reader refuses any value it cannot
read, and any row that is not complete, and the file then takes the validating path. That path
reads every column as text, decides per column which date and number forms it uses, converts
them in SQL, and finds the first value that cannot be converted: the file is rejected with a
message that names the file, line, column and value. Either way the dataset is swapped in inside
one transaction, and a rejected file leaves the workspace exactly as it was.

What a tool's export needs (rows to leave out, values to derive) comes from its profile in
``kpi/tool_exports.py``; choices that change numbers are the ``answers`` to ``kpi/questions.py``.
"""
from __future__ import annotations

import re
import secrets as _secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

import duckdb
import pandas as pd

from . import evidence, limits, memory, tool_exports
from .datasets import DATASETS, SQL_TYPES, normalise_name
from .detect import (BILLING_PERIODS, COMMA_DECIMAL_EVIDENCE, DEFECT_STAGES, DERIVED_INPUTS,
                     DOT_DECIMAL_EVIDENCE, FALSE_WORDS, MONEY_COLUMNS, NULL_MARKERS, NUMBER, TRUE_WORDS,
                     ZONE_ABBREVIATIONS, FileLayout, detect, explain_no_match, labels_of, read_sample, reader_sql,
                     sniff)
from .errors import Busy, InputError, StaleWrite
from .quality import rule_warnings
from .vocabulary import PERIOD_MONTHS, PLAN_PERIOD_WORDS
from .workspace import Workspace, is_conflict, quote_ident

FOLDER_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz", ".parquet")
SECRET_SETTING = "pseudonym_secret"
HASH_CHARS = 16           # hex characters kept of a pseudonym: 64 bits, no collisions in practice
PROFILE_ROWS = 1000       # rows a preview looks at to decide date and number forms
UNORDERED_FROM = 32 << 20  # bytes: a clean file this large is stored without keeping its row order

_TIMES = ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p", " %I:%M%p", " %I:%M:%S%p")
_TYPE_WORDS = {"number": "a number", "int": "a whole number", "date": "a date", "timestamp": "a date and time",
               "bool": "true or false (use true/false, yes/no, 1/0)"}

# Answers that turn a profile's rule off (kpi/questions.py asks; the first value is the default).
RULE_QUESTIONS = {"defects": ("bugs", "all"), "trial": ("trial_end", "start"), "anonymous": ("leave_out", "keep"),
                  "paid_only": ("paid", "all")}
# Other questions whose answers change numbers, with their possible answers (the default follows the evidence).
EVIDENCE_QUESTIONS = {"billing_period": ("plan", "month"), "duration_unit": ("seconds", "minutes", "hours")}
# Answers that name the file column a canonical column is read from ("date_column:signup_date": "Create Date").
COLUMN_QUESTIONS = ("date_column:", "amount_column:", "column:")
STAGE_DEFAULTS = ("leave_out", "production", "pre_release")
# A time zone is offered from this list (any IANA name is accepted).
COMMON_ZONES = ("UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York", "America/Chicago",
                "America/Denver", "America/Los_Angeles", "America/Sao_Paulo", "Asia/Kolkata", "Asia/Singapore",
                "Asia/Tokyo", "Australia/Sydney")


@dataclass(frozen=True)
class IngestResult:
    file: str
    dataset: str
    rows: int
    warnings: list[str]
    mapping: dict[str, str]
    mode: str
    derived: dict[str, str] = field(default_factory=dict)
    ambiguous_dates: list[str] = field(default_factory=list)   # canonical columns read as month/day
    extra_columns: list[str] = field(default_factory=list)
    tool: str | None = None                                    # the export profile used (kpi/tool_exports.py)
    left_out: dict[str, int] = field(default_factory=dict)     # rows left out by a rule: {why: rows}
    answers: dict[str, str] = field(default_factory=dict)      # the answers the file was loaded with
    fast: bool = False                                         # read typed in one pass (a clean file)
    incomplete: int = 0                                        # rows left out for an empty required value


@dataclass(frozen=True)
class _Plan:
    layout: FileLayout
    dataset: str
    mapping: dict[str, str]          # canonical column (or derived input) -> source column
    derived: dict[str, str]
    extras: list[tuple[str, str]]    # (source column, name it is stored under)
    hashed: frozenset[str]           # source columns stored as keyed hashes
    tool: str | None = None
    synthetic: dict[str, tuple[str, list]] = field(default_factory=dict)   # canonical -> SQL over c0.. (profile)
    drops: tuple[tuple[str, str, list, bool], ...] = ()                    # (why, SQL, params, only if minority)
    answers: dict[str, str] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)                  # canonical -> divisor (cents)
    zone: str | None = None                                                # zone of times written without one
    day_first: frozenset[str] = frozenset()
    explicit: bool = False                                                 # the user corrected something
    sample: pd.DataFrame | None = field(default=None, compare=False, repr=False)   # the first rows, as text
    profile: object = field(default=None, compare=False, repr=False)                # tool_exports.ExportProfile
    sentinels: dict[str, tuple[str, ...]] = field(default_factory=dict)           # id values meaning "none"
    decisions: tuple = field(default=(), compare=False, repr=False)                # evidence.Decision, shown
    facts: object = field(default=None, compare=False, repr=False)                  # evidence.FileFacts

    def label(self, canon: str) -> str:
        """The file column a canonical column comes from, for messages."""
        return self.mapping.get(canon) or canon


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _lit_list(items: Iterable[str]) -> str:
    return "(" + ", ".join(_lit(i) for i in items) + ")"


# --- planning: which dataset, which columns -----------------------------------------------
def _plan(layout: FileLayout, dataset: str | None, mapping: dict | None, drop_columns: Iterable[str],
          pseudonymise: Iterable[str], answers: dict | None = None, ws: Workspace | None = None,
          day_first: Iterable[str] = ()) -> _Plan:
    name = layout.file_name
    if dataset is not None and dataset not in DATASETS:
        raise InputError.at(file=name, problem=f"unknown dataset {dataset!r}",
                            hint=f"use one of: {', '.join(DATASETS)}")
    columns = list(layout.columns)
    fixed = _check_explicit_mapping(name, columns, dataset, mapping or {})
    explicit = bool(mapping or dataset or answers or day_first)
    remembered = memory.recall(ws, columns) if ws is not None else None
    if remembered is not None and dataset not in (None, remembered.dataset):
        remembered = None
    given = {**(remembered.answers if remembered else {}), **{k: str(v) for k, v in (answers or {}).items()}}
    for key, value in given.items():   # "which column is X" answers map X (over the mapping)
        if key.startswith(COLUMN_QUESTIONS) and value in columns:
            for other in [k for k, v in fixed.items() if v == value]:
                del fixed[other]
            fixed[key.split(":", 1)[1]] = value
    sample = read_sample(layout)
    facts = evidence.file_facts(columns, sample, layout)
    found = detect(columns, sample, name, dataset=dataset, fixed=fixed, remembered=remembered, ws=ws,
                   labels=labels_of(layout), facts=facts)
    if found.dataset is None:
        raise InputError.at(file=name, problem=explain_no_match(found),
                            hint="rename the columns, or choose the dataset and map the columns by hand")
    ds = DATASETS[found.dataset]
    unknown = [k for k in fixed if k not in ds.column_names and k not in _derived_inputs(found.dataset)]
    if unknown:
        raise InputError.at(file=name, problem=f"{found.dataset} has no column {unknown[0]!r}",
                            hint=f"its columns are: {', '.join(ds.column_names)}")
    chosen = dict(found.mapping)
    derived = dict(found.derived)
    dropped = {_source_of(name, c, chosen, columns) for c in drop_columns}
    for canon, src in list(chosen.items()):
        if src in dropped:
            del chosen[canon]
    if "amount" not in chosen:
        derived.pop("mrr", None)
        chosen.pop("quantity", None)
    duration = next((k for k in _RESPONSE_UNITS if k in chosen), None)
    if duration and "first_response_at" not in chosen:
        derived["first_response_at"] = f"created_at + {chosen[duration]}"
    tool_profile = tool_exports.profile_for(found.tool, found.dataset)
    general = evidence.general_rules(found.dataset, facts, sample, chosen)
    defaults = _evidence_defaults(found, facts, sample, chosen, general)
    effective = _answers(name, found.dataset, tool_profile, chosen, given, defaults)
    if found.plan_column and effective.get("billing_period") == "plan":
        general = _with_plan_periods(general, found.dataset, found.plan_column)
    profile = _merge_profiles(general, tool_profile)
    rules = _compile_profile(profile, columns, chosen, fixed, effective) if profile else None
    synthetic = dict(rules.synthetic) if rules else {}
    for canon in list(derived):
        if canon not in ("mrr", "first_response_at", "duration_minutes") and canon not in synthetic:
            del derived[canon]   # a derivation whose columns the file lacks (or the user turned off)
    missing = [c for c in ds.required if c not in chosen and c not in derived and c not in synthetic]
    if missing:
        others = [c for c in columns if c not in chosen.values()][:8]
        raise InputError.at(
            file=name, problem=f"required column {', '.join(missing)} of {found.dataset} is not mapped",
            column=None, hint=f"map {missing[0]} to one of the file's columns ({', '.join(others)})"
            if others else f"add a {missing[0]} column to the file")
    hashed = frozenset(_source_of(name, c, chosen, columns) for c in pseudonymise)
    for canon, src in chosen.items():
        col_type = _column_type(found.dataset, canon)
        if src in hashed and col_type not in ("id", "text"):
            raise InputError.at(file=name, column=src, problem=f"{canon} holds {col_type} values, not names or ids",
                                hint="pseudonymise only id, name, e-mail or other text columns")
    taken = {c.lower() for c in ds.column_names}
    extras = []
    for src in columns:
        if src in chosen.values() or src in dropped:
            continue
        out, k = src, 1
        while out.lower() in taken:  # a segment never hides a canonical column
            k += 1
            out = f"{src}_{k}"
        taken.add(out.lower())
        extras.append((src, out))
    scale = {}
    if effective.get("amount_unit", "units") != "units":
        divisor = AMOUNT_UNITS[effective["amount_unit"]]
        scale = {c: divisor for c in MONEY_COLUMNS.get(found.dataset, ()) if c in chosen}
    scale.update(_duration_scale(found.dataset, chosen, facts, effective))
    sentinels = {canon: facts.columns[src].sentinels for canon, src in chosen.items()
                 if canon.endswith("_id") and src in facts.columns and facts.columns[src].sentinels}
    zone = effective.get("timezone")
    days = set(day_first) | {k.split(":", 1)[1] for k, v in effective.items()
                             if k.startswith("date_order:") and v == "day_first"}
    return _Plan(layout, found.dataset, chosen, derived, extras, hashed, tool=found.tool, synthetic=synthetic,
                 drops=tuple(rules.drops) if rules else (), answers=effective, scale=scale,
                 zone=None if zone in (None, "", "UTC") else zone, day_first=frozenset(days), explicit=explicit,
                 sample=sample, profile=profile, sentinels=sentinels, decisions=tuple(found.decisions),
                 facts=facts)


AMOUNT_UNITS = {"units": 1.0, "cents": 100.0, "micros": 1e6}


def default_amount_unit(profile, mapping: dict[str, str], dataset: str, facts=None) -> str:
    """'cents' (or 'micros') when the evidence says so: a header that names the unit, else whole numbers
    whose size and company (epoch times, flattened JSON) say cents; 'units' otherwise."""
    money = next((mapping[c] for c in MONEY_COLUMNS.get(dataset, ()) if c in mapping), None)
    if facts is None:
        facts = evidence.file_facts([money] if money else [], None)
    return evidence.amount_unit(facts, money).choice if money else "units"


def _evidence_defaults(found, facts, sample, mapping: dict[str, str], general) -> dict[str, str]:
    """Each question's default, as the file's evidence says (kpi/evidence.py)."""
    out = {"amount_unit": default_amount_unit(None, mapping, found.dataset, facts)}
    stages = [d for d in (general.derive if general else ()) if isinstance(d, tool_exports.StageWords)]
    if stages:
        production, _ = evidence.stage_marks(sample, stages[0].sources)
        # where production is marked, a bug that is not was found before release
        out["unstaged"] = "pre_release" if production else "leave_out"
    if found.plan_column:
        out["billing_period"] = "plan"
    canon = evidence.DURATIONS.get(found.dataset, (None,))[0]
    d = evidence.duration_unit(facts, mapping.get(canon)) if canon else None
    if d is not None and d.question:
        out["duration_unit"] = d.choice
    zone = next((d for d in found.decisions if d.topic == "timezone"), None)
    if zone is not None and zone.choice != "UTC":   # a column of the file names the zone
        out["timezone"] = zone.choice
    return out


def _with_plan_periods(general, dataset: str, plan_column: str):
    """The billing period read from the words of a plan's code or name ('pro-annual' is a year)."""
    rule = tool_exports.StageWords("billing_period", (plan_column,), tuple(PLAN_PERIOD_WORDS.items()),
                                   split=r"[^a-z0-9]+", why=f"the billing period is read from {plan_column}")
    if general is None:
        return tool_exports.ExportProfile("", "generic", dataset, signature=(), columns={}, derive=(rule,))
    return replace(general, derive=general.derive + (rule,))


def _merge_profiles(general, tool):
    """The general rules, with a tool's own profile on top (its rules first, its derivations last)."""
    if general is None or tool is None:
        return general or tool
    asked = {r.question for r in tool.rows if r.question}
    rows = tool.rows + tuple(r for r in general.rows if not (r.question and r.question in asked))
    targets = {d.target for d in tool.derive}
    kept = tuple(d for d in general.derive if not (d.target in targets and not isinstance(d, tool_exports.Fill)))
    return replace(tool, rows=rows, derive=kept + tool.derive)


def _duration_scale(dataset: str, mapping: dict[str, str], facts, answers: dict[str, str]) -> dict[str, float]:
    """Divisors that bring a duration column to its canonical unit (seconds to minutes: 60)."""
    out = {}
    targets = {"duration_minutes": "minutes", "first_response_minutes": "minutes",
               "first_response_hours": "hours", "first_response_seconds": "seconds"}
    for canon, unit in targets.items():
        f = facts.get(mapping.get(canon)) if canon in mapping else None
        if f is None or f.clock:
            continue
        src = f.unit if f.unit in evidence.UNIT_SECONDS else None
        if src is None and canon == evidence.DURATIONS.get(dataset, (None,))[0]:
            src = answers.get("duration_unit")
        if src and src != unit:
            out[canon] = evidence.UNIT_SECONDS[unit] / evidence.UNIT_SECONDS[src]
    return out


def _answers(name: str, dataset: str, profile, mapping: dict[str, str], given: dict[str, str],
             defaults: dict[str, str] | None = None) -> dict[str, str]:
    """The answers a file is loaded with: the user's, else each question's default (which follows the
    file's evidence); checked."""
    out = {q: values[0] for q, values in RULE_QUESTIONS.items()}
    out["amount_unit"] = default_amount_unit(profile, mapping, dataset)
    out["unstaged"] = STAGE_DEFAULTS[0]
    out.update(defaults or {})
    out.update(given)
    for q, values in list(RULE_QUESTIONS.items()) + list(EVIDENCE_QUESTIONS.items()):
        if q in out and out[q] not in values:
            raise InputError.at(file=name, problem=f"{out[q]!r} is not an answer to {q!r}",
                                hint=f"answer one of: {', '.join(values)}")
    if out["amount_unit"] not in AMOUNT_UNITS:
        raise InputError.at(file=name, problem=f"{out['amount_unit']!r} is not an answer to 'amount_unit'",
                            hint="answer units, cents or micros")
    if out["unstaged"] not in STAGE_DEFAULTS:
        raise InputError.at(file=name, problem=f"{out['unstaged']!r} is not an answer to 'unstaged'",
                            hint=f"answer one of: {', '.join(STAGE_DEFAULTS)}")
    zone = out.get("timezone")
    if zone not in (None, "", "UTC") and zone not in _zone_names():
        raise InputError.at(file=name, problem=f"{zone!r} is not a time zone",
                            hint="give an IANA name such as Europe/Berlin or America/New_York")
    known = set(RULE_QUESTIONS) | set(EVIDENCE_QUESTIONS) | {"amount_unit", "unstaged", "timezone"}
    for key in given:
        if key not in known and not key.startswith(("date_order:",) + COLUMN_QUESTIONS):
            raise InputError.at(file=name, problem=f"there is no question {key!r}",
                                hint=f"the questions are: {', '.join(sorted(known))}, date_order:<column>, "
                                     "date_column:<column>, amount_column:<column>, column:<column>")
    for key, value in out.items():
        if key.startswith("date_order:") and value not in ("month_first", "day_first"):
            raise InputError.at(file=name, problem=f"{value!r} is not an answer to {key!r}",
                                hint="answer month_first or day_first")
    return out


def _zone_names() -> set[str]:
    import zoneinfo
    return set(zoneinfo.available_timezones()) | {"UTC"}


def _compile_profile(profile, columns: list[str], mapping: dict[str, str], fixed: dict, answers: dict[str, str]):
    index = {c: i for i, c in enumerate(columns)}
    by_profile = tool_exports.mapping_for(profile, columns)
    # a column the user mapped to something else than the profile says keeps the user's choice
    skip = {k for k, v in fixed.items() if v != by_profile.get(k)}
    disabled = {q for q, values in RULE_QUESTIONS.items() if answers.get(q) == values[1]}
    stage_default = answers.get("unstaged") if answers.get("unstaged") in STAGE_DEFAULTS[1:] else None
    return tool_exports.compile_rules(profile, columns, mapping, lambda col: f"c{index[col]}", disabled=disabled,
                                 skip_targets=skip, stage_default=stage_default)


def _derived_inputs(dataset: str) -> tuple[str, ...]:
    return tuple(c.name for c in DERIVED_INPUTS.get(dataset, ()))


def _column_type(dataset: str, canon: str) -> str:
    for c in DATASETS[dataset].columns + DERIVED_INPUTS.get(dataset, ()):
        if c.name == canon:
            return c.type
    raise KeyError(canon)


def _check_explicit_mapping(name: str, columns: list[str], dataset: str | None, mapping: dict) -> dict:
    by_lower = {c.lower(): c for c in columns}
    fixed: dict[str, str | None] = {}
    seen: dict[str, str] = {}
    for canon, src in mapping.items():
        if src is None or src == "":
            fixed[canon] = None
            continue
        actual = src if src in columns else by_lower.get(str(src).lower())
        if actual is None:
            raise InputError.at(file=name, problem=f"the file has no column {src!r} (mapped to {canon})",
                                hint=f"its columns are: {', '.join(columns[:20])}")
        if actual in seen:
            raise InputError.at(file=name, column=actual,
                                problem=f"mapped to both {seen[actual]} and {canon}",
                                hint="map each column of the file to one dataset column")
        seen[actual] = canon
        fixed[canon] = actual
    if dataset:
        allowed = set(DATASETS[dataset].column_names) | set(_derived_inputs(dataset))
        bad = [k for k in fixed if k not in allowed]
        if bad:
            raise InputError.at(file=name, problem=f"{dataset} has no column {bad[0]!r}",
                                hint=f"its columns are: {', '.join(DATASETS[dataset].column_names)}")
    return fixed


def _source_of(name: str, column: str, mapping: dict[str, str], columns: list[str]) -> str:
    """A column named by its header in the file, or by the canonical column it is mapped to."""
    if column in columns:
        return column
    if column in mapping:
        return mapping[column]
    lowered = {c.lower(): c for c in columns}
    if str(column).lower() in lowered:
        return lowered[str(column).lower()]
    raise InputError.at(file=name, problem=f"the file has no column {column!r}",
                        hint=f"its columns are: {', '.join(columns[:20])}")


# --- reading the file into a raw (all text) table ---------------------------------------------
@dataclass(frozen=True)
class _Source:
    """One mapped column as the SQL sees it: ``raw`` in the raw table, ``typed`` once converted."""
    canon: str
    raw: str               # c0, c1, ... (generated names: no header text reaches the SQL)
    type: str              # canonical type
    direct: str | None     # a Parquet column whose own type already fits (date, float, ...)
    typed: str | None      # t0, t1, ... for columns that need converting; None for plain text


_SPECIAL_TEXT = {("subscriptions", "billing_period"), ("defects", "stage")}


def _sources(plan: _Plan) -> list[_Source]:
    """Every canonical column (and derived input) the file gives, mapped or derived by its profile."""
    layout = plan.layout
    types = dict(zip(layout.columns, layout.types)) if layout.types else {}
    index = {c: i for i, c in enumerate(layout.columns)}
    fits = {"date": ("date", "timestamp", "timestamptz"), "timestamp": ("date", "timestamp", "timestamptz"),
            "number": ("float", "integer"), "int": ("float", "integer"), "bool": ("bool",), "id": ("float",)}
    synthetic = list(plan.synthetic)
    canons = list(plan.mapping) + [c for c in synthetic if c not in plan.mapping]
    out = []
    for k, canon in enumerate(canons):
        col_type = _column_type(plan.dataset, canon)
        if canon in plan.synthetic:   # a profile's derivation, computed from the raw text columns
            raw, direct = f"d{synthetic.index(canon)}", None
        else:
            src = plan.mapping[canon]
            kind = _direct_kind(types[src]) if src in types else None
            raw, direct = f"c{index[src]}", (kind if kind in fits.get(col_type, ()) else None)
        needs_typing = col_type not in ("id", "text") or (plan.dataset, canon) in _SPECIAL_TEXT or direct
        out.append(_Source(canon, raw, col_type, direct, f"t{k}" if needs_typing else None))
    return out


def _load_raw(cur: duckdb.DuckDBPyConnection, plan: _Plan, limit: int | None = None) -> FileLayout:
    """Read the file into the temporary table ``_kpi_raw`` (rowid = the file's row order), with the
    mapped columns trimmed and empty markers turned into NULL on the way in, the profile's derived
    columns (d0, d1, ...) and its row rules (k0, k1, ...: true = leave the row out) beside them.
    Returns the layout actually used: a UTF-8 guess that meets Latin-1 bytes further down is read
    again as Latin-1.

    ``limit`` reads a prefix of that many rows (a preview, a question's effects), with every text
    value cut to ``limits.SHOWN_CHARS``; without it the whole file is read, and refused past
    ``limits.MAX_ROWS`` rows or, for Parquet, past ``limits.MAX_CELL_SIZE`` in one value."""
    layout = plan.layout
    sql, params = reader_sql(layout)
    by_raw = {s.raw: s for s in _sources(plan)}
    exprs = []
    for i in range(len(layout.columns)):
        c, s = f"c{i}", by_raw.get(f"c{i}")
        text = f"CAST({c} AS VARCHAR)" if layout.format == "parquet" else c
        if limit and not (s is not None and s.direct):
            text = limits.shown(text)   # a prefix is for looking at: no value needs more
        if s is None or s.direct:
            exprs.append(f"{text} AS {c}" if limit and s is None else c)
        elif s.typed:
            exprs.append(f"{_clean_typed(text)} AS {c}")
        elif s.canon in plan.sentinels:   # '-1' in a session id is no session
            marks = _lit_list(v.lower() for v in plan.sentinels[s.canon])
            exprs.append(f"CASE WHEN lower(trim({text})) IN {marks} THEN NULL ELSE {_clean_text(text)} END AS {c}")
        else:
            exprs.append(f"{_clean_text(text)} AS {c}")
    cur.execute("DROP TABLE IF EXISTS _kpi_raw")
    cap = int(limit) if limit else limits.MAX_ROWS.value() + 1
    inner = f"SELECT {', '.join(exprs)} FROM {sql} LIMIT {cap}"
    middle, cleaned, middle_params = [], [], []
    for k, (target, (expr, p)) in enumerate(plan.synthetic.items()):
        s = by_raw[f"d{k}"]
        middle.append(f"CAST({expr} AS VARCHAR) AS _v{k}")
        cleaned.append(f"{_clean_typed(f'_v{k}') if s.typed else _clean_text(f'_v{k}')} AS d{k}")
        middle_params.extend(p)
    for k, (_why, cond, p, _minority) in enumerate(plan.drops):
        middle.append(f"coalesce({cond}, false) AS k{k}")
        middle_params.extend(p)
    if middle:   # the derived columns' SQL comes first in the text, and so do its bound values
        query = (f"CREATE TEMP TABLE _kpi_raw AS SELECT *{''.join(', ' + c for c in cleaned)} "
                 f"FROM (SELECT *, {', '.join(middle)} FROM ({inner}))")
        params = middle_params + params
    else:
        query = f"CREATE TEMP TABLE _kpi_raw AS {inner}"
    try:
        cur.execute(query, params)
    except duckdb.Error as exc:
        if layout.format == "csv" and layout.encoding.startswith("utf-8") and "unicode" in str(exc).lower():
            retry = replace(plan, layout=replace(layout, encoding="latin-1"))
            return _load_raw(cur, retry, limit)
        raise _csv_error(layout, exc) from None
    n = cur.execute("SELECT count(*) FROM _kpi_raw").fetchall()[0][0]
    if not limit:
        limits.check_rows(n, layout.file_name)
        if layout.format == "parquet":   # a CSV's line limit already bounds its values
            text_columns = [i for i in range(len(layout.columns))
                            if not (layout.types and _direct_kind(layout.types[i]) is not None)]
            limits.check_cells(cur, "_kpi_raw", [f"c{i}" for i in text_columns], layout.file_name,
                               [layout.columns[i] for i in text_columns])
    if layout.footer_rows and n < cap:   # the prefix read reached the end of the file: its footer too
        one_cell = " OR c1 IS NULL" if layout.ragged_footer and len(layout.columns) > 1 else ""
        cur.execute(f"DELETE FROM _kpi_raw WHERE rowid >= ? AND (lower(trim(CAST(c0 AS VARCHAR))) LIKE 'total%'"
                    f"{one_cell})", [n - layout.footer_rows])
    return layout


def _csv_error(layout: FileLayout, exc: duckdb.Error) -> InputError:
    """A DuckDB reader error as a sentence a person can act on (never a traceback)."""
    msg = str(exc)
    line_m = re.search(r"CSV Error on Line: (\d+)", msg)
    line = int(line_m.group(1)) if line_m else None
    name = layout.file_name
    cols = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", msg)
    if cols:
        want, got = int(cols.group(1)), int(cols.group(2))
        return InputError.at(file=name, line=line,
                             problem=f"this row has {got} values but the header has {want} columns",
                             hint="fix the row (a missing or extra delimiter, or a value with a quote that is "
                                  "not closed), then load the file again")
    too_long = re.search(r"Maximum line size of (\d+) bytes exceeded\. Actual Size:\s*(\d+)", msg)
    if too_long:
        limit, actual = int(too_long.group(1)), int(too_long.group(2))
        return InputError.at(file=name, line=line,
                             problem=f"this line is {actual / 1e6:.1f} MB long, more than the "
                                     f"{limits.size_words(limit)} one line may hold",
                             hint="a cell probably holds a whole document, or a quote is never closed; "
                                  "shorten or remove that cell and load the file again, or "
                                  + limits.raise_hint(limits.MAX_CELL_SIZE, limits.size_words(limit)))
    if "state machine reached an invalid state" in msg:
        cr_line = _bare_cr_line(layout)
        if cr_line is not None:
            return InputError.at(file=name, line=cr_line,
                                 problem="a cell holds a lone carriage return (CR), which breaks its row in two",
                                 hint="remove it or put that cell in quotes, then load the file again")
        return InputError.at(file=name, problem="the rows cannot be split into cells: a quote or a line "
                                                "break sits where a CSV file may not have one",
                             hint="open the file in a spreadsheet and save it again as CSV UTF-8")
    if "unterminated quote" in msg.lower():
        return InputError.at(file=name, line=line, problem="a quoted value is never closed",
                             hint="add the missing closing quote (\") and load the file again")
    if "unicode" in msg.lower():
        return InputError.at(file=name, line=line, problem="the file mixes text encodings",
                             hint="save it again as CSV UTF-8")
    if layout.format == "parquet":
        return InputError.at(file=name, problem="the Parquet file cannot be read",
                             hint="export it again, or load a CSV export")
    first = msg.splitlines()[0] if msg else "unknown reason"
    first = re.sub(r"^[A-Za-z ]*Error: ", "", first)
    return InputError.at(file=name, line=line, problem=f"the file cannot be read as CSV ({first})",
                         hint="check that it is a CSV export with one header line")


def _bare_cr_line(layout: FileLayout, limit: int = 256 * 1024 * 1024) -> int | None:
    """The physical line of the first carriage return outside quotes that does not end a line
    (CRLF and CR-only files aside), read in chunks; None when there is none in the first ``limit`` bytes."""
    import codecs
    import gzip
    opener = gzip.open if layout.compression == "gzip" else open
    lines, quotes, seen, carry = 0, 0, 0, ""
    try:
        with opener(layout.path, "rb") as raw:
            decoder = codecs.getincrementaldecoder(layout.duckdb_encoding)(errors="replace")
            while seen < limit:
                chunk = raw.read(1 << 20)
                seen += len(chunk)
                text = carry + decoder.decode(chunk, final=not chunk)
                if chunk and text.endswith("\r"):      # its \n may open the next chunk
                    text, carry = text[:-1], "\r"
                else:
                    carry = ""
                if seen == len(chunk) and "\r" in text and "\n" not in text:
                    return None                          # a file whose lines end in CR alone
                for match in _BARE_CR.finditer(text):
                    at = match.start()
                    if (quotes + text.count('"', 0, at)) % 2 == 0:
                        return lines + text.count("\n", 0, at) + 1
                lines += text.count("\n")
                quotes += text.count('"')
                if not chunk:
                    break
    except (OSError, EOFError, LookupError):
        return None
    return None


_BARE_CR = re.compile(r"\r(?!\n)")


# --- conversions ------------------------------------------------------------------------------
# Cheap string tests come first so the costly ones (regexes, time zones) only see the rows that
# need them: DuckDB evaluates the branches of CASE and COALESCE only for the rows that reach them.
def _edge_space(c: str) -> str:
    return f"({c} LIKE ' %' OR {c} LIKE '% ' OR {c} LIKE '\t%' OR {c} LIKE '%\t')"


def _clean_text(c: str) -> str:
    return f"CASE WHEN {c} = '' THEN NULL WHEN {_edge_space(c)} THEN NULLIF(trim({c}, ' \t\r\n'), '') ELSE {c} END"


def _clean_typed(c: str) -> str:
    markers = _lit_list(("",) + NULL_MARKERS)
    trimmed = f"trim({c}, ' \t\r\n')"
    return (f"CASE WHEN {c} IN {markers} THEN NULL "
            f"WHEN {_edge_space(c)} THEN CASE WHEN {trimmed} IN {markers} THEN NULL ELSE {trimmed} END ELSE {c} END")


def _date_bucket(c: str) -> str:
    """Which written form a date value has, told by a few characters (no regex)."""
    zoned = f"length({c}) > 10 AND (contains(right({c}, 6), '+') OR contains(right({c}, 6), '-'))"
    year_first = f"TRY_CAST(substr({c}, 1, 4) AS INT) IS NOT NULL"
    return (f"CASE WHEN substr({c}, 5, 1) = '-' AND {year_first} THEN CASE WHEN {zoned} THEN 'iso_zoned' ELSE 'iso' END "
            f"WHEN substr({c}, 5, 1) = '/' AND {year_first} THEN 'ymd_slash' "
            f"WHEN contains({c}, '/') THEN CASE WHEN TRY_CAST(split_part({c}, '/', 2) AS INT) IS NULL "
            f"THEN 'named' ELSE 'slash' END "
            f"WHEN split_part({c}, '.', 3) <> '' AND TRY_CAST(split_part({c}, '.', 2) AS INT) IS NOT NULL THEN 'dot' "
            f"WHEN TRY_CAST({c} AS DOUBLE) IS NOT NULL THEN CASE WHEN length({c}) = 8 AND {c}[1:2] IN ('19', '20') "
            f"THEN 'compact' ELSE 'epoch' END "
            f"ELSE 'named' END")


def _slash_formats(order: str, sep: str, year: str) -> list[str]:
    first, second = ("%m", "%d") if order == "mdy" else ("%d", "%m")
    return [f"{first}{sep}{second}{sep}{year}{t}" for t in _TIMES]


def _formats(items: Iterable[str]) -> str:
    return "[" + ", ".join(_lit(f) for f in items) + "]"


def _date_form_sql(c: str, bucket: str, order: str) -> str:
    """SQL turning text of one written form into a naive UTC TIMESTAMP (NULL when it is no date)."""
    if bucket == "iso":  # also takes a trailing Z or UTC, which are UTC already
        return f"coalesce(TRY_CAST({c} AS TIMESTAMP), try_strptime({c}, {_formats(_ampm('%Y-%m-%d'))}))"
    if bucket == "iso_zoned":
        unspaced = f"regexp_replace({c}, '\\s+([+-]\\d{{2}}(?::?\\d{{2}})?)$', '\\1')"
        return f"timezone('UTC', TRY_CAST({unspaced} AS TIMESTAMPTZ))"
    if bucket == "ymd_slash":
        return (f"coalesce(TRY_CAST(replace({c}, '/', '-') AS TIMESTAMP), "
                f"try_strptime({c}, {_formats(_ampm('%Y/%m/%d'))}))")
    if bucket in ("slash", "dot"):
        sep = "/" if bucket == "slash" else "."
        order = order if bucket == "slash" else "dmy"
        year = f"split_part(split_part({c}, ' ', 1), {_lit(sep)}, 3)"
        return (f"CASE WHEN length({year}) = 4 THEN try_strptime({c}, {_formats(_slash_formats(order, sep, '%Y'))}) "
                f"ELSE try_strptime({c}, {_formats(_slash_formats(order, sep, '%y'))}) END")
    if bucket == "named":
        day_first = f"regexp_replace({c}, '^(\\d{{1,2}})[-/ ]([A-Za-z]+)\\.?[-/ ](\\d{{2,4}})', '\\1 \\2 \\3')"
        both = f"regexp_replace({day_first}, '^([A-Za-z]+)\\.? (\\d{{1,2}}),? (\\d{{4}})', '\\2 \\1 \\3')"
        four = _formats(f"%d {m} %Y{t}" for m in ("%b", "%B") for t in _TIMES)
        two = _formats(f"%d {m} %y{t}" for m in ("%b", "%B") for t in _TIMES)
        return (f"CASE WHEN length(split_part({both}, ' ', 3)) = 4 THEN try_strptime({both}, {four}) "
                f"ELSE try_strptime({both}, {two}) END")
    if bucket == "epoch":
        x = f"TRY_CAST({c} AS DOUBLE)"
        # seconds, milliseconds, microseconds or nanoseconds since 1970, told apart by magnitude
        micros = (f"CASE WHEN {x} < 1e11 THEN {x} * 1e6 WHEN {x} < 1e14 THEN {x} * 1e3 "
                  f"WHEN {x} < 1e17 THEN {x} ELSE {x} / 1e3 END")
        return f"CASE WHEN {x} >= 1e8 THEN make_timestamp(TRY_CAST(round({micros}) AS BIGINT)) END"
    if bucket == "compact":
        return f"try_strptime({c}, '%Y%m%d')"
    raise ValueError(bucket)


def _ampm(date_part: str) -> list[str]:
    return [f"{date_part} {t}" for t in ("%I:%M:%S %p", "%I:%M %p", "%I:%M:%S.%f %p")]


# A zone name written after the time ('... 10:10:29 AM GMT+2', '2024-03-01 09:00 PST'): only the
# names of ZONE_ABBREVIATIONS are taken (an unknown one leaves the value unreadable, and reported).
ZONE_SUFFIX = (r"\s+(" + "|".join(sorted((z for z in ZONE_ABBREVIATIONS if z != "Z"), key=len, reverse=True))
               + r")(?:([+-])(\d{1,2})(?::?(\d{2}))?)?$")
_NAIVE_BUCKETS = ("iso", "ymd_slash", "slash", "dot", "named")   # forms that carry no zone of their own


def _zone_offset_sql(c: str) -> str:
    """Minutes east of UTC of a value's written zone (NULL when it names none we know)."""
    def part(n: int) -> str:
        return f"regexp_extract({c}, {_lit(ZONE_SUFFIX)}, {n})"
    names = " ".join(f"WHEN {_lit(z)} THEN {m}" for z, m in ZONE_ABBREVIATIONS.items() if z != "Z")
    hours = (f"CASE WHEN {part(3)} = '' THEN 0 ELSE (CASE WHEN {part(2)} = '-' THEN -1 ELSE 1 END) * "
             f"(CAST({part(3)} AS INT) * 60 + coalesce(TRY_CAST({part(4)} AS INT), 0)) END")
    return f"(CASE {part(1)} {names} END + {hours})"


def _timestamp_sql(c: str, forms: dict, zone: bool = False) -> str:
    """SQL for a date/time column's naive UTC TIMESTAMP. ``zone``: times written without a zone are
    in the zone bound as ``$zone`` (the account's zone of a help desk or CRM export)."""
    suffix = forms.get("zone_suffix")
    base = f"regexp_replace({c}, {_lit(ZONE_SUFFIX)}, '')" if suffix else c
    buckets = sorted(forms.get("buckets") or {"iso"})
    order = forms.get("order", "mdy")

    def parsed(local: bool) -> str:
        def one(b: str) -> str:
            e = _date_form_sql(base, b, order)
            if local and b in _NAIVE_BUCKETS:
                e = f"CASE WHEN contains({base}, ':') THEN timezone('UTC', timezone($zone, {e})) ELSE {e} END"
            return e
        if len(buckets) == 1:
            return one(buckets[0])
        whens = " ".join(f"WHEN {_lit(b)} THEN {one(b)}" for b in buckets)
        return f"CASE {_date_bucket(base)} {whens} END"

    if not suffix:
        out = parsed(zone)
    else:
        out = (f"CASE WHEN regexp_matches({c}, {_lit(ZONE_SUFFIX)}) "
               f"THEN {parsed(False)} - to_minutes(CAST({_zone_offset_sql(c)} AS BIGINT)) ELSE {parsed(zone)} END")
    if forms.get("odd_suffix"):   # DuckDB would read '09:00 XYZ' as 09:00: a zone we do not know is no time
        out = f"CASE WHEN {_odd_suffix(c)} THEN NULL ELSE {out} END"
    return out


def _odd_suffix(c: str) -> str:
    """A value ending in a word that is neither a zone we know, nor AM/PM, nor a month ('5 March')."""
    return (f"(regexp_matches(right({c}, 1), '[A-Za-z]') AND NOT regexp_matches({c}, {_lit(ZONE_SUFFIX)}) "
            f"AND NOT regexp_matches({c}, '(?i)\\d\\s*[ap]\\.?m\\.?$') AND NOT regexp_matches({c}, '\\dZ$') "
            f"AND regexp_matches({c}, '\\d:\\d\\d'))")


def _number_sql(c: str, comma_decimal: bool) -> str:
    """DOUBLE from text with currency signs, thousands separators or (12.00) for a negative."""
    stripped = c
    for junk in ("$", "€", "£", "¥", " ", "\u00a0", "\u202f", "'"):
        stripped = f"replace({stripped}, {_lit(junk)}, '')"
    signed = (f"CASE WHEN starts_with({stripped}, '(') AND ends_with({stripped}, ')') "
              f"THEN '-' || {stripped}[2:-2] ELSE {stripped} END")
    if comma_decimal:
        return f"TRY_CAST(replace(replace({signed}, '.', ''), ',', '.') AS DOUBLE)"
    return f"coalesce(TRY_CAST({c} AS DOUBLE), TRY_CAST(replace({signed}, ',', '') AS DOUBLE))"


def _bool_sql(c: str) -> str:
    return (f"CASE WHEN lower({c}) IN {_lit_list(TRUE_WORDS)} THEN true "
            f"WHEN lower({c}) IN {_lit_list(FALSE_WORDS)} THEN false END")


def _words_sql(c: str) -> str:
    return f"regexp_replace(lower({c}), '[^a-z0-9]+', '', 'g')"


def _billing_sql(c: str) -> str:
    whens = " ".join(f"WHEN {_words_sql(c)} IN {_lit_list(words)} THEN {_lit(period)}"
                     for period, words in BILLING_PERIODS.items())
    return f"CASE WHEN {c} IS NULL THEN 'month' {whens} END"


def _stage_sql(c: str) -> str:
    whens = " ".join(f"WHEN {_words_sql(c)} IN {_lit_list(words)} THEN {_lit(stage)}"
                     for stage, words in DEFECT_STAGES.items())
    return f"CASE {whens} ELSE {c} END"


def _direct_kind(source_type: str) -> str | None:
    t = source_type.upper()
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP WITH TIME ZONE") or t == "TIMESTAMPTZ":
        return "timestamptz"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t in ("DOUBLE", "FLOAT", "REAL") or t.startswith("DECIMAL"):
        return "float"
    if t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"):
        return "integer"
    if t == "BOOLEAN":
        return "bool"
    return None


# Durations written H:MM:SS are read into their column's unit (seconds in one).
_CLOCK_UNITS = {"duration_minutes": 60.0, "first_response_minutes": 60.0, "first_response_hours": 3600.0,
                "first_response_seconds": 1.0}


def _typed_sql(plan: _Plan, s: _Source, forms: dict) -> str:
    """SQL for the converted value of one mapped column (dates as TIMESTAMP, ints as DOUBLE: the
    final SELECT narrows them once the values are known to be good)."""
    c = s.raw
    if s.direct:
        if s.type in ("date", "timestamp"):
            return f"timezone('UTC', {c})" if s.direct == "timestamptz" else f"CAST({c} AS TIMESTAMP)"
        if s.type in ("number", "int"):
            return f"CAST({c} AS DOUBLE) / {plan.scale[s.canon]!r}" if s.canon in plan.scale else f"CAST({c} AS DOUBLE)"
        if s.type == "id":
            return f"CASE WHEN {c} = trunc({c}) THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END"
        return c
    if (plan.dataset, s.canon) == ("subscriptions", "billing_period"):
        return _billing_sql(c)
    if (plan.dataset, s.canon) == ("defects", "stage"):
        return _stage_sql(c)
    if s.type == "number" and forms.get("clock") and s.canon in _CLOCK_UNITS:
        seconds = " + ".join(f"TRY_CAST(split_part({c}, ':', {i + 1}) AS DOUBLE) * {f}" for i, f in
                             enumerate((3600, 60, 1)))
        return f"({seconds}) / {_CLOCK_UNITS[s.canon]!r}"
    if s.type in ("number", "int"):
        number = _number_sql(c, forms.get("comma_decimal", False))
        return f"({number}) / {plan.scale[s.canon]!r}" if s.canon in plan.scale else number
    if s.type == "bool":
        return _bool_sql(c)
    return _timestamp_sql(c, forms, zone=plan.zone is not None)


def _bad_sql(plan: _Plan, s: _Source) -> str | None:
    """SQL that is true for a row whose value in this column could not be converted."""
    if s.typed is None or (plan.dataset, s.canon) == ("defects", "stage") or s.type == "id":
        return None
    t = s.typed
    if s.type == "number":
        return f"{s.raw} IS NOT NULL AND ({t} IS NULL OR NOT isfinite({t}))"
    if s.type == "int":
        return f"{s.raw} IS NOT NULL AND ({t} IS NULL OR NOT isfinite({t}) OR {t} <> trunc({t}) OR abs({t}) > 9e18)"
    return f"{s.raw} IS NOT NULL AND {t} IS NULL"


def _profile(cur, plan: _Plan, day_first: Iterable[str]) -> dict[str, dict]:
    """Decide per column, from all its values, which date forms and which decimal mark it uses."""
    forms: dict[str, dict] = {}
    number_aggs, number_cols = [], []
    for s in _sources(plan):
        f = forms.setdefault(s.canon, {})
        if s.direct or s.typed is None:
            continue
        c = s.raw
        if s.type in ("date", "timestamp"):
            f["zone_suffix"] = bool(cur.execute(
                f"SELECT count(*) FROM _kpi_raw WHERE {c} IS NOT NULL AND regexp_matches(right({c}, 1), '[A-Z0-9]') "
                f"AND regexp_matches({c}, {_lit(ZONE_SUFFIX)})").fetchall()[0][0])
            f["odd_suffix"] = bool(cur.execute(
                f"SELECT count(*) FROM _kpi_raw WHERE {c} IS NOT NULL AND {_odd_suffix(c)}").fetchall()[0][0])
            v = f"regexp_replace({c}, {_lit(ZONE_SUFFIX)}, '')" if f["zone_suffix"] else c
            part = "CASE WHEN bucket = 'slash' THEN TRY_CAST(split_part(v, '/', {n}) AS INT) END"
            rows = cur.execute(
                f"SELECT bucket, count(*), max({part.format(n=1)}), max({part.format(n=2)}) FROM "
                f"(SELECT {_date_bucket(v)} AS bucket, {v} AS v FROM _kpi_raw WHERE {c} IS NOT NULL) "
                f"GROUP BY bucket").fetchall()
            f["buckets"] = {r[0] for r in rows}
            first = max((r[2] or 0 for r in rows), default=0)
            second = max((r[3] or 0 for r in rows), default=0)
            if "slash" in f["buckets"]:
                if s.canon in set(day_first) | plan.day_first or (first > 12 and second <= 12):
                    f["order"] = "dmy"
                else:
                    f["order"] = "mdy"
                    f["ambiguous"] = first <= 12 and second <= 12
                f["mixed"] = first > 12 and second > 12
        elif s.type in ("number", "int"):
            plain = f"TRY_CAST({c} AS DOUBLE)"
            number_aggs.append(f"count(*) FILTER (WHERE {c} IS NOT NULL AND {plain} IS NULL AND "
                               f"regexp_matches({c}, {_lit(COMMA_DECIMAL_EVIDENCE)}))")
            number_aggs.append(f"count(*) FILTER (WHERE {c} IS NOT NULL AND CASE WHEN {plain} IS NOT NULL "
                               f"THEN contains({c}, '.') AND length({c}) - strpos({c}, '.') <> 3 "
                               f"ELSE regexp_matches({c}, {_lit(DOT_DECIMAL_EVIDENCE)}) END)")
            number_cols.append(s.canon)
            if s.canon in _CLOCK_UNITS:
                f["clock"] = bool(cur.execute(
                    f"SELECT count(*) > 0 AND count(*) = count(*) FILTER (WHERE regexp_matches({c}, "
                    f"'^\\d{{1,4}}:\\d{{2}}:\\d{{2}}(\\.\\d+)?$')) FROM _kpi_raw WHERE {c} IS NOT NULL").fetchall()[0][0])
    if number_aggs:
        counts = cur.execute(f"SELECT {', '.join(number_aggs)} FROM _kpi_raw").fetchall()[0]
        for i, canon in enumerate(number_cols):
            comma, dot = counts[2 * i], counts[2 * i + 1]
            forms[canon]["comma_decimal"] = bool(comma) and not dot
    return forms


def _left_out(cur, plan: _Plan) -> tuple[dict[str, int], list[int]]:
    """Rows the profile's rules leave out, per rule ({why: rows}), and which rules apply: a rule
    that says "only if a minority" is not applied where it would take half of the file or more."""
    if not plan.drops:
        return {}, []
    counts = cur.execute("SELECT count(*), " + ", ".join(f"count(*) FILTER (WHERE k{k})" for k in
                                                         range(len(plan.drops))) + " FROM _kpi_raw").fetchall()[0]
    total = counts[0]
    active = [k for k, d in enumerate(plan.drops) if not (d[3] and total and counts[k + 1] * 2 >= total)]
    if not active:
        return {}, []
    firsts = ", ".join(f"count(*) FILTER (WHERE k{k}" + "".join(f" AND NOT k{j}" for j in active[:i]) + ")"
                       for i, k in enumerate(active))
    dropped = cur.execute(f"SELECT {firsts} FROM _kpi_raw").fetchall()[0]
    out: dict[str, int] = {}
    for k, n in zip(active, dropped):
        if n:
            out[plan.drops[k][0]] = out.get(plan.drops[k][0], 0) + int(n)
    return out, active


def _convert(cur, plan: _Plan, forms: dict, active_drops: list[int] = ()) -> None:
    """Convert every mapped column once, into ``_kpi_conv`` (raw columns kept for the checks),
    leaving out the rows the profile's rules drop (``__row`` stays the row's place in the file)."""
    typed = [f"{_typed_sql(plan, s, forms[s.canon])} AS {s.typed}" for s in _sources(plan) if s.typed]
    where = " WHERE NOT (" + " OR ".join(f"k{k}" for k in active_drops) + ")" if active_drops else ""
    query = (f"CREATE TEMP TABLE _kpi_conv AS SELECT rowid AS __row, *{''.join(', ' + t for t in typed)} "
             f"FROM _kpi_raw{where}")
    cur.execute("DROP TABLE IF EXISTS _kpi_conv")
    cur.execute(query, {"zone": plan.zone} if "$zone" in query else [])
    cur.execute("DROP TABLE _kpi_raw")


_RESPONSE_UNITS = {"first_response_seconds": 1e6, "first_response_minutes": 60e6, "first_response_hours": 3600e6}


def _select_sql(plan: _Plan, forms: dict, secret: str | None, source: str = "_kpi_conv") -> tuple[str, list]:
    """The one SELECT that produces the dataset: canonical columns typed, extras kept as written.
    A payment's refund held in its own column adds a second, negative row on the refund's date."""
    ds = DATASETS[plan.dataset]
    params: list = []
    index = {c: i for i, c in enumerate(plan.layout.columns)}
    by_canon = {s.canon: s for s in _sources(plan)}

    def value(canon: str) -> str:
        s = by_canon[canon]
        if s.typed is None:
            return s.raw
        if s.type == "date":
            return f"CAST({s.typed} AS DATE)"
        if s.type == "int":
            return f"CAST({s.typed} AS BIGINT)"
        return s.typed

    def hashed(expr: str) -> str:
        params.append(secret)
        return f"substr(sha256(? || {expr}), 1, {HASH_CHARS})"

    def row(overrides: dict[str, str]) -> str:
        parts = []
        for col in ds.columns:
            name = quote_ident(col.name)
            if col.name in overrides:
                expr = overrides[col.name]
            elif col.name == "billing_period" and "period_count" in by_canon and "billing_period" in by_canon:
                months = _months_sql(value, by_canon)   # 3 × month is a quarter; 6 × month half a year
                words = " ".join(f"WHEN abs({months} - {m!r}) < 1e-9 THEN {_lit(p)}" for p, m in PERIOD_MONTHS.items())
                expr = (f"CASE {words} ELSE CAST({value('period_count')} AS VARCHAR) || ' × ' || "
                        f"{value('billing_period')} END")
            elif col.name in by_canon:
                expr = value(col.name)
                if plan.mapping.get(col.name) in plan.hashed:
                    expr = hashed(expr)
            elif col.name == "mrr" and "mrr" in plan.derived:
                quantity = f"coalesce({value('quantity')}, 1)" if "quantity" in by_canon else "1"
                expr = f"{value('amount')} * {quantity} / ({_months_sql(value, by_canon)})"
            elif plan.dataset == "subscriptions" and col.name == "billing_period":
                expr = "'month'"
            elif col.name == "duration_minutes" and "duration_minutes" in plan.derived and "finished_at" in by_canon:
                expr = f"epoch({value('finished_at')} - {value('started_at')}) / 60.0"
            elif col.name == "first_response_at" and any(k in by_canon for k in _RESPONSE_UNITS):
                unit = next(k for k in _RESPONSE_UNITS if k in by_canon)
                expr = (f"{value('created_at')} + to_microseconds(CAST(round({value(unit)} * "
                        f"{_RESPONSE_UNITS[unit]!r}) AS BIGINT))")
            else:
                expr = f"CAST(NULL AS {SQL_TYPES[col.type]})"
            parts.append(f"{expr} AS {name}")
        for src, out in plan.extras:
            ref = f"c{index[src]}"
            expr = hashed(_clean_text(f"CAST({ref} AS VARCHAR)")) if src in plan.hashed else ref
            parts.append(f"{expr} AS {quote_ident(out)}")
        return ", ".join(parts)

    body = f"SELECT {row({})} FROM {source}"
    if plan.dataset == "payments" and "refund_amount" in by_canon:
        refund = value("refund_amount")
        when = f"coalesce({value('refund_date')}, {value('date')})" if "refund_date" in by_canon else value("date")
        body += (f" UNION ALL SELECT {row({'date': when, 'amount': f'-{refund}'})} FROM _kpi_conv "
                 f"WHERE {refund} <> 0")
    where = " AND ".join(f"{quote_ident(c)} IS NOT NULL" for c in ds.required)
    return f"SELECT * FROM ({body}) WHERE {where}", params


def _months_sql(value, by_canon) -> str:
    """Months in one billing period: the period's unit (a year is 12) times its count where the file has one."""
    if "billing_period" not in by_canon:
        return "1"
    whens = " ".join(f"WHEN {_lit(p)} THEN {m!r}" for p, m in PERIOD_MONTHS.items())
    unit = f"CASE {value('billing_period')} {whens} ELSE 1 END"
    if "period_count" in by_canon:
        return f"({unit} * coalesce(nullif({value('period_count')}, 0), 1))"
    return unit


def _first_bad_value(cur, plan: _Plan, forms: dict) -> InputError | None:
    """The first row (in file order) holding a value that cannot be converted, found in SQL."""
    checks = [(s, _bad_sql(plan, s)) for s in _sources(plan)]
    checks = [(s, sql) for s, sql in checks if sql]
    if not checks:
        return None
    flags = ", ".join(f"{sql} AS b{i}" for i, (_, sql) in enumerate(checks))
    raws = ", ".join(f"CAST({s.raw} AS VARCHAR) AS r{i}" for i, (s, _) in enumerate(checks))
    found = cur.execute(f"SELECT __row, {flags}, {raws} FROM _kpi_conv WHERE "
                        f"{' OR '.join(f'({sql})' for _, sql in checks)} ORDER BY __row LIMIT 1").fetchall()
    if not found:
        return None
    row = found[0]
    i = next(k for k in range(len(checks)) if row[1 + k])
    s, value = checks[i][0], row[1 + len(checks) + i]
    src = plan.label(s.canon)
    if (plan.dataset, s.canon) == ("subscriptions", "billing_period"):
        what = "a billing period (use month, quarter or year)"
    else:
        what = _TYPE_WORDS[s.type]
    shown = value if len(str(value)) <= 60 else str(value)[:57] + "..."
    problem = f"'{shown}' is not {what}"
    if forms[s.canon].get("mixed"):
        problem += " (the column mixes day/month and month/day dates)"
    hint = f"fix the value or map {s.canon} to another column"
    layout = plan.layout
    if layout.format == "parquet":
        return InputError.at(file=layout.file_name, column=src, problem=f"row {row[0] + 1:,}: {problem}",
                             value=str(value), hint=hint)
    return InputError.at(file=layout.file_name, line=_physical_line(cur, layout, row[0]), column=src,
                         problem=problem, value=str(value), hint=hint)


def _physical_line(cur, layout: FileLayout, row: int) -> int:
    """The line of the file a row starts on: rows before it may hold quoted line breaks."""
    if row == 0:
        return layout.data_line
    joined = "concat_ws('', " + ", ".join(f"c{i}" for i in range(len(layout.columns))) + ")"
    breaks = cur.execute(f"SELECT coalesce(sum(length({joined}) - length(replace({joined}, chr(10), ''))), 0) "
                         f"FROM _kpi_conv WHERE __row < ?", [row]).fetchall()[0][0]
    return layout.data_line + row + int(breaks)


def _count_incomplete(cur, plan: _Plan) -> int:
    """Rows left out because a required column is empty (a partial survey response, say)."""
    by_canon = {s.canon: s for s in _sources(plan)}
    needed = []
    for canon in DATASETS[plan.dataset].required:
        key = {"mrr": "amount", "duration_minutes": "finished_at"}.get(canon, canon) \
            if canon in plan.derived else canon
        s = by_canon.get(key)
        if s:
            needed.append(f"{s.typed or s.raw} IS NULL")
    if not needed:
        return 0
    return int(cur.execute(f"SELECT count(*) FROM _kpi_conv WHERE {' OR '.join(needed)}").fetchall()[0][0])


# --- public entry points ------------------------------------------------------------------------
def workspace_secret(ws: Workspace) -> str:
    """The workspace's key for pseudonyms: the same value hashes the same in every dataset."""
    found = ws.setting(SECRET_SETTING)
    if found:
        return found
    ws.require_writable("pseudonymise data")
    # made once: two first loads at the same moment must not hash with two different keys
    return ws.setting_or_init(SECRET_SETTING, lambda: _secrets.token_hex(32))


def ingest_file(ws: Workspace, path: str | Path, *, dataset: str | None = None, mapping: dict | None = None,
                mode: str = "replace", file_name: str | None = None, drop_columns: Iterable[str] = (),
                pseudonymise: Iterable[str] = (), secret: str | None = None,
                day_first: Iterable[str] = (), answers: dict | None = None,
                expect: int | None = None) -> IngestResult:
    """Load one file as a dataset: all of it or, on any problem, nothing (``InputError``).

    ``mapping`` (canonical column -> file column) may be partial: detection fills in the rest.
    ``drop_columns`` and ``pseudonymise`` name file columns (or the canonical columns they map
    to); pseudonyms are ``sha256(secret || value)`` cut to 16 hex characters. ``day_first`` lists
    date columns to read as DD/MM/YYYY when the values alone cannot tell. ``answers`` answers the
    questions of ``kpi.questions.questions_for`` ({question id: option value}); unanswered ones
    take their default. A file loaded with a correction (dataset, mapping, answers, day_first) is
    remembered for its header: the next export of the same tool maps itself. With ``expect`` (the
    dataset's ``Workspace.dataset_version`` when the user chose to load), a dataset someone else
    loaded or deleted since is left alone (``StaleWrite``).
    """
    ws.require_writable("load data")
    if mode not in ("replace", "append"):
        raise InputError(f"unknown mode {mode!r} — use replace or append")
    day_first = list(day_first)
    layout = sniff(path, file_name=file_name)
    plan = _plan(layout, dataset, mapping, drop_columns, pseudonymise, answers, ws, day_first)
    result = _ingest_plan(ws, plan, mode, secret, expect)
    if plan.explicit:
        _remember(ws, plan, mapping or {}, answers or {}, day_first)
    return result


def _remember(ws: Workspace, plan: _Plan, mapping: dict, answers: dict, day_first: Iterable[str]) -> None:
    kept = dict(plan.mapping)
    kept.update({k: None for k, v in mapping.items() if not v})   # columns left unmapped on purpose
    given = {k: str(v) for k, v in answers.items()}
    given.update({f"date_order:{c}": "day_first" for c in day_first})
    memory.remember(ws, plan.layout.columns, dataset=plan.dataset, mapping=kept, answers=given,
                    file_name=plan.layout.file_name)


def _ingest_plan(ws: Workspace, plan: _Plan, mode: str, secret: str | None,
                 expect: int | None = None) -> IngestResult:
    name = plan.layout.file_name
    if plan.hashed and secret is None:
        secret = workspace_secret(ws)
    try:
        # In the workspace's write turn: two editors loading at once load one after the other.
        with ws.writing("load data"):
            if expect is not None and ws.dataset_version(plan.dataset) != expect:
                raise StaleWrite(f"The {plan.dataset} dataset")
            with ws.cursor() as cur:
                done = _ingest_fast(ws, cur, plan, mode, secret)
            return done if done is not None else _ingest_checked(ws, plan, mode, secret)
    except duckdb.Error as exc:
        if is_conflict(exc):
            raise Busy(f"load {name}") from None
        raise InputError.at(file=name, problem=f"the file could not be loaded ({str(exc).splitlines()[0]})",
                            hint="check the column mapping, or tell us about this file") from None


# --- the fast path: a clean file read typed in one pass ------------------------------------------
_ISO_VALUE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$")
_PLAIN_NUMBER = re.compile(NUMBER)
_PLAIN_INT = re.compile(r"^[+-]?\d{1,18}$")
_READER_BOOLS = {"true", "false", "t", "f", "yes", "no", "y", "n", "1", "0"}
_NOT_CLEAN = "'kpi: not a clean file'"


def _fits_typed_reader(values: list, col_type: str) -> bool:
    """Whether DuckDB's typed reader reads the sample's values as the text path would."""
    vals = [str(v) for v in values if v is not None and not (isinstance(v, float) and v != v) and str(v) != ""]
    if col_type in ("date", "timestamp"):
        return all(_ISO_VALUE.match(v) for v in vals)
    if col_type == "number":
        return all(_PLAIN_NUMBER.match(v) for v in vals)
    if col_type == "int":
        return all(_PLAIN_INT.match(v) for v in vals)
    if col_type == "bool":
        return all(v.lower() in _READER_BOOLS for v in vals)
    return True


def _fast_reader(plan: _Plan, secret: str | None) -> tuple[str, list] | None:
    """The dataset's SELECT over a typed read of the file, or None when the sample already shows a
    form only the text path reads (or the file needs what only it does: rules, answers, footers).

    Typed columns: ISO dates and times as TIMESTAMPTZ (naive ones are taken as UTC, offsets are
    converted, like the text path), plain numbers as DOUBLE or BIGINT, true/false as BOOLEAN. A row
    without a required value, a number that is not finite or an unknown billing period stops the
    read (``error()``): the text path then counts, explains or rejects as it always does.
    """
    layout = plan.layout
    if (layout.format != "csv" or layout.footer_rows or plan.synthetic or plan.drops or plan.scale or plan.zone
            or plan.sentinels or "duration_minutes" in plan.derived
            or plan.sample is None or (plan.dataset == "payments" and "refund_amount" in plan.mapping)):
        return None
    index = {c: i for i, c in enumerate(layout.columns)}
    required = set(DATASETS[plan.dataset].required)
    if "mrr" in plan.derived:
        required.add("amount")
    reader_types: dict[int, str] = {}
    exprs = {f"c{i}": f"c{i}" for i in range(len(layout.columns))}
    typed = []
    for s in _sources(plan):
        i = index[plan.mapping[s.canon]]
        values = plan.sample.iloc[:, i].tolist() if i < plan.sample.shape[1] else []
        if not _fits_typed_reader(values, s.type):
            return None
        c = f"c{i}"
        if s.type in ("id", "text"):
            exprs[c] = f"{_clean_text(c)} AS {c}"
            if s.typed is None:
                value = c
            else:
                special = _billing_sql(_clean_text(c)) if s.canon == "billing_period" else _stage_sql(_clean_text(c))
                value = f"coalesce({special}, error({_NOT_CLEAN}))" if s.canon == "billing_period" else special
        elif s.type in ("date", "timestamp"):
            reader_types[i], value = "TIMESTAMPTZ", f"timezone('UTC', {c})"
        elif s.type == "number":
            reader_types[i] = "DOUBLE"
            value = f"CASE WHEN {c} IS NULL OR isfinite({c}) THEN {c} ELSE error({_NOT_CLEAN}) END"
        elif s.type == "int":
            reader_types[i], value = "BIGINT", c
        else:
            reader_types[i], value = "BOOLEAN", c
        if s.canon in required:
            value = f"coalesce({value}, error({_NOT_CLEAN}))"
        if s.typed:
            typed.append(f"{value} AS {s.typed}")
        elif s.canon in required:
            exprs[c] = f"{_guard_text(c)} AS {c}"
    reader, reader_params = reader_sql(layout, reader_types)
    # one row past the limit is read, so that a file over it is told apart from one at it
    source = f"(SELECT {', '.join(list(exprs.values()) + typed)} FROM {reader} LIMIT {limits.MAX_ROWS.value() + 1})"
    select, params = _select_sql(plan, {}, secret, source=source)
    return select, params + reader_params


def _guard_text(c: str) -> str:
    return f"coalesce({_clean_text(c)}, error({_NOT_CLEAN}))"


def _ingest_fast(ws: Workspace, cur, plan: _Plan, mode: str, secret: str | None) -> IngestResult | None:
    """Load a clean file in one typed pass; None (and nothing changed) when it is not clean."""
    found = _fast_reader(plan, secret)
    if found is None:
        return None
    select, params = found
    name = plan.layout.file_name
    warnings: list[str] = []
    before = ws.row_count(plan.dataset) if mode == "append" and ws.has(plan.dataset) else 0
    if _file_size(plan.layout) > UNORDERED_FROM:
        # A table this large is never read in file order: DuckDB may then write it with every
        # thread, straight to disk. Only this cursor's session is affected.
        cur.execute("SET SESSION preserve_insertion_order = false")
    cur.execute("BEGIN TRANSACTION")
    try:
        if mode == "append":   # the rows read are counted before duplicates of loaded rows go
            cur.execute(f"CREATE TEMP TABLE _kpi_fast AS {select}", params)
            read = cur.execute("SELECT count(*) FROM _kpi_fast").fetchall()[0][0]
            select, params = "SELECT * FROM _kpi_fast", []
        rows = ws.replace_table(cur, plan.dataset, select, params, source=name, mapping=dict(plan.mapping),
                                mode=mode)
        if mode == "replace":
            read = rows
        if rows == 0 or read == 0:  # nothing landed: the validating path says why
            cur.execute("ROLLBACK")
            return None
        if read > limits.MAX_ROWS.value():
            cur.execute("ROLLBACK")
            limits.check_rows(read, name)
        if mode == "replace":
            copies = _duplicate_rows(cur, plan.dataset, rows)
            if copies:
                warnings.append(f"{_rows(copies, 'duplicate')} (exact copies of another row) {_were(copies)} kept")
        cur.execute("DROP TABLE IF EXISTS _kpi_fast")
        cur.execute("COMMIT")
    except duckdb.Error:
        cur.execute("ROLLBACK")
        cur.execute("DROP TABLE IF EXISTS _kpi_fast")
        return None
    if mode == "append" and before + read - rows > 0:
        dropped = before + read - rows
        warnings.append(f"{_rows(dropped, 'duplicate')} (exact copies of rows already loaded) "
                        f"{_were(dropped)} left out")
    warnings.extend(rule_warnings(ws, plan.dataset))
    return _result(plan, rows, warnings, mode, [], {}, fast=True)


def _file_size(layout: FileLayout) -> int:
    try:
        return Path(layout.path).stat().st_size
    except OSError:
        return 0


def _duplicate_rows(cur, dataset: str, rows: int) -> int:
    """Rows that are exact copies of another row. One hash per row settles the usual case (no copy
    at all) cheaply; only when hashes repeat are whole rows compared."""
    cols = [r[0] for r in cur.execute(f"SELECT * FROM {quote_ident(dataset)} LIMIT 0").description]
    hashed = cur.execute(f"SELECT count(*) FROM (SELECT DISTINCT hash({', '.join(quote_ident(c) for c in cols)}) "
                         f"FROM {quote_ident(dataset)})").fetchall()[0][0]
    if hashed == rows:
        return 0
    distinct = cur.execute(f"SELECT count(*) FROM (SELECT DISTINCT * FROM {quote_ident(dataset)})").fetchall()[0][0]
    return rows - distinct


def _result(plan: _Plan, rows: int, warnings: list[str], mode: str, ambiguous: list[str], left_out: dict,
            fast: bool = False, incomplete: int = 0) -> IngestResult:
    return IngestResult(file=plan.layout.file_name, dataset=plan.dataset, rows=rows, warnings=warnings,
                        mapping=dict(plan.mapping), mode=mode, derived=dict(plan.derived), ambiguous_dates=ambiguous,
                        extra_columns=[out for _, out in plan.extras], tool=plan.tool, left_out=dict(left_out),
                        answers=dict(plan.answers), fast=fast, incomplete=incomplete)


# --- the validating path: every column read as text ----------------------------------------------
def _ingest_checked(ws: Workspace, plan: _Plan, mode: str, secret: str | None,
                    limit: int | None = None) -> IngestResult:
    name = plan.layout.file_name
    warnings: list[str] = []
    with ws.cursor() as cur:
        plan = replace(plan, layout=_load_raw(cur, plan, limit=limit))
        read = cur.execute("SELECT count(*) FROM _kpi_raw").fetchall()[0][0]
        if read == 0:
            raise InputError.at(file=name, problem="the file has a header but no rows",
                                hint="export the table again with its rows")
        forms = _profile(cur, plan, plan.day_first)
        left_out, active = _left_out(cur, plan)
        _convert(cur, plan, forms, active)
        bad = _first_bad_value(cur, plan, forms)
        if bad:
            raise bad
        ambiguous = [c for c, f in forms.items() if f.get("ambiguous")]
        for canon in ambiguous:
            warnings.append(f"column {plan.label(canon)}: dates like 03/04/2025 could be day/month or month/day "
                            f"and were read as month/day (March 4) — if they are day/month, load the file again "
                            f"with {canon} read day first")
        for why, n in left_out.items():
            warnings.append(f"{_rows(n)} left out: {why}")
        read -= sum(left_out.values())
        incomplete = _count_incomplete(cur, plan)
        select, params = _select_sql(plan, forms, secret)
        before = ws.row_count(plan.dataset) if mode == "append" and ws.has(plan.dataset) else 0
        cur.execute("BEGIN TRANSACTION")
        added = None
        try:
            if mode == "append":
                cur.execute(f"CREATE TEMP TABLE _kpi_fast AS {select}", params)
                added = cur.execute("SELECT count(*) FROM _kpi_fast").fetchall()[0][0]
                select, params = "SELECT * FROM _kpi_fast", []
            rows = ws.replace_table(cur, plan.dataset, select, params, source=name, mapping=dict(plan.mapping),
                                    mode=mode)
            if rows == 0 or added == 0:  # an append that adds nothing is refused like a replace
                raise InputError.at(file=name, problem="no row has a value in every required column "
                                    f"({', '.join(DATASETS[plan.dataset].required)})",
                                    hint="fill in the required columns, or map them to other columns")
            if mode == "replace":
                added = rows
                copies = _duplicate_rows(cur, plan.dataset, rows)
                if copies:
                    warnings.append(f"{_rows(copies, 'duplicate')} (exact copies of another row) "
                                    f"{_were(copies)} kept")
            cur.execute("DROP TABLE IF EXISTS _kpi_fast")
            cur.execute("COMMIT")
        except InputError:
            cur.execute("ROLLBACK")
            cur.execute("DROP TABLE IF EXISTS _kpi_fast")
            raise
        except duckdb.Error as exc:
            cur.execute("ROLLBACK")
            cur.execute("DROP TABLE IF EXISTS _kpi_fast")
            if is_conflict(exc):
                raise Busy(f"load {name}") from None
            raise InputError.at(file=name, problem=f"the file could not be loaded ({str(exc).splitlines()[0]})",
                                hint="check the column mapping, or tell us about this file") from None
        cur.execute("DROP TABLE IF EXISTS _kpi_conv")
    if incomplete:
        warnings.append(f"{_rows(incomplete)} without a value in a required column "
                        f"({', '.join(DATASETS[plan.dataset].required)}) {_were(incomplete)} left out")
    if mode == "append":
        dropped = before + added - rows
        if dropped > 0:
            warnings.append(f"{_rows(dropped, 'duplicate')} (exact copies of rows already loaded) "
                            f"{_were(dropped)} left out")
    warnings.extend(rule_warnings(ws, plan.dataset))
    return _result(plan, rows, warnings, mode, ambiguous, left_out, incomplete=incomplete)


def _rows(n: int, adjective: str = "") -> str:
    words = f"{adjective} row" if adjective else "row"
    return f"{n:,} {words}" + ("" if n == 1 else "s")


def _were(n: int) -> str:
    return "was" if n == 1 else "were"


def preview(path: str | Path, dataset: str | None = None, mapping: dict | None = None, n: int = 20, *,
            file_name: str | None = None, drop_columns: Iterable[str] = (),
            day_first: Iterable[str] = (), answers: dict | None = None, ws: Workspace | None = None) -> pd.DataFrame:
    """The first ``n`` rows as they will be stored (values that cannot be converted show empty)."""
    layout = sniff(path, file_name=file_name)
    plan = _plan(layout, dataset, mapping, drop_columns, (), answers, ws, day_first)
    con = limits.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        plan = replace(plan, layout=_load_raw(con, plan, limit=max(PROFILE_ROWS, n)))
        forms = _profile(con, plan, plan.day_first)
        _left, active = _left_out(con, plan)
        _convert(con, plan, forms, active)
        select, params = _select_sql(plan, forms, None)
        return con.execute(f"{select} LIMIT {int(n)}", params).df()
    finally:
        con.close()


def zone_effects(plan: _Plan, zones: Iterable[str], limit: int | None = None) -> dict[str, tuple[int, int, object]]:
    """What reading the times of the dataset's main date in each zone gives: {zone: (rows that fall on another
    day than read as UTC, rows with a time of day, the first time in UTC)}. One read of the file (its first
    ``limit`` rows), the rows its rules leave out aside."""
    canon = DATASETS[plan.dataset].primary_date
    zones = list(dict.fromkeys(zones))
    con = limits.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        plan = replace(plan, zone=None, layout=_load_raw(con, plan, limit=limit))
        forms = _profile(con, plan, plan.day_first)
        _left, active = _left_out(con, plan)
        _convert(con, plan, forms, active)
        src = next((s for s in _sources(plan) if s.canon == canon and s.typed), None)
        if src is None or not zones:
            return {}
        t = f"CAST({src.typed} AS TIMESTAMP)"
        rows = con.execute(
            f"SELECT z, count(*) FILTER (WHERE CAST(timezone('UTC', timezone(z, t)) AS DATE) <> CAST(t AS DATE)), "
            f"count(*), min(timezone('UTC', timezone(z, t))) FROM (SELECT {t} AS t FROM _kpi_conv "
            f"WHERE {src.typed} IS NOT NULL AND contains(CAST({src.raw} AS VARCHAR), ':')) "
            f"CROSS JOIN (SELECT unnest(CAST(? AS VARCHAR[])) AS z) GROUP BY z", [zones]).fetchall()
        return {z: (int(moved), int(n), first) for z, moved, n, first in rows}
    finally:
        con.close()


def ingest_folder(ws: Workspace, folder: str | Path, mode: str = "replace",
                  explicit: dict | None = None) -> list[IngestResult]:
    """Load every CSV, TSV and Parquet file of a folder (cli.md ``ingest``). A file is matched by
    its name (``payments.csv``) or else by its header (and by what this workspace remembers of
    it); a second file of the same dataset appends. Every file is matched before any is loaded,
    so one that fits no dataset stops the run early. ``explicit`` entries may also hold
    ``answers`` to the file's questions."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError.at(file=str(root), problem="no such folder", hint="check the path")
    files = sorted(p for p in root.iterdir() if p.is_file() and p.name.lower().endswith(FOLDER_SUFFIXES))
    if not files:
        raise InputError.at(file=str(root), problem="the folder holds no CSV, TSV or Parquet files",
                            hint="put one file per dataset in it, named after the dataset (payments.csv)")
    explicit = explicit or {}
    unknown = [k for k in explicit if not (root / k).is_file()]
    if unknown:
        raise InputError.at(file=unknown[0], problem="is named in the mapping file but is not in the folder",
                            hint=f"check the file name in {root}")
    plans = []
    for p in files:
        entry = explicit.get(p.name, {})
        layout = sniff(p)
        plans.append((_plan(layout, entry.get("dataset"), entry.get("columns"), (), (), entry.get("answers"), ws),
                      entry))
    results, seen = [], set()
    for plan, entry in plans:
        file_mode = "append" if plan.dataset in seen else mode
        seen.add(plan.dataset)
        results.append(_ingest_plan(ws, plan, file_mode, None))
        if plan.explicit and not ws.read_only:
            _remember(ws, plan, entry.get("columns") or {}, entry.get("answers") or {}, ())
    return results


# --- personal data ------------------------------------------------------------------------------
_PERSON_QUALIFIERS = {"first", "last", "full", "given", "family", "middle", "sur", "customer", "contact", "card",
                      "shipping", "billing", "person", "user", "display", "requester", "respondent", "holder",
                      "account", "client", "buyer", "owner", "maiden", "nick"}
_PERSON_HEADERS = {"firstname", "lastname", "fullname", "surname", "givenname", "familyname", "forename",
                   "requester", "submitter", "assignee", "reporter", "creator", "contactowner", "projectlead",
                   "cardholder", "customername", "username"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_IPV4 = re.compile(r"^(?:\d{1,3}\.){3}\d{1,3}$")
_IPV6 = re.compile(r"^[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}$")
_PHONE = re.compile(r"^(?:\+\d[\d\s().-]{6,}|\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4})$")


def _tokens(header: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", str(header)).lower())


def _header_kind(header: str) -> str | None:
    norm = normalise_name(header)
    tokens = _tokens(header)
    if "email" in norm or "mail" in tokens:
        return "email"
    if any(t in ("phone", "mobile", "telephone", "cellphone", "tel", "fax") for t in tokens) or "phone" in norm:
        return "phone"
    if "ip" in tokens or "ipaddress" in norm or norm in ("ipv4", "ipv6"):
        return "ip"
    if norm in _PERSON_HEADERS or ("name" in tokens and any(t in _PERSON_QUALIFIERS for t in tokens)) \
            or any(norm.endswith(x) for x in ("firstname", "lastname", "fullname")):
        return "name"
    return None


def _value_kind(values: list) -> str | None:
    vals = [str(v).strip() for v in values if v is not None and str(v).strip() and str(v) != "nan"]
    if not vals:
        return None
    for kind, pattern, share in (("email", _EMAIL, 0.5), ("ip", _IPV4, 0.8), ("ip", _IPV6, 0.8),
                                 ("phone", _PHONE, 0.8)):
        if sum(bool(pattern.match(v)) for v in vals) / len(vals) >= share:
            return kind
    return None


def detect_personal_data(source, sample: pd.DataFrame | None = None) -> dict[str, str]:
    """Columns that hold personal data: {column: 'email' | 'phone' | 'name' | 'ip'}, judged by the
    header and, where a sample is at hand, by the values. ``source`` is a file path or a list of
    column names."""
    if isinstance(source, (str, Path)):
        layout = sniff(source)
        columns = list(layout.columns)
        if sample is None:
            sample = read_sample(layout)
    else:
        columns = list(source)
    found = {}
    for col in columns:
        kind = _header_kind(col)
        if kind is None and sample is not None and col in sample.columns:
            series = sample[col]
            if isinstance(series, pd.DataFrame):
                series = series.iloc[:, 0]
            kind = _value_kind(series.tolist())
        if kind:
            found[col] = kind
    return found
