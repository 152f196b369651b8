"""Work out how a file is laid out and which dataset and columns it holds, before anything is loaded.

``sniff`` reads only the first bytes of a file (encoding, delimiter, preamble, header, footer);
``detect`` guesses the dataset and the column mapping from the header names and a small sample
of values, with a confidence per column, so the app can show its guess and the user can correct it.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from .datasets import DATASETS, Column, normalise_name
from .errors import InputError

DELIMITERS = (",", ";", "\t", "|")
HEAD_BYTES = 1 << 20      # enough for the header and a few hundred rows of any real export
MIN_CONFIDENCE = 0.5      # below this no dataset is said to fit

# --- value shapes -------------------------------------------------------------------------
# How a sample value is recognised as a date or a number (ingest tells the forms apart with cheaper
# string tests in SQL, and converts them; these patterns only judge a header's sample).
_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)"
_ZONE = r"(?:\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?))"
_CLOCK = r"(?: \d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp][Mm])?)"
DATE_FORMS = {
    "iso": rf"^\d{{4}}-\d{{1,2}}-\d{{1,2}}(?:{_TIME}{_ZONE}?)?$",
    "ymd_slash": rf"^\d{{4}}/\d{{1,2}}/\d{{1,2}}{_TIME}?$",
    "slash": rf"^\d{{1,2}}/\d{{1,2}}/(?:\d{{4}}|\d{{2}}){_CLOCK}?$",
    "dot": rf"^\d{{1,2}}\.\d{{1,2}}\.(?:\d{{4}}|\d{{2}}){_CLOCK}?$",
    "named": (r"^(?:\d{1,2}[-/ ][A-Za-z]{3,9}\.?[-/ ]\d{2,4}|[A-Za-z]{3,9}\.? \d{1,2},? \d{4})"
              + _CLOCK + "?$"),
    "epoch": r"^\d{9,19}(?:\.\d+)?$",
    "compact": r"^(?:19|20)\d{6}$",
}
NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
# A decimal comma shows as ",5" / ",50" / ",5000" at the end (currency signs may follow) or as
# "1.234,5"; a decimal point likewise. "1,234" alone says nothing: it reads the same either way.
# (Both Python's re and DuckDB's RE2 read these.)
COMMA_DECIMAL_EVIDENCE = r",\d{1,2}\D*$|,\d{4,}\D*$|\.\d{3},"
DOT_DECIMAL_EVIDENCE = r"\.\d{1,2}\D*$|\.\d{4,}\D*$|,\d{3}\."

TRUE_WORDS = ("true", "t", "yes", "y", "1", "1.0", "on", "pass", "passed")
FALSE_WORDS = ("false", "f", "no", "n", "0", "0.0", "off", "fail", "failed")
# Empty-looking markers that database and notebook exports write for a missing typed value.
NULL_MARKERS = ("null", "NULL", "Null", r"\N", "None", "NaN", "nan", "--")

BILLING_PERIODS = {
    "month": ("month", "months", "monthly", "mo", "m", "1month", "1months", "1mo", "mth", "permonth",
              "everymonth", "1m"),
    "quarter": ("quarter", "quarterly", "q", "qtr", "3month", "3months", "3mo", "perquarter",
                "everyquarter", "3m"),
    "year": ("year", "years", "yearly", "annual", "annually", "y", "yr", "1year", "1yr", "12month",
             "12months", "12mo", "peryear", "everyyear", "12m"),
}
DEFECT_STAGES = {
    "pre_release": ("prerelease", "staging", "stage", "test", "testing", "qa", "dev", "development",
                    "uat", "internal", "beforerelease", "preprod", "preproduction"),
    "production": ("production", "prod", "live", "customer", "field", "postrelease", "afterrelease"),
}

# Subscriptions may bring the amount per billing period instead of a monthly amount: these inputs
# stand in for ``mrr``, which is then derived (datasets.md).
DERIVED_INPUTS = {
    "subscriptions": (
        Column("amount", "number", synonyms=("amount", "price", "plan_amount", "unit_amount", "recurring_amount",
                                             "amount_per_period", "plan_price")),
        Column("quantity", "int", synonyms=("quantity", "qty", "seats", "units", "licenses")),
    ),
}
PER_PERIOD_AMOUNT = {normalise_name(s) for s in DERIVED_INPUTS["subscriptions"][0].synonyms}
DERIVED_MRR = "amount / billing period"

# Headers that name no column but say what it holds (survey tools use the question as header).
PHRASE_HINTS = {
    ("surveys", "score"): ("how likely", "recommend", "nps", "net promoter"),
}
_TYPE_WORDS = {"date", "at", "time", "timestamp", "datetime", "on", "utc", "gmt", "dt", "local"}


# --- the file's layout --------------------------------------------------------------------
@dataclass(frozen=True)
class FileLayout:
    """How to read one file: what ``ingest`` passes to DuckDB's reader."""
    path: str
    file_name: str
    format: str                     # "csv" or "parquet"
    columns: tuple[str, ...]        # header names, made unique ("Labels", "Labels_2")
    header: tuple[str, ...] = ()    # header names as written
    encoding: str = "utf-8"         # "utf-8", "utf-8-sig", "utf-16" or "latin-1"
    delimiter: str = ","
    header_line: int = 1            # physical line of the header (after any preamble)
    data_line: int = 2              # physical line of the first row
    compression: str | None = None  # "gzip" or None
    footer_rows: int = 0            # trailing summary rows ("Total: ...") left out
    types: tuple[str, ...] = ()     # DuckDB types of a Parquet file's columns

    @property
    def duckdb_encoding(self) -> str:
        return "utf-8" if self.encoding == "utf-8-sig" else self.encoding


