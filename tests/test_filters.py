"""Filters on segment values: KPIs computed on part of the data only (the sidebar's "Only rows
where <column> is <values>"). The values are worked out by hand below.

customers  a DE 2025-01-05 (ads) · b FR 2025-01-10 (seo) · c DE 2025-02-01 (ads)
payments   a Jan 100 core, Feb 100 core · b Jan 50 core, Feb 70 addon · c Feb 30 addon
marketing  Jan ads 40, seo 60 · Feb ads 10, seo 90
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from kpi.compute import column_values, compute
from kpi.errors import InputError
from kpi.workspace import Workspace

JAN, FEB = dt.date(2025, 1, 1), dt.date(2025, 2, 1)
AS_OF = dt.date(2025, 2, 28)


@pytest.fixture
def ws():
    w = Workspace(None)
    w.load_frame("customers", pd.DataFrame({
        "customer_id": ["a", "b", "c"], "signup_date": ["2025-01-05", "2025-01-10", "2025-02-01"],
        "channel": ["ads", "seo", "ads"], "country": ["DE", "FR", "DE"]}))
    w.load_frame("payments", pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "c"],
        "date": ["2025-01-10", "2025-02-10", "2025-01-12", "2025-02-12", "2025-02-15"],
        "amount": [100.0, 100.0, 50.0, 70.0, 30.0], "product": ["core", "core", "core", "addon", "addon"]}))
    w.load_frame("marketing", pd.DataFrame({
        "date": ["2025-01-01", "2025-01-01", "2025-02-01", "2025-02-01"], "channel": ["ads", "seo", "ads", "seo"],
        "spend": [40.0, 60.0, 10.0, 90.0]}))
    yield w
    w.close()


def value(frame: pd.DataFrame, kpi: str, period: dt.date, segment=None):
    rows = frame[(frame["kpi"] == kpi) & (frame["period"] == period)]
    rows = rows[rows["segment"].isna()] if segment is None else rows[rows["segment"] == segment]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_a_filter_keeps_the_rows_of_the_chosen_values(ws):
    f = compute(ws, ["revenue", "arppu"], as_of=AS_OF, filters={"country": ["DE"]})
    # DE: a and c. Revenue Jan 100 (a), Feb 100 + 30 = 130. ARPPU Feb = 130 / 2 payers = 65.
    assert value(f, "revenue", JAN)["value"] == 100.0
    assert value(f, "revenue", FEB)["value"] == 130.0
    arppu = value(f, "arppu", FEB)
    assert (arppu["numerator"], arppu["denominator"], arppu["value"]) == (130.0, 2, 65.0)
    assert set(f["segment"].dropna()) == set()           # totals of the filtered rows, no breakdown


def test_several_values_and_a_filter_that_keeps_everything(ws):
    both = compute(ws, ["revenue", "arppu"], as_of=AS_OF, filters={"country": ["DE", "FR"]})
    whole = compute(ws, ["revenue", "arppu"], as_of=AS_OF)
    # Feb: 100 + 70 + 30 = 200 from 3 payers either way.
    assert value(both, "revenue", FEB)["value"] == value(whole, "revenue", FEB)["value"] == 200.0
    assert value(both, "arppu", FEB)["value"] == pytest.approx(200 / 3)
    pd.testing.assert_frame_equal(both.reset_index(drop=True), whole.reset_index(drop=True))


def test_a_filter_with_a_breakdown(ws):
    f = compute(ws, ["revenue"], as_of=AS_OF, segment="product", filters={"country": ["DE"]})
    # DE in Feb: a core 100, c addon 30; b's addon 70 (FR) is filtered out.
    assert value(f, "revenue", FEB, "core")["value"] == 100.0
    assert value(f, "revenue", FEB, "addon")["value"] == 30.0
    assert set(f["segment"]) == {"core", "addon"}


def test_a_kpi_whose_data_cannot_be_filtered_is_left_out_with_a_note(ws):
    f = compute(ws, ["cac", "revenue"], as_of=AS_OF, filters={"country": ["DE"]})
    assert set(f["kpi"]) == {"revenue"}                 # marketing has no country and no customer
    assert any("cac" in n and "country" in n for n in f.attrs["notes"])
    # By channel it can: Feb ads spend 10 over 1 new ads customer (c) = 10.
    g = compute(ws, ["cac"], as_of=AS_OF, filters={"channel": ["ads"]})
    cac = value(g, "cac", FEB)
    assert (cac["numerator"], cac["denominator"], cac["value"]) == (10.0, 1, 10.0)


def test_values_are_data_not_sql_and_unknown_columns_are_refused(ws):
    hostile = ["DE') OR 1=1 --", "x'; DROP TABLE payments; --"]
    f = compute(ws, ["revenue"], as_of=AS_OF, filters={"country": hostile})
    assert f.empty or f["value"].fillna(0).eq(0).all()   # nothing matches; nothing ran
    assert ws.row_count("payments") == 5
    with pytest.raises(InputError, match="nosuch"):
        compute(ws, ["revenue"], as_of=AS_OF, filters={"nosuch": ["x"]})


def test_column_values_lists_a_columns_values_most_rows_first(ws):
    assert column_values(ws, "country") == ["DE", "FR"]   # DE: 2 customers (and their payments)
    assert column_values(ws, "product") == ["core", "addon"]
    with pytest.raises(InputError):
        column_values(ws, "nosuch")


def test_on_the_sample_a_filter_gives_what_the_breakdown_gives_for_that_value():
    """Every KPI that can be split by channel: filtered to 'organic' it equals the breakdown's
    'organic' rows (value, numerator and denominator), month by month; and a filter on a column of
    the dataset itself (plan, of subscriptions) equals that breakdown too."""
    from kpi.workspaces import sample_template
    with Workspace(sample_template(), read_only=True) as ws:
        assert "organic" in column_values(ws, "channel") and "team" in column_values(ws, "plan")
        for column, chosen in (("channel", "organic"), ("plan", "team")):
            split = compute(ws, None, grain="month", segment=column)
            kpis = sorted(set(split["kpi"]))
            only = compute(ws, kpis, grain="month", filters={column: [chosen]})
            part = split[split["segment"] == chosen].drop(columns="segment").set_index(["kpi", "period"]).sort_index()
            got = only.drop(columns="segment").set_index(["kpi", "period"]).sort_index()
            assert len(set(got.index.get_level_values(0))) >= (10 if column == "channel" else 3), column
            assert set(got.index) == set(part.index)
            for col in ("value", "numerator", "denominator"):
                pd.testing.assert_series_equal(got[col].astype(float), part[col].astype(float), check_names=False,
                                               rtol=1e-9)
