"""KPI SQL is written once, in DuckDB's dialect; this turns it into PostgreSQL's or Spark's.

SQLGlot does most of the work, but it never refuses: where its output is invalid or, worse, runs
and gives other numbers (``percentile_cont`` becomes Spark's approximate ``PERCENTILE_APPROX``),
the rewrites below put the exact equivalent in. What SQLGlot cannot know — that ``date - date``
means days in DuckDB and an interval in Spark, that ``date_diff('month')`` counts boundaries in
DuckDB and whole months in Spark — is kept out of our SQL instead, and :func:`problems` (the lint
of ``tests/test_engine_dialect.py``) fails when such a construct comes back.

Parameters stay bound on every engine: each ``?`` becomes a named parameter (``%(p0)s`` for
psycopg, ``:p0`` for Spark) and the values travel apart from the text.
"""
from __future__ import annotations

import functools
import threading
import re
from typing import Sequence

import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

TARGETS = ("postgres", "spark")


def _named_parameters(sql: str) -> str:
    """The text with its n-th ``?`` written ``$pn`` (the tokenizer skips ``?`` in strings and names)."""
    tokens = sqlglot.Dialect.get_or_raise("duckdb").tokenize(sql)
    out, last, n = [], 0, 0
    for token in tokens:
        if token.token_type == TokenType.PLACEHOLDER and token.text == "?":
            out.append(sql[last:token.start])
            out.append(f"$p{n}")
            last, n = token.end + 1, n + 1
    out.append(sql[last:])
    return "".join(out)


def _percentile(node: exp.Expression) -> exp.Expression:
    """Spark: the exact ``percentile(x, q)`` for ``percentile_cont(q) WITHIN GROUP (ORDER BY x)``
    (SQLGlot's PERCENTILE_APPROX runs and gives other medians)."""
    if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileCont):
        order = node.expression.expressions[0]
        if order.args.get("desc"):
            raise ValueError("percentile_cont over a descending order is not portable")
        return exp.Anonymous(this="percentile", expressions=[order.this.copy(), node.this.this.copy()])
    return node


def _date_trunc(node: exp.Expression) -> exp.Expression:
    """Spark: always ``date_trunc(unit, x)``; SQLGlot writes ``TRUNC(date, 'DAY')`` for a date,
    which Spark answers with null for days."""
    if isinstance(node, (exp.DateTrunc, exp.TimestampTrunc)):
        unit = node.args.get("unit")
        name = unit.name if isinstance(unit, (exp.Literal, exp.Var)) else str(node.text("unit"))
        return exp.Anonymous(this="date_trunc", expressions=[exp.Literal.string(name.upper()), node.this.copy()])
    return node


def _arg_max(node: exp.Expression) -> exp.Expression:
    """PostgreSQL has no max_by/min_by: the first of the values ordered by the key."""
    if isinstance(node, (exp.ArgMax, exp.ArgMin)):
        desc = isinstance(node, exp.ArgMax)
        ordered = exp.Ordered(this=node.expression.copy(), desc=desc, nulls_first=False)
        agg = exp.ArrayAgg(this=exp.Order(this=node.this.copy(), expressions=[ordered]))
        return exp.Bracket(this=exp.Paren(this=agg), expressions=[exp.Literal.number(0)])  # SQLGlot counts from 0
    return node


def _round(node: exp.Expression) -> exp.Expression:
    """PostgreSQL rounds only numeric to n places: round exactly in numeric, back to double."""
    if isinstance(node, exp.Round) and node.args.get("decimals") is not None:
        inner = exp.Round(this=exp.cast(node.this.copy(), "DECIMAL"), decimals=node.args["decimals"].copy())
        return exp.cast(inner, "DOUBLE")
    return node


_NUMBER_TEXT = r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
_DATE_TEXT = r"^\s*[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?\s*$"