_MAGIC = (
    (b"PK\x03\x04", "a zip archive", "unzip it and load the CSV files inside"),
    (b"\x89PNG", "an image", "load a CSV or Parquet export instead"),
    (b"\xff\xd8\xff", "an image", "load a CSV or Parquet export instead"),
    (b"GIF8", "an image", "load a CSV or Parquet export instead"),
    (b"%PDF", "a PDF document", "export the table as CSV instead"),
    (b"\xd0\xcf\x11\xe0", "an old Excel or Office file", "save it as CSV (File > Save As > CSV UTF-8)"),
    (b"SQLite format 3", "a SQLite database", "export the table as CSV instead"),
    (b"\x1f\x8b", None, None),  # gzip: looked into below
)


def sniff(path: str | Path, *, file_name: str | None = None, encoding: str | None = None) -> FileLayout:
    """Read the first bytes of a file and say how to read it. Raises ``InputError`` for a file
    that is missing, empty, not text, or has no header. ``encoding`` overrides the guess."""
    p = Path(path)
    name = file_name or p.name
    if not p.is_file():
        raise InputError.at(file=name, problem="no such file", hint="check the path")
    with open(p, "rb") as fh:
        first = fh.read(HEAD_BYTES)
    if not first.strip():
        raise InputError.at(file=name, problem="the file is empty", hint="export the table again with its rows")
    if first.startswith(b"PAR1"):
        return _sniff_parquet(p, name)
    if first.startswith(b"PK\x03\x04") and name.lower().endswith((".xlsx", ".xlsm")):
        raise InputError.at(file=name, problem="this is an Excel workbook, not a CSV file",
                            hint="save the sheet as CSV (File > Save As > CSV UTF-8) and load that")
    compression = None
    for magic, what, hint in _MAGIC:
        if first.startswith(magic):
            if what is None:
                compression = "gzip"
                break
            raise InputError.at(file=name, problem=f"this is {what}, not a CSV file", hint=hint)
    if compression:
        try:
            with gzip.open(p, "rb") as fh:
                first = fh.read(HEAD_BYTES)
        except (OSError, EOFError) as exc:
            raise InputError.at(file=name, problem=f"the gzip file cannot be opened ({exc})",
                                hint="compress the CSV again with gzip") from exc
        if not first.strip():
            raise InputError.at(file=name, problem="the file is empty", hint="export the table again with its rows")
    enc = encoding or _guess_encoding(first)
    if enc not in ("utf-16",) and b"\x00" in first:
        raise InputError.at(file=name, problem="this is not a text file",
                            hint="load a CSV (or Parquet) export of the table")
    text = _decode_head(first, enc, complete=len(first) < HEAD_BYTES)
    delimiter, header_rec, _rows = _find_header(text, name)
    header = tuple(header_rec[1])
    tail = _tail_text(p, enc, compression, text, len(first) < HEAD_BYTES)
    footer = _count_footer(tail, delimiter)
    return FileLayout(path=str(p), file_name=name, format="csv", columns=unique_names(header), header=header,
                      encoding=enc, delimiter=delimiter, header_line=header_rec[0],
                      data_line=header_rec[2] + 1, compression=compression, footer_rows=footer)


