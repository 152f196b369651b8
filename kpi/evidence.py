"""What a file shows about its columns before anything is loaded: evidence from values, headers, the file's
shape and the workspace, and each decision taken from it with a confidence and a sentence a PM can read.

Recognition does not depend on knowing the tool: a column of whole numbers with a median of 4,900 in a
file with epoch times is cents whoever wrote it; a header that says "(in hrs)" holds hours; a cell that
holds "bug, production" is a list; a column whose values are the ids already loaded in ``customers`` or
``events`` is the user id, whatever it is called. ``file_facts`` gathers the evidence once per file;
``general_rules`` turns it into the rows to leave out and the values to derive (the same vocabulary
as tools' profiles in ``kpi/tool_exports.py``, which only add a tool's name and confidence).
"""
from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pandas as pd

from .datasets import normalise_name
from .tool_exports import (LIST_SPLIT, UUID_RE, DropRows, ExportProfile, Fill, FlagWords, KeepRows,
                           Sign, StageWords, When, find_columns, platform_from_file_name)
from .vocabulary import (BUG_WORDS, ESCALATION_WORDS, ISSUE_STAGES, PAID_STATUSES, PLAN_PERIOD_WORDS,
                         REFUND_WORDS, SENTINEL_IDS, UNPAID_STATUSES, ZONE_ABBREVIATIONS)


@dataclass(frozen=True)
class Decision:
    """One choice about a file that changes the numbers, with what it rests on."""
    topic: str                  # "amount_unit", "billing_period", "amount_column", "user_id", ...
    choice: str                 # the answer taken ("cents", "plan", a column name, ...)
    confidence: float           # 0..1
    evidence: str               # plain words: "amounts look like cents (4900 means 49.00): every amount ..."
    question: str | None = None  # the question id whose answer overrides it (kpi/questions.py), if any


# --- headers --------------------------------------------------------------------------------------
def header_words(header: str) -> list[str]:
    """A header's words in order, whatever its case or separators: 'run_started_at', 'runStartedAt' and
    'Run Started At' are [run, started, at]; 'items.0.price.unit_amount' is [items, 0, price, unit, amount]."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(header))
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    return re.findall(r"[a-z0-9]+", text.lower())


_UNIT_TOKENS = {
    "hours": ("hrs", "hr", "hours", "hour"), "minutes": ("min", "mins", "minutes", "minute"),
    "seconds": ("sec", "secs", "seconds", "second"), "milliseconds": ("ms", "millis", "milliseconds", "msec"),
    "days": ("days",), "cents": ("cents", "cent", "minor"), "micros": ("micros", "micro"),
}
_UNIT_OF = {t: unit for unit, tokens in _UNIT_TOKENS.items() for t in tokens}
# one letter after a duration word: 'duration_s', 'time_h', 'runtime_m'
_SHORT_UNITS = {"s": "seconds", "m": "minutes", "h": "hours"}
_DURATION_WORDS = {"duration", "time", "runtime", "elapsed", "took", "length"}


def header_unit(header: str) -> str | None:
    """The unit a header names ('Resolution time (in hrs)' hours, 'amount_in_cents' cents, 'duration_ms'
    milliseconds): after 'in' when the header says 'in', else its last unit word."""
    words = header_words(header)
    if "in" in words:
        after = [_UNIT_OF[w] for w in words[words.index("in") + 1:] if w in _UNIT_OF]
        if after:
            return after[0]
    found = [_UNIT_OF[w] for w in words if w in _UNIT_OF]
    if found:
        return found[-1]
    if len(words) > 1 and words[-1] in _SHORT_UNITS and words[-2] in _DURATION_WORDS:
        return _SHORT_UNITS[words[-1]]
    return None


def says_utc(header: str) -> bool:
    """'Created (UTC)', 'timestamp_utc', 'Start Date (in UTC)': the times are UTC whatever they look like."""
    return bool({"utc", "gmt", "z"} & set(header_words(header)))


# --- values ---------------------------------------------------------------------------------------
_INT = re.compile(r"^[+-]?\d+$")
_NUM = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)$")
_CLOCK = re.compile(r"^\d{1,4}:\d{2}(?::\d{2}(?:\.\d+)?)?$")
_TIME_OF_DAY = re.compile(r"\d:\d{2}")
# after a time: 'Z', an offset ('+02:00', '-0500'), or a zone's name ('UTC', 'GMT+2', 'PST')
_OFFSET_END = re.compile(r"\d(?::\d{2})?(?:\.\d+)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$")
_NAME_END = re.compile(r"\d(?:\s*[AaPp]\.?[Mm]\.?)?\s*([A-Za-z]{1,5})(?:[+-]\d{1,2}(?::?\d{2})?)?$")
# epoch magnitudes of 2000-01-01 .. 2040-01-01 in each unit
EPOCH_RANGES = {"seconds": (9.46e8, 2.21e9), "milliseconds": (9.46e11, 2.21e12), "microseconds": (9.46e14, 2.21e15)}


@dataclass(frozen=True)
class ColumnFacts:
    """What one column's header and sample values show."""
    column: str
    words: tuple[str, ...]
    unit: str | None = None          # a unit the header names
    utc: bool = False                # the header says the times are UTC
    filled: int = 0                  # non-empty sample values
    distinct: int = 0
    numeric: bool = False            # every value a plain number
    integers: bool = False           # every value a whole number (quoted or not)
    median: float | None = None
    epoch: str | None = None         # every value an epoch time in this unit
    clock: bool = False              # every value a duration written H:MM:SS
    json: bool = False               # the cells hold JSON objects or arrays
    list_sep: str | None = None      # the cells hold several items split by this
    sentinels: tuple[str, ...] = ()  # values that mean "none" beside values of another shape
    dotted: bool = False             # a flattened JSON path ('data.attributes.total')
    indexed: bool = False            # a path through a list ('items.0.id'): a nested item's field
    timed: bool = False              # some value holds a time of day ('2024-04-01 23:30')
    zoned: bool = False              # some value says its time zone ('...Z', '+02:00', '10:10 AM GMT+2')
    examples: tuple[str, ...] = ()
    values: tuple[str, ...] = field(default=(), compare=False, repr=False)   # distinct sample values


