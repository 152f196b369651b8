"""The KPI library: every KPI the app knows, searchable, with its meaning, formula and the data it needs."""
from __future__ import annotations

import streamlit as st

from kpi import coverage
from kpi.catalog import CATALOG, CATEGORIES, PERSPECTIVES, unlock_hint
from kpi.stages import GOALS, STAGES
from ui import session

ws = session.workspace()
available = session.availability(ws)
ready_count = sum(av.computable for av in available.values())

st.title("KPI library")
st.caption(f"All {len(CATALOG)} KPIs KPI Explorer knows: what each one means, how it is worked out and the data "
           f"it needs. Your data can compute **{ready_count}** of them now. Share it with your team as your "
           "data dictionary.")

with st.container(border=True):
    search_col, timing_col = st.columns([3, 2], vertical_alignment="bottom")
    query = search_col.text_input("Search", key="lib_q", bind="query-params", type="search",
                                  placeholder="Search by name, meaning or data: churn, revenue, tickets…",
                                  help="Every word must appear in the KPI's name, description, formula or the "
                                       "data it needs.")
    timing = timing_col.segmented_control(
        "Leading or lagging", coverage.TIMING, key="lib_timing", bind="query-params",
        format_func=lambda t: {"leading": "Leading", "lagging": "Lagging"}[t],
        help="Leading KPIs move before results do (sign-ups, usage); lagging KPIs show results after the "
             "fact (revenue, churn). A good set has both.")
    cat_col, stage_col, persp_col, goal_col = st.columns(4)
    categories = cat_col.multiselect("Category", CATEGORIES, key="lib_category", bind="query-params",
                                     placeholder="All categories")
    stages = stage_col.multiselect("Lifecycle stage", list(STAGES), key="lib_stage", bind="query-params",
                                   format_func=lambda s: STAGES[s].label.capitalize(), placeholder="Any stage",
                                   help="KPIs recommended for a product at this stage of its life.")
    goals = goal_col.multiselect("Goal", list(GOALS), key="lib_goal", bind="query-params",
                                 format_func=lambda g: GOALS[g].label.capitalize(), placeholder="Any goal",
                                 help="KPIs recommended for this goal.")
    perspectives = persp_col.multiselect("Perspective", PERSPECTIVES, key="lib_perspective", bind="query-params",
                                         format_func=str.capitalize, placeholder="All perspectives",
                                         help="The balanced-scorecard view the KPI belongs to.")
    only_ready = st.toggle("Only KPIs my data can compute now", key="lib_only_ready")

found = coverage.find_kpis(query or "", categories=categories, stages=stages, perspectives=perspectives,
                           timing=timing, goals=goals, only_ready=only_ready, availability=available)

summary_col, table_col, download_col = st.columns([4, 1.3, 1.5], vertical_alignment="center")
summary_col.markdown(f"Showing **{len(found)}** of {len(CATALOG)} KPIs")
as_table = table_col.toggle("Table view", key="lib_table",
                            help="All matching KPIs in one table, one row each.")
dictionary = coverage.data_dictionary(available)
download_col.download_button("Download as CSV", dictionary.to_csv(index=False).encode("utf-8"),
                             file_name="kpi_data_dictionary.csv", mime="text/csv", icon=":material/download:",
                             help="Every KPI with its definition, formula, unit and data needs, and whether "
                                  "your data can compute it.")

if not found:
    st.info("No KPI matches these filters. Clear the search or pick fewer filters.")
elif as_table:
    shown = dictionary[dictionary["id"].isin([k.id for k in found])]
    st.dataframe(shown, hide_index=True, width="stretch",
                 column_config={"description": st.column_config.TextColumn(width="large"),
                                "formula": st.column_config.TextColumn(width="large")})
else:
    for category in CATEGORIES:
        in_category = [k for k in found if k.category == category]
        if not in_category:
            continue
        st.subheader(category, divider="gray")
        cards = st.columns(2)
        for i, k in enumerate(in_category):
            av = available[k.id]
            with cards[i % 2].container(border=True):
                status_badge = (":green-badge[:material/check: Your data can compute it]" if av.computable
                                else ":orange-badge[:material/lock: Needs more data]")
                st.markdown(f"**{k.name}** &nbsp; {status_badge}")
                st.markdown(coverage.first_sentence(k.description))
                st.markdown(f":gray-badge[{coverage.unit_words(k.unit)}] "
                            f":gray-badge[{coverage.direction_words(k.direction).lower()}] "
                            f":blue-badge[{'leading' if k.leading else 'lagging'}] "
                            f":violet-badge[{k.perspective}]")
                with st.expander("Definition, formula and data"):
                    st.markdown(k.description)
                    st.markdown(f"**How it is worked out.** {k.formula}.")
                    if k.metric_type == "ratio" and k.numerator and k.denominator:
                        st.markdown(f"- *Numerator:* {k.numerator}\n- *Denominator:* {k.denominator}")
                    st.markdown(
                        "| | |\n|---|---|\n"
                        f"| Unit | {coverage.unit_words(k.unit)} |\n"
                        f"| Which way is good | {coverage.direction_words(k.direction)} |\n"
                        f"| Measured as | {coverage.kind_words(k.kind)} |\n"
                        f"| Leading or lagging | {coverage.timing_words(k)} |\n"
                        f"| Input or output | {'input (effort put in)' if k.input else 'output (a result)'} |\n"
                        f"| Perspective | {k.perspective} |\n"
                        f"| Lifecycle stages | {coverage.stage_words(k)} |\n"
                        f"| Goals | {coverage.goal_words(k)} |\n"
                        f"| Data it needs | {coverage.needs_words(k)} |")
                    if av.computable:
                        st.success("Your data can compute this now.", icon=":material/check_circle:")
                    else:
                        st.warning(f"Not with your data yet. {unlock_hint(av)} to unlock it.",
                                   icon=":material/lock:")
                    st.caption(f"KPI id `{k.id}` — use it in goals files and on the command line.")