def _sniff_parquet(p: Path, name: str) -> FileLayout:
    con = duckdb.connect()
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(p)]).fetchall()
    except duckdb.Error as exc:
        raise InputError.at(file=name, problem="the Parquet file cannot be read",
                            hint="export it again, or load a CSV export") from exc
    finally:
        con.close()
    header = tuple(r[0] for r in described)
    return FileLayout(path=str(p), file_name=name, format="parquet", columns=unique_names(header),
                      header=header, encoding="", delimiter="", header_line=0, data_line=0,
                      types=tuple(r[1] for r in described))


def _guess_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    # UTF-16 without a byte-order mark: every other byte of ASCII text is zero.
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # a multi-byte character cut off by the end of the chunk is still UTF-8
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
        return "latin-1"


def _decode_head(head: bytes, enc: str, complete: bool) -> str:
    codec = {"utf-16": "utf-16", "utf-8-sig": "utf-8-sig"}.get(enc, enc)
    text = head.decode(codec, errors="replace")
    if not complete:  # drop the last, possibly cut-off line
        cut = text.rfind("\n")
        text = text[:cut + 1] if cut > 0 else text
    return text.lstrip("\ufeff")


def _records(text: str, delimiter: str, limit: int = 200) -> list[tuple[int, list[str], int]]:
    """(first physical line, fields, last physical line) of the first records of a CSV text."""
    out = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True,
                        strict=False)
    start = 1
    try:
        for fields in reader:
            end = reader.line_num
            if fields and any(f.strip() for f in fields):
                out.append((start, fields, end))
            start = end + 1
            if len(out) >= limit:
                break
    except csv.Error:
        pass
    return out


def _find_header(text: str, name: str) -> tuple[str, tuple[int, list[str], int], list]:
    best = None
    for d in DELIMITERS:
        recs = _records(text, d)
        if not recs:
            continue
        # preamble lines are one cell wide; among wider records the most common width is the
        # table's, and on a tie the first seen (a header plus one ragged row is still that header)
        wide = [len(r[1]) for r in recs if len(r[1]) > 1] or [len(r[1]) for r in recs]
        widths = Counter(wide)
        first_seen = {w: wide.index(w) for w in widths}
        width, count = max(widths.items(), key=lambda kv: (kv[1], -first_seen[kv[0]]))
        consistency = count / len(recs)
        key = (width > 1, round(consistency, 2), width)
        if best is None or key > best[0]:
            best = (key, d, recs, width)
    if best is None:
        raise InputError.at(file=name, problem="the file has no header line",
                            hint="the first line should name the columns")
    _, delimiter, recs, width = best
    for i, rec in enumerate(recs):
        filled = sum(1 for f in rec[1] if f.strip())
        # a preamble line ("Campaign report", a date range) is shorter or mostly empty
        if len(rec[1]) == width and filled * 2 > width:
            return delimiter, rec, recs[i + 1:]
    return delimiter, recs[0], recs[1:]


def _tail_text(p: Path, enc: str, compression: str | None, head_text: str, complete: bool) -> str:
    if complete:
        return head_text
    if compression:  # the end of a compressed file cannot be reached without reading it all
        return ""
    with open(p, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 65536))
        raw = fh.read()
    codec = "utf-16-le" if enc == "utf-16" else ("utf-8" if enc == "utf-8-sig" else enc)
    if enc == "utf-16" and len(raw) % 2:
        raw = raw[1:]
    text = raw.decode(codec, errors="replace")
    cut = text.find("\n")
    return text[cut + 1:] if cut >= 0 else text


