"""Custom KPIs built without SQL: a measure of one dataset (or a ratio of two), turned into safe SQL.

A PM picks a dataset, what to measure (count rows, count different values of a column, sum or
average of a column), optionally only the rows where a column has chosen values, and may divide
by a second measure. The choices are stored as plain data in the workspace document
``custom_kpis``; :func:`compute_custom` turns them into SQL in which every identifier is quoted
and every chosen value is a bound ``?`` parameter, so no text a user typed is ever run as SQL.

The periods follow ``kpis.md``: each row belongs to the period of its dataset's primary date,
rows after the as-of date are ignored, the first period is the one holding the earliest primary
date of the numerator's dataset, and an empty period is 0 for a count or a sum and null for an
average or a ratio. A ratio is always numerator over denominator of the whole period and segment.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable

from . import catalog, engines, limits
from .datasets import DATASETS, primary_date_sql
from .derived import BASE_FILTERS
from .errors import InputError
from .workspace import Workspace, quote_ident

DOC = "custom_kpis"

AGGREGATIONS: dict[str, str] = {
    "count": "Number of rows",
    "count_distinct": "Number of different values of",
    "sum": "Sum of",
    "avg": "Average of",
}
UNITS = tuple(catalog.UNITS)
DIRECTIONS = ("higher", "lower")
PERSPECTIVES = catalog.PERSPECTIVES

# DuckDB types a sum or an average can read (booleans count as 1 and 0: the average is a share).
_NUMERIC = re.compile(r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|"
                      r"UHUGEINT|FLOAT|REAL|DOUBLE|DECIMAL.*|NUMERIC.*|BOOLEAN)$", re.IGNORECASE)
_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Measure:
    """One aggregate of one dataset's rows per period, optionally only rows whose
    ``filter_column`` holds one of ``filter_values`` (compared as text)."""
    dataset: str
    agg: str                          # one of AGGREGATIONS
    column: str | None = None         # needed by count_distinct, sum and avg
    filter_column: str | None = None
    filter_values: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "filter_values", tuple(str(v) for v in (self.filter_values or ())))

    @property
    def fill_zero(self) -> bool:
        """Counts and sums are 0 in a period with no rows; an average has no value."""
        return self.agg != "avg"

    def to_dict(self) -> dict[str, Any]:
        out = {"dataset": self.dataset, "agg": self.agg, "column": self.column}
        if self.filter_column:
            out["filter_column"] = self.filter_column
            out["filter_values"] = list(self.filter_values)
        return out

    @classmethod
    def from_dict(cls, raw: Any) -> "Measure":
        if not isinstance(raw, dict):
            raise InputError(f"a custom KPI's measure must be an object, not {type(raw).__name__}")
        return cls(dataset=str(raw.get("dataset") or ""), agg=str(raw.get("agg") or ""),
                   column=raw.get("column") or None, filter_column=raw.get("filter_column") or None,
                   filter_values=tuple(raw.get("filter_values") or ()))


@dataclass(frozen=True)
class CustomKpi:
    """A KPI the team defined: a measure, or a ratio of two measures, with its unit and direction.
    ``leading``/``input``/``perspective`` place it for the balance check (lifecycle.md)."""
    id: str
    name: str
    numerator: Measure
    denominator: Measure | None = None
    unit: str = "count"
    direction: str = "higher"
    description: str = ""
    leading: bool = False
    input: bool = False
    perspective: str | None = None

    @property
    def datasets(self) -> tuple[str, ...]:
        """The datasets it reads, numerator's first (its main dataset)."""
        out = [self.numerator.dataset] + ([self.denominator.dataset] if self.denominator else [])
        return tuple(dict.fromkeys(out))

    @property
    def formula(self) -> str:
        return formula(self)

    def tags(self) -> dict[str, Any]:
        """What ``lifecycle.balance_check(extra_tags=...)`` reads."""
        return {"leading": self.leading, "input": self.input, "qualitative": False,
                "perspective": self.perspective}

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "unit": self.unit, "direction": self.direction,
                "description": self.description, "leading": self.leading, "input": self.input,
                "perspective": self.perspective, "numerator": self.numerator.to_dict(),
                "denominator": self.denominator.to_dict() if self.denominator else None}

    @classmethod
    def from_dict(cls, raw: Any) -> "CustomKpi":
        if not isinstance(raw, dict):
            raise InputError(f"a custom KPI must be an object, not {type(raw).__name__}")
        den = raw.get("denominator")
        return cls(id=str(raw.get("id") or ""), name=str(raw.get("name") or ""),
                   numerator=Measure.from_dict(raw.get("numerator")),
                   denominator=Measure.from_dict(den) if den else None,
                   unit=str(raw.get("unit") or "count"), direction=str(raw.get("direction") or "higher"),
                   description=str(raw.get("description") or ""), leading=bool(raw.get("leading", False)),
                   input=bool(raw.get("input", False)), perspective=raw.get("perspective") or None)


