"""The KPI catalog says what the spec says, validates clean, and tells the user what data is missing."""
from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from kpi import catalog
from kpi.catalog import CATALOG, KPI, availability, catalog_records, get, main_datasets, unlock_hint, validate_catalog
from kpi.datasets import DATASETS
from kpi.errors import UnknownKpi
from kpi.workspace import Workspace

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec"


def spec_text(name: str) -> str:
    path = SPEC / name
    if not path.exists():
        pytest.skip(f"the shared spec {path} is not here")
    return path.read_text(encoding="utf-8")


def catalog_rows() -> list[tuple[str, list[str]]]:
    """(category, cells) of every row of the spec's catalog tables: lines starting with | `id` |."""
    rows, category = [], None
    for line in spec_text("kpis.md").splitlines():
        if line.startswith("### "):
            category = line[4:].strip()
        elif re.match(r"\| `\w+` \|", line):
            rows.append((category, [c.strip() for c in line.strip().strip("|").split("|")]))
    return rows


def tags_table() -> dict[str, tuple[str, str, str]]:
    """id -> (leading/lagging, input/output, perspective) from the spec's tags table."""
    lines = spec_text("kpis.md").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| id | leading/lagging"))
    out = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        ids, lead, io, persp = [c.strip() for c in line.strip().strip("|").split("|")]
        for kpi_id in (i.strip() for i in ids.split(",")):
            own = re.search(r"([a-z ]+) \(" + kpi_id + r"\)", persp)
            out[kpi_id] = (lead, io, own.group(1).strip() if own else persp)
    return out


def test_the_catalog_validates_clean():
    assert validate_catalog() == []
    if (SPEC / "kpis.md").exists():
        assert validate_catalog(SPEC / "kpis.md") == []


def test_every_spec_kpi_is_in_the_catalog_in_the_spec_order_and_vice_versa():
    spec_ids = [cells[0].strip("`") for _, cells in catalog_rows()]
    assert len(spec_ids) == 54
    assert spec_ids == list(CATALOG)


def test_names_units_directions_kinds_and_categories_match_the_spec():
    for category, (kpi_id, name, unit, better, kind, _definition, _needs) in catalog_rows():
        k = CATALOG[kpi_id.strip("`")]
        assert (k.name, k.unit, k.direction, k.kind, k.category) == (name, unit, better, kind, category), k.id


def test_needs_translate_the_spec_needs_column():
    def translate(cell: str) -> tuple[str, ...]:
        out, dataset = [], None
        for part in cell.split(", "):
            alts = []
            for alt in part.split(" or "):
                if "." in alt:
                    dataset = alt.split(".")[0]
                elif alt not in DATASETS:  # "customers.trial_start, converted_date"
                    alt = f"{dataset}.{alt}"
                alts.append(alt)
            out.append("|".join(alts))
        return tuple(out)

    for _, cells in catalog_rows():
        assert CATALOG[cells[0].strip("`")].needs == translate(cells[6]), cells[0]
    # the brief's examples, spelled out
    assert CATALOG["trial_conversion_rate"].needs == ("customers.trial_start", "customers.converted_date")
    assert CATALOG["cac"].needs == ("marketing", "subscriptions|payments")
    assert CATALOG["signup_rate"].needs == ("customers", "marketing.visitors")
    assert CATALOG["feature_adoption_rate"].needs == ("events", "releases.event")
    assert CATALOG["defect_density"].needs == ("defects", "codebase")
    assert CATALOG["arpu"].needs == ("payments", "events")
    assert CATALOG["test_pass_rate"].needs == ("test_runs.tests_total", "test_runs.tests_failed")


def test_tags_match_the_spec_tags_table():
    tags = tags_table()
    assert set(tags) == set(CATALOG)
    for kpi_id, (lead, io, persp) in tags.items():
        k = CATALOG[kpi_id]
        assert k.leading == (lead == "leading"), kpi_id
        assert k.input == (io == "input"), kpi_id
        assert k.perspective == persp, kpi_id
    assert tags["nps"][2] == "customer" and tags["employee_satisfaction"][2] == "learning and growth"
    assert {k.id for k in CATALOG.values() if k.qualitative} == {"nps", "employee_satisfaction"}


def test_stages_and_goals_are_the_lifecycle_lists_naming_each_kpi():
    assert CATALOG["dau"].stages == ("early", "growth")
    assert CATALOG["dau"].goals == ("engagement",)
    assert CATALOG["customer_churn_rate"].stages == ("growth", "mature")
    assert CATALOG["customer_churn_rate"].goals == ("revenue", "retention")
    assert CATALOG["mrr"].stages == () and CATALOG["mrr"].goals == ("revenue",)
    # every id in lifecycle.md's tables shows the stage/goal on its catalog entry
    text = spec_text("lifecycle.md")
    for line in text.splitlines():
        m = re.match(r"\| `(\w+)`", line)
        if not m:
            continue
        name = m.group(1)
        for kpi_id in re.findall(r"`(\w+)`", line)[1:]:
            k = CATALOG[kpi_id]
            assert name in k.stages + k.goals, (name, kpi_id)


