"""`python -m kpi`: ingest, catalog, compute, scorecard and check from the command line (cli.md)."""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
import shutil
import sys
import tempfile
from pathlib import Path

from . import catalog
from .errors import InputError, KpiError
from .workspace import Workspace

EXIT_OK, EXIT_ATTENTION, EXIT_BAD_INPUT = 0, 1, 2


def _is_workspace_file(path: Path) -> bool:
    """DuckDB database files carry the magic 'DUCK' at byte 8."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return head[8:12] == b"DUCK"


def open_data(path: str) -> Workspace:
    """A workspace for --data: a workspace file (read-only), a folder of dataset files or one file."""
    from .ingest import ingest_file, ingest_folder
    p = Path(path)
    if not p.exists():
        raise KpiError(f"{path}: no such file or folder — check the path given to --data")
    if p.is_dir():
        ws = Workspace(None)
        ingest_folder(ws, p)
        return ws
    if _is_workspace_file(p):
        try:
            return Workspace(p, read_only=True)
        except KpiError as exc:
            if "could not set lock" not in str(exc.__cause__ or "").lower():
                raise
        # The app holds the file (DuckDB lets one process at a time open it): read a snapshot copy.
        print(f"note: {p.name} is open in the app; reading a copy taken now", file=sys.stderr)
        snapshot = Path(tempfile.mkdtemp(prefix="kpi-snapshot-")) / p.name
        shutil.copy2(p, snapshot)
        wal = p.with_name(p.name + ".wal")
        if wal.exists():
            shutil.copy2(wal, snapshot.with_name(snapshot.name + ".wal"))
        return Workspace(snapshot)
    ws = Workspace(None)
    ingest_file(ws, p)
    return ws


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
def cmd_ingest(args) -> int:
    from .ingest import ingest_file, ingest_folder
    explicit = None
    if args.map:
        try:
            explicit = json.loads(Path(args.map).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise KpiError(f"{args.map}: cannot read the mapping file ({exc}) — give a JSON object like "
                           '{"file.csv": {"dataset": "payments", "columns": {"amount": "Net Amount"}}}') from None
    data = Path(args.data)
    if not data.exists():
        raise KpiError(f"{args.data}: no such file or folder — check the path given to --data")
    given = _answers_arg(args.answers)
    explicit = dict(explicit or {})
    for name, answers in given.items():
        explicit[name] = {**explicit.get(name, {}), "answers": {**explicit.get(name, {}).get("answers", {}),
                                                                **answers}}
    with Workspace(args.workspace) as ws:
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
    return EXIT_OK


def _answers_arg(path: str | None) -> dict[str, dict[str, str]]:
    """``--answers FILE.json``: {"file name": {"question id": "answer"}} (the app's question ids)."""
    if not path:
        return {}
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read the answers file ({exc}) — give a JSON object like "
                         '{"payments.csv": {"amount_unit": "cents"}}') from None
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


def cmd_compute(args) -> int:
    from .compute import compute
    ws = open_data(args.data)
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


def _scorecard(args):
    from .goals import check_targets, load_goals_file
    from .scorecard import scorecard
    from .compute import as_of_date
    doc = load_goals_file(args.goals)
    check_targets(doc, args.goals)           # a deadline not after its baseline date is bad input
    ws = open_data(args.data)
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
        sys.stdout.write(scorecard_markdown(statuses, as_of))
        return EXIT_OK
    _write_records(scorecard_records(statuses), args.format, list(RECORD_FIELDS))
    return EXIT_OK


def cmd_check(args) -> int:
    """One line per goal that needs attention (kpi.scorecard.needs_attention: off track, missed,
    an alert, or no data to judge it on before its deadline); exit 1 when there is any."""
    from .formatting import format_date, format_value
    from .scorecard import attention_words, kpi_label, needs_attention
    statuses, as_of, _ = _scorecard(args)
    flagged = needs_attention(statuses)
    for s in flagged:
        unit = kpi_label(s.kpi).unit
        goal = s.target_words()
        print(f"{s.kpi}: {attention_words(s)} — value {format_value(s.value, unit)}, "
              f"{goal[:1].lower() + goal[1:]} (as of {format_date(as_of)})")
    if not flagged:
        print(f"all {len(statuses)} goals are fine as of {format_date(as_of)}")
    return EXIT_ATTENTION if flagged else EXIT_OK


def cmd_cleanup(args) -> int:
    """Remove the app's workspaces that hold nothing and were not touched for a while (from cron)."""
    from .workspaces import KEEP_EMPTY, parse_age, remove_empty_workspaces
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
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("catalog", help="print the KPI catalog")
    s.add_argument("--format", choices=["json", "csv", "markdown"], default="json")
    s.set_defaults(func=cmd_catalog)

    s = sub.add_parser("compute", help="compute KPIs")
    s.add_argument("--data", required=True)
    s.add_argument("--kpi", action="append", help="a KPI id (repeatable); default: every computable KPI")
    s.add_argument("--grain", choices=GRAINS, default="month")
    s.add_argument("--start"), s.add_argument("--end"), s.add_argument("--as-of", dest="as_of")
    s.add_argument("--segment")
    s.add_argument("--filter", help="only the rows whose column has one of the values: COLUMN=VALUE[,VALUE...]")
    s.add_argument("--format", choices=["json", "csv"], default="json")
    s.set_defaults(func=cmd_compute)

    for name, func, formats in (("scorecard", cmd_scorecard, ["json", "csv", "markdown", *REPORT_FORMATS]), ("check", cmd_check, None)):
        s = sub.add_parser(name, help=f"{name} goals against the data")
        s.add_argument("--data", required=True)
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