# ---------------------------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------------------------
def _measure_words(m: Measure) -> str:
    if m.agg == "count":
        text = f"Number of {m.dataset} rows"
    elif m.agg == "count_distinct":
        text = f"Number of different {m.column} values in {m.dataset}"
    elif m.agg == "sum":
        text = f"Sum of {m.column} in {m.dataset}"
    else:
        text = f"Average {m.column} in {m.dataset}"
    if m.filter_column and m.filter_values:
        values = " or ".join(f"“{v}”" for v in m.filter_values)
        text += f" where {m.filter_column} is {values}"
    return text


def formula(kpi: CustomKpi) -> str:
    """The formula in words, e.g. "Sum of amount of payments where plan is 'pro', per period"."""
    date_of = lambda m: DATASETS[m.dataset].primary_date if m.dataset in DATASETS else "date"  # noqa: E731
    if kpi.denominator is None:
        return f"{_measure_words(kpi.numerator)}, per period of {date_of(kpi.numerator)}"
    return (f"({_measure_words(kpi.numerator)}) divided by ({_lower_first(_measure_words(kpi.denominator))}), "
            f"each per period of its dataset's date")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# ---------------------------------------------------------------------------------------------
# The workspace's custom KPIs
# ---------------------------------------------------------------------------------------------
def load_custom_kpis(ws: Workspace) -> dict[str, CustomKpi]:
    """The workspace's custom KPIs by id. An entry that does not parse is skipped, so one bad
    definition cannot stop every other KPI from computing."""
    out: dict[str, CustomKpi] = {}
    for raw in ws.doc(DOC, []) or []:
        try:
            k = CustomKpi.from_dict(raw)
        except InputError:
            continue
        if k.id and k.id not in catalog.CATALOG:
            out[k.id] = k
    return out


