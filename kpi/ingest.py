"""Load a file (or a folder of files) into the workspace as a typed dataset, all-or-nothing per file.

DuckDB reads the file (every column as text), one SQL ``SELECT`` turns the mapped columns into
their canonical names and types and keeps the rest as segment columns, and the dataset is swapped
in inside one transaction. A value that cannot be converted rejects the whole file with a message
that names the file, line, column and value; the workspace is then left exactly as it was.
"""
from __future__ import annotations

import re
import secrets as _secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

import duckdb
import pandas as pd

from .datasets import DATASETS, SQL_TYPES, normalise_name
from .detect import (BILLING_PERIODS, COMMA_DECIMAL_EVIDENCE, DEFECT_STAGES, DERIVED_INPUTS,
                     DOT_DECIMAL_EVIDENCE, FALSE_WORDS, NULL_MARKERS, TRUE_WORDS, FileLayout, detect,
                     explain_no_match, read_sample, reader_sql, sniff)
from .errors import InputError
from .quality import rule_warnings
from .workspace import Workspace, quote_ident

FOLDER_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz", ".parquet")
SECRET_SETTING = "pseudonym_secret"
HASH_CHARS = 16           # hex characters kept of a pseudonym: 64 bits, no collisions in practice
PROFILE_ROWS = 1000       # rows a preview looks at to decide date and number forms

_TIMES = ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p", " %I:%M%p", " %I:%M:%S%p")
_TYPE_WORDS = {"number": "a number", "int": "a whole number", "date": "a date", "timestamp": "a date and time",
               "bool": "true or false (use true/false, yes/no, 1/0)"}


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


@dataclass(frozen=True)
class _Plan:
    layout: FileLayout
    dataset: str
    mapping: dict[str, str]          # canonical column (or derived input) -> source column
    derived: dict[str, str]
    extras: list[tuple[str, str]]    # (source column, name it is stored under)
    hashed: frozenset[str]           # source columns stored as keyed hashes


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _lit_list(items: Iterable[str]) -> str:
    return "(" + ", ".join(_lit(i) for i in items) + ")"


# --- planning: which dataset, which columns -----------------------------------------------
def _plan(layout: FileLayout, dataset: str | None, mapping: dict | None, drop_columns: Iterable[str],
          pseudonymise: Iterable[str]) -> _Plan:
    name = layout.file_name
    if dataset is not None and dataset not in DATASETS:
        raise InputError.at(file=name, problem=f"unknown dataset {dataset!r}",
                            hint=f"use one of: {', '.join(DATASETS)}")
    columns = list(layout.columns)
    fixed = _check_explicit_mapping(name, columns, dataset, mapping or {})
    sample = read_sample(layout)
    found = detect(columns, sample, name, dataset=dataset, fixed=fixed)
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
    missing = [c for c in ds.required if c not in chosen and c not in derived]
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
    return _Plan(layout, found.dataset, chosen, derived, extras, hashed)


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
    layout = plan.layout
    types = dict(zip(layout.columns, layout.types)) if layout.types else {}
    index = {c: i for i, c in enumerate(layout.columns)}
    fits = {"date": ("date", "timestamp", "timestamptz"), "timestamp": ("date", "timestamp", "timestamptz"),
            "number": ("float", "integer"), "int": ("float", "integer"), "bool": ("bool",), "id": ("float",)}
    out = []
    for k, (canon, src) in enumerate(plan.mapping.items()):
        col_type = _column_type(plan.dataset, canon)
        kind = _direct_kind(types[src]) if src in types else None
        direct = kind if kind in fits.get(col_type, ()) else None
        needs_typing = col_type not in ("id", "text") or (plan.dataset, canon) in _SPECIAL_TEXT or direct
        out.append(_Source(canon, f"c{index[src]}", col_type, direct, f"t{k}" if needs_typing else None))
    return out