def _filled(values: Iterable) -> list[str]:
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and v != v):
            continue
        s = str(v).strip()
        if s and s.lower() not in ("nan", "null", "none", "\\n"):
            out.append(s)
    return out


def _list_separator(vals: list[str], words: list[str]) -> str | None:
    if not vals or all(_NUM.match(v.replace(",", "")) for v in vals):
        return None   # '2,670' is a number with a thousands separator
    tagged = bool({"tag", "tags", "label", "labels", "keywords", "categories", "topics"} & set(words))
    for sep in (",", ";", "|") + ((" ",) if tagged else ()):
        several = [v for v in vals if len([p for p in re.split(re.escape(sep), v) if p.strip()]) > 1]
        if not several:
            continue
        items = [p.strip() for v in several for p in v.split(sep) if p.strip()]
        if all(len(i) <= 40 for i in items) and (tagged or len(several) * 5 >= len(vals)):
            if sep == " " or all(len(p.split()) <= 4 for p in items):
                return sep
    return None


def _sentinels(vals: list[str]) -> tuple[str, ...]:
    marks = {v for v in vals if v.lower() in SENTINEL_IDS}
    rest = [v for v in vals if v not in marks]
    if not marks or not rest:
        return ()
    # -1 and 0 mean "none" only where the real ids are of another shape (long numbers, text)
    if all(_INT.match(v) and len(v.lstrip("+-")) <= 3 for v in rest):
        return tuple(sorted(m for m in marks if not _INT.match(m)))
    return tuple(sorted(marks))


def says_zone(value: str) -> bool:
    """Whether a date-time value carries its time zone ('2024-04-01T10:00:00Z', '... +02:00', '10:10 AM GMT+2')."""
    v = value.strip()
    if not _TIME_OF_DAY.search(v):
        return False
    if _OFFSET_END.search(v):
        return True
    m = _NAME_END.search(v)
    return bool(m and m.group(1).upper() in ZONE_ABBREVIATIONS)


def column_facts(column: str, values: Iterable) -> ColumnFacts:
    words = header_words(column)
    vals = _filled(values)
    base = dict(column=column, words=tuple(words), unit=header_unit(column), utc=says_utc(column),
                dotted="." in str(column).strip(".*"), indexed=bool(re.search(r"\.\d+\.", f".{column}.")),
                filled=len(vals), distinct=len(set(vals)), examples=tuple(dict.fromkeys(vals))[:3],
                values=tuple(dict.fromkeys(vals))[:500])
    if not vals:
        return ColumnFacts(**base)
    numeric = all(_NUM.match(v) for v in vals)
    integers = numeric and all(_INT.match(v) for v in vals)
    median = statistics.median(abs(float(v)) for v in vals) if numeric else None
    epoch = None
    if numeric:
        for unit, (lo, hi) in EPOCH_RANGES.items():
            if all(lo <= float(v) <= hi for v in vals):
                epoch = unit
                break
    clock = all(_CLOCK.match(v) for v in vals)
    looks_json = sum(v[:1] in "{[" and v[-1:] in "}]" for v in vals)
    is_json = False
    if looks_json * 2 > len(vals):
        try:
            [json.loads(v) for v in vals[:20] if v[:1] in "{["]
            is_json = True
        except ValueError:
            is_json = False
    timed = not numeric and not clock and any(_TIME_OF_DAY.search(v) for v in vals)
    return ColumnFacts(**base, numeric=numeric, integers=integers, median=median, epoch=epoch, clock=clock,
                       json=is_json, list_sep=None if is_json else _list_separator(vals, words),
                       sentinels=_sentinels(vals), timed=timed, zoned=timed and any(says_zone(v) for v in vals))