def new_id(name: str, taken: Iterable[str] = ()) -> str:
    """An id from a name: "Enterprise revenue (EU)" → "enterprise_revenue_eu"; never a catalog id
    nor one in ``taken``."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", "_", text).strip("_")[:50] or "custom_kpi"
    if not base[0].isalpha():
        base = "kpi_" + base
    used = set(taken) | set(catalog.CATALOG)
    candidate, n = base, 2
    while candidate in used:
        candidate = f"{base}_{n}"
        n += 1
    return candidate


def column_types(ws: Workspace, dataset: str) -> dict[str, str]:
    """The loaded dataset's columns and their types (in DuckDB's words, whatever the engine), in table order."""
    if dataset not in DATASETS or not ws.has(dataset):
        return {}
    return engines.of(ws).column_types(dataset)


def numeric_columns(ws: Workspace, dataset: str) -> list[str]:
    """Columns a sum or an average can read (numbers, and true/false as 1/0)."""
    return [c for c, t in column_types(ws, dataset).items() if _NUMERIC.match(t or "")]


def column_values(ws: Workspace, dataset: str, column: str, limit: int = 100) -> list[str]:
    """The values a column holds, as text, commonest first (for the "only rows where" choice); none
    longer than ``limits.SHOWN_CHARS`` (a document in a cell is no choice to send to the browser)."""
    if column not in column_types(ws, dataset):
        raise InputError(f"{dataset} has no column {column!r} — pick one of its columns")
    q = quote_ident(column)
    rows = ws.rows(f"SELECT CAST({q} AS VARCHAR) AS v, count(*) AS n FROM {quote_ident(dataset)} "
                   f"WHERE {q} IS NOT NULL AND length(CAST({q} AS VARCHAR)) <= {limits.SHOWN_CHARS} "
                   f"GROUP BY 1 ORDER BY n DESC, v LIMIT {int(limit)}")
    return [r[0] for r in rows]


def validate(ws: Workspace, kpi: CustomKpi, *, existing: Iterable[str] = ()) -> list[str]:
    """Every problem with a definition, one sentence each (empty: it can be saved).
    ``existing``: ids already taken by other custom KPIs."""
    problems: list[str] = []
    if not kpi.name.strip():
        problems.append("Give the KPI a name.")
    if not _ID.match(kpi.id or ""):
        problems.append(f"The id {kpi.id!r} should be lower-case letters, digits and underscores.")
    elif kpi.id in catalog.CATALOG:
        problems.append(f"{kpi.id!r} is already a catalog KPI: choose another name.")
    elif kpi.id in set(existing):
        problems.append(f"There is already a custom KPI with the id {kpi.id!r}.")
    if kpi.unit not in UNITS:
        problems.append(f"Unknown unit {kpi.unit!r}: use one of {', '.join(UNITS)}.")
    if kpi.direction not in DIRECTIONS:
        problems.append("Say whether higher or lower is better.")
    if kpi.perspective is not None and kpi.perspective not in PERSPECTIVES:
        problems.append(f"Unknown perspective {kpi.perspective!r}: use one of {', '.join(PERSPECTIVES)}.")
    parts = [("", kpi.numerator)] + ([("Denominator: ", kpi.denominator)] if kpi.denominator else [])
    for prefix, m in parts:
        problems += [prefix + p for p in measure_problems(ws, m)]
    return problems


def measure_problems(ws: Workspace, m: Measure) -> list[str]:
    if m.dataset not in DATASETS:
        return [f"{m.dataset!r} is not a dataset."]
    if not ws.has(m.dataset):
        return [f"The {m.dataset} dataset is not loaded: add it on the Data page first."]
    problems = []
    types = column_types(ws, m.dataset)
    if m.agg not in AGGREGATIONS:
        problems.append(f"Unknown measure {m.agg!r}: use one of {', '.join(AGGREGATIONS)}.")
    elif m.agg != "count":
        if not m.column:
            problems.append(f"Pick the column of {m.dataset} to {'count' if m.agg == 'count_distinct' else m.agg}.")
        elif m.column not in types:
            problems.append(f"{m.dataset} has no column {m.column!r}.")
        elif m.agg in ("sum", "avg") and not _NUMERIC.match(types[m.column] or ""):
            problems.append(f"{m.dataset}.{m.column} holds {types[m.column].lower()} values, not numbers: "
                            "it can be counted but not summed or averaged.")
    if m.filter_column:
        if m.filter_column not in types:
            problems.append(f"{m.dataset} has no column {m.filter_column!r} to filter on.")
        elif not m.filter_values:
            problems.append(f"Pick at least one value of {m.filter_column}, or drop the filter.")
    return problems


def measurable(ws: Workspace, kpi: CustomKpi) -> tuple[bool, list[str]]:
    """Whether the loaded data can compute it, and if not, what is missing (plain words)."""
    missing = []
    for m in (kpi.numerator, kpi.denominator):
        if m is None:
            continue
        if m.dataset not in DATASETS or not ws.has(m.dataset):
            missing.append(f"the {m.dataset} dataset")
            continue
        types = column_types(ws, m.dataset)
        for col in (m.column, m.filter_column):
            if col and col not in types:
                missing.append(f"{m.dataset}.{col}")
    return (not missing, missing)


def save_custom_kpi(ws: Workspace, kpi: CustomKpi, *, replacing: str | None = None) -> CustomKpi:
    """Validate and store a custom KPI (``replacing``: the id of the one it edits).
    Raises :class:`InputError` listing every problem. Changes the latest saved list in one write,
    so custom KPIs others saved meanwhile stay."""
    ws.require_writable("save a custom KPI")

    def change(raw):
        others = [r for r in list(raw or []) if not (isinstance(r, dict) and replacing and r.get("id") == replacing)]
        taken = [r.get("id") for r in others if isinstance(r, dict)]
        problems = validate(ws, kpi, existing=taken)
        if problems:
            raise InputError(" ".join(problems))
        return others + [kpi.to_dict()]
    ws.update_doc(DOC, change, [], what="The custom KPIs")
    return kpi


def delete_custom_kpi(ws: Workspace, kpi_id: str) -> None:
    """Delete the custom KPI with this id from the latest saved list."""
    ws.require_writable("delete a custom KPI")
    ws.update_doc(DOC, lambda raw: [r for r in (raw or []) if not (isinstance(r, dict) and r.get("id") == kpi_id)],
                  [], what="The custom KPIs")


def computable_custom_ids(ws: Workspace) -> set[str]:
    return {k for k, v in load_custom_kpis(ws).items() if measurable(ws, v)[0]}


# ---------------------------------------------------------------------------------------------
# SQL
# ---------------------------------------------------------------------------------------------
def _source(run, dataset: str) -> tuple[str, str, str] | None:
    """(FROM clause with alias x and segment join, segment expression, date expression) for a
    dataset cut at the as-of date and cleaned as every KPI sees it; None when the run's segment
    cannot reach this dataset. ``run`` is the compute's ``compute.Run``."""
    seg = run.segment_expr(dataset)
    if seg is None:
        return None
    seg_sel, seg_join = seg
    table = quote_ident(dataset)
    if dataset in BASE_FILTERS:
        table = f"(SELECT * FROM {table} WHERE {BASE_FILTERS[dataset]})"
    if dataset == "customers":
        # The same rule as the catalog KPIs: a customer listed twice counts once, earliest signup.
        table = f"({run.first_customer_rows()})"
    date = primary_date_sql(dataset, "x.")
    return f"{table} x {seg_join}", seg_sel, date


