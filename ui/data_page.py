"""The Data page's parts: uploads staged on disk, the mapping and privacy form, quality report and coverage.

An upload is written to a temporary file in a folder of this browser session; detection, the
preview and the ingest all read that file (DuckDB reads it, never pandas). Nothing reaches the
workspace until the user presses Load; the temporary file is deleted once it is loaded or removed.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from kpi import coverage, evidence
from kpi.catalog import CATALOG
from kpi.datasets import DATASETS, Column
from kpi.detect import (DERIVED_INPUTS, Detection, FileLayout, detect_layout, explain_no_match, read_sample,
                        sniff)
from kpi.errors import KpiError
from kpi.formatting import format_value
from kpi.goals import COLOUR_HEX
from kpi.ingest import IngestResult, detect_personal_data, ingest_file, preview
from kpi.quality import QualityReport, early_dates_kept, keep_early_dates, quality_report
from kpi.questions import questions_for
from kpi.workspace import Workspace
from ui import session
from ui.charts import tick_label, tick_periods
from ui.ingest_questions import ask
from ui.text import plain  # noqa: F401 - pages call data_page.plain too

UPLOAD_TYPES = ["csv", "tsv", "txt", "gz", "parquet"]
UPLOAD_ROOT = Path(tempfile.gettempdir()) / "kpi-explorer-uploads"
STALE_AFTER_S = 24 * 3600        # a session's leftover uploads are swept after a day
PREVIEW_ROWS = 8
BAR_COLOUR = "#3b5bdb"           # the theme's primary colour
PERSONAL_WORDS = {"email": "e-mail addresses", "phone": "phone numbers", "name": "people's names",
                  "ip": "IP addresses"}
PRIVACY_CHOICES = ("keep", "pseudonymise", "drop")
PRIVACY_WORDS = {"keep": "Keep", "pseudonymise": "Pseudonymise", "drop": "Drop"}
TYPE_WORDS = {"id": "An id (kept as text)", "text": "Text",
              "date": "A date (2025-01-31, 01/31/2025, 31.01.2025…)",
              "timestamp": "A date and time (ISO, with or without time zone, or Unix epoch)",
              "number": "A number (thousands separators and currency signs are fine)",
              "int": "A whole number", "bool": "Yes or no (true/false, yes/no, 1/0)"}

# Session-state keys of this page, in one place.
K_DIR, K_STAGED, K_SLOT = "data_upload_dir", "data_staged", "data_next_slot"
K_DONE, K_DELETE = "data_done", "data_delete"


# -- staging: uploads to files on disk ------------------------------------------------------------
@dataclass
class StagedFile:
    """One uploaded file waiting on disk for its mapping to be confirmed."""
    slot: int                      # stable per session: widget keys are built from it
    file_id: str
    name: str
    path: Path
    size: int
    layout: FileLayout | None = None
    sample: pd.DataFrame | None = None
    detection: Detection | None = None
    personal: dict[str, str] = field(default_factory=dict)
    error: str | None = None       # the file cannot be read at all
    by_dataset: dict[str, Detection] = field(default_factory=dict)
    previews: dict = field(default_factory=dict, repr=False)   # the last preview, by what it was asked for

    @property
    def key(self) -> str:
        return f"upload{self.slot}"

    def detection_for(self, dataset: str) -> Detection:
        """The guessed mapping when the file is read as ``dataset`` (the user may pick another)."""
        if self.detection is not None and self.detection.dataset == dataset:
            return self.detection
        if dataset not in self.by_dataset:
            self.by_dataset[dataset] = detect_layout(self.layout, self.sample, dataset=dataset,
                                                     ws=session.workspace())
        return self.by_dataset[dataset]


def _safe_name(name: str) -> str:
    base = Path(name).name or "upload.csv"
    return re.sub(r"[^\w.\- ]", "_", base)[:200]


def _session_dir() -> Path:
    folder = st.session_state.get(K_DIR)
    if folder and Path(folder).is_dir():
        return Path(folder)
    UPLOAD_ROOT.mkdir(parents=True, exist_ok=True)
    _sweep_stale_uploads()
    made = Path(tempfile.mkdtemp(prefix="session-", dir=UPLOAD_ROOT))
    st.session_state[K_DIR] = str(made)
    return made


def _sweep_stale_uploads() -> None:
    # A session that ends never says so: folders untouched for a day are someone's leftovers.
    now = time.time()
    for folder in UPLOAD_ROOT.glob("session-*"):
        try:
            if now - folder.stat().st_mtime > STALE_AFTER_S:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


def _read(staged: StagedFile) -> None:
    try:
        staged.layout = sniff(staged.path, file_name=staged.name)
        staged.sample = read_sample(staged.layout)
        # The workspace remembers how earlier exports with this header were mapped.
        staged.detection = detect_layout(staged.layout, staged.sample, ws=session.workspace())
        staged.personal = detect_personal_data(list(staged.layout.columns), staged.sample)
    except KpiError as exc:
        staged.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - whatever the file holds, the page shows a sentence, not a traceback
        staged.error = f"{staged.name}: this file could not be read ({type(exc).__name__}: {exc}) — check that it " \
                       "is a CSV, TSV or Parquet export with one header line"


def stage_uploads(uploads) -> list[StagedFile]:
    """The uploaded files, each written to disk once and read (layout, detection, personal data).

    Files the user removed from the uploader are forgotten and their temporary copies deleted.
    """
    staged: dict[str, StagedFile] = st.session_state.setdefault(K_STAGED, {})
    uploads = list(uploads or [])
    present = {u.file_id for u in uploads}
    for file_id in [f for f in staged if f not in present]:
        shutil.rmtree(staged.pop(file_id).path.parent, ignore_errors=True)
        st.session_state.get(K_DONE, {}).pop(file_id, None)
    new = [u for u in uploads if u.file_id not in staged]
    if new:
        folder = _session_dir()
        with st.status(f"Reading {len(new)} file{'s' if len(new) > 1 else ''}…", expanded=True) as status:
            bar = st.progress(0.0)
            for i, upload in enumerate(new):
                slot = st.session_state.get(K_SLOT, 1)
                st.session_state[K_SLOT] = slot + 1
                bar.progress(i / len(new), text=f"Reading {plain(upload.name)} and guessing what it holds…")
                target = folder / str(slot) / _safe_name(upload.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "wb") as out:
                    upload.seek(0)
                    shutil.copyfileobj(upload, out, length=1 << 20)
                item = StagedFile(slot, upload.file_id, upload.name, target, upload.size)
                _read(item)
                staged[upload.file_id] = item
            bar.progress(1.0, text="Done")
            status.update(label=f"Read {len(new)} file{'s' if len(new) > 1 else ''}: check what each one holds below",
                          state="complete", expanded=False)
    return [staged[u.file_id] for u in uploads if u.file_id in staged]


def forget_file(staged: StagedFile) -> None:
    """Delete the temporary copy (the upload stays listed in the uploader until the user removes it)."""
    shutil.rmtree(staged.path.parent, ignore_errors=True)


# -- the mapping form -------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoadRequest:
    """What the user confirmed for one file: everything ``ingest_file`` needs."""
    staged: StagedFile
    dataset: str
    mapping: dict[str, str | None]
    drop_columns: tuple[str, ...]
    pseudonymise: tuple[str, ...]
    mode: str
    answers: dict = field(default_factory=dict)   # the choices that change numbers (kpi.questions)
    expect: int | None = None   # the dataset's version the user's screen showed: a load by someone else since is refused


def _confidence_words(score: float) -> str:
    pct = evidence.pct(score)   # whole percents, as the evidence sentences write them
    if score >= 0.8:
        return f"{pct} sure"
    if score >= 0.5:
        return f"{pct} sure — check it"
    return f"only {pct} sure — check it"


def _dataset_label(name: str) -> str:
    return f"{name} — {DATASETS[name].row_is}"


def _editable_columns(dataset: str) -> list[tuple[Column, bool]]:
    """(column, is a stand-in input) for every column the user can map, in the dataset's order."""
    cols = [(c, False) for c in DATASETS[dataset].columns]
    cols += [(c, True) for c in DERIVED_INPUTS.get(dataset, ())]
    return cols