@dataclass(frozen=True)
class FileFacts:
    """The evidence about one file: each column's, and the file's own shape."""
    columns: dict[str, ColumnFacts] = field(default_factory=dict)
    header_rows: int = 1
    preamble_lines: int = 0
    footer_rows: int = 0
    file_name: str | None = None
    zones: dict[str, str] = field(default_factory=dict)   # column -> the time zone a header row names for it

    @property
    def epoch_columns(self) -> list[str]:
        return [c for c, f in self.columns.items() if f.epoch]

    @property
    def dotted(self) -> bool:
        dotted = [c for c, f in self.columns.items() if f.dotted]
        return len(dotted) * 3 >= max(1, len(self.columns))

    def api_signs(self) -> list[str]:
        """Signs that the file came from an API or a database rather than a report (they write cents)."""
        signs = []
        if self.epoch_columns:
            signs.append("its dates are Unix times, as programs write them")
        if self.dotted:
            signs.append("its columns are paths into nested data (a.b), as API exports write them")
        return signs

    def get(self, column: str | None) -> ColumnFacts | None:
        return self.columns.get(column) if column else None


def file_facts(columns: Iterable[str], sample: pd.DataFrame | None, layout=None,
               file_name: str | None = None) -> FileFacts:
    cols = list(columns)
    facts = {}
    for c in cols:
        values = []
        if sample is not None and c in sample.columns:
            series = sample[c]
            if isinstance(series, pd.DataFrame):
                series = series.iloc[:, 0]
            values = series.tolist()
        facts[c] = column_facts(c, values)
    return FileFacts(columns=facts, header_rows=getattr(layout, "header_rows", 1),
                     preamble_lines=max(0, getattr(layout, "header_line", 1) - 1),
                     footer_rows=getattr(layout, "footer_rows", 0),
                     file_name=file_name or getattr(layout, "file_name", None),
                     zones=_header_zones(cols, getattr(layout, "import_ids", ())))


def _header_zones(columns: list[str], import_ids: Iterable[str]) -> dict[str, str]:
    """The time zone a header row of JSON names for a column ('{"ImportId":"recordedDate","timeZone":"America/Denver"}')."""
    import zoneinfo
    out = {}
    for column, cell in zip(columns, import_ids):
        try:
            doc = json.loads(cell) if cell.startswith("{") else {}
        except ValueError:
            continue
        zone = next((str(v) for k, v in doc.items() if normalise_name(k) in ("timezone", "tz")), None) \
            if isinstance(doc, dict) else None
        if zone and (zone in zoneinfo.available_timezones() or zone.lower() in _UTC_NAMES):
            out[column] = "UTC" if zone.lower() in _UTC_NAMES else zone
    return out


def shape_notes(facts: FileFacts) -> list[str]:
    """What the file's shape shows, in words (preamble, extra header rows, totals, flattened JSON)."""
    notes = []
    if facts.preamble_lines:
        notes.append(f"{facts.preamble_lines} line{'s' if facts.preamble_lines > 1 else ''} above the header "
                     "(a report title) skipped")
    if facts.header_rows > 1:
        notes.append(f"{facts.header_rows} header rows (names, then question texts or import ids) read as one header")
    if facts.footer_rows:
        notes.append(f"{facts.footer_rows} line{'s' if facts.footer_rows > 1 else ''} below the data (totals or a "
                     "note) left out")
    if facts.dotted:
        notes.append("the columns are paths into nested data (such as customer.email), as API exports write them: "
                     "each is matched by its last names")
    json_cols = [c for c, f in facts.columns.items() if f.json]
    if json_cols:
        notes.append(f"{', '.join(json_cols[:3])} hold{'s' if len(json_cols) == 1 else ''} nested data (JSON): kept as "
                     "text")
    return notes


# --- decisions from evidence -------------------------------------------------------------------------
def _n(x: float) -> str:
    return f"{x:,.0f}" if x == int(x) else f"{x:,.2f}"


def unix_example(value: str, unit: str) -> str:
    """'1709287200' is 01 Mar 2024 10:00 UTC."""
    import datetime as dt
    scale = {"seconds": 1, "milliseconds": 1e3, "microseconds": 1e6}[unit]
    when = dt.datetime.fromtimestamp(float(value) / scale, dt.timezone.utc)
    return f"'{value}' is {when:%d %b %Y %H:%M} UTC"


def pct(share: float) -> str:
    """A share as the app writes it: '85 %'."""
    return f"{share * 100:.0f} %"