def measure_sql(run, m: Measure) -> tuple[str, list]:
    """``SELECT p, seg, val, s, c`` per period and segment for one measure, and its parameters.
    ``s``/``c`` (sum and count of the column) are the numerator and denominator of an average."""
    src = _source(run, m.dataset)
    if src is None:
        raise InputError(f"{m.dataset} cannot take {run.split_words()}")
    from_sql, seg_sel, date = src
    col = f"x.{quote_ident(m.column)}" if m.column else None
    if m.agg == "count":
        val, s, c = "count(*)", "CAST(NULL AS DOUBLE)", "CAST(NULL AS DOUBLE)"
    elif m.agg == "count_distinct":
        val, s, c = f"count(DISTINCT {col})", "CAST(NULL AS DOUBLE)", "CAST(NULL AS DOUBLE)"
    elif m.agg == "sum":
        val, s, c = f"sum(CAST({col} AS DOUBLE))", "CAST(NULL AS DOUBLE)", "CAST(NULL AS DOUBLE)"
    elif m.agg == "avg":
        val, s, c = f"avg(CAST({col} AS DOUBLE))", f"sum(CAST({col} AS DOUBLE))", f"count({col})"
    else:
        raise InputError(f"unknown measure {m.agg!r} — use one of {', '.join(AGGREGATIONS)}")
    where, params = [f"{date} <= ?"], [run.as_of]
    if m.filter_column:
        marks = ", ".join("?" for _ in m.filter_values) or "NULL"
        where.append(f"CAST(x.{quote_ident(m.filter_column)} AS VARCHAR) IN ({marks})")
        params += list(m.filter_values)
    sql = (f"SELECT {run.period(date)} AS p, {seg_sel} AS seg, {val} AS val, {s} AS s, {c} AS c "
           f"FROM {from_sql} WHERE {' AND '.join(where)} GROUP BY 1, 2")
    return sql, params


