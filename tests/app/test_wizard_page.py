"""AppTest: the KPI wizard on the sample data, step by step, down to the saved set and goals.

The sample workspace is loaded once for the module and copied into each test's own data folder.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpi import store
from kpi.workspace import Workspace
from kpi.workspaces import load_sample, new_workspace_id, open_workspace, workspace_path
from app_helpers import shown

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 90


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    with Workspace(path) as ws:
        load_sample(ws)
    return path


@pytest.fixture
def workspace_id(sample_file) -> str:
    wid = new_workspace_id()
    target = workspace_path(wid)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(sample_file, target)
    return wid


def open_wizard(wid: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["ws"] = wid
    at.run()
    at.switch_page("pages/wizard.py").run()
    assert not at.exception
    return at


def texts(at: AppTest) -> list[str]:
    """The Markdown of the page as a reader sees it (KPI names and ids in it are escaped)."""
    return [shown(t) for t in [m.value for m in at.markdown] + [c.value for c in at.caption]
            + [s.value for s in at.success] + [w.value for w in at.warning] + [i.value for i in at.info]]


def click_next(at: AppTest) -> None:
    at.button(key="wz_next").click().run()
    assert not at.exception, at.exception


def test_walk_the_wizard_and_save_a_balanced_set(workspace_id):
    at = open_wizard(workspace_id)
    assert at.button(key="wz_next").disabled           # no goal picked yet
    assert "Pick at least one goal to continue." in texts(at)

    # 1. Goals
    at.checkbox(key="wz_goal_revenue").check().run()
    click_next(at)

    # 2. Stage: the hint from the data, preselected.
    hint = at.info[0].value
    assert hint.startswith("**From your data:** Looks like growth: ") and "paying customers, MRR +" in hint
    assert at.radio(key="wz_stage").value == "growth"
    click_next(at)

    # 3. Recommended KPIs: the primary ones ticked, each with its why, data badge and value.
    ticked = [c.label for c in at.checkbox if c.key.startswith("wz_kpi_") and c.value]
    assert ticked == ["**Daily active users**", "**Monthly active users (rolling 30 days)**",
                      "**Average session duration**", "**Monthly recurring revenue**",
                      "**Average revenue per user**", "**Customer churn rate**", "**Trial conversion rate**"]
    assert any(t.startswith("Primary for the goal “boost revenue”") for t in texts(at))
    assert any(t.startswith("$") for t in (m.value.strip("*") for m in at.markdown))   # ARPU's latest value
    # Add a catalog KPI by search, and remove one by unticking it.
    at.selectbox(key="wz_add").select("nps").run()
    assert "Added Net Promoter Score to your set." in [s.value for s in at.success]
    assert at.checkbox(key="wz_kpi_nps").value
    at.checkbox(key="wz_kpi_avg_session_duration").uncheck().run()
    assert not at.exception
    click_next(at)

    # 4. Balance: the messages the user sees, a one-click fix, then "Balance it for me".
    shown = texts(at)
    assert any("No input KPI: nothing here measures what you put in" in t for t in shown)
    assert any("5 of 7 KPIs look from the customer perspective" in t for t in shown)
    fix = next(b for b in at.button if b.label == "Add Customer support cost")
    fix.click().run()
    assert "Added Customer support cost." in [s.value for s in at.success]
    assert any("Has an input KPI that measures the effort put in." in t for t in texts(at))
    at.button(key="wz_auto").click().run()
    assert not at.exception
    assert "Balanced: 7 KPIs that pass every rule." in [s.value for s in at.success]
    kpis = store.load_wizard(open_workspace(workspace_id))["kpis"]
    assert 5 <= len(kpis) <= 7 and {"arpu", "customer_churn_rate"} <= set(kpis)
    # A trip to another page and back keeps the step and the set.
    at.switch_page("pages/goals.py").run()
    at.switch_page("pages/wizard.py").run()
    assert [s.value for s in at.subheader] == ["Is the set balanced?"]
    assert at.multiselect[0].value == kpis
    click_next(at)

    # 5. Targets: a SMART check per KPI, targets editable (rates typed as percentages).
    # SMART is five compact ticks; a reason shows only under a letter that does not pass.
    smart = [m.value for m in at.markdown if m.value.startswith("SMART ")]
    assert len(smart) == len(kpis)
    for letter in "SMRT":
        assert all(f":green-badge[:material/check: {letter}]" in line for line in smart), letter
    assert not [c.value for c in at.caption if "**Specific**" in c.value or "**Relevant**" in c.value]
    assert not [c.value for c in at.caption if "**Achievable**" in c.value]
    at.number_input(key="wz_t_mrr").set_value(100_000_000.0).run()     # $100M of MRR by the deadline
    assert not at.exception
    smart = [m.value for m in at.markdown if m.value.startswith("SMART ")]
    assert sum(":red-badge[:material/close: A unrealistic]" in line for line in smart) == 1
    reasons = [c.value for c in at.caption if "**Achievable**" in c.value]
    assert len(reasons) == 1 and reasons[0].startswith(":red[:material/cancel:] **Achievable**: ")
    assert "$" in reasons[0]                                             # the change it needs, in dollars
    at.number_input(key="wz_t_mrr").set_value(400_000.0).run()
    at.number_input(key="wz_t_customer_churn_rate").set_value(1.5).run()
    assert not at.exception
    click_next(at)

    # 6. Review and save.
    assert at.dataframe[0].value["KPI"].tolist()[0]
    at.button(key="wz_save").click().run()
    assert not at.exception
    assert any(s.value.startswith(f"Saved {len(kpis)} KPIs and {len(kpis)} targets for the objective “Boost revenue”")
               for s in at.success)

    ws = open_workspace(workspace_id)
    saved = store.load_kpi_set(ws)
    assert saved == {"kpis": kpis, "goals": ["revenue"], "stage": "growth"}
    doc = store.load_goals(ws)
    assert [o.title for o in doc.objectives] == ["Boost revenue"]
    assert [t.kpi for t in doc.targets] == kpis
    assert all(t.objective == doc.objectives[0].id and t.baseline is not None for t in doc.targets)
    churn = next(t for t in doc.targets if t.kpi == "customer_churn_rate")
    assert churn.target == pytest.approx(0.015)

    # A new session (a reload, a restart) finds the wizard where it was left.
    again = open_wizard(workspace_id)
    assert any(s.value.startswith("Your KPI set is saved") for s in again.success)
    again.button(key="wz_back").click().run()
    assert any("Targets: where should each KPI be" in s.value for s in again.subheader)


def test_balance_buttons_add_the_kpis_the_messages_name(workspace_id):
    """Boost revenue at the growth stage, as proposed: each problem's button adds the KPI its
    message names, and "Balance it for me" adds those same KPIs."""
    import re
    at = open_wizard(workspace_id)
    at.checkbox(key="wz_goal_revenue").check().run()
    click_next(at)
    at.radio(key="wz_stage").set_value("growth").run()
    click_next(at)
    click_next(at)
    assert [s.value for s in at.subheader] == ["Is the set balanced?"]
    named = {}
    for line in texts(at):
        found = re.search(r"such as (.+?) \((\w+)\)\.$", line)
        if found and line.startswith(":orange"):
            named[found.group(2)] = found.group(1)
    # The qualitative rule names employee satisfaction: NPS would crowd the customer perspective.
    assert {"support_cost", "employee_satisfaction"} <= set(named)
    labels = [b.label for b in at.button if b.key.startswith("wz_fix_")]
    for kpi, name in named.items():
        assert any(label.endswith(name) for label in labels), (name, labels)
    at.button(key="wz_auto").click().run()
    assert not at.exception
    kpis = store.load_wizard(open_workspace(workspace_id))["kpis"]
    assert {"support_cost", "employee_satisfaction"} <= set(kpis) and "nps" not in kpis
    notice = next(s.value for s in at.success if s.value.startswith("Balanced: added "))
    assert "Customer support cost" in notice and "Employee satisfaction" in notice
    assert "Balanced: 7 KPIs that pass every rule." in [s.value for s in at.success]


def test_custom_kpi_built_in_step_three_is_used_like_a_catalog_kpi(workspace_id):
    at = open_wizard(workspace_id)
    at.checkbox(key="wz_goal_satisfaction").check().run()
    click_next(at)
    at.radio(key="wz_stage").set_value("mature").run()
    click_next(at)
    # Urgent tickets over all tickets, built without SQL.
    at.selectbox(key="wz_custom_num_dataset").select("tickets").run()
    at.toggle(key="wz_custom_num_filter_on").set_value(True).run()
    at.selectbox(key="wz_custom_num_filter_col").select("priority").run()
    at.multiselect(key="wz_custom_num_filter_values").select("urgent").run()
    at.toggle(key="wz_custom_ratio").set_value(True).run()
    at.selectbox(key="wz_custom_den_dataset").select("tickets").run()
    at.text_input(key="wz_custom_name").input("Urgent ticket share").run()
    at.radio(key="wz_custom_direction").set_value("lower").run()
    assert not at.exception
    assert any(c.value.startswith("Formula: (Number of tickets rows where priority is “urgent”) divided by")
               for c in at.caption)
    at.button(key="wz_custom_save").click().run()
    assert not at.exception
    assert "urgent_ticket_share" in store.load_wizard(open_workspace(workspace_id))["kpis"]
    assert any(c.label == "**Urgent ticket share**" and c.value for c in at.checkbox)
    click_next(at)
    click_next(at)
    # Its SMART check knows its definition and that the data computes it.
    values = [m.value for m in at.markdown]
    head = next(i for i, v in enumerate(values) if v.startswith("**Urgent ticket share**"))
    ticks = next(v for v in values[head:] if v.startswith("SMART "))
    assert ":green-badge[:material/check: S]" in ticks and ":green-badge[:material/check: M]" in ticks


def test_wizard_without_data_still_recommends():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.session_state["welcome_done"] = True
    at.run()
    at.switch_page("pages/wizard.py").run()
    assert not at.exception
    assert any("No data is loaded yet" in i.value for i in at.info)
    at.checkbox(key="wz_goal_growth").check().run()
    click_next(at)
    at.radio(key="wz_stage").set_value("early").run()
    click_next(at)
    assert [c.label for c in at.checkbox if c.key.startswith("wz_kpi_") and c.value][:3] == [
        "**Customer acquisition cost**", "**Cost per acquisition (sign-up)**", "**Sign-up rate**"]
    assert any(c.value.startswith("To unlock: Add") for c in at.caption)