def _load_raw(cur: duckdb.DuckDBPyConnection, plan: _Plan, limit: int | None = None) -> FileLayout:
    """Read the file into the temporary table ``_kpi_raw`` (rowid = the file's row order), with the
    mapped columns trimmed and empty markers turned into NULL on the way in. Returns the layout
    actually used: a UTF-8 guess that meets Latin-1 bytes further down is read again as Latin-1."""
    layout = plan.layout
    sql, params = reader_sql(layout)
    by_raw = {s.raw: s for s in _sources(plan)}
    exprs = []
    for i in range(len(layout.columns)):
        c, s = f"c{i}", by_raw.get(f"c{i}")
        text = f"CAST({c} AS VARCHAR)" if layout.format == "parquet" else c
        if s is None or s.direct:
            exprs.append(c)
        elif s.typed:
            exprs.append(f"{_clean_typed(text)} AS {c}")
        else:
            exprs.append(f"{_clean_text(text)} AS {c}")
    cur.execute("DROP TABLE IF EXISTS _kpi_raw")
    query = f"CREATE TEMP TABLE _kpi_raw AS SELECT {', '.join(exprs)} FROM {sql}" + (
        f" LIMIT {int(limit)}" if limit else "")
    try:
        cur.execute(query, params)
    except duckdb.Error as exc:
        if layout.format == "csv" and layout.encoding.startswith("utf-8") and "unicode" in str(exc).lower():
            retry = replace(plan, layout=replace(layout, encoding="latin-1"))
            return _load_raw(cur, retry, limit)
        raise _csv_error(layout, exc) from None
    if layout.footer_rows and not limit:
        n = cur.execute("SELECT count(*) FROM _kpi_raw").fetchall()[0][0]
        cur.execute("DELETE FROM _kpi_raw WHERE rowid >= ? AND lower(trim(CAST(c0 AS VARCHAR))) LIKE 'total%'",
                    [n - layout.footer_rows])
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
        return f"TRY_CAST({c} AS TIMESTAMP)"
    if bucket == "iso_zoned":
        unspaced = f"regexp_replace({c}, '\\s+([+-]\\d{{2}}(?::?\\d{{2}})?)$', '\\1')"
        return f"timezone('UTC', TRY_CAST({unspaced} AS TIMESTAMPTZ))"
    if bucket == "ymd_slash":
        return f"TRY_CAST(replace({c}, '/', '-') AS TIMESTAMP)"
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


def _timestamp_sql(c: str, forms: dict) -> str:
    buckets = sorted(forms.get("buckets") or {"iso"})
    order = forms.get("order", "mdy")
    if len(buckets) == 1:
        return _date_form_sql(c, buckets[0], order)
    whens = " ".join(f"WHEN {_lit(b)} THEN {_date_form_sql(c, b, order)}" for b in buckets)
    return f"CASE {_date_bucket(c)} {whens} END"


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


def _typed_sql(plan: _Plan, s: _Source, forms: dict) -> str:
    """SQL for the converted value of one mapped column (dates as TIMESTAMP, ints as DOUBLE: the
    final SELECT narrows them once the values are known to be good)."""
    c = s.raw
    if s.direct:
        if s.type in ("date", "timestamp"):
            return f"timezone('UTC', {c})" if s.direct == "timestamptz" else f"CAST({c} AS TIMESTAMP)"
        if s.type in ("number", "int"):
            return f"CAST({c} AS DOUBLE)"
        if s.type == "id":
            return f"CASE WHEN {c} = trunc({c}) THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END"
        return c
    if (plan.dataset, s.canon) == ("subscriptions", "billing_period"):
        return _billing_sql(c)
    if (plan.dataset, s.canon) == ("defects", "stage"):
        return _stage_sql(c)
    if s.type in ("number", "int"):
        return _number_sql(c, forms.get("comma_decimal", False))
    if s.type == "bool":
        return _bool_sql(c)
    return _timestamp_sql(c, forms)


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
            part = (f"CASE WHEN bucket = 'slash' THEN TRY_CAST(split_part(v, '/', {{n}}) AS INT) END")
            rows = cur.execute(
                f"SELECT bucket, count(*), max({part.format(n=1)}), max({part.format(n=2)}) FROM "
                f"(SELECT {_date_bucket(c)} AS bucket, {c} AS v FROM _kpi_raw WHERE {c} IS NOT NULL) "
                f"GROUP BY bucket").fetchall()
            f["buckets"] = {r[0] for r in rows}
            first = max((r[2] or 0 for r in rows), default=0)
            second = max((r[3] or 0 for r in rows), default=0)
            if "slash" in f["buckets"]:
                if s.canon in set(day_first) or (first > 12 and second <= 12):
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
    if number_aggs:
        counts = cur.execute(f"SELECT {', '.join(number_aggs)} FROM _kpi_raw").fetchall()[0]
        for i, canon in enumerate(number_cols):
            comma, dot = counts[2 * i], counts[2 * i + 1]
            forms[canon]["comma_decimal"] = bool(comma) and not dot
    return forms