def _column_help(dataset: str, col: Column, stand_in: bool) -> str:
    if stand_in and col.name == "amount":
        return ("Only if the file has the amount per billing period instead of a monthly amount: map it "
                "here together with billing_period, and leave mrr empty. MRR is then worked out as "
                "amount ÷ months in the period (× quantity when mapped).")
    if stand_in and col.name == "quantity":
        return "Seats or units the amount is multiplied by (optional)."
    words = TYPE_WORDS.get(col.type, col.type) + "."
    if col.required:
        words += " Required: the file cannot be loaded without it."
    if col.synonyms:
        words += " Usually called " + ", ".join(col.synonyms[:4]) + "."
    return words


def mapping_form(ws: Workspace, staged: StagedFile) -> LoadRequest | None:
    """The guessed dataset and mapping of one file, editable, with privacy choices and a preview.

    Returns what to load, or None while the file cannot be loaded as chosen (the reason is shown).
    """
    det = staged.detection
    key = staged.key
    layout = staged.layout
    st.caption(f"{len(layout.columns)} columns · {format_value(staged.size / 1024, 'count')} KB"
               + (" · Parquet" if layout.format == "parquet" else ""))

    options = list(DATASETS)
    guess = det.dataset if det and det.dataset in DATASETS else None
    ds_col, why_col = st.columns([1, 1], vertical_alignment="bottom")
    dataset = ds_col.selectbox("This file holds", options, index=options.index(guess) if guess else None,
                               key=f"{key}_dataset", format_func=_dataset_label,
                               placeholder="Pick the dataset this file holds",
                               help="The kind of table this file is. Each dataset has its own columns; see "
                                    "what each one means in the list.")
    with why_col:
        if guess and dataset == guess:
            st.markdown(f":material/auto_awesome: Recognised as **{guess}** — {_confidence_words(det.confidence)}")
        elif guess:
            st.markdown(f":material/edit: You chose **{dataset}** (the guess was {guess})")
        elif det is not None:
            close = ", ".join(f"{c.dataset} (missing {', '.join(c.missing_required)})"
                              for c in det.alternatives[:2] if c.missing_required)
            st.markdown(":material/help: Not sure what this file holds: pick the dataset, then map the "
                        "missing columns." + (f" Closest: {close}." if close else ""))
    if dataset is None:
        if det is not None and not det.dataset:
            st.caption(plain(explain_no_match(det).capitalize() + "."))
        if staged.personal:
            st.caption(":material/shield_person: Some columns look like personal data ("
                       + ", ".join(plain(c) for c in staged.personal) + "): once you pick the dataset you "
                       "choose to keep, drop or pseudonymise each. Nothing is stored before you press Load.")
        return None

    guessed = staged.detection_for(dataset)
    notes = st.container()   # filled once the questions are known: a decision is "asked below" only if it is
    columns = list(layout.columns)
    st.markdown("**Columns** — which column of the file holds each of the dataset's columns (required ones "
                "are marked \\*). Columns you leave unmapped are kept for breakdowns (plan, country…).")
    mapping: dict[str, str | None] = {}
    editable = _editable_columns(dataset)
    # mrr may come from amount, drawn after it: read amount's current choice ahead.
    amount_key = f"{key}_map_{dataset}_amount"
    amount_chosen = st.session_state.get(amount_key, guessed.mapping.get("amount"))
    grid = st.columns(3)
    for i, (col, stand_in) in enumerate(editable):
        src = guessed.mapping.get(col.name)
        label = f"{col.name}{' *' if col.required else ''}"
        if stand_in:
            label = f"{col.name} (instead of mrr)" if col.name == "amount" else f"{col.name} (for amount)"
        with grid[i % 3]:
            chosen = st.selectbox(label, [None] + columns, index=(columns.index(src) + 1) if src in columns else 0,
                                  key=f"{key}_map_{dataset}_{col.name}",
                                  format_func=lambda c: "— not in this file —" if c is None else c,
                                  help=_column_help(dataset, col, stand_in))
            mapping[col.name] = chosen
            if chosen is None:
                if col.name == "mrr" and amount_chosen:
                    st.caption("Worked out from amount and billing_period")
                elif col.required:
                    st.caption(":red[Required — pick the column that holds it]")
                else:
                    st.caption("Not mapped")
            elif chosen == src:
                st.caption(f"Guessed: {_confidence_words(guessed.column_confidence.get(col.name, 0.0))}")
            else:
                st.caption("Your choice")
    if dataset == "subscriptions" and not mapping.get("mrr") and mapping.get("amount"):
        st.caption("MRR will be worked out from amount and billing_period (a yearly amount ÷ 12).")

    drop, pseudo = privacy_choices(staged, mapping, dataset)

    mode = "replace"
    seen_key = f"{key}_seen_{dataset}"      # the version the screen the user clicked on was drawn from
    expect = st.session_state.get(seen_key)
    st.session_state[seen_key] = ws.dataset_version(dataset)
    if ws.has(dataset):
        rows = format_value(ws.row_count(dataset), "count")
        mode = st.radio(f"{dataset} already holds {rows} rows", ["replace", "append"], key=f"{key}_mode",
                        horizontal=True,
                        format_func=lambda m: {"replace": "Replace them with this file",
                                               "append": "Add this file's rows to them"}[m],
                        help="Append is for the next export of the same table (next month's payments): exact "
                             "duplicate rows are dropped. Replace swaps the dataset for this file; the old rows "
                             "stay until the new ones have landed.")

    questions = _questions(ws, staged, dataset, mapping)
    with notes:
        evidence_notes(guessed, asked={q.id for q in questions})
    answers = ask(questions, key=f"{key}_q_{dataset}")

    st.markdown(f"**Preview** — the first {PREVIEW_ROWS} rows as they will be stored")
    try:
        frame = _preview(staged, dataset, mapping, drop, answers)
    except KpiError as exc:
        st.warning(plain(exc), icon=":material/report:")
        return None
    except Exception as exc:  # noqa: BLE001 - a preview that fails must not take the page down
        st.warning(f"{plain(staged.name)}: no preview with this mapping ({type(exc).__name__}: {plain(exc)}) — check the "
                   "columns chosen above", icon=":material/report:")
        return None
    for src in pseudo:
        stored = next((canon for canon, s in mapping.items() if s == src), src)
        if stored in frame.columns:
            frame[stored] = "(pseudonymised)"
    st.dataframe(no_none(frame), hide_index=True, width="stretch", height=min(38 + 35 * len(frame), 320),
                 column_config=_preview_columns(dataset, frame))
    return LoadRequest(staged, dataset, {k: v for k, v in mapping.items()}, tuple(drop), tuple(pseudo), mode,
                       answers, expect)


