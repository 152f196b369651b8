"""KPI wizard: from "what do we want and where are we" to a saved, balanced KPI set with SMART targets."""
from __future__ import annotations

import streamlit as st

from ui import session, wizard_steps

ws = session.workspace()
state = wizard_steps.load_state(ws)

st.title("KPI wizard")
st.caption("Six short steps: your goals, your product's stage, the KPIs that fit, a balance check, "
           "targets, and save. Your progress is kept in this workspace as you go.")
if not ws.datasets():
    st.info("No data is loaded yet: the wizard still recommends KPIs, but it cannot show their values, "
            "check what your data can compute, or suggest targets. Load data on the Data page first.", icon=":material/upload_file:")

wizard_steps.step_indicator(state)
wizard_steps.show_notice()
wizard_steps.STEP_VIEWS[state.step](ws, state)
wizard_steps.nav_buttons(ws, state)