def _convert(cur, plan: _Plan, forms: dict) -> None:
    """Convert every mapped column once, into ``_kpi_conv`` (raw columns kept for the checks)."""
    typed = [f"{_typed_sql(plan, s, forms[s.canon])} AS {s.typed}" for s in _sources(plan) if s.typed]
    cur.execute("DROP TABLE IF EXISTS _kpi_conv")
    cur.execute(f"CREATE TEMP TABLE _kpi_conv AS SELECT rowid AS __row, *{''.join(', ' + t for t in typed)} "
                f"FROM _kpi_raw")
    cur.execute("DROP TABLE _kpi_raw")


def _select_sql(plan: _Plan, forms: dict, secret: str | None) -> tuple[str, list]:
    """The one SELECT that produces the dataset: canonical columns typed, extras kept as written."""
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

    parts = []
    for col in ds.columns:
        name = quote_ident(col.name)
        if col.name in by_canon:
            expr = value(col.name)
            if plan.mapping[col.name] in plan.hashed:
                expr = hashed(expr)
        elif col.name == "mrr" and "mrr" in plan.derived:
            months = (f"CASE {value('billing_period')} WHEN 'quarter' THEN 3 WHEN 'year' THEN 12 ELSE 1 END"
                      if "billing_period" in by_canon else "1")
            quantity = f"coalesce({value('quantity')}, 1)" if "quantity" in by_canon else "1"
            expr = f"{value('amount')} * {quantity} / {months}"
        elif plan.dataset == "subscriptions" and col.name == "billing_period":
            expr = "'month'"
        else:
            expr = f"CAST(NULL AS {SQL_TYPES[col.type]})"
        parts.append(f"{expr} AS {name}")
    for src, out in plan.extras:
        ref = f"c{index[src]}"
        expr = hashed(_clean_text(f"CAST({ref} AS VARCHAR)")) if src in plan.hashed else ref
        parts.append(f"{expr} AS {quote_ident(out)}")
    where = " AND ".join(f"{quote_ident(c)} IS NOT NULL" for c in ds.required)
    return f"SELECT * FROM (SELECT {', '.join(parts)} FROM _kpi_conv) WHERE {where}", params


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
    src = plan.mapping[s.canon]
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
        key = "amount" if canon == "mrr" and "mrr" in plan.derived else canon
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
    made = _secrets.token_hex(32)
    ws.set_setting(SECRET_SETTING, made)
    return made


def ingest_file(ws: Workspace, path: str | Path, *, dataset: str | None = None, mapping: dict | None = None,
                mode: str = "replace", file_name: str | None = None, drop_columns: Iterable[str] = (),
                pseudonymise: Iterable[str] = (), secret: str | None = None,
                day_first: Iterable[str] = ()) -> IngestResult:
    """Load one file as a dataset: all of it or, on any problem, nothing (``InputError``).

    ``mapping`` (canonical column -> file column) may be partial: detection fills in the rest.
    ``drop_columns`` and ``pseudonymise`` name file columns (or the canonical columns they map
    to); pseudonyms are ``sha256(secret || value)`` cut to 16 hex characters. ``day_first`` lists
    date columns to read as DD/MM/YYYY when the values alone cannot tell.
    """
    ws.require_writable("load data")
    if mode not in ("replace", "append"):
        raise InputError(f"unknown mode {mode!r} — use replace or append")
    layout = sniff(path, file_name=file_name)
    plan = _plan(layout, dataset, mapping, drop_columns, pseudonymise)
    return _ingest_plan(ws, plan, mode, secret, day_first)


def _ingest_plan(ws: Workspace, plan: _Plan, mode: str, secret: str | None, day_first: Iterable[str]) -> IngestResult:
    name = plan.layout.file_name
    if plan.hashed and secret is None:
        secret = workspace_secret(ws)
    try:
        return _ingest_checked(ws, plan, mode, secret, day_first)
    except duckdb.Error as exc:
        raise InputError.at(file=name, problem=f"the file could not be loaded ({str(exc).splitlines()[0]})",
                            hint="check the column mapping, or tell us about this file") from None


