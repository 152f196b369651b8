"""The lint of KPI SQL: every statement a compute runs stays portable to PostgreSQL and Spark.

A compute over the sample data (every KPI, five grains, a breakdown, a filter, custom KPIs of
each kind) is recorded statement by statement; none may use a construct that means something
else on another engine (``date - date``, ``EXTRACT(EPOCH …)``, ``date_diff('month')``,
``to_months``, an untyped ``NULL AS x``, a CTE named like an enclosing one), and each must
translate to both dialects. A new KPI that brings one back fails here, before any engine runs.
"""
from __future__ import annotations

import pytest

from kpi import custom, engines
from kpi.compute import GRAINS, compute
from kpi.custom import CustomKpi, Measure
from kpi.engines import dialect
from kpi.engines.embedded import EmbeddedSession
from kpi.ingest import ingest_folder
from kpi.workspace import Workspace
from kpi_helpers import SAMPLE


@pytest.fixture(scope="module")
def recorded():
    ws = Workspace(None)
    ingest_folder(ws, SAMPLE)
    custom.save_custom_kpi(ws, CustomKpi(id="pro_revenue", name="Pro revenue", unit="currency", direction="higher",
                                         numerator=Measure("payments", "sum", "amount", "product", ("core",))))
    custom.save_custom_kpi(ws, CustomKpi(id="avg_tickets_cost", name="Average ticket cost", unit="currency",
                                         direction="lower", numerator=Measure("tickets", "avg", "cost")))
    custom.save_custom_kpi(ws, CustomKpi(id="events_per_customer", name="Events per customer", unit="ratio",
                                         direction="higher", numerator=Measure("events", "count"),
                                         denominator=Measure("customers", "count_distinct", "customer_id")))
    seen: dict[str, None] = {}
    real = EmbeddedSession._execute, EmbeddedSession.rows, EmbeddedSession.temp

    def rec_execute(self, sql, params):
        seen[sql] = None
        return real[0](self, sql, params)

    def rec_rows(self, sql, params=()):
        seen[sql] = None
        return real[1](self, sql, params)

    temp_schema: dict = {}

    def rec_temp(self, name, sql, params=(), *, view=False):
        seen[sql] = None
        real[2](self, name, sql, params, view=view)
        temp_schema[name] = {r[0]: r[1] for r in self.cur.execute(f'DESCRIBE "{name}"').fetchall()}

    EmbeddedSession._execute, EmbeddedSession.rows, EmbeddedSession.temp = rec_execute, rec_rows, rec_temp
    try:
        raw = engines.attach(ws, engines.EmbeddedEngine(ws))
        for grain in GRAINS:
            compute(ws, grain=grain)
        compute(ws, segment="country")
        compute(ws, segment="plan", filters={"country": ["DE", "FR"]})
        compute(raw, grain="week", segment="channel")
    finally:
        EmbeddedSession._execute, EmbeddedSession.rows, EmbeddedSession.temp = real
    with ws.cursor() as cur:   # the types of every table a statement may read, for the date check
        schema = {}
        for table, column, kind in cur.execute("SELECT table_name, column_name, data_type FROM "
                                               "information_schema.columns").fetchall():
            schema.setdefault(table, {})[column] = kind
    schema.update(temp_schema)
    return list(seen), schema


def test_no_statement_of_a_compute_uses_a_non_portable_construct(recorded):
    statements, schema = recorded
    assert len(statements) > 60
    found = {}
    for sql in statements:
        for problem in dialect.problems(sql, schema):
            found.setdefault(problem, sql[:200])
    assert not found, "\n\n".join(f"{p}\n  in: {s}" for p, s in found.items())


def test_every_statement_translates_to_postgres_and_spark(recorded):
    statements, _ = recorded
    for sql in statements:
        for target in dialect.TARGETS:
            text, _ = dialect.translate(sql, [], target)
            assert text


@pytest.mark.parametrize("sql, words", [
    ("SELECT released_date - started_date AS days FROM releases", "date - date"),
    ("SELECT EXTRACT(EPOCH FROM (ended_at - started_at)) FROM incidents", "EXTRACT(EPOCH"),
    ("SELECT date_diff('month', start_date, end_date) FROM subscriptions", "date_diff('month'"),
    ("SELECT start_date + to_months(3) FROM subscriptions", "to_months"),
    ("SELECT p, NULL AS num FROM t", "NULL AS num"),
    ("WITH r AS (SELECT 1 AS x), s AS (WITH r AS (SELECT 2 AS x) SELECT * FROM r) SELECT * FROM s", "CTE r"),
])
def test_the_lint_finds_each_construct_that_breaks_another_engine(sql, words):
    schema = {"releases": {"released_date": "DATE", "started_date": "DATE"},
              "incidents": {"ended_at": "TIMESTAMP", "started_at": "TIMESTAMP"},
              "subscriptions": {"start_date": "DATE", "end_date": "DATE"}, "t": {"p": "DATE"}}
    assert any(words in p for p in dialect.problems(sql, schema)), dialect.problems(sql, schema)


def test_translation_keeps_values_bound_and_percent_signs_literal():
    text, args = dialect.translate("SELECT * FROM t WHERE a = ? AND b LIKE '50%' AND c IN (?, ?)", [1, "x'y", 3],
                                   "postgres")
    assert "%(p0)s" in text and "%(p2)s" in text and "'50%%'" in text and "x'y" not in text
    assert args == {"p0": 1, "p1": "x'y", "p2": 3}
    text, _ = dialect.translate("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM t", [], "spark")
    assert "PERCENTILE_APPROX" not in text.upper() and "percentile(" in text.lower()
