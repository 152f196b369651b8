"""`python -m kpi`: ingest, catalog, compute, scorecard and check from the command line (cli.md)."""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import math
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path

from . import catalog
from .errors import InputError, KpiError
from .workspace import Workspace

EXIT_OK, EXIT_ATTENTION, EXIT_BAD_INPUT = 0, 1, 2
EXIT_STOPPED = 143   # 128 + SIGTERM, as a shell reports a command stopped by it


def _is_workspace_file(path: Path) -> bool:
    """DuckDB database files carry the magic 'DUCK' at byte 8."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return head[8:12] == b"DUCK"


# Names of data files: a --workspace named like this is a data file given in the wrong place.
DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".gz", ".parquet", ".json", ".xlsx")
MAX_JSON_DEPTH = 100          # a goals, mapping or answers file is a few levels deep
MAX_JSON_BYTES = 10 * 10**6

# What the command opened and must leave behind tidy: snapshot copies of workspaces held by the app.
_SNAPSHOTS: list[tuple[Workspace, Path]] = []
SNAPSHOT_PREFIX = "kpi-snapshot-"
SNAPSHOT_STALE_S = 24 * 3600


def _existing(path: str, option: str, *, folder: bool = False) -> Path:
    """The path given to ``option``: it must exist and be a regular file (or a folder where one is
    allowed). A pipe or a device is refused before anything reads it: a read would wait for ever."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except OSError:
        raise InputError(f"{path}: no such file{' or folder' if folder else ''} — check the path given to "
                         f"{option}", file=path) from None
    if stat.S_ISDIR(mode) and folder:
        return p
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a pipe, a socket or a device)"
        raise InputError(f"{path}: {option} needs a file{' or a folder' if folder else ''}, and this is {what} "
                         f"— give the path of a saved file", file=path)
    return p


def _is_held(exc: BaseException) -> bool:
    """DuckDB refused to open a file because another process (the app's server) holds its lock."""
    return "could not set lock" in str(exc.__cause__ or exc).lower()


def _held_message(p: Path, doing: str) -> str:
    return (f"{p.name} is open in another program (the app's server holds it), so {doing} — load the "
            "files from the app's Data page, or stop the app and run the command again")


def open_data(path: str) -> Workspace:
    """A workspace for --data: a workspace file (read-only), a folder of dataset files or one file."""
    from .ingest import ingest_file, ingest_folder
    p = _existing(path, "--data", folder=True)
    if p.is_dir():
        ws = Workspace(None)
        ingest_folder(ws, p)
        return ws
    if _is_workspace_file(p):
        try:
            return Workspace(p, read_only=True)
        except KpiError as exc:
            if not _is_held(exc):
                raise
        # The app holds the file (DuckDB lets one process at a time open it): read a snapshot copy,
        # removed when the command ends (main), so cron runs do not fill the temporary folder.
        _sweep_snapshots()
        print(f"note: {p.name} is open in the app; reading a copy taken now", file=sys.stderr)
        folder = Path(tempfile.mkdtemp(prefix=SNAPSHOT_PREFIX))
        snapshot = folder / p.name
        try:
            shutil.copy2(p, snapshot)
            wal = p.with_name(p.name + ".wal")
            if wal.exists():
                shutil.copy2(wal, snapshot.with_name(snapshot.name + ".wal"))
            ws = Workspace(snapshot)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        _SNAPSHOTS.append((ws, folder))
        return ws
    ws = Workspace(None)
    ingest_file(ws, p)
    return ws


def _sweep_snapshots() -> None:
    """Copies left by a command that was killed outright (SIGKILL runs no clean-up): a day old is
    old enough that no running command still reads them."""
    now = time.time()
    for folder in Path(tempfile.gettempdir()).glob(SNAPSHOT_PREFIX + "*"):
        try:
            if now - folder.stat().st_mtime > SNAPSHOT_STALE_S:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


def _remove_snapshots() -> None:
    while _SNAPSHOTS:
        ws, folder = _SNAPSHOTS.pop()
        try:
            ws.close()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _read_json(path: str, option: str, example: str):
    """A small JSON file given to ``option``, parsed; every way it can be unreadable is bad input."""
    p = _existing(path, option)
    if p.stat().st_size > MAX_JSON_BYTES:
        raise InputError(f"{path}: the {option[2:]} file is over {MAX_JSON_BYTES // 10**6} MB — it should hold a "
                         f"few lines, like {example}", file=path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the {option[2:]} file ({exc}) — save it as UTF-8 JSON",
                         file=path) from None
    depth = _nesting(text)
    if depth > MAX_JSON_DEPTH:
        raise InputError(f"{path}: the {option[2:]} file is nested {depth:,} levels deep — it should be a few "
                         f"levels, like {example}", file=path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno}) — "
                         f"write it like {example}", file=path, line=exc.lineno) from None
    except (ValueError, RecursionError):   # Python refuses integers of over 4,300 digits
        raise InputError(f"{path}: the {option[2:]} file holds a number with thousands of digits — write "
                         f"numbers in the usual way (50000, 0.02, 1.5e6)", file=path) from None