_FOOTER = re.compile(r'^\s*"?\s*(?:total|totals|grand total)\b', re.IGNORECASE)


def _count_footer(tail: str, delimiter: str) -> int:
    """Trailing 'Total: ...' rows that report tools append below the data."""
    lines = [ln for ln in tail.splitlines() if ln.strip()]
    n = 0
    for ln in reversed(lines):
        first_cell = ln.split(delimiter, 1)[0]
        if _FOOTER.match(first_cell):
            n += 1
        else:
            break
    return n


def unique_names(header: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Header names made unique the way a person would ('Labels', 'Labels_2'); blank ones named by
    position. Compared case-insensitively because SQL identifiers are."""
    seen: set[str] = set()
    out = []
    for i, raw in enumerate(header, start=1):
        base = str(raw).strip() or f"column_{i}"
        name, k = base, 1
        while name.lower() in seen:
            k += 1
            name = f"{base}_{k}"
        seen.add(name.lower())
        out.append(name)
    return tuple(out)


# --- reading ------------------------------------------------------------------------------
def reader_sql(layout: FileLayout) -> tuple[str, list]:
    """A DuckDB table expression reading the file with its columns named c0, c1, ... (so no header
    text ever reaches the SQL); CSV columns are all VARCHAR. The path is a bound parameter."""
    n = len(layout.columns)
    if layout.format == "parquet":
        from .workspace import quote_ident
        cols = ", ".join(f"{quote_ident(h)} AS c{i}" for i, h in enumerate(layout.header))
        return f"(SELECT {cols} FROM read_parquet(?))", [layout.path]
    columns = {f"c{i}": "VARCHAR" for i in range(n)}
    sql = ("read_csv(?, columns = ?, header = false, skip = ?, delim = ?, quote = '\"', escape = '\"', "
           "auto_detect = false, encoding = ?, compression = ?, strict_mode = true)")
    return sql, [layout.path, columns, layout.data_line - 1, layout.delimiter, layout.duckdb_encoding,
                 layout.compression or "none"]


def read_sample(layout: FileLayout, n: int = 200) -> pd.DataFrame:
    """The first rows as text, under the layout's column names: what ``detect`` looks at."""
    if not layout.columns:
        return pd.DataFrame()
    sql, params = reader_sql(layout)
    con = duckdb.connect()
    try:
        as_text = ", ".join(f"CAST(c{i} AS VARCHAR) AS c{i}" for i in range(len(layout.columns)))
        frame = con.execute(f"SELECT {as_text} FROM {sql} LIMIT {int(n)}", params).df()
    except duckdb.Error:
        # a bad row further down is reported by ingest, with its line; the guess can do without
        frame = pd.DataFrame(columns=[f"c{i}" for i in range(len(layout.columns))])
    finally:
        con.close()
    frame.columns = list(layout.columns)
    return frame


# --- detection ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    dataset: str
    score: float
    missing_required: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Detection:
    """The guess for one file. ``dataset`` is None when no dataset fits well enough;
    ``alternatives`` ranks every dataset that matched any column, best first."""
    dataset: str | None
    confidence: float
    mapping: dict[str, str]
    column_confidence: dict[str, float]
    alternatives: list[Candidate]
    derived: dict[str, str] = field(default_factory=dict)
    file_name: str | None = None


def dataset_from_file_name(file_name: str | None) -> str | None:
    """The dataset a file is named after: ``payments.csv``, ``events_2025.csv.gz`` (cli.md)."""
    if not file_name:
        return None
    base = Path(file_name).name.lower()
    for name in sorted(DATASETS, key=len, reverse=True):
        if base.startswith(name) and (len(base) == len(name) or not base[len(name)].isalpha()):
            return name
    return None


def _hinted_datasets(file_name: str | None) -> set[str]:
    if not file_name:
        return set()
    words = set(re.findall(r"[a-z]+", Path(file_name).name.lower().split(".")[0]))
    return {d.name for d in DATASETS.values() if words & set(d.synonyms)}


def _light(name: str) -> str:
    # only case, spaces, '_' and '-' are ignored here: '$user_id' (Mixpanel's) and '*.timestamp'
    # (PostHog's) are decorated names, matched below with less confidence than the plain name
    return re.sub(r"[\s_\-]+", "", str(name).strip().lower())


def _generic_words() -> set[str]:
    count: Counter[str] = Counter()
    for ds in DATASETS.values():
        words = set()
        for col in ds.columns:
            words.add(normalise_name(col.name))
            words.update(normalise_name(s) for s in col.synonyms)
        count.update(words)
    return {w for w, n in count.items() if n >= 4}


_GENERIC = _generic_words()


def _synonym_scores(col: Column) -> dict[str, float]:
    out: dict[str, float] = {}
    for i, syn in enumerate(col.synonyms):
        score = 0.9 - 0.002 * i - (0.1 if normalise_name(syn) in _GENERIC else 0.0)
        out.setdefault(_light(syn), score)
    return out


def _variants(header: str) -> list[tuple[str, float, bool]]:
    """Decorated forms of a header: (normalised form, factor, only for date columns)."""
    out: list[tuple[str, float, bool]] = []
    h = str(header).strip()
    no_brackets = re.sub(r"\s*[\(\[][^\)\]]*[\)\]]\s*", " ", h).strip()
    candidates = {no_brackets}
    if "." in no_brackets:
        parts = [p for p in no_brackets.split(".") if p and p != "*"]
        if parts:
            candidates.add(parts[-1])
            candidates.add(parts[0])
    for c in list(candidates):
        candidates.add(c.lstrip("$*#@_ "))
    for c in candidates:
        if c:
            out.append((normalise_name(c), 0.85, False))
        tokens = re.findall(r"[a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", c).lower())
        while tokens and tokens[-1] in _TYPE_WORDS:
            tokens.pop()
        while tokens and tokens[0] in _TYPE_WORDS:
            tokens.pop(0)
        if tokens:
            out.append(("".join(tokens), 0.8, True))
    return out