def _try_cast(node: exp.Expression) -> exp.Expression:
    """PostgreSQL 15 cannot try a cast: the cast is made only of text that reads as the type (a
    number; an ISO date or time — a date-shaped impossible day such as 2025-02-30 still fails)."""
    if isinstance(node, exp.TryCast):
        to = node.args["to"]
        if to.is_type(*exp.DataType.NUMERIC_TYPES):
            pattern = _NUMBER_TEXT
        elif to.is_type(*exp.DataType.TEMPORAL_TYPES):
            pattern = _DATE_TEXT
        else:
            return exp.Cast(this=node.this.copy(), to=to.copy())
        text = exp.cast(node.this.copy(), "VARCHAR")
        looks = exp.RegexpLike(this=text, expression=exp.Literal.string(pattern))
        return exp.Case(ifs=[exp.If(this=looks, true=exp.Cast(this=text.copy(), to=to.copy()))])
    return node


_NO_SEGMENT = "\x1e"   # stands for "no segment value" in a join key (a control character: never a value)


def _segment_join(node: exp.Expression) -> exp.Expression:
    """PostgreSQL cannot hash or merge ``a.seg IS NOT DISTINCT FROM b.seg``: it joins such rows in
    nested loops, computing the inner side again for every outer row (17 minutes for one KPI at
    10 M events). Segment values are text, so ``COALESCE(a.seg, '\x1e') = COALESCE(b.seg, '\x1e')``
    says the same and joins by hash."""
    if isinstance(node, exp.NullSafeEQ) and all(isinstance(side, exp.Column) and side.name == "seg"
                                                for side in (node.this, node.expression)):
        return exp.EQ(this=exp.Coalesce(this=node.this.copy(), expressions=[exp.Literal.string(_NO_SEGMENT)]),
                      expression=exp.Coalesce(this=node.expression.copy(),
                                              expressions=[exp.Literal.string(_NO_SEGMENT)]))
    return node


def _series_in_select(node: exp.Expression) -> exp.Expression:
    """``unnest(generate_series(a, b))`` in a select list: PostgreSQL's generate_series already
    returns rows (unnest of it is an error)."""
    if isinstance(node, (exp.Explode, exp.Unnest)) and isinstance(node.this, exp.GenerateSeries):
        return node.this.copy()
    return node


def _series_table(node: exp.Expression) -> exp.Expression:
    """Spark: ``FROM generate_series(a, b, step) s(x)`` as ``FROM (SELECT explode(sequence(a, b,
    step)) AS x) s``."""
    if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries):
        alias = node.args.get("alias")
        column = alias.columns[0].name if alias is not None and alias.columns else "generate_series"
        name = alias.name if alias is not None and alias.name else "_series"
        series = node.this
        seq = exp.Anonymous(this="sequence", expressions=[a.copy() for a in
                                                          (series.args["start"], series.args["end"],
                                                           series.args.get("step")) if a is not None])
        select = exp.select(exp.alias_(exp.Explode(this=seq), column))
        return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(name)))
    return node


def _alias_subqueries(tree: exp.Expression) -> exp.Expression:
    """PostgreSQL 15 wants an alias on every subquery in FROM or JOIN."""
    n = 0
    for sub in list(tree.find_all(exp.Subquery)):
        if sub.alias or not isinstance(sub.parent, (exp.From, exp.Join)):
            continue
        sub.set("alias", exp.TableAlias(this=exp.to_identifier(f"_q{n}")))
        n += 1
    return tree


# SQLGlot's parser and generators are not safe to run from several threads at once (two computes
# translating together came out with DuckDB's ``$p0`` markers left in Spark SQL): one at a time.
_TRANSLATING = threading.Lock()


@functools.lru_cache(maxsize=4096)
def _translate_text(sql: str, target: str) -> str:
    if target not in TARGETS:
        raise ValueError(f"unknown SQL dialect {target!r}")
    with _TRANSLATING:
        return _translate_tree(sql, target)


