"""The one colour language (kpi/colours.py): what each colour means, defined once and used alike by
the core, Streamlit's theme and the charts."""
from __future__ import annotations

import tomllib
from pathlib import Path

from kpi import colours
from kpi.goals import STATUS_STYLE, STATUSES

ROOT = Path(__file__).resolve().parent.parent


def test_each_status_has_one_colour_by_its_meaning():
    good, risk, bad, none = "green", "amber", "red", "grey"
    assert {s: colours.status_colour(s) for s in STATUSES} == {
        "achieved": good, "on_track": good, "at_risk": risk, "off_track": bad, "missed": bad,
        "not_started": none, "no_data": none}
    assert all(STATUS_STYLE[s][1] == colours.status_colour(s) for s in STATUSES)
    assert colours.status_hex(None) == colours.GREY


def test_a_change_is_coloured_by_the_kpis_better_direction_not_its_slope():
    assert colours.change_colour(-0.01, "lower") == "green"      # churn falling: good news
    assert colours.change_colour(0.01, "lower") == "red"
    assert colours.change_colour(500, "higher") == "green" and colours.change_colour(-500, "higher") == "red"
    assert colours.change_colour(0.0, "higher") == "grey" and colours.change_colour(None, "higher") == "grey"
    assert colours.change_colour(0.0004, "higher", negligible=0.0005) == "grey"   # rounds to nothing shown


def test_streamlits_named_colours_are_the_same_hex_values():
    # st.metric deltas and sparklines and :green[...] text use the theme's named colours.
    theme = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"]
    for ours, streamlit in colours.STREAMLIT_NAME.items():
        assert theme[f"{streamlit}Color"].lower() == colours.COLOUR_HEX[ours].lower()


def test_target_lines_carry_no_status_colour():
    assert colours.TARGET_LINE not in colours.COLOUR_HEX.values()


def test_a_cards_change_and_sparkline_share_one_colour_green_red_or_grey_when_mixed():
    # CLV rising over the year (+3,000) but down 533 last month: mixed news, grey — never a red line
    # drawn over a rising KPI. Churn (lower is better) falling and falling again: green.
    assert colours.card_colour(-533, 3000, "higher") == "grey"
    assert colours.card_colour(-0.002, -0.01, "lower") == "green"
    assert colours.card_colour(0.011, 0.02, "lower") == "red"
    assert colours.card_colour(4, None, "higher") == "green"        # too short for a trend: the change