def _ingest_checked(ws: Workspace, plan: _Plan, mode: str, secret: str | None,
                    day_first: Iterable[str]) -> IngestResult:
    name = plan.layout.file_name
    warnings: list[str] = []
    with ws.cursor() as cur:
        plan = replace(plan, layout=_load_raw(cur, plan))
        read = cur.execute("SELECT count(*) FROM _kpi_raw").fetchall()[0][0]
        if read == 0:
            raise InputError.at(file=name, problem="the file has a header but no rows",
                                hint="export the table again with its rows")
        forms = _profile(cur, plan, day_first)
        _convert(cur, plan, forms)
        bad = _first_bad_value(cur, plan, forms)
        if bad:
            raise bad
        ambiguous = [c for c, f in forms.items() if f.get("ambiguous")]
        for canon in ambiguous:
            warnings.append(f"column {plan.mapping[canon]}: dates like 03/04/2025 could be day/month or month/day "
                            f"and were read as month/day (March 4) — if they are day/month, load the file again "
                            f"with {canon} read day first")
        incomplete = _count_incomplete(cur, plan)
        select, params = _select_sql(plan, forms, secret)
        before = ws.row_count(plan.dataset) if mode == "append" and ws.has(plan.dataset) else 0
        cur.execute("BEGIN TRANSACTION")
        try:
            rows = ws.replace_table(cur, plan.dataset, select, params, source=name, mapping=dict(plan.mapping),
                                    mode=mode)
            if rows == 0:
                raise InputError.at(file=name, problem="no row has a value in every required column "
                                    f"({', '.join(DATASETS[plan.dataset].required)})",
                                    hint="fill in the required columns, or map them to other columns")
            if mode == "replace":
                distinct = cur.execute(f"SELECT count(*) FROM (SELECT DISTINCT * FROM {quote_ident(plan.dataset)})"
                                       ).fetchall()[0][0]
                if rows - distinct:
                    warnings.append(f"{_rows(rows - distinct, 'duplicate')} (exact copies of another row) "
                                    f"{_were(rows - distinct)} kept")
            cur.execute("COMMIT")
        except InputError:
            cur.execute("ROLLBACK")
            raise
        except duckdb.Error as exc:
            cur.execute("ROLLBACK")
            raise InputError.at(file=name, problem=f"the file could not be loaded ({str(exc).splitlines()[0]})",
                                hint="check the column mapping, or tell us about this file") from None
        cur.execute("DROP TABLE IF EXISTS _kpi_conv")
    if incomplete:
        warnings.append(f"{_rows(incomplete)} without a value in a required column "
                        f"({', '.join(DATASETS[plan.dataset].required)}) {_were(incomplete)} left out")
    if mode == "append":
        dropped = before + (read - incomplete) - rows
        if dropped > 0:
            warnings.append(f"{_rows(dropped, 'duplicate')} (exact copies of rows already loaded) "
                            f"{_were(dropped)} left out")
    warnings.extend(rule_warnings(ws, plan.dataset))
    return IngestResult(file=name, dataset=plan.dataset, rows=rows, warnings=warnings, mapping=dict(plan.mapping),
                        mode=mode, derived=dict(plan.derived), ambiguous_dates=ambiguous,
                        extra_columns=[out for _, out in plan.extras])


def _rows(n: int, adjective: str = "") -> str:
    words = f"{adjective} row" if adjective else "row"
    return f"{n:,} {words}" + ("" if n == 1 else "s")


def _were(n: int) -> str:
    return "was" if n == 1 else "were"


def preview(path: str | Path, dataset: str | None = None, mapping: dict | None = None, n: int = 20, *,
            file_name: str | None = None, drop_columns: Iterable[str] = (),
            day_first: Iterable[str] = ()) -> pd.DataFrame:
    """The first ``n`` rows as they will be stored (values that cannot be converted show empty)."""
    layout = sniff(path, file_name=file_name)
    plan = _plan(layout, dataset, mapping, drop_columns, ())
    con = duckdb.connect()
    try:
        plan = replace(plan, layout=_load_raw(con, plan, limit=max(PROFILE_ROWS, n)))
        forms = _profile(con, plan, day_first)
        _convert(con, plan, forms)
        select, params = _select_sql(plan, forms, None)
        return con.execute(f"{select} LIMIT {int(n)}", params).df()
    finally:
        con.close()


def ingest_folder(ws: Workspace, folder: str | Path, mode: str = "replace",
                  explicit: dict | None = None) -> list[IngestResult]:
    """Load every CSV, TSV and Parquet file of a folder (cli.md ``ingest``). A file is matched by
    its name (``payments.csv``) or else by its header; a second file of the same dataset appends.
    Every file is matched before any is loaded, so one that fits no dataset stops the run early."""
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
        plans.append(_plan(layout, entry.get("dataset"), entry.get("columns"), (), ()))
    results, seen = [], set()
    for plan in plans:
        file_mode = "append" if plan.dataset in seen else mode
        seen.add(plan.dataset)
        results.append(_ingest_plan(ws, plan, file_mode, None, ()))
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