def name_score(header: str, col: Column, dataset: str) -> float:
    """How well a header names a canonical column, from 0 to 1 (1: the canonical name itself)."""
    light = _light(header)
    if light == _light(col.name):
        return 1.0
    syn = _synonym_scores(col)
    best = syn.get(light, 0.0)
    canon = normalise_name(col.name)
    syn_norm = {normalise_name(s): v for s, v in syn.items()}
    for form, factor, date_only in _variants(header):
        if date_only and col.type not in ("date", "timestamp"):
            continue
        if form == canon:
            best = max(best, factor)
        elif form in syn_norm:
            best = max(best, factor * syn_norm[form])
    lowered = str(header).lower()
    for phrase in PHRASE_HINTS.get((dataset, col.name), ()):
        if phrase in lowered:
            best = max(best, 0.75)
    return best


def _date_form(value: str) -> str | None:
    for form, pattern in _DATE_RE.items():
        if pattern.match(value):
            return form
    return None


_DATE_RE = {k: re.compile(v) for k, v in DATE_FORMS.items()}
_NUMBER_RE = re.compile(NUMBER)
_JUNK_RE = re.compile(r"[\s\u00a0\u202f$€£¥']")


def clean_number(value: str) -> str:
    v = _JUNK_RE.sub("", value.strip())
    if v.startswith("(") and v.endswith(")"):
        v = "-" + v[1:-1]
    return v


def looks_like(value: str, col_type: str, column: str = "") -> bool:
    """Whether one text value can be read as the column's type (used on samples only)."""
    v = str(value).strip()
    if col_type in ("date", "timestamp"):
        return _date_form(v) is not None
    if col_type in ("number", "int"):
        c = clean_number(v)
        if not _NUMBER_RE.match(c.replace(",", "")) and not _NUMBER_RE.match(c.replace(".", "").replace(",", ".")):
            return False
        if col_type == "int":
            try:
                return float(c.replace(",", "")) == int(float(c.replace(",", "")))
            except ValueError:
                return False
        return True
    if col_type == "bool":
        return v.lower() in TRUE_WORDS + FALSE_WORDS
    return True