def _nesting(text: str) -> int:
    """How deeply brackets nest in a JSON text (strings skipped), without the recursion of a parser."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def open_source(args) -> Workspace:
    """The data of compute/scorecard/check: ``--data`` (DuckDB), or ``--engine postgres|spark
    --source … [--schema …]``, whose tables are checked first (cli.md)."""
    engine_kind = getattr(args, "engine", None) or "duckdb"
    if engine_kind == "duckdb":
        if getattr(args, "source", None):
            raise InputError("--source needs --engine postgres or --engine spark")
        if not args.data:
            raise InputError("give --data PATH (a folder of dataset files or a workspace file), or "
                             "--engine postgres|spark --source … to compute where the data lives")
        return open_data(args.data)
    if args.data:
        raise InputError(f"--data and --engine {engine_kind} both name the data: give one of them")
    if not args.source:
        raise InputError(f"--engine {engine_kind} needs --source: "
                         + ("postgresql://USER@HOST:PORT/DB" if engine_kind == "postgres"
                            else "a folder of Parquet files or sc://HOST:PORT"))
    from . import engines
    engine = engines.open_engine(engine_kind, args.source, args.schema)
    problems = engine.problems()
    if problems:
        raise engines.SourceError("; ".join(problems))
    return engines.attach(Workspace(None), engine)


def _missing_tables(ws, kpi_ids: list[str]) -> None:
    """On another engine, a KPI asked for by name whose tables or columns the source lacks is bad input."""
    from . import engines
    engine = getattr(ws, "engine", None)
    if engine is None:
        return
    available = catalog.availability(ws)
    for k in kpi_ids:
        if k in available and not available[k].computable:
            raise engines.SourceError(f"{engine.kind}: {k} cannot be computed {engine.where} — it needs "
                                      + "; ".join(_table_words(step) for step in available[k].steps))


def _table_words(step) -> str:
    """A catalog step ("add the events dataset", "map customers.trial_start") in a source's words."""
    if step.action == "map":
        return " or ".join(f"values in column {ds}.{c}" for ds, c in zip(step.datasets, step.columns))
    columns = step.columns or ("",) * len(step.datasets)
    return " or ".join(f"a table {ds}" + (f" with values in {c}" if c else "") for ds, c in zip(step.datasets, columns))


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _write_records(records: list[dict], fmt: str, columns: list[str]) -> None:
    if fmt == "json":
        json.dump(records, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for r in records:
            writer.writerow({k: ("" if v is None else v) for k, v in r.items()})
        sys.stdout.write(out.getvalue())


# -- commands ------------------------------------------------------------------------------
MAP_EXAMPLE = '{"file.csv": {"dataset": "payments", "columns": {"amount": "Net Amount"}}}'


def _workspace_target(path: str, data: Path) -> Path:
    """The --workspace of ingest: a workspace file, or a new one; never a data file (swapped options)."""
    p = Path(path)
    swapped = (" — did you swap --data and --workspace? ingest reads the files of --data into the workspace "
               "file --workspace (e.g. --data exports/ --workspace team.duckdb)")
    if p.exists():
        _existing(path, "--workspace")
        if not _is_workspace_file(p) and p.stat().st_size > 0:
            raise InputError(f"{path}: --workspace names a file that is not a KPI Explorer workspace" + swapped,
                             file=path)
    elif p.name.lower().endswith(DATA_SUFFIXES):
        raise InputError(f"{path}: --workspace names a data file, not a workspace file (.duckdb)" + swapped,
                         file=path)
    if data.is_file() and _is_workspace_file(data):
        raise InputError(f"{data}: --data names a workspace file" + swapped, file=str(data))
    return p


def cmd_ingest(args) -> int:
    from .ingest import ingest_file, ingest_folder
    from .quality import keep_early_dates
    explicit = None
    if args.map:
        explicit = _read_json(args.map, "--map", MAP_EXAMPLE)
        if not isinstance(explicit, dict):
            raise InputError(f"{args.map}: the mapping file must hold a JSON object like {MAP_EXAMPLE}",
                             file=args.map)
    data = _existing(args.data, "--data", folder=True)
    target = _workspace_target(args.workspace, data)
    given = _answers_arg(args.answers)
    explicit = dict(explicit or {})
    for name, answers in given.items():
        explicit[name] = {**explicit.get(name, {}), "answers": {**explicit.get(name, {}).get("answers", {}),
                                                                **answers}}
    try:
        ws = Workspace(target)
    except KpiError as exc:
        if _is_held(exc):
            raise InputError(_held_message(target, "nothing was loaded"), file=str(target)) from None
        raise
    with ws:
        if args.keep_early_dates:   # first, so that each file's summary says so
            keep_early_dates(ws)
        _ask_on_stderr(ws, data, explicit, strict=args.strict, answers_file=args.answers)
        if data.is_dir():
            results = ingest_folder(ws, data, mode=args.mode, explicit=explicit)
        else:
            spec = explicit.get(data.name, {})
            results = [ingest_file(ws, data, dataset=spec.get("dataset"), mapping=spec.get("columns"), mode=args.mode,
                                   answers=spec.get("answers"))]
    for r in results:
        warn = f" — {'; '.join(r.warnings)}" if r.warnings else ""
        print(f"{r.file}: {r.dataset}, {r.rows:,} rows ({r.mode}){warn}")
    if args.keep_early_dates:
        print(f"{target.name}: dates before 1970 are kept in the periods (--keep-early-dates)")
    elif any("implausible" in w for r in results for w in r.warnings):
        print("note: dates before 1970 are kept out of the periods; if they are real, run ingest again with "
              "--keep-early-dates (the app's Data quality page has the same choice)", file=sys.stderr)
    return EXIT_OK


def _answers_arg(path: str | None) -> dict[str, dict[str, str]]:
    """``--answers FILE.json``: {"file name": {"question id": "answer"}} (the app's question ids)."""
    if not path:
        return {}
    doc = _read_json(path, "--answers", '{"payments.csv": {"amount_unit": "cents"}}')
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise InputError(f"{path}: the answers file must map each file name to its answers, like "
                         '{"payments.csv": {"amount_unit": "cents"}}')
    return {str(k): {str(q): str(a) for q, a in v.items()} for k, v in doc.items()}


def _ask_on_stderr(ws, data: Path, explicit: dict, *, strict: bool, answers_file: str | None) -> None:
    """Every question whose answer changes numbers, printed with the answer taken and how to give
    another; under ``--strict`` a file that leaves one unanswered is refused (nothing is loaded)."""
    from .ingest import FOLDER_SUFFIXES
    from .questions import questions_for
    files = sorted(p for p in data.iterdir() if p.is_file() and p.name.lower().endswith(FOLDER_SUFFIXES)) \
        if data.is_dir() else [data]
    open_questions = []
    for p in files:
        entry = explicit.get(p.name, {})
        given = entry.get("answers") or {}
        try:
            found = questions_for(p, ws=ws, file_name=p.name, dataset=entry.get("dataset"),
                                  mapping=entry.get("columns"), answers=given)
        except KpiError:
            continue   # the ingest itself says what is wrong with the file
        for q in found:
            took = q.option(q.default) if q.default in [o.value for o in q.options] else None
            others = "; ".join(f"{o.value} ({o.effect})" for o in q.options if o.value != q.default)
            how = "given in " + answers_file if q.id in given else \
                f'to choose another: --answers FILE.json with {{"{p.name}": {{"{q.id}": "<answer>"}}}}'
            print(f"{p.name}: {q.text} [{q.id}] took {q.default!r}"
                  + (f" ({took.effect})" if took and took.effect else "")
                  + (f"; other answers: {others}" if others else "") + f" — {how}", file=sys.stderr)
            if q.id not in given:
                open_questions.append(f"{p.name}: {q.id} ({q.text})")
    if strict and open_questions:
        raise InputError("--strict: these questions are not answered — " + "; ".join(open_questions)
                         + ". Answer each in the --answers file, e.g. "
                         + '{"' + open_questions[0].split(":")[0] + '": {"' + open_questions[0].split(": ")[1].split(" ")[0]
                         + '": "<answer>"}}')


def cmd_catalog(args) -> int:
    records = catalog.catalog_records()
    if args.format == "markdown":
        print("| id | name | unit | better | kind | formula | needs |\n|---|---|---|---|---|---|---|")
        for r in records:
            print(f"| `{r['id']}` | {r['name']} | {r['unit']} | {r['direction']} | {r['kind']} | "
                  f"{r['formula']} | {', '.join(r['needs'])} |")
        return EXIT_OK
    if args.format == "csv":
        flat = [{k: (";".join(v) if isinstance(v, list) else v) for k, v in r.items()} for r in records]
        _write_records(flat, "csv", list(records[0]))
        return EXIT_OK
    _write_records(records, "json", [])
    return EXIT_OK


def _iso_date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not a date — use the ISO form, e.g. 2025-01-31") from None


def cmd_compute(args) -> int:
    from .compute import compute
    start, end = _iso_date(args.start, "--start"), _iso_date(args.end, "--end")
    if start and end and start > end:
        raise InputError(f"--start {start} is after --end {end}: no period could be shown — swap them, or give "
                         "only one")
    ws = open_source(args)
    if args.kpi:
        _missing_tables(ws, args.kpi)
    frame = compute(ws, args.kpi or None, grain=args.grain, start=args.start, end=args.end,
                    as_of=args.as_of, segment=args.segment, filters=_filter_arg(args.filter))
    for note in frame.attrs.get("notes", []):
        print(note, file=sys.stderr)
    columns = ["kpi", "grain", "period", "segment", "value", "partial"]
    records = [{c: _clean(row[c]) for c in columns} for row in frame.to_dict("records")]
    for r in records:
        r["partial"] = bool(r["partial"])
    _write_records(records, args.format, columns)
    return EXIT_OK


def _filter_arg(text: str | None) -> dict | None:
    """``--filter country=DE,FR`` as {column: values}."""
    if not text:
        return None
    column, sep, values = text.partition("=")
    if not sep or not column.strip() or not values.strip():
        raise InputError(f"--filter {text!r}: write COLUMN=VALUE[,VALUE...], e.g. --filter country=DE,FR")
    return {column.strip(): [v.strip() for v in values.split(",") if v.strip()]}


GOALS_EXAMPLE = '{"goals": [{"kpi": "mrr", "target": 50000, "deadline": "2026-06-30"}]}'


def _scorecard(args):
    from .goals import GoalsDoc, check_targets
    from .scorecard import scorecard
    from .compute import as_of_date
    doc = GoalsDoc.from_dict(_read_json(args.goals, "--goals", GOALS_EXAMPLE), source=args.goals)
    check_targets(doc, args.goals)           # a deadline not after its baseline date is bad input
    ws = open_source(args)
    as_of = args.as_of or as_of_date(ws)
    return scorecard(ws, doc, as_of=as_of), as_of, ws


REPORT_FORMATS = ("html", "pdf", "png")


def cmd_scorecard(args) -> int:
    from .export import RECORD_FIELDS
    from .scorecard import scorecard_markdown, scorecard_records
    statuses, as_of, ws = _scorecard(args)
    if args.format in REPORT_FORMATS:  # the app's one-page report, to attach to an e-mail
        from . import export
        rows = export.report_rows([], statuses, ws=ws)
        if args.format == "html":
            sys.stdout.write(export.scorecard_html(rows, statuses, as_of=as_of))
            return EXIT_OK
        if sys.stdout.isatty():
            raise InputError(f"a {args.format.upper()} report is binary: send it to a file, "
                             f"e.g. `... --format {args.format} > scorecard.{args.format}`")
        sys.stdout.flush()
        sys.stdout.buffer.write(export.scorecard_image(rows, statuses, fmt=args.format, as_of=as_of))
        return EXIT_OK
    if args.format == "markdown":
        sys.stdout.write(scorecard_markdown(statuses, as_of, ws))
        return EXIT_OK
    _write_records(scorecard_records(statuses), args.format, list(RECORD_FIELDS))
    return EXIT_OK


def cmd_check(args) -> int:
    """One line per goal that needs attention (kpi.scorecard.needs_attention: off track, missed,
    an alert, or no data to judge it on before its deadline); exit 1 when there is any. A custom
    KPI is named and shown in its own unit."""
    from .formatting import format_date, format_value
    from .scorecard import attention_words, kpi_label, needs_attention
    statuses, as_of, ws = _scorecard(args)
    flagged = needs_attention(statuses)
    for s in flagged:
        label = kpi_label(s.kpi, ws)
        named = s.kpi if label.name == s.kpi or s.kpi in catalog.CATALOG else f"{s.kpi} ({label.name})"
        goal = s.target_words()
        print(f"{named}: {attention_words(s)} — value {format_value(s.value, label.unit)}, "
              f"{goal[:1].lower() + goal[1:]} (as of {format_date(as_of)})")
    if not flagged:
        print(f"all {len(statuses)} goals are fine as of {format_date(as_of)}")
    return EXIT_ATTENTION if flagged else EXIT_OK


def cmd_cleanup(args) -> int:
    """Remove the app's workspaces that hold nothing and were not touched for a while (from cron)."""
    from .cleanup import KEEP_EMPTY, parse_age, remove_empty_workspaces
    age = args.older_than or KEEP_EMPTY
    done = remove_empty_workspaces(parse_age(age), dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {len(done.removed)} empty workspace{'s' if len(done.removed) != 1 else ''} older than {age}; "
          f"kept {done.kept} (with data, goals, a name or share links, or newer); "
          f"{len(done.in_use)} open in the app, left for the next run")
    return EXIT_OK


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # bad options: exit 2 with a usage line, never a traceback
        self.print_usage(sys.stderr)
        print(f"{self.prog}: {message}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def _data_arguments(s) -> None:
    s.add_argument("--data", help="a folder of dataset files, one file, or a workspace file")
    s.add_argument("--engine", choices=["duckdb", "postgres", "spark"], default="duckdb",
                   help="where to compute: the embedded DuckDB (default), or where the data lives")
    s.add_argument("--source", help="with --engine: postgresql://USER@HOST:PORT/DB, a folder of Parquet "
                                    "files, or sc://HOST:PORT (Spark Connect)")
    s.add_argument("--schema", help="with --engine: the schema (database) holding the dataset tables")


def build_parser() -> argparse.ArgumentParser:
    from .compute import GRAINS
    p = _Parser(prog="python -m kpi", description="KPI Explorer from the command line.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("ingest", help="load dataset files into a workspace file")
    s.add_argument("--data", required=True, help="a folder of dataset files, or one file")
    s.add_argument("--workspace", required=True, help="the workspace file (made when missing)")
    s.add_argument("--mode", choices=["replace", "append"], default="replace")
    s.add_argument("--map", help="JSON file of explicit mappings per file name")
    s.add_argument("--answers", help='JSON file of answers per file name: {"file.csv": {"question id": "answer"}}')
    s.add_argument("--strict", action="store_true",
                   help="refuse (exit 2) when a question that changes numbers is not answered in --answers")
    s.add_argument("--keep-early-dates", action="store_true", dest="keep_early_dates",
                   help="dates before 1970 are real: keep them in the periods KPIs are computed over "
                        "(stored in the workspace; the app's Data quality page has the same choice)")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("catalog", help="print the KPI catalog")
    s.add_argument("--format", choices=["json", "csv", "markdown"], default="json")
    s.set_defaults(func=cmd_catalog)

    s = sub.add_parser("compute", help="compute KPIs")
    _data_arguments(s)
    s.add_argument("--kpi", action="append", help="a KPI id (repeatable); default: every computable KPI")
    s.add_argument("--grain", choices=GRAINS, default="month")
    s.add_argument("--start"), s.add_argument("--end"), s.add_argument("--as-of", dest="as_of")
    s.add_argument("--segment")
    s.add_argument("--filter", help="only the rows whose column has one of the values: COLUMN=VALUE[,VALUE...]")
    s.add_argument("--format", choices=["json", "csv"], default="json")
    s.set_defaults(func=cmd_compute)

    for name, func, formats in (("scorecard", cmd_scorecard, ["json", "csv", "markdown", *REPORT_FORMATS]), ("check", cmd_check, None)):
        s = sub.add_parser(name, help=f"{name} goals against the data")
        _data_arguments(s)
        s.add_argument("--goals", required=True)
        s.add_argument("--as-of", dest="as_of")
        if formats:
            s.add_argument("--format", choices=formats, default="json")
        s.set_defaults(func=func)

    s = sub.add_parser("cleanup", help="remove the app's empty workspaces not touched for a while (run it from cron)")
    s.add_argument("--older-than", dest="older_than",
                   help="age since the last write, like 30d, 12h or 2w (default: $KPI_EXPLORER_KEEP_EMPTY or 30d)")
    s.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    s.set_defaults(func=cmd_cleanup)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KpiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return EXIT_OK
    except Exception:
        if _stopped:       # DuckDB turns the signal into "Query interrupted" in the query it ran
            return EXIT_STOPPED
        raise
    finally:
        _remove_snapshots()


_stopped = False


def stop(*_signal) -> None:
    """SIGTERM (cron's `timeout`): leave through Python, so that ``main`` removes what it made."""
    global _stopped
    _stopped = True
    raise SystemExit(EXIT_STOPPED)