def no_none(frame: pd.DataFrame) -> pd.DataFrame:
    """Empty cells shown empty: a text column's missing values would otherwise read "None"."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("string", "str"):
            out[col] = out[col].astype(object).where(out[col].notna(), "")
    return out


def evidence_notes(det: Detection, asked: set[str] = frozenset()) -> None:
    """How the file was read: each decision that changes numbers with the evidence behind it, in words;
    the ones asked below (``asked``: the questions' ids) say so."""
    decisions = [d for d in getattr(det, "decisions", []) if d.evidence]
    if not decisions:
        return
    with st.expander(f":material/fact_check: How this file was read ({len(decisions)} decision"
                     f"{'s' if len(decisions) > 1 else ''} from its values and headers)", expanded=True):
        for d in decisions:
            sure = "" if d.topic == "shape" else f" — {_confidence_words(d.confidence)}"
            ask = " (asked below)" if d.question and d.question in asked else ""
            st.markdown(f"- {plain(d.evidence[0].upper() + d.evidence[1:])}{sure}{ask}")


def _questions(ws: Workspace, staged: StagedFile, dataset: str, mapping: dict) -> list:
    """The choices that change numbers for this file as mapped (worked out once per mapping)."""
    cache_key = ("questions", dataset, tuple(sorted((k, v or "") for k, v in mapping.items())))
    if cache_key not in staged.previews:
        try:
            found = questions_for(staged.path, ws=ws, file_name=staged.name, dataset=dataset,
                                  mapping={k: v for k, v in mapping.items() if v})
        except KpiError:
            found = []  # the preview below says what is wrong with the file as mapped
        staged.previews[cache_key] = found
    return staged.previews[cache_key]


def _preview_columns(dataset: str, frame: pd.DataFrame) -> dict:
    """Dates shown as dates, timestamps to the second, whatever pandas made of them."""
    config = {}
    for col in DATASETS[dataset].columns:
        if col.name not in frame.columns:
            continue
        if col.type == "date":
            config[col.name] = st.column_config.DateColumn(format="YYYY-MM-DD")
        elif col.type == "timestamp":
            config[col.name] = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")
    return config


def _preview(staged: StagedFile, dataset: str, mapping: dict, drop: list[str], answers: dict) -> pd.DataFrame:
    cache = staged.previews
    cache_key = (dataset, tuple(sorted((k, v or "") for k, v in mapping.items())), tuple(drop),
                 tuple(sorted(answers.items())))
    if cache_key not in cache:
        for old in [k for k in cache if k and k[0] != "questions"]:
            del cache[old]
        cache[cache_key] = preview(staged.path, dataset, mapping, PREVIEW_ROWS, file_name=staged.name,
                                   drop_columns=drop, answers=answers or None)
    return cache[cache_key].copy()


def privacy_choices(staged: StagedFile, mapping: dict[str, str | None], dataset: str) -> tuple[list[str], list[str]]:
    """Keep, drop or pseudonymise each column that looks like personal data. Returns (drop, pseudonymise)."""
    if not staged.personal:
        return [], []
    drop, pseudo = [], []
    mapped_to = {src: canon for canon, src in mapping.items() if src}
    with st.container(border=True):
        st.markdown(":material/shield_person: **Personal data** — these columns look like they hold personal "
                    "data. Nothing is stored until you press Load: choose what to do with each.")
        st.caption("Pseudonymise replaces each value by a keyed code (the same value always gets the same code "
                   "in this workspace, so ids still join across datasets); Drop leaves the column out.")
        for i, (src, kind) in enumerate(staged.personal.items()):
            canon = mapped_to.get(src)
            default = "pseudonymise" if canon else "drop"
            name_col, choice_col = st.columns([2, 3], vertical_alignment="center")
            name_col.markdown(f"**{plain(src)}** — {PERSONAL_WORDS.get(kind, kind)}"
                              + (f", mapped to **{canon}**" if canon else ""))
            choice = choice_col.segmented_control(
                f"What to do with {src}", PRIVACY_CHOICES, default=default, required=True,
                # the key follows whether the column is mapped, so mapping it resets the default
                key=f"{staged.key}_privacy_{dataset}_{i}_{'id' if canon else 'extra'}",
                format_func=PRIVACY_WORDS.get, label_visibility="collapsed")
            if choice == "drop":
                drop.append(src)
            elif choice == "pseudonymise":
                pseudo.append(src)
    return drop, pseudo


# -- loading -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoadOutcome:
    file: str
    dataset: str
    rows: int
    mode: str
    warnings: tuple[str, ...]
    unlocked: tuple[str, ...]      # KPI ids the data can compute now and could not before


def load(ws: Workspace, request: LoadRequest) -> LoadOutcome | None:
    """Ingest one confirmed file with a visible progress; on a refusal show the core's message and
    leave the workspace as it was."""
    staged = request.staged
    before = {k for k, av in session.availability(ws).items() if av.computable}
    refused = f"{plain(staged.name)} was not loaded — nothing changed"
    with st.status(f"Loading {plain(staged.name)} into {request.dataset}…", expanded=True) as status:
        st.write("Reading the file and checking every value…")
        try:
            result: IngestResult = ingest_file(ws, staged.path, dataset=request.dataset, mapping=request.mapping,
                                               mode=request.mode, file_name=staged.name,
                                               drop_columns=request.drop_columns,
                                               pseudonymise=request.pseudonymise,
                                               answers=request.answers or None, expect=request.expect)
        except KpiError as exc:
            status.update(label=refused, state="error", expanded=False)
            session.show_error(exc)
            return None
        except Exception as exc:  # noqa: BLE001 - ingest is all-or-nothing: say so instead of a traceback
            status.update(label=refused, state="error", expanded=False)
            st.error(f"{plain(staged.name)}: the file could not be loaded ({type(exc).__name__}: {plain(exc)}). Your workspace "
                     "is unchanged.", icon="⚠️")
            return None
        st.write(f"Stored {format_value(result.rows, 'count')} rows. Checking data quality…")
        quality(ws, result.dataset)
        st.write("Working out which KPIs your data can compute…")
        after = {k for k, av in session.availability(ws).items() if av.computable}
        status.update(label=f"Loaded {plain(staged.name)}", state="complete", expanded=False)
    forget_file(staged)
    outcome = LoadOutcome(staged.name, result.dataset, result.rows, result.mode, tuple(result.warnings),
                          tuple(k for k in CATALOG if k in after - before))
    st.session_state.setdefault(K_DONE, {})[staged.file_id] = outcome
    return outcome


def done_outcome(staged: StagedFile) -> LoadOutcome | None:
    return st.session_state.get(K_DONE, {}).get(staged.file_id)


def show_outcome(outcome: LoadOutcome) -> None:
    rows = format_value(outcome.rows, "count")
    text = (f"Added to **{outcome.dataset}**, which now holds {rows} rows." if outcome.mode == "append"
            else f"Loaded as **{outcome.dataset}**: {rows} rows stored.")
    if outcome.unlocked:
        names = ", ".join(CATALOG[k].name for k in outcome.unlocked[:8])
        more = f" and {len(outcome.unlocked) - 8} more" if len(outcome.unlocked) > 8 else ""
        text += f" It unlocked {len(outcome.unlocked)} KPI{'s' if len(outcome.unlocked) > 1 else ''}: {names}{more}."
    st.success(text, icon=":material/check_circle:")
    if outcome.unlocked:
        st.caption("Hover for what each unlocked KPI measures.", help=kpi_definitions(outcome.unlocked))
    for warning in outcome.warnings:
        st.warning(plain(warning), icon=":material/warning:")   # names columns and values of the file


# -- quality -----------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=256)
def _quality_cached(key: tuple, dataset: str, today: dt.date) -> QualityReport:
    ws = session._open(session.workspace_id_from_key(key))
    return quality_report(ws, dataset, today=today)


def quality(ws: Workspace, dataset: str) -> QualityReport:
    return _quality_cached(session.data_key(ws), dataset, dt.date.today())


def _date_words(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    return pd.Timestamp(value).strftime("%d %b %Y")


def datasets_overview(ws: Workspace) -> pd.DataFrame:
    """One row per loaded dataset: rows, dates, problems, where it came from."""
    summary = session.dataset_summary(ws).set_index("name")
    rows = []
    for name in ws.datasets():
        item = summary.loc[name]
        report = quality(ws, name)
        problems = sum(i.count for i in report.issues)
        rows.append({"Dataset": name, "Rows": report.rows, "First date": _date_words(report.first_date),
                     "Last date": _date_words(report.last_date),
                     "Months with no rows": len(report.gap_months),
                     "Rows with problems": problems, "From file": item["source"],
                     "Loaded": pd.Timestamp(item["loaded_at"]).strftime("%d %b %Y %H:%M") + " UTC"})
    return pd.DataFrame(rows)


def rows_per_month_chart(report: QualityReport) -> alt.Chart | None:
    frame = report.rows_per_month.copy()
    if frame.empty:
        return None
    frame["month"] = pd.to_datetime(frame["month"])
    frame["Rows"] = frame["rows"]
    frame["label"] = [tick_label(m, "month") for m in frame["month"]]
    frame["gap"] = frame["rows"] == 0
    # One bar per month of the data and no more; each labelled month once (every k-th when many).
    shown = [tick_label(m, "month") for m in tick_periods(frame["month"], "month")]
    base = alt.Chart(frame).encode(x=alt.X("label:O", sort=list(frame["label"]), title=None,
                                           axis=alt.Axis(values=shown, labelAngle=0, labelOverlap=True)))
    bars = base.mark_bar(color=BAR_COLOUR).encode(
        y=alt.Y("Rows:Q", title="Rows per month"),
        tooltip=[alt.Tooltip("label:N", title="Month"), alt.Tooltip("Rows:Q", format=",")])
    layers = [bars]
    if frame["gap"].any():
        gaps = base.transform_filter(alt.datum.gap).mark_rule(color=COLOUR_HEX["red"], strokeDash=[4, 3],
                                                              strokeWidth=2).encode(
            tooltip=[alt.Tooltip("label:N", title="No rows in")])
        layers.append(gaps)
    return alt.layer(*layers).properties(height=180)


def dataset_to_show_first(overview: pd.DataFrame) -> str:
    """The dataset with the most rows with problems (the first one when none has any)."""
    worst = overview.sort_values("Rows with problems", ascending=False, kind="stable").iloc[0]
    return worst["Dataset"] if worst["Rows with problems"] else overview["Dataset"].iloc[0]


def kpi_definitions(ids) -> str | None:
    """The definitions of a few KPIs, for a tooltip next to a list of their names."""
    lines = [f"**{CATALOG[k].name}**: {coverage.first_sentence(CATALOG[k].description)}" for k in ids if k in CATALOG]
    return "\n\n".join(lines) if lines else None


def kpi_names(ids) -> str:
    names = [CATALOG[k].name for k in ids if k in CATALOG]
    return ", ".join(names) if names else "no catalog KPI"


def quality_details(ws: Workspace, dataset: str) -> None:
    """Everything the quality report says about one dataset, and which KPIs each problem touches."""
    report = quality(ws, dataset)
    ds = DATASETS[dataset]
    a, b, c, d = st.columns(4)
    a.metric("Rows", format_value(report.rows, "count"), border=True)
    b.metric("First date", _date_words(report.first_date), border=True,
             help=f"The earliest {ds.primary_date} in the dataset.")
    c.metric("Last date", _date_words(report.last_date), border=True,
             help=f"The latest {ds.primary_date} in the dataset.")
    d.metric("Exact duplicate rows", format_value(report.duplicate_rows, "count"), border=True,
             help="Rows that are identical, column by column, to another row.")

    chart = rows_per_month_chart(report)
    if chart is not None:
        st.markdown(f"**Rows per month** (by {ds.primary_date})")
        st.altair_chart(chart, width="stretch")
        if report.gap_months:
            months = ", ".join(pd.Timestamp(m).strftime("%b %Y") for m in report.gap_months[:12])
            st.caption(f":red[Months with no rows at all: {months}.] A gap usually means an export missed "
                       "a period; KPIs show those months as zero or empty.")
        else:
            st.caption("Every month between the first and the last date has rows.")

    issues_col, nulls_col = st.columns([3, 2])
    with issues_col:
        st.markdown("**Problems found**")
        if not report.issues:
            st.success("No rule breaks, duplicates or future dates.", icon=":material/check_circle:")
        for issue in report.issues:
            with st.container(border=True):
                st.markdown(f":material/warning: {plain(issue.sentence)}.")
                st.caption(f"Affects: {kpi_names(issue.affects)}", help=kpi_definitions(issue.affects))
                with st.expander(f"Example rows ({min(len(issue.examples), issue.count)} of "
                                 f"{format_value(issue.count, 'count')})"):
                    st.dataframe(no_none(issue.examples), hide_index=True, width="stretch")
                if issue.check == "implausible_dates":
                    early_dates_control(ws, dataset)
    with nulls_col:
        st.markdown("**Empty values per column**")
        nulls = pd.DataFrame([{"Column": col + (" *" if col in ds.required else ""), "Empty": n,
                               "Share empty": 100.0 * n / report.rows if report.rows else 0.0}
                              for col, n in report.nulls.items()])
        if len(nulls):
            st.dataframe(nulls, hide_index=True, width="stretch",
                         column_config={"Empty": st.column_config.NumberColumn(format="localized"),
                                        "Share empty": st.column_config.ProgressColumn(
                                            format="%.1f %%", min_value=0.0, max_value=100.0)})
            st.caption("Columns marked \\* are required. Empty optional columns only matter for the KPIs "
                       "that need them.")


def early_dates_control(ws: Workspace, dataset: str) -> None:
    """The team's answer to dates before 1970: real (keep them in the periods) or not (the default)."""
    kept = early_dates_kept(ws)
    label = ("Leave dates before 1970 out of the periods again" if kept
             else "These dates are real: keep dates before 1970 in the periods")
    if st.button(label, key=f"early_dates_{dataset}", icon=":material/event_available:", disabled=ws.read_only,
                 help="Periods normally start in 1970: an empty spreadsheet date (1900-01-01) or a 0001-01-01 "
                      "would otherwise start every chart centuries ago. This choice holds for every dataset of "
                      "the workspace."):
        try:
            keep_early_dates(ws, not kept)
        except KpiError as exc:
            session.show_error(exc)
            return
        st.rerun()


def delete_dataset_control(ws: Workspace, dataset: str) -> None:
    """Delete a dataset after an explicit confirmation."""
    if st.session_state.get(K_DELETE) != dataset:
        if st.button(f"Delete {dataset}…", key=f"delete_{dataset}", icon=":material/delete:",
                     disabled=ws.read_only, help="Remove this dataset from the workspace. You will be asked to confirm."):
            st.session_state[K_DELETE] = dataset
            st.rerun()
        return
    needing = [k.name for k in CATALOG.values() if dataset in coverage.needed_datasets(k)]
    with st.container(border=True):
        st.warning(f"Delete **{dataset}** and its {format_value(ws.row_count(dataset), 'count')} rows? "
                   f"{len(needing)} KPIs read it; those that need it will stop working. This cannot be undone.",
                   icon=":material/delete_forever:")
        yes, no, _ = st.columns([1, 1, 4])
        if yes.button("Yes, delete it", key=f"delete_yes_{dataset}", type="primary"):
            try:
                ws.drop_dataset(dataset)
            except KpiError as exc:
                session.show_error(exc)
                return
            st.session_state.pop(K_DELETE, None)
            st.toast(f"Deleted {dataset}.")
            st.rerun()
        if no.button("Cancel", key=f"delete_no_{dataset}"):
            st.session_state.pop(K_DELETE, None)
            st.rerun()


# -- coverage -----------------------------------------------------------------------------------------
def kpi_line(kpi_id: str, hint: str = "") -> None:
    k = CATALOG[kpi_id]
    definition = f"{k.description}\n\n**How it is worked out:** {k.formula}."
    if hint:
        st.markdown(f":material/lock: {k.name}  \n:gray[{hint}]", help=definition)
    else:
        st.markdown(f":green[:material/check_circle:] {k.name}", help=definition)


def coverage_matrix(ws: Workspace) -> None:
    """Every catalog KPI by category: computable now, or what would unlock it."""
    available = session.availability(ws)
    suggestions = coverage.next_datasets(available)[:4]
    if suggestions:
        st.markdown("**What to add next** — the data that would unlock the most KPIs")
        cols = st.columns(len(suggestions))
        for col, item in zip(cols, suggestions):
            with col.container(border=True):
                st.markdown(f"**{coverage.next_dataset_words(item)}**")
                st.caption(f"Unlocks {len(item.kpis)} KPI{'s' if len(item.kpis) > 1 else ''}: "
                           f"{kpi_names(item.kpis[:6])}{'…' if len(item.kpis) > 6 else ''}",
                           help=kpi_definitions(item.kpis))
    groups = coverage.coverage_by_category(available)
    # Two columns of cards, each card placed under the shorter column so neither runs long.
    columns, heights = st.columns(2), [0, 0]
    for group in groups:
        side = heights.index(min(heights))
        heights[side] += 3 + len(group.ready) + 2 * len(group.locked)
        with columns[side].container(border=True):
            st.markdown(f"#### {group.category}")
            st.progress(len(group.ready) / group.total if group.total else 0.0,
                        text=f"{len(group.ready)} of {group.total} ready")
            for kpi_id in group.ready:
                kpi_line(kpi_id)
            for kpi_id, hint in group.locked:
                kpi_line(kpi_id, hint)