def value_fit(values: list[str], col: Column, dataset: str) -> float | None:
    """The share of sample values that fit the column (None: nothing to judge by)."""
    vals = [str(v).strip() for v in values if v is not None and str(v).strip() != ""
            and str(v).strip() not in NULL_MARKERS and not (isinstance(v, float) and v != v)]
    if not vals:
        return None
    fit = sum(looks_like(v, col.type) for v in vals) / len(vals)
    if col.name == "billing_period":
        words = {w for ws in BILLING_PERIODS.values() for w in ws}
        fit = sum(normalise_name(v) in words for v in vals) / len(vals)
    if dataset == "surveys" and col.name == "score" and fit:
        nums = []
        for v in vals:
            try:
                nums.append(float(clean_number(v).replace(",", ".")))
            except ValueError:
                pass
        if nums and sum(0 <= x <= 10 for x in nums) / len(nums) < 0.9:
            fit *= 0.8
    if col.type == "id" and all(_date_form(v) not in (None, "epoch", "compact") for v in vals):
        fit = 0.3  # dates are not ids (long numbers may well be)
    return fit


def _column_scores(columns: list[str], sample: pd.DataFrame | None, dataset: str,
                   cols: tuple[Column, ...]) -> list[tuple[float, int, int, str, str]]:
    pairs = []
    for ci, col in enumerate(cols):
        for si, header in enumerate(columns):
            score = name_score(header, col, dataset)
            if score <= 0:
                continue
            if sample is not None and header in sample.columns:
                series = sample[header]
                if isinstance(series, pd.DataFrame):
                    series = series.iloc[:, 0]
                fit = value_fit(series.tolist(), col, dataset)
                if fit is not None and fit < 0.9:
                    score *= 0.5 + 0.5 * fit
            pairs.append((round(score, 4), ci, si, col.name, header))
    return pairs


def _assign(pairs, fixed: dict[str, str | None]) -> tuple[dict[str, str], dict[str, float]]:
    mapping: dict[str, str] = {k: v for k, v in fixed.items() if v is not None}
    conf: dict[str, float] = {k: 1.0 for k in mapping}
    used = set(mapping.values())
    for score, _ci, _si, canon, header in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if canon in fixed or canon in mapping or header in used:
            continue
        mapping[canon] = header
        conf[canon] = score
        used.add(header)
    return mapping, conf


def _map_dataset(columns, sample, dataset, fixed):
    ds = DATASETS[dataset]
    extra_inputs = DERIVED_INPUTS.get(dataset, ())
    pairs = _column_scores(columns, sample, dataset, ds.columns)
    mapping, conf = _assign(pairs, {k: v for k, v in fixed.items() if k in ds.column_names})
    derived: dict[str, str] = {}
    if dataset == "subscriptions":
        # an amount per billing period stands in for mrr when the file says the period
        src = mapping.get("mrr")
        if "amount" in fixed and fixed["amount"]:
            if "mrr" not in fixed:
                mapping.pop("mrr", None)
                conf.pop("mrr", None)
            mapping["amount"], conf["amount"] = fixed["amount"], 1.0
        elif src and "mrr" not in fixed and "billing_period" in mapping and normalise_name(src) in PER_PERIOD_AMOUNT:
            mapping["amount"] = mapping.pop("mrr")
            conf["amount"] = conf.pop("mrr")
        if "amount" in mapping and "mrr" not in mapping:
            derived["mrr"] = DERIVED_MRR
            used = set(mapping.values())
            q_pairs = [p for p in _column_scores(columns, sample, dataset, extra_inputs[1:]) if p[4] not in used]
            if "quantity" in fixed:
                if fixed["quantity"]:
                    mapping["quantity"], conf["quantity"] = fixed["quantity"], 1.0
            elif q_pairs:
                best = max(q_pairs, key=lambda p: p[0])
                mapping["quantity"], conf["quantity"] = best[4], best[0]
    have = set(mapping) | set(derived)
    missing = [c for c in ds.required if c not in have]
    req_conf = [conf.get(c, 0.0) if c in mapping else (conf.get("amount", 0.0) if c in derived else 0.0)
                for c in ds.required]
    base = sum(req_conf) / len(req_conf)
    optional = [c.name for c in ds.columns if not c.required]
    opt = sum(conf.get(c, 0.0) for c in optional) / len(optional) if optional else 0.0
    # order columns as the dataset declares them
    order = list(ds.column_names) + [c.name for c in extra_inputs]
    mapping = {k: mapping[k] for k in order if k in mapping}
    conf = {k: round(min(1.0, conf[k]), 3) for k in mapping}
    return mapping, conf, derived, missing, base, opt