def amount_unit(facts: FileFacts, column: str | None) -> Decision:
    """Cents, millionths or whole units: from the header first, then from the values."""
    f = facts.get(column)
    if f is None:
        return Decision("amount_unit", "units", 0.5, "no amount column to judge by", "amount_unit")
    if f.unit in ("cents", "micros"):
        word = "cents" if f.unit == "cents" else "millionths (micros)"
        return Decision("amount_unit", f.unit, 0.95, f"the header '{column}' says the amounts are in {word}",
                        "amount_unit")
    if not f.numeric or not f.filled:
        return Decision("amount_unit", "units", 0.8, f"amounts in {column} are written as money ('{f.examples[0]}')"
                        if f.examples else "no amounts to judge by", "amount_unit")
    if not f.integers:
        return Decision("amount_unit", "units", 0.95, f"amounts have decimals ('{f.examples[0]}'): whole currency units",
                        "amount_unit")
    median = f.median or 0.0
    signs = facts.api_signs()
    said = f"every amount in {column} is a whole number, typically {_n(median)}" + \
        ("; " + " and ".join(signs) if signs else "")
    if median >= 1000 or (median >= 100 and signs):
        confidence = 0.85 if signs else 0.65
        example = f"{median:.0f} means {median / 100:,.2f}"
        return Decision("amount_unit", "cents", confidence, f"amounts look like cents ({example}): {said}",
                        "amount_unit")
    return Decision("amount_unit", "units", 0.7, f"amounts look like whole currency units: {said}", "amount_unit")


def needs_unit_question(decision: Decision, facts: FileFacts, column: str | None) -> bool:
    """Whole numbers of 100 or more may be either: ask (the header or decimals settle it otherwise)."""
    f = facts.get(column)
    return bool(f and f.integers and (f.median or 0) >= 100 and decision.confidence < 0.95)


def plan_period(value: str) -> str | None:
    """The billing period a plan's code or name says ('pro-annual' year, 'team_monthly' month), if any."""
    tokens = re.findall(r"\d+[a-z]{0,6}|[a-z]+", str(value).lower())
    for period, words in PLAN_PERIOD_WORDS.items():
        if any(t in words for t in tokens):
            return period
    return None


def plan_periods(facts: FileFacts, columns: Iterable[str]) -> tuple[str | None, dict[str, str]]:
    """The plan column whose codes or names say a period, and {value: period} for the values that do."""
    best, best_found = None, {}
    for c in columns:
        f = facts.get(c)
        if f is None or f.numeric or not f.examples:
            continue
        found = {}
        for v in f.values:
            p = plan_period(v)
            if p:
                found[v] = p
        if len(found) > len(best_found):
            best, best_found = c, found
    return best, best_found


def known_ids(ws) -> frozenset[str]:
    """The ids already loaded as customers and users (what a new file's user id should join to)."""
    if ws is None:
        return frozenset()
    ids: set[str] = set()
    for table, col in (("customers", "customer_id"), ("events", "user_id")):
        try:
            if ws.has(table):
                ids.update(r[0] for r in ws.rows(f'SELECT DISTINCT CAST("{col}" AS VARCHAR) FROM "{table}" '
                                                 f'WHERE "{col}" IS NOT NULL LIMIT 500000'))
        except Exception:  # noqa: BLE001 - a workspace that cannot say leaves the guess to the headers
            continue
    return frozenset(ids)


def id_overlap(sample: pd.DataFrame | None, columns: Iterable[str], ids: frozenset[str]) -> dict[str, float]:
    """For each column, the share of its distinct sample values that are ids already loaded."""
    out: dict[str, float] = {}
    if not ids or sample is None:
        return out
    for c in columns:
        if c not in sample.columns:
            continue
        series = sample[c]
        if isinstance(series, pd.DataFrame):
            series = series.iloc[:, 0]
        vals = set(_filled(series.tolist()))
        if len(vals) >= 1:
            share = len(vals & ids) / len(vals)
            if share > 0:
                out[c] = round(share, 3)
    return out


# --- general rules: what any export of a kind needs, whatever tool wrote it ----------------------------
def find_by_words(facts: FileFacts, *wanted: set[str], avoid: set[str] = frozenset(),
                  exclude: Iterable[str] = ()) -> list[str]:
    """Columns whose header holds every word of one of ``wanted`` (and none of ``avoid``), in file order."""
    skip = set(exclude)
    out = []
    for c, f in facts.columns.items():
        if c in skip:
            continue
        words = set(f.words)
        if words & avoid:
            continue
        if any(w <= words for w in wanted):
            out.append(c)
    return out