def _segments_sql(run, datasets: Iterable[str]) -> tuple[str, list]:
    parts, params = [], []
    for ds in datasets:
        from_sql, seg_sel, date = _source(run, ds)
        parts.append(f"SELECT DISTINCT {seg_sel} AS seg FROM {from_sql} WHERE {date} <= ?")
        params.append(run.as_of)
    return " UNION ".join(parts), params


def custom_query(run, kpi: CustomKpi, firsts: dict, notes: list) -> tuple[str, list] | None:
    """The query of the custom KPI's rows (compute.OUTPUT_COLUMNS) inside a compute run; None
    (with a note) when the data cannot compute it or the segment cannot reach its datasets."""
    ok, missing = measurable(run.ws, kpi)
    if not ok:
        notes.append(f"{kpi.id}: cannot be computed from the loaded data — it needs {', '.join(missing)}")
        return None
    if run.split:
        blocked = [ds for ds in kpi.datasets if run.segment_expr(ds) is None]
        if blocked:
            notes.append(f"{kpi.id} is left out of {run.split_words()}: {', '.join(blocked)} "
                         f"has no column {run.split_columns()} and no customer to take it from.")
            return None
    first_date = firsts.get(kpi.numerator.dataset)
    if first_date is None:
        return None
    first = run.period_of(first_date)

    n_sql, params = measure_sql(run, kpi.numerator)
    ctes = [f"n AS ({n_sql})"]
    if kpi.denominator is not None:
        d_sql, d_params = measure_sql(run, kpi.denominator)
        ctes.append(f"d AS ({d_sql})")
        params += d_params
    s_sql, s_params = _segments_sql(run, kpi.datasets)
    ctes.append(f"segs AS ({s_sql})")
    params += s_params

    def filled(alias: str, m: Measure) -> str:
        return f"COALESCE({alias}.val, 0)" if m.fill_zero else f"{alias}.val"

    joins = "LEFT JOIN n ON n.p = per.p AND n.seg IS NOT DISTINCT FROM segs.seg"
    if kpi.denominator is None:
        value = filled("n", kpi.numerator)
        num, den = ("n.s", "n.c") if kpi.numerator.agg == "avg" else ("NULL", "NULL")
    else:
        joins += " LEFT JOIN d ON d.p = per.p AND d.seg IS NOT DISTINCT FROM segs.seg"
        num, den = filled("n", kpi.numerator), filled("d", kpi.denominator)
        value = f"CAST({num} AS DOUBLE) / NULLIF({den}, 0)"
    sql = (f"WITH {', '.join(ctes)} "
           f"SELECT ? AS kpi, ? AS grain, per.p AS period, segs.seg AS segment, CAST({value} AS DOUBLE) AS value, "
           f"CAST({num} AS DOUBLE) AS numerator, CAST({den} AS DOUBLE) AS denominator, per.partial "
           f"FROM _periods per CROSS JOIN segs {joins} WHERE per.p >= ? "
           f"ORDER BY per.p, segs.seg NULLS FIRST")
    return sql, params + [kpi.id, run.grain, first]


__all__ = ["AGGREGATIONS", "Measure", "CustomKpi", "formula", "load_custom_kpis", "new_id", "column_types",
           "numeric_columns", "column_values", "validate", "measurable", "save_custom_kpi",
           "delete_custom_kpi", "computable_custom_ids", "measure_sql", "custom_query", "measure_problems"]