def detect(columns: list[str], sample: pd.DataFrame | None = None, file_name: str | None = None, *,
           dataset: str | None = None, fixed: dict[str, str | None] | None = None) -> Detection:
    """Guess the dataset and the mapping canonical column -> source header.

    ``dataset`` forces the dataset (the user picked it); ``fixed`` holds columns the user mapped
    already (a value of None keeps that column unmapped); detection fills in the rest.
    """
    columns = list(columns)
    fixed = dict(fixed or {})
    if dataset is not None and dataset not in DATASETS:
        raise InputError(f"unknown dataset {dataset!r} — use one of: {', '.join(DATASETS)}")
    named = dataset_from_file_name(file_name)
    hinted = _hinted_datasets(file_name)
    results = {}
    for name in ([dataset] if dataset else DATASETS):
        mapping, conf, derived, missing, base, opt = _map_dataset(columns, sample, name, fixed)
        if not mapping:
            continue
        # a dataset that explains more of the file's columns is the likelier one
        coverage = len(mapping) / len(columns) if columns else 0.0
        rank = base + 0.15 * opt + 0.2 * coverage + (0.1 if name in hinted else 0.0)
        exact = all(conf.get(c) == 1.0 for c in DATASETS[name].required)
        results[name] = (rank, mapping, conf, derived, missing, base, exact)
    ranked = sorted(results.items(), key=lambda kv: (-(kv[1][0] if not kv[1][4] else kv[1][0] - 1),
                                                     list(DATASETS).index(kv[0])))
    alternatives = [Candidate(name, round(r[0], 3), list(r[4]), dict(r[1])) for name, r in ranked]
    chosen, confidence = None, 0.0
    if dataset or named:
        chosen = dataset or named
        r = results.get(chosen)
        confidence = round(r[5], 3) if r and not r[4] else 0.0
    else:
        complete = [(name, r) for name, r in ranked if not r[4]]
        if complete:
            name, r = complete[0]
            runner_up = complete[1][1] if len(complete) > 1 else None
            if runner_up is None or (r[6] and not runner_up[6]):
                margin_factor = 1.0  # nothing else fits, or only this one is named exactly
            else:
                margin_factor = min(1.0, 0.6 + 0.4 * (r[0] - runner_up[0]) / 0.15)
            confidence = round(min(1.0, r[5]) * margin_factor, 3)
            if confidence >= MIN_CONFIDENCE:
                chosen = name
    if chosen and chosen in results:
        _, mapping, conf, derived, _, _, _ = results[chosen]
    else:
        mapping, conf, derived = {}, {}, {}
    return Detection(dataset=chosen, confidence=confidence, mapping=dict(mapping), column_confidence=dict(conf),
                     alternatives=alternatives, derived=dict(derived), file_name=file_name)


def detect_file(path: str | Path, file_name: str | None = None) -> tuple[FileLayout, Detection]:
    """Sniff a file, read a small sample and guess its dataset and mapping."""
    layout = sniff(path, file_name=file_name)
    sample = read_sample(layout)
    return layout, detect(list(layout.columns), sample, layout.file_name)


def explain_no_match(detection: Detection, limit: int = 2) -> str:
    """Why no dataset fits, naming the closest datasets and the columns they miss."""
    close = [c for c in detection.alternatives if c.missing_required][:limit]
    if not close:
        return "no dataset fits: no column name matches any dataset's columns (see the datasets page)"
    parts = [f"{c.dataset} (missing {', '.join(c.missing_required)})" for c in close]
    return "no dataset fits: closest are " + " and ".join(parts) if len(parts) > 1 \
        else f"no dataset fits: closest is {parts[0]}"