def test_every_kpi_is_complete():
    for k in CATALOG.values():
        assert k.description.strip() and k.formula.strip(), k.id
        assert k.format in catalog.FORMATS, k.id
        if k.metric_type == "ratio":
            assert k.numerator and k.denominator, k.id
        if k.unit == "rate":
            assert k.format == "percent", k.id
    assert CATALOG["customer_churn_rate"].metric_type == "ratio"
    assert CATALOG["mrr"].metric_type == "simple"
    assert CATALOG["mrr"].format == "currency"


def test_validation_collects_every_problem_instead_of_stopping(monkeypatch):
    bad = replace(CATALOG["mrr"], id="broken", unit="dollars", direction="up", kind="level",
                  perspective="money", needs=("subscriptions.price", "warehouse"), metric_type="ratio",
                  description="", formula="", stages=("teen",), goals=("fame",))
    monkeypatch.setitem(CATALOG, "broken", bad)
    problems = validate_catalog()
    text = "\n".join(problems)
    for expected in ("unknown unit 'dollars'", "unknown direction 'up'", "unknown kind 'level'",
                     "unknown perspective 'money'", "unknown column subscriptions.price",
                     "unknown dataset 'warehouse'", "numerator and denominator", "empty description",
                     "empty formula", "unknown lifecycle stage 'teen'", "unknown goal 'fame'"):
        assert expected in text, expected
    if (SPEC / "kpis.md").exists():
        assert "the catalog holds KPIs the spec does not: broken" in text


def test_get_returns_the_entry_or_suggests_close_ids():
    assert get("mrr") is CATALOG["mrr"]
    with pytest.raises(UnknownKpi, match="did you mean mrr"):
        get("mrrr")
    with pytest.raises(UnknownKpi, match="python -m kpi catalog"):
        get("zzzzzz")


def test_catalog_records_are_the_cli_json_objects():
    records = catalog_records()
    assert [r["id"] for r in records] == list(CATALOG)
    assert list(records[0]) == ["id", "name", "category", "unit", "direction", "kind", "leading", "input",
                                "qualitative", "perspective", "stages", "goals", "description", "formula", "needs"]
    cac = next(r for r in records if r["id"] == "cac")
    assert cac["needs"] == ["marketing", "subscriptions|payments"]
    assert isinstance(cac["stages"], list) and isinstance(cac["goals"], list)
    assert json.loads(json.dumps(records)) == records


def test_main_dataset_is_the_first_need_or_the_earliest_loaded_alternative():
    assert main_datasets("cac", ["marketing", "payments"]) == "marketing"
    assert main_datasets("new_customers", ["subscriptions", "payments"]) == "subscriptions"
    assert main_datasets("new_customers", ["payments"]) == "payments"
    first = {"subscriptions": pd.Timestamp("2025-03-01").date(), "payments": pd.Timestamp("2025-01-15").date()}
    assert main_datasets("new_customers", ["subscriptions", "payments"], first) == "payments"
    assert main_datasets(CATALOG["trial_conversion_rate"], ["customers"]) == "customers"
    assert main_datasets("mrr", ["payments"]) is None


@pytest.fixture
def ws():
    w = Workspace(None)
    w.load_frame("subscriptions", pd.DataFrame({
        "customer_id": ["a", "b"], "start_date": ["2025-01-01", "2025-02-10"], "mrr": [10.0, 20.0]}))
    yield w
    w.close()


def test_availability_on_a_tiny_workspace(ws):
    av = availability(ws)
    assert set(av) == set(CATALOG)
    assert av["mrr"].computable and av["mrr"].missing == ()
    assert av["new_customers"].computable  # subscriptions alone tells who paid first
    assert not av["cac"].computable
    assert av["cac"].missing == ("add the marketing dataset",)
    assert unlock_hint(av["cac"]) == "Add marketing with spend"
    assert unlock_hint(av["mrr"]) == ""
    assert av["arpu"].missing == ("add the payments dataset", "add the events dataset")
    assert av["test_pass_rate"].missing == ("add the test_runs dataset with tests_total and tests_failed",)
    assert unlock_hint(av["ltv_cac_ratio"]) == "Add marketing with spend"


def test_availability_asks_to_map_an_empty_column_of_a_loaded_dataset(ws):
    ws.load_frame("customers", pd.DataFrame({
        "customer_id": ["a", "b"], "signup_date": ["2025-01-01", "2025-01-05"],
        "trial_start": ["2025-01-01", None], "converted_date": [None, None]}))
    av = availability(ws)
    assert av["signups"].computable
    assert av["trial_conversion_rate"].missing == ("map customers.converted_date",)
    assert unlock_hint(av["trial_conversion_rate"]) == "Map converted_date in customers"
    assert av["trial_dropoff_rate"].missing == ("map customers.trial_end", "map customers.converted_date")
    assert unlock_hint(av["trial_dropoff_rate"]) == "Map trial_end and converted_date in customers"
    assert av["signup_rate"].missing == ("add the marketing dataset with visitors",)


def test_alternatives_ask_for_either_dataset():
    with Workspace(None) as empty:
        av = availability(empty)
    assert av["new_customers"].missing == ("add subscriptions or payments",)
    assert unlock_hint(av["new_customers"]) == "Add subscriptions or payments"
    assert av["cac"].missing == ("add the marketing dataset", "add subscriptions or payments")
    assert not any(a.computable for a in av.values())


def test_kpi_is_frozen():
    with pytest.raises(Exception):
        CATALOG["mrr"].name = "x"  # type: ignore[misc]
    assert isinstance(CATALOG["mrr"], KPI)