def _translate_tree(sql: str, target: str) -> str:
    tree = sqlglot.parse_one(_named_parameters(sql), read="duckdb")
    if target == "spark":
        tree = tree.transform(_percentile).transform(_series_table).transform(_date_trunc)
    else:
        tree = tree.transform(_arg_max).transform(_round).transform(_series_in_select).transform(_try_cast)
        tree = tree.transform(_segment_join)
        tree = _alias_subqueries(tree)
    text = tree.sql(dialect=target)
    if target == "postgres":  # psycopg reads % as the start of a parameter: a literal one is %%
        text = re.sub(r"%(?!\(p\d+\)s)", "%%", text)
    return text


def translate(sql: str, params: Sequence, target: str) -> tuple[str, dict]:
    """(text in the target's dialect, its named parameters) for DuckDB SQL with ``?`` parameters.
    Texts are cached: a compute runs the same statements again with other values."""
    return _translate_text(sql, target), {f"p{i}": v for i, v in enumerate(params or ())}


# ---------------------------------------------------------------------------------------------
# The lint: constructs our SQL must not use, because they mean other things on other engines
# ---------------------------------------------------------------------------------------------
_DATE_TYPES = {exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ,
               exp.DataType.Type.DATETIME}


def _is_date(node: exp.Expression) -> bool:
    t = node.type
    return t is not None and t.this in _DATE_TYPES


def problems(sql: str, schema: dict | None = None) -> list[str]:
    """Every non-portable construct in one DuckDB statement, in words (empty: portable).

    ``schema`` ({table: {column: type}}) lets the types of expressions be worked out, so that a
    subtraction of two dates is found.
    """
    tree = sqlglot.parse_one(_named_parameters(sql), read="duckdb")
    found = []
    for node in tree.walk():
        if isinstance(node, exp.Extract) and node.name.upper() == "EPOCH":
            found.append("EXTRACT(EPOCH FROM …): Spark lacks it — use date_diff('microsecond', a, b) / 1e6")
        elif isinstance(node, (exp.DateDiff, exp.DatetimeDiff, exp.TimestampDiff)) and \
                (node.unit.upper() if isinstance(node.unit, str) else (node.text("unit") or "").upper()) \
                in ("MONTH", "QUARTER", "YEAR"):
            found.append("date_diff('month' …): Spark counts whole months, DuckDB month boundaries — "
                         "subtract year * 12 + month instead")
        elif isinstance(node, exp.Anonymous) and node.name.lower() in ("to_months", "to_days", "to_years"):
            found.append(f"{node.name}(n): not portable — write n * INTERVAL 1 MONTH")
        elif isinstance(node, exp.Alias) and isinstance(node.this, exp.Null):
            found.append(f"NULL AS {node.alias}: PostgreSQL types an untyped NULL as text — cast it")
        elif isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries) is False \
                and node.name.lower() in ("information_schema",):
            found.append("information_schema: Spark has none — ask the engine for tables and columns")
        elif isinstance(node, exp.With):
            outer = {c.alias for w in _enclosing_withs(node) for c in w.expressions}
            for cte in node.expressions:
                if cte.alias in outer:
                    found.append(f"CTE {cte.alias} is named like an enclosing CTE: SQLGlot hoists it on Spark "
                                 "and the names clash — rename it")
    if schema is not None:
        found += _date_subtractions(tree, schema)
    return found


def _enclosing_withs(node: exp.With) -> list[exp.With]:
    out, parent = [], node.parent.parent if node.parent is not None else None
    while parent is not None:
        w = parent.args.get("with_") or parent.args.get("with")
        if isinstance(w, exp.With) and w is not node:
            out.append(w)
        parent = parent.parent
    return out


def _date_subtractions(tree: exp.Expression, schema: dict) -> list[str]:
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify
    try:
        typed = annotate_types(qualify(tree.copy(), schema=schema, dialect="duckdb", validate_qualify_columns=False,
                                       quote_identifiers=False, identify=False),
                               schema=schema, dialect="duckdb")
    except Exception:  # noqa: BLE001 — a statement the optimizer cannot type is checked by the rules above only
        return []
    return [f"{sub.sql('duckdb')}: date - date is days in DuckDB, an interval in Spark — use date_diff('day', a, b)"
            for sub in typed.find_all(exp.Sub) if _is_date(sub.left) and _is_date(sub.right)]
