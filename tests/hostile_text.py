"""Markdown and HTML planted in every field a person or a file can fill, through the core: the
workspace the "shown literally" tests (AppTest and browser) open.
"""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from kpi import custom, store
from kpi.goals import GoalsDoc, Objective, Review, Target
from kpi.workspaces import open_workspace

MARK = "zq"   # every planted string holds it: "zqobj", "zqnote", ...


def planted(tag: str) -> str:
    return (f"{MARK}{tag} ![x](http://evil.test/{tag}.png) <img src=x onerror=alert(1)> **bold** $math$ "
            f":red[x] [link](http://evil.test/) :material/home: :smile:")


# A Markdown construct left as written: an image or a link, HTML, bold, maths, a colour, icon or emoji
# code, a bare address.
UNESCAPED = re.compile(r"(?<!\\)!(?<!\\)\[|(?<!\\)\]\(|(?<!\\)<i|(?<!\\)\*\*b|(?<!\\)\$m|:red\\?\[[xv]|"
                       r":material/home|:smile:|https?://")
HEADER = "plan " + planted("col").replace(":", "")   # a column header from a file (no ':' keeps it a plain name)
# A value of a column people break KPIs down by is short (a long one reads as free text, not a group).
SEGMENT_VALUE = f"{MARK}val![i](//e.t/v)**b**:red[v]$m$<i>"


def plant(wid: str) -> None:
    """Fill workspace ``wid`` (made if new) with planted text in every user-written field."""
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=7 * i) for i in range(20)]
    with open_workspace(wid) as ws:
        ws.set_setting("name", planted("ws"))
        ids = [f"c{i}" for i in range(20)]
        ws.load_frame("customers", pd.DataFrame({
            "customer_id": ids, "signup_date": [d.isoformat() for d in days],
            "channel": [planted("channel") if i % 2 else "organic" for i in range(20)],
            HEADER: [SEGMENT_VALUE if i % 2 else "pro" for i in range(20)]}))
        ws.load_frame("payments", pd.DataFrame({
            "customer_id": ids, "date": [d.isoformat() for d in days], "amount": [10.0 * (i + 1) for i in range(20)],
            "product": [planted("product")] * 20}))
        ws.load_frame("subscriptions", pd.DataFrame({
            "customer_id": ids, "start_date": [d.isoformat() for d in days], "mrr": [50.0] * 20,
            "plan": [planted("plan")] * 20}))
        ws.load_frame("events", pd.DataFrame({
            "user_id": ids * 2, "timestamp": [f"{d.isoformat()} 10:00:00" for d in days] * 2,
            "event": [planted("signup")] * 20 + [planted("export")] * 20, "feature": [planted("feature")] * 40}))
        ws.load_frame("releases", pd.DataFrame({"feature": [planted("release")], "released_date": ["2026-02-05"]}))
        custom.save_custom_kpi(ws, custom.CustomKpi("evil_kpi", planted("kpi"), custom.Measure("payments", "count"),
                                                    description=planted("desc")))
        store.save_kpi_set(ws, ["evil_kpi", "revenue", "mrr"], ["revenue"], "growth")
        deadline = dt.date(2026, 12, 31)
        store.save_goals(ws, GoalsDoc(
            objectives=(Objective("o1", planted("obj"), planted("why"), planted("owner"),
                                  dt.date(2026, 1, 1), deadline),),
            targets=(Target("evil_kpi", 100, deadline, objective="o1", id="t1", alert_below=50),
                     Target("revenue", 1e6, deadline, objective="o1", id="t2")),
            reviews=(Review(dt.date(2026, 3, 1), (), planted("review")),)))
        store.add_annotation(ws, "2026-02-10", planted("note"), None)
        store.save_wizard(ws, {"step": 5, "goals": ["revenue"], "stage": "growth", "kpis": ["evil_kpi", "revenue"],
                               "objective": {"choice": "new", "title": planted("wiz"), "why": planted("wizwhy")}})