def _values_have(sample, column: str, words: Iterable[str], split: str | None = None) -> tuple[bool, bool]:
    """(some value is one of ``words``, some value is not), values compared without punctuation."""
    if sample is None or column not in sample.columns:
        return False, False
    series = sample[column]
    if isinstance(series, pd.DataFrame):
        series = series.iloc[:, 0]
    wanted = {normalise_name(w) for w in words}
    hit = miss = False
    for v in _filled(series.tolist()):
        items = [normalise_name(x) for x in re.split(split, v)] if split else [normalise_name(v)]
        if set(items) & wanted:
            hit = True
        else:
            miss = True
    return hit, miss


def general_rules(dataset: str, facts: FileFacts, sample, mapping: dict[str, str]) -> ExportProfile | None:
    """The rows to leave out and the values to derive for this kind of export, read from its headers and values."""
    rows: list = []
    derive: list = []
    mapped = set(mapping.values())
    if dataset == "payments":
        for c in find_by_words(facts, {"status"}, {"state"}, {"outcome"}, {"result"}, exclude=mapped):
            paid, _ = _values_have(sample, c, PAID_STATUSES)
            unpaid, _ = _values_have(sample, c, UNPAID_STATUSES)
            if paid or unpaid:
                rows.append(DropRows(When(c, "in_words", UNPAID_STATUSES),
                                     f"payments whose {c} is failed, open, void or pending are not revenue",
                                     question="paid_only"))
                break
        for c in find_by_words(facts, {"type"}, {"kind"}, {"category"}, avoid={"status", "payment", "card", "source",
                                                                                  "method", "currency"},
                               exclude=mapped):
            hit, _ = _values_have(sample, c, REFUND_WORDS)
            if hit and "amount" in mapping:
                derive.append(Sign("amount", When(c, "in_words", REFUND_WORDS),
                                   why=f"rows whose {c} is a refund or credit count as negative revenue"))
                break
    elif dataset == "subscriptions":
        for c in find_by_words(facts, {"status"}, {"state"}, exclude=mapped):
            hit, _ = _values_have(sample, c, ("incomplete", "incompleteexpired", "future"))
            if hit:
                rows.append(DropRows(When(c, "in_words", ("incomplete", "incompleteexpired", "future")),
                                     "subscriptions that never started paying (incomplete, future) are left out"))
                break
        start = mapping.get("start_date")
        trial_end = next(iter(find_by_words(facts, {"trial", "end"}, {"trial", "ends"}, {"trial", "ended"},
                                            exclude=mapped)), None)
        trial_start = next(iter(find_by_words(facts, {"trial", "start"}, {"trial", "started"},
                                              {"trial", "begin"}, exclude=mapped)), None)
        if start and trial_end:
            derive.append(Fill("start_date", trial_end, When(trial_end, "not_empty"),
                               why=f"a trial pays nothing: MRR starts at {trial_end}", question="trial"))
        if start and trial_start:
            derive.append(Fill("start_date", trial_start, When(trial_start, "not_empty"), only_if_empty=True,
                               why=f"a trial row with no start takes {trial_start}"))
        at_end = next(iter(find_by_words(facts, {"cancel", "period", "end"}, {"cancel", "end", "of", "period"},
                                         exclude=mapped)), None)
        period_end = next(iter(find_by_words(facts, {"current", "period", "end"}, {"current", "period", "ends"},
                                             exclude=mapped)), None)
        if "end_date" in mapping and at_end and period_end:
            derive.append(Fill("end_date", period_end, When(at_end, "true"), only_if_empty=True,
                               why=f"a subscription canceled at the period end ends at {period_end}"))
    elif dataset == "events":
        user = mapping.get("user_id")
        f = facts.get(user)
        if f is not None and sample is not None and user in sample.columns:
            vals = _filled(sample[user].tolist() if not isinstance(sample[user], pd.DataFrame)
                           else sample[user].iloc[:, 0].tolist())
            device = [v for v in vals if v.startswith("$device:")]
            uuids = [v for v in vals if re.match(UUID_RE, v.lower())]
            if device:
                rows.append(DropRows(When(user, "starts_with", ("$device:",)),
                                     "anonymous visitors ($device: ids) are not users", question="anonymous"))
            elif uuids and len(uuids) < len(vals):
                rows.append(DropRows(When(user, "matches", (UUID_RE,)),
                                     "anonymous visitors (random UUID ids) are not users", question="anonymous",
                                     only_if_minority=True))
    elif dataset == "defects":
        rule = _bug_rule(facts, sample, mapped)
        if rule is not None:
            rows.append(rule)
        sources = _stage_sources(facts, sample, mapped | ({mapping["stage"]} if "stage" in mapping else set()))
        if sources:
            derive.append(StageWords("stage", tuple(sources), ISSUE_STAGES,
                                     why=f"the stage is read from {', '.join(sources)}"))
    elif dataset == "tickets" and "escalated" not in mapping:
        for c, f in facts.columns.items():
            if c in mapped or not f.list_sep and not {"tag", "tags", "label", "labels"} & set(f.words):
                continue
            hit, _ = _values_have(sample, c, ESCALATION_WORDS, split=r"[,;|\s]+")
            if hit:
                derive.append(FlagWords("escalated", (c,), ESCALATION_WORDS, split=r"[,;|\s]+",
                                        why=f"a ticket marked escalated in {c} was escalated"))
                break
    elif dataset == "marketing" and "channel" not in mapping:
        platform = platform_from_file_name(facts.file_name)
        if platform is not None:
            derive.extend(platform.derive)
    if not rows and not derive:
        return None
    return ExportProfile("", "generic", dataset, signature=(), columns={}, rows=tuple(rows), derive=tuple(derive),
                         source="the file's own headers and values")


