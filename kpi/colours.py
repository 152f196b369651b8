"""The app's one colour language, defined once: what green, amber, red and grey mean, and which
colour a status, a change or a target line gets — used by pills, alerts, sparklines, charts and
exports alike.

- **green**: good news — on track, achieved, a change in the KPI's better direction;
- **amber**: at risk;
- **red**: bad news — off track, missed, an alert, a change in the KPI's worse direction;
- **grey**: no status — not started, no data, no change worth a colour.

Target lines carry no status: they are drawn in one neutral ink. ``.streamlit/config.toml`` sets
Streamlit's named ``green``/``orange``/``red``/``gray`` to the same hex values (a test checks),
so a metric's delta and sparkline, a ``:green[...]`` text and a pill look the same.
"""
from __future__ import annotations

GREEN, AMBER, RED, GREY = "#1a7f37", "#b7791f", "#cf222e", "#6e7781"
COLOUR_HEX = {"green": GREEN, "amber": AMBER, "red": RED, "grey": GREY}
TARGET_LINE = "#1f2328"      # neutral ink: a target is a fact, not good or bad news

# The tone of each status, and of each tone its colour name (our hex in COLOUR_HEX).
STATUS_COLOUR = {"achieved": "green", "on_track": "green", "at_risk": "amber", "off_track": "red",
                 "missed": "red", "not_started": "grey", "no_data": "grey"}
# Streamlit's named colours for the same four meanings (st.metric delta_color, :color[text]).
STREAMLIT_NAME = {"green": "green", "amber": "orange", "red": "red", "grey": "gray"}


def status_colour(status: str | None) -> str:
    """The colour name of a status key (``grey`` for none or an unknown one)."""
    return STATUS_COLOUR.get(status or "", "grey")


def status_hex(status: str | None) -> str:
    return COLOUR_HEX[status_colour(status)]


def change_colour(change: float | None, direction: str, *, negligible: float = 0.0) -> str:
    """``green`` for a change in the KPI's better direction, ``red`` for one in its worse,
    ``grey`` for none (or one no bigger than ``negligible``, e.g. below the shown precision).

    A falling churn rate is green: the colour follows what the KPI's direction calls better,
    never the raw slope.
    """
    if change is None or change != change or abs(change) <= negligible:
        return "grey"
    better = change > 0 if direction == "higher" else change < 0
    return "green" if better else "red"


def card_colour(change: float | None, trend: float | None, direction: str, *, negligible: float = 0.0) -> str:
    """The colour of a KPI card's change and sparkline (Streamlit draws both in one colour): green
    or red when the latest change and the sparkline's trend are the same news, grey when they
    disagree (a rising CLV that dipped last month is not drawn as bad news) or either is nothing."""
    latest = change_colour(change, direction, negligible=negligible)
    if trend is None:
        return latest
    return latest if latest == change_colour(trend, direction, negligible=negligible) else "grey"


__all__ = ["card_colour", "GREEN", "AMBER", "RED", "GREY", "COLOUR_HEX", "TARGET_LINE", "STATUS_COLOUR", "STREAMLIT_NAME",
           "status_colour", "status_hex", "change_colour"]
