"""When in doubt, ask: the choices about a file that change the numbers, each option's effect shown.

Some things a file cannot say by itself: whether 4900 is cents or units, which of three date
columns is the sign-up, whether every issue of a tracker is a defect or only its bugs, whether
03/04/2025 is March or April, which time zone a help desk wrote its times in. ``questions_for``
finds the ones that matter for a file, loads the file once per option into a scratch in-memory
workspace and says what each option would give ("MRR would be 418.67 on 2024-04-30"); a
question whose options all give the same is not asked. ``ingest_file(..., answers={id: value})``
applies the answers (an unanswered question takes its default).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

from . import evidence, tool_exports
from .datasets import DATASETS
from .derived import VALID_SUBSCRIPTIONS
from .detect import MONEY_COLUMNS, Detection, name_score, sniff, value_fit
from .errors import InputError
from .ingest import COMMON_ZONES, RULE_QUESTIONS, STAGE_DEFAULTS, _ingest_checked, _plan
from .workspace import Workspace, quote_ident

EFFECT_ROWS = 200_000           # effects are worked out on the file's first rows, never the whole of a
EFFECT_BYTES = 32 * 10**6       # large file: at most this many rows, and about this many bytes of text
MAX_DATE_OPTIONS = 4
# Other columns of a dataset that may be meant as its main date (a CRM's "became a customer").
ALTERNATIVE_DATES = {"customers": ("trial_start", "converted_date")}


@dataclass(frozen=True)
class Option:
    label: str
    value: str
    effect: str = ""


@dataclass(frozen=True)
class Question:
    id: str                       # the key of ``answers`` ("amount_unit", "date_column:signup_date", ...)
    text: str
    options: tuple[Option, ...]
    default: str
    help: str = ""

    def option(self, value: str) -> Option:
        return next(o for o in self.options if o.value == value)


_RULE_TEXT = {
    "defects": ("Which issues are defects?", {"bugs": "Only bugs", "all": "Every issue (stories and tasks too)"},
                "KPIs such as defect density and test effectiveness count defects."),
    "paid_only": ("Which payments count as revenue?", {"paid": "Only paid ones", "all": "Every row, paid or not"},
                  "Revenue is money received: a failed, open or void payment is not."),
    "trial": ("When does a subscription in a trial start paying?",
              {"trial_end": "When the trial ends", "start": "From the subscription's start"},
              "MRR counts what customers pay; during a free trial they pay nothing."),
    "anonymous": ("Events of anonymous visitors (not signed in):",
                  {"leave_out": "Leave them out", "keep": "Keep them (each visitor counts as a user)"},
                  "Active users and retention count users; an anonymous id is a browser, not a customer."),
}
_STAGE_LABELS = {"leave_out": "Leave them out", "production": "Count them as found in production",
                 "pre_release": "Count them as found before release"}


def questions_for(path: str | Path, detection: Detection | None = None, *, ws: Workspace | None = None,
                  file_name: str | None = None, dataset: str | None = None, mapping: dict | None = None,
                  answers: dict | None = None) -> list[Question]:
    """The open questions about one file, each option with its effect computed on the file.

    ``detection`` (or ``dataset`` and ``mapping``) is what the user accepted so far; ``answers``
    holds answers already given (they are kept while the other questions are worked out). ``ws``
    lends its memory of earlier corrections. Raises ``InputError`` when the file cannot be loaded.
    """
    if detection is not None:
        dataset = dataset or detection.dataset
        mapping = mapping if mapping is not None else dict(detection.mapping)
    layout = sniff(path, file_name=file_name)
    answers = {k: str(v) for k, v in (answers or {}).items()}
    base = _plan(layout, dataset, mapping, (), (), answers, ws)
    profile = base.profile
    limit = effect_rows(base)
    scratch = Workspace(None)
    try:
        first = _run(scratch, base, limit)
        if isinstance(first, str):
            raise InputError(first)
        # fewer rows than the prefix may hold: the whole file was read (a payment export's refund
        # rows count twice here, which at worst adds the note below to a file just under the limit)
        whole = first.rows + first.incomplete + sum(first.left_out.values()) < limit
        as_of = _effect_date(scratch, base.dataset)
        candidates: list[tuple[str, str, list[tuple[str, str]], str, str]] = []
        said = {d.question: d.evidence for d in base.decisions if d.question}
        for q in _rule_questions(profile, layout.columns):
            text, labels, why = _RULE_TEXT[q]
            candidates.append((q, text, [(v, labels[v]) for v in RULE_QUESTIONS[q]], RULE_QUESTIONS[q][0], why))
        if profile and any(isinstance(d, tool_exports.StageWords) and d.target == "stage" for d in profile.derive):
            candidates.append(("unstaged", "Defects whose environment and labels name no stage:",
                               [(v, _STAGE_LABELS[v]) for v in STAGE_DEFAULTS], base.answers["unstaged"],
                               "Test effectiveness compares defects found before release with those found after. "
                               + ("Production is marked on some issues, so the others were found before release."
                                  if base.answers["unstaged"] == "pre_release" else "")))
        money = [c for c in MONEY_COLUMNS.get(base.dataset, ()) if c in base.mapping]
        if money and "amount_unit" in said:
            default = base.answers["amount_unit"]
            column = base.mapping[money[0]]
            units = [("units", "Units (49 means 49.00)"), ("cents", "Cents (4900 means 49.00)")]
            if default == "micros":
                units.append(("micros", "Millionths (49000000 means 49.00)"))
            candidates.append(("amount_unit", f"Are the amounts in {column} whole currency units or cents?",
                               units, default, said["amount_unit"].capitalize() + "."))
        if "amount_column:amount" in said:
            current = base.mapping["amount"]
            others = evidence.money_columns(base.facts, [v for k, v in base.mapping.items() if k != "amount"])
            options = [current] + [c for c in others if c != current][:3]
            candidates.append(("amount_column:amount", "Which column is the revenue (money received)?",
                               [(c, c) for c in options], current, said["amount_column:amount"].capitalize() + "."))
        if "billing_period" in said:
            candidates.append(("billing_period", "How long is each subscription's billing period?",
                               [("plan", "As its plan's name says (annual plans are yearly)"),
                                ("month", "Every plan is billed monthly")], base.answers.get("billing_period", "plan"),
                               said["billing_period"].capitalize() + "."))
        if "duration_unit" in said:
            candidates.append(("duration_unit", "What unit are the durations written in?",
                               [("seconds", "Seconds"), ("minutes", "Minutes"), ("hours", "Hours")],
                               base.answers.get("duration_unit", "minutes"), said["duration_unit"].capitalize() + "."))
        for canon, options in _date_columns(base).items():
            current = base.mapping[canon]
            candidates.append((f"date_column:{canon}", f"Which column is {canon.replace('_', ' ')}?",
                               [(c, c) for c in options], current,
                               "The KPIs place each row in time by this date."))
        questions = []
        for qid, text, options, default, why in candidates:
            effects = {}
            for value, _label in options:
                plan = _plan(layout, dataset, mapping, (), (), {**answers, qid: value}, ws)
                effects[value] = _effect(scratch, plan, limit, as_of)
            if len(set(effects.values())) > 1:
                shown = tuple(Option(label, value, effects[value]) for value, label in options)
                questions.append(Question(qid, text, shown, answers.get(qid, default), why))
        questions.extend(_date_order_questions(scratch, layout, base, first, answers, limit))
        if profile is not None and profile.local_time:
            q = _zone_question(scratch, layout, dataset, mapping, ws, base, answers, limit)
            if q is not None:
                questions.append(q)
        if not whole:
            questions = [replace(q, help=(q.help + " " if q.help else "") +
                                 f"Effects are worked out on the first {limit:,} rows.") for q in questions]
        return questions
    finally:
        scratch.close()


def _rule_questions(profile, columns) -> list[str]:
    if profile is None:
        return []
    out = []
    for item in profile.rows + profile.derive:
        q = getattr(item, "question", None)
        when = getattr(item, "when", None)
        if q and q not in out and (when is None or tool_exports.find_columns(columns, when.column)):
            out.append(q)
    return out


def _date_columns(plan) -> dict[str, list[str]]:
    """For the dataset's main date: the file's date columns that could be it, when there are several."""
    ds = DATASETS[plan.dataset]
    canon = ds.primary_date
    if canon not in plan.mapping or plan.sample is None:
        return {}
    target = ds.column(canon)
    taken = {src for k, src in plan.mapping.items() if k != canon and k in ds.required}
    alternatives = {plan.mapping[c] for c in ALTERNATIVE_DATES.get(plan.dataset, ()) if c in plan.mapping}
    found = []
    for header in plan.layout.columns:
        if header in taken:
            continue
        fit = value_fit(plan.sample[header].tolist(), target, plan.dataset)
        if fit is None or fit < 0.9:
            continue
        score = name_score(header, target, plan.dataset)
        if score > 0 or header == plan.mapping[canon] or header in alternatives:
            found.append((header != plan.mapping[canon], -score, header))
    options = [h for *_ignored, h in sorted(found)][:MAX_DATE_OPTIONS]
    return {canon: options} if len(options) > 1 else {}


# --- effects: what an option gives ------------------------------------------------------------
def effect_rows(plan) -> int:
    """How many of the file's first rows the effects are worked out on: EFFECT_ROWS, fewer when its
    rows are wide (about EFFECT_BYTES of text in all, judged by the sample), never under 1,000."""
    sample = plan.sample
    if sample is None or sample.empty:
        return EFFECT_ROWS
    text = sum(sample[c].astype("string").str.len().fillna(0).sum() for c in sample.columns)
    per_row = max(1.0, float(text) / len(sample) + len(sample.columns))
    return int(max(1_000, min(EFFECT_ROWS, EFFECT_BYTES // per_row)))


def _run(scratch: Workspace, plan, limit: int):
    """Load the file's first ``limit`` rows into the scratch workspace; the error's sentence when
    they cannot be."""
    try:
        return _ingest_checked(scratch, plan, "replace", None, limit=limit)
    except InputError as exc:
        return str(exc)


def _effect(scratch: Workspace, plan, limit: int | None, as_of: dt.date | None) -> str:
    result = _run(scratch, plan, limit)
    if isinstance(result, str):
        return f"the file would not load: {result}"
    text = _headline(scratch, plan.dataset, as_of)
    why = [f"{n:,} because {why[0].lower() + why[1:]}" for why, n in result.left_out.items()]
    if result.incomplete:
        why.append(f"{result.incomplete:,} without a value in a required column")
    return text + (f"; rows left out: {', '.join(why)}" if why else "")


def _effect_date(scratch: Workspace, dataset: str) -> dt.date | None:
    """The day MRR is shown on: the end of the month before the latest start (a whole month)."""
    if dataset != "subscriptions":
        return None
    latest = scratch.rows("SELECT max(start_date) FROM subscriptions")[0][0]
    if latest is None:
        return None
    return latest.replace(day=1) - dt.timedelta(days=1)


def _headline(ws: Workspace, dataset: str, as_of: dt.date | None) -> str:
    """One sentence of what the loaded dataset gives: its main figure."""
    one = lambda sql, params=None: ws.rows(sql, params)[0]  # noqa: E731
    if dataset == "subscriptions" and as_of is not None:
        mrr = one(f"SELECT coalesce(sum(mrr), 0) FROM subscriptions WHERE {VALID_SUBSCRIPTIONS} "
                  "AND start_date <= ? AND (end_date IS NULL OR end_date > ?)", [as_of, as_of])[0]
        return f"MRR would be {mrr:,.2f} on {as_of.isoformat()}"
    if dataset == "payments":
        total, n = one("SELECT coalesce(sum(amount), 0), count(*) FROM payments")
        return f"revenue would be {total:,.2f} from {n:,} rows"
    if dataset == "customers":
        n, last = one("SELECT count(DISTINCT customer_id), max(signup_date) FROM customers")
        month = one("SELECT count(*) FROM customers WHERE date_trunc('month', signup_date) = date_trunc('month', ?)",
                    [last])[0] if last else 0
        return f"{n:,} sign-ups, {month:,} of them in {last:%Y-%m}" if last else f"{n:,} sign-ups"
    if dataset == "events":
        users, n = one("SELECT count(DISTINCT user_id), count(*) FROM events")
        return f"{users:,} users, {n:,} events"
    if dataset == "surveys":
        nps, n = one("SELECT 100.0 * (count(*) FILTER (WHERE score >= 9) - count(*) FILTER (WHERE score <= 6)) "
                     "/ nullif(count(*), 0), count(*) FROM surveys")
        return f"NPS would be {nps:.1f} from {n:,} responses" if n else "no responses"
    if dataset == "marketing":
        total, n = one("SELECT coalesce(sum(spend), 0), count(*) FROM marketing")
        return f"spend would be {total:,.2f} over {n:,} rows"
    if dataset == "defects":
        n, prod = one("SELECT count(*), count(*) FILTER (WHERE stage = 'production') FROM defects")
        return f"{n:,} defects, {prod:,} found in production"
    if dataset == "incidents":
        n, minutes = one("SELECT count(*), coalesce(sum(epoch(ended_at - started_at)) / 60, 0) FROM incidents")
        return f"{n:,} incidents, {minutes:,.0f} minutes of downtime"
    ds = DATASETS[dataset]
    col = quote_ident(ds.primary_date)
    n, first = one(f"SELECT count(*), min({col}) FROM {quote_ident(dataset)}")
    return f"{n:,} rows, the first on {first}"


def _date_order_questions(scratch: Workspace, layout, base, first, answers: dict, limit) -> list[Question]:
    """03/04/2025: March 4 or April 3? Asked for each column whose dates could be read either way."""
    out = []
    answered = [k.split(":", 1)[1] for k in answers if k.startswith("date_order:")]
    for canon in list(dict.fromkeys(first.ambiguous_dates + answered)):
        qid = f"date_order:{canon}"
        effects = {}
        for value in ("month_first", "day_first"):
            plan = _plan(layout, base.dataset, dict(base.mapping), (), (), {**answers, qid: value}, None)
            result = _run(scratch, plan, limit)
            if isinstance(result, str):
                effects[value] = f"the file would not load: {result}"
                continue
            col = quote_ident(canon)
            dates = [r[0] for r in scratch.rows(f"SELECT DISTINCT CAST({col} AS DATE) AS d FROM "
                                                f"(SELECT {col} FROM {quote_ident(base.dataset)} LIMIT 50) "
                                                f"WHERE {col} IS NOT NULL ORDER BY d LIMIT 3")]
            effects[value] = "the first dates would be " + ", ".join(d.strftime("%d %b %Y") for d in dates)
        src = base.mapping.get(canon, canon)
        out.append(Question(qid, f"How are the dates in {src} written?",
                            (Option("Month first (03/04/2025 is 4 March)", "month_first", effects["month_first"]),
                             Option("Day first (03/04/2025 is 3 April)", "day_first", effects["day_first"])),
                            answers.get(qid, "month_first"),
                            "Both readings are valid for every date in the column."))
    return out


def _zone_question(scratch: Workspace, layout, dataset, mapping, ws, base, answers: dict, limit) -> Question | None:
    """A help desk or CRM writes times in the account's zone, without saying which."""
    ds = DATASETS[base.dataset]
    stamps = [c.name for c in ds.columns if c.type in ("timestamp", "date") and c.name in base.mapping]
    if not stamps or isinstance(_run(scratch, _plan(layout, dataset, mapping, (), (),
                                                    {**answers, "timezone": "UTC"}, ws), limit), str):
        return None
    col = quote_ident(stamps[0])
    row = scratch.rows(f"SELECT {col} FROM {quote_ident(base.dataset)} WHERE {col} IS NOT NULL "
                       f"ORDER BY {col} LIMIT 1")
    if not row or not isinstance(row[0][0], dt.datetime):
        return None
    first = row[0][0]
    zones = list(COMMON_ZONES)
    given = answers.get("timezone")
    if given and given not in zones:
        zones.insert(1, given)
    options = []
    for zone in zones:
        when = first if zone == "UTC" else scratch.rows("SELECT timezone('UTC', timezone(?, ?::TIMESTAMP))",
                                                         [zone, first])[0][0]
        label = "UTC (as written)" if zone == "UTC" else zone
        options.append(Option(label, zone, f"the first {stamps[0].replace('_', ' ')} would be "
                                           f"{when:%Y-%m-%d %H:%M} UTC"))
    return Question("timezone", f"Which time zone are the times of this {base.tool} export in?", tuple(options),
                    answers.get("timezone", "UTC"),
                    f"{base.tool} writes times in the account's time zone, without saying which; KPIs use UTC.")