def rule_decisions(columns: Iterable[str], general: ExportProfile | None, tool: ExportProfile | None) -> list[Decision]:
    """The rows left out and the values derived, in words: a tool's rules first (they replace a general rule
    asked by the same question), each only where the file has the columns it reads."""
    columns = list(columns)
    has = lambda header: bool(find_columns(columns, header))  # noqa: E731
    out: list[Decision] = []
    asked: set[str] = set()
    targets: set[str] = set()
    for source, confidence in ((tool, 0.97), (general, 0.9)):
        if source is None:
            continue
        for rule in source.rows:
            if (rule.question and rule.question in asked) or not has(rule.when.column):
                continue
            asked.add(rule.question)
            out.append(Decision("rule", "", confidence, rule.why, rule.question))
        for d in source.derive:
            reads = [d.source, d.when.column] if isinstance(d, Fill) else [d.when.column] if isinstance(d, Sign) \
                else list(getattr(d, "sources", ()))
            # a Fill says where a value comes from: the tool's and the general rule may say it twice
            key = (d.target, tuple(find_columns(columns, d.source))) if isinstance(d, Fill) else d.target
            if not d.why or key in targets or (getattr(d, "question", None) or "-") in asked or \
                    (reads and not (all if isinstance(d, (Fill, Sign)) else any)(has(c) for c in reads)):
                continue
            targets.add(key)
            if getattr(d, "question", None):
                asked.add(d.question)
            out.append(Decision("rule", "", confidence, d.why, getattr(d, "question", None)))
    return out


def _bug_rule(facts: FileFacts, sample, mapped: set[str]):
    """Only bugs are defects where a type column or the labels say which issues are bugs."""
    for c in find_by_words(facts, {"type"}, {"kind"}, {"category"}, {"tracker"}, avoid={"ticket", "via", "content"}):
        hit, miss = _values_have(sample, c, BUG_WORDS)
        if hit and miss:
            return KeepRows(When(c, "in_words", BUG_WORDS), f"only issues whose {c} is Bug are defects",
                            question="defects")
    for c, f in facts.columns.items():
        if not ({"label", "labels", "tag", "tags"} & set(f.words)):
            continue
        hit, miss = _values_have(sample, c, BUG_WORDS, split=LIST_SPLIT)
        if hit and miss:
            return KeepRows(When(c, "has_item", BUG_WORDS), "only issues labelled bug are defects",
                            question="defects")
    return None


_STAGE_HEADERS = ({"environment"}, {"env"}, {"found", "in"}, {"stage"}, {"phase"}, {"detected", "in"},
                  {"label"}, {"labels"}, {"tag"}, {"tags"})


def _stage_sources(facts: FileFacts, sample, mapped: set[str]) -> list[str]:
    """Columns whose values name a stage (an environment, a label 'production'), the environment first."""
    words = [w for _, ws in ISSUE_STAGES for w in ws]
    out = []
    for c in find_by_words(facts, *_STAGE_HEADERS):
        hit, _ = _values_have(sample, c, words, split=LIST_SPLIT)
        if hit:
            out.append(c)
    env = [c for c in out if not ({"label", "labels", "tag", "tags"} & set(facts.columns[c].words))]
    return env + [c for c in out if c not in env]


def stage_marks(sample, sources: Iterable[str]) -> tuple[bool, bool]:
    """(some row is marked production, some row is marked pre-release) in the stage columns."""
    prod = pre = False
    for c in sources:
        for stage, ws in ISSUE_STAGES:
            hit, _ = _values_have(sample, c, ws, split=LIST_SPLIT)
            if hit and stage == "production":
                prod = True
            elif hit:
                pre = True
    return prod, pre


def file_stem(path: str | Path | None) -> str:
    return Path(str(path or "")).name


# --- the decisions a file's evidence supports ----------------------------------------------------------
MONEY_INPUTS = {"subscriptions": ("amount", "mrr"), "payments": ("amount",), "marketing": ("spend",),
                "tickets": ("cost",)}
_MONEY_WORDS = {"amount", "total", "paid", "due", "remaining", "subtotal", "net", "gross", "price", "revenue",
                "charged", "settlement", "balance", "outstanding"}
ID_COLUMNS = {"events": "user_id", "customers": "customer_id", "subscriptions": "customer_id",
              "payments": "customer_id", "tickets": "customer_id", "surveys": "respondent_id"}
DURATIONS = {"test_runs": ("duration_minutes", "minutes"), "tickets": ("first_response_minutes", "minutes")}
DURATION_WORDS = {"duration_minutes": "each run's duration (in minutes)",
                  "first_response_minutes": "each ticket's time to first response (in minutes)"}
UNIT_SECONDS = {"milliseconds": 0.001, "seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0}


def money_columns(facts: FileFacts, exclude: Iterable[str] = ()) -> list[str]:
    """Numeric columns whose header says money (amount, total, paid, due, ...), in file order."""
    skip = set(exclude)
    return [c for c, f in facts.columns.items() if c not in skip and f.numeric and set(f.words) & _MONEY_WORDS
            and not set(f.words) & _NOT_AMOUNT]


# parts of an amount that are never the revenue itself (taxes, fees, discounts, refunds)
_NOT_AMOUNT = {"tax", "taxes", "fee", "fees", "discount", "refunded", "refund", "shipping", "setup", "vat", "rate"}


def duration_unit(facts: FileFacts, column: str | None) -> Decision | None:
    """How a duration column is written: H:MM:SS, a unit the header names, or (a guess) by magnitude."""
    f = facts.get(column)
    if f is None:
        return None
    if f.clock:
        return Decision("duration_unit", "clock", 0.95, f"{column} holds durations written as H:MM:SS "
                        f"('{f.examples[0]}')" if f.examples else f"{column} holds H:MM:SS durations")
    if f.unit in UNIT_SECONDS:
        return Decision("duration_unit", f.unit, 0.95, f"the header '{column}' says the durations are in {f.unit}")
    median = f.median or 0.0
    guess = "seconds" if median > 100 else "minutes"
    return Decision("duration_unit", guess, 0.6, f"the header '{column}' names no unit; typical value "
                    f"{_n(median)} reads as {guess}", "duration_unit")


WEAK_HEADER = 0.6   # a header that names the user id less well than this is only a guess


def user_id_decision(idcol: str, chosen: str, overlap: dict[str, float], ids_loaded: bool,
                     header_id: tuple[str, float] | None, confidence: float) -> Decision | None:
    """Which column is the product's user id: the workspace's ids decide, the header only where none are loaded.
    Asked (question ``column:<idcol>``) where the two disagree or the evidence is weak."""
    question = f"column:{idcol}"
    share = overlap.get(chosen, 0.0)
    header = header_id[0] if header_id else None
    loaded = "ids already loaded in customers or events"
    if ids_loaded and share >= 0.5:
        said = f"the user id is {chosen}: {pct(share)} of its values are {loaded}"
        if header in (None, chosen):
            return Decision("user_id", chosen, 0.95, said)
        return Decision("user_id", chosen, 0.8, f"{said}; by its header it would be {header} "
                        f"({pct(overlap.get(header, 0.0))} of whose values are)", question)
    if ids_loaded:
        return Decision("user_id", chosen, 0.5, f"the user id is {chosen} by its header only: {pct(share)} of its "
                        f"values are {loaded}", question)
    if confidence < WEAK_HEADER:
        return Decision("user_id", chosen, confidence, f"the user id is {chosen} by its header only (no customers "
                        "or events are loaded yet to check its values against)", question)
    return None


def zone_decision(dataset: str, mapping: dict[str, str], facts: FileFacts) -> Decision | None:
    """Times written without a zone are read as UTC; asked (question ``timezone``) where the day a row falls on
    could change: the dataset's main date holds times of day and neither its values nor its header say the zone."""
    from .datasets import DATASETS
    src = mapping.get(DATASETS[dataset].primary_date)
    f = facts.get(src)
    if f is None or not f.timed or f.zoned or f.utc or f.epoch:
        return None
    if src in facts.zones:   # a header row of the file says it
        zone = facts.zones[src]
        said = f"the times in {src} are in {zone}: the file's row of import ids under the header says so"
        return Decision("timezone", zone, 0.95, said) if zone == "UTC" else \
            Decision("timezone", zone, 0.85, said, "timezone")
    named = zone_column(facts)
    if named is not None:
        column, zone = named
        if zone == "UTC":
            return Decision("timezone", "UTC", 0.95, f"the times in {src} are UTC: {column} says so")
        return Decision("timezone", zone, 0.85, f"the times in {src} are in {zone}: {column} says so", "timezone")
    return Decision("timezone", "UTC", 0.6, f"the times in {src} say no time zone (no 'Z', offset or '(UTC)' in "
                    "its values or header): they are read as UTC", "timezone")


_UTC_NAMES = {"utc", "gmt", "z", "etc/utc", "etc/gmt", "utc+0", "gmt+0", "utc+00:00", "gmt+00:00"}


def zone_column(facts: FileFacts) -> tuple[str, str] | None:
    """A column that names the time zone of the file's times ('Created Timezone' = 'UTC'), and that zone."""
    import zoneinfo
    for c, f in facts.columns.items():
        words = set(f.words)
        if not ("timezone" in words or {"time", "zone"} <= words or "tz" in words) or f.distinct != 1:
            continue
        value = f.examples[0].strip()
        if value.lower() in _UTC_NAMES:
            return c, "UTC"
        if value in zoneinfo.available_timezones():
            return c, value
    return None


def decisions_for(dataset: str, mapping: dict[str, str], derived: dict[str, str], facts: FileFacts,
                  overlap: dict[str, float] | None = None, tool_mrr: str | None = None,
                  plan_column: str | None = None, *, ids_loaded: bool = False,
                  header_id: tuple[str, float] | None = None,
                  confidence: dict[str, float] | None = None) -> list[Decision]:
    """Every decision about this file as mapped that changes numbers, each with its evidence. ``header_id`` is
    the column the header alone would take as the user id; ``ids_loaded`` says the workspace holds ids to check
    the file's against (``overlap``: the share of each column's values that are such ids)."""
    out: list[Decision] = []
    money = next((mapping[m] for m in MONEY_INPUTS.get(dataset, ()) if m in mapping), None)
    if money:
        d = amount_unit(facts, money)
        if d.choice != "units" or needs_unit_question(d, facts, money):
            out.append(d)
    if dataset == "payments" and "amount" in mapping:
        others = [c for c in money_columns(facts, mapping.values())]
        if others:
            listed = others[:4]
            names = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " or " + listed[-1]
            out.append(Decision("amount_column", mapping["amount"], 0.8,
                                f"revenue is money received: read from {mapping['amount']}, not from {names} "
                                "(an amount only due or authorised is not money received)", "amount_column:amount"))
    if dataset == "subscriptions" and "mrr" in derived:
        if "period_count" in mapping and "billing_period" in mapping:
            out.append(Decision("billing_period", "column", 0.9, f"a billing period is {mapping['period_count']} × "
                                f"{mapping['billing_period']} (3 × month is a quarter): MRR = amount ÷ months"))
        elif "billing_period" in mapping:
            out.append(Decision("billing_period", "column", 0.95,
                                f"MRR = amount ÷ the months of {mapping['billing_period']} (a year is 12)"))
        elif plan_column:
            out.append(Decision("billing_period", "plan", 0.6,
                                f"no column names the billing period: it is read from {plan_column} "
                                "(a plan called 'pro-annual' is yearly); plans that name none are monthly",
                                "billing_period"))
        if tool_mrr:
            out.append(Decision("mrr", "derived", 0.9, f"the file's own MRR column ({tool_mrr}) is not used: MRR is "
                                "worked out as amount ÷ billing period (a tool's current MRR is 0 once cancelled "
                                "or in trial, which loses history)"))
    if dataset in DURATIONS:
        canon, _ = DURATIONS[dataset]
        if derived.get(canon):
            out.append(Decision("duration", "timestamps", 0.9, f"{DURATION_WORDS.get(canon, canon)} is worked out "
                                f"from two times: {derived[canon]}"))
        elif canon in mapping:
            d = duration_unit(facts, mapping[canon])
            if d is not None:
                out.append(d)
    idcol = ID_COLUMNS.get(dataset)
    if idcol and mapping.get(idcol):
        d = user_id_decision(idcol, mapping[idcol], overlap or {}, ids_loaded, header_id,
                             (confidence or {}).get(idcol, 1.0))
        if d is not None:
            out.append(d)
    zone = zone_decision(dataset, mapping, facts)
    if zone is not None:
        out.append(zone)
    for canon, src in mapping.items():
        f = facts.get(src)
        if f is None:
            continue
        if f.sentinels and canon.endswith("_id"):
            marks = " and ".join(repr(s) for s in f.sentinels)
            out.append(Decision("sentinel", src, 0.9, f"{marks} in {src} {'mean' if len(f.sentinels) > 1 else 'means'} "
                                "“none” (the other values are ids of another shape)"))
        if f.epoch and canon not in ("session_id", "user_id", "customer_id") and not canon.endswith("_id"):
            out.append(Decision("epoch", src, 0.95, f"the column {src} holds dates written as Unix time ({f.epoch} since "
                                f"1 Jan 1970, told by their size): {unix_example(f.examples[0], f.epoch)}"))
    for note in shape_notes(facts):
        out.append(Decision("shape", "", 1.0, note))
    return out
