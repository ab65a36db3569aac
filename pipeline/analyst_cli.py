"""`jianbao query`, `report`, `export` and `render`: the analysts' commands over extracted JSONL.

Kept apart from cli.py so that the parser stays one place per audience; cli.build_parser adds these.
The heavy imports (duckdb, pandas, spaCy's displacy) happen inside the commands.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import decimal
import json
import os
import sys
import unicodedata
from pathlib import Path
from typing import Any, Callable, TextIO

from .query import REPORTS, VIEWS, Result

INPUTS_HELP = "JSONL files written by `jianbao extract`, or glob patterns (quoted), read together"


def _cell(value: Any, null: str) -> str:
    """A value as text for a table or CSV cell: integral floats without '.0', lists joined by 、."""
    if value is None:
        return null
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, (list, tuple)):
        return "、".join(_cell(v, null) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _numeric(result: Result, i: int) -> bool:
    values = [row[i] for row in result.rows if row[i] is not None]
    return bool(values) and all(isinstance(v, (int, float, decimal.Decimal)) and not isinstance(v, bool)
                                for v in values)


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _count(result: Result) -> str:
    return f"({len(result.rows)} row{'' if len(result.rows) == 1 else 's'})"


def write_table(result: Result, out: TextIO, title: str | None = None) -> None:
    """An aligned table for the terminal: rich's where installed, else plain text."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        _write_plain_table(result, out, title)
        return
    table = Table(title=title, title_justify="left")
    for i, column in enumerate(result.columns):
        table.add_column(column, justify="right" if _numeric(result, i) else "left", overflow="fold")
    for row in result.rows:
        table.add_row(*(_cell(v, "NULL") for v in row))
    console = Console(file=out, highlight=False)
    if not out.isatty():  # a file or a pipe: as wide as the table needs, within reason
        wide = Console(width=10_000)
        console = Console(file=out, highlight=False, width=min(200, wide.measure(table).maximum))
    console.print(table)
    console.print(_count(result))


def _write_plain_table(result: Result, out: TextIO, title: str | None) -> None:
    cells = [result.columns] + [[_cell(v, "NULL") for v in row] for row in result.rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(result.columns))]
    right = [_numeric(result, i) for i in range(len(result.columns))]
    if title:
        out.write(title + "\n")
    for n, row in enumerate(cells):
        pads = [" " * (w - _width(c)) for c, w in zip(row, widths)]
        out.write("  ".join(p + c if r else c + p for c, p, r in zip(row, pads, right)).rstrip() + "\n")
        if n == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")
    out.write(_count(result) + "\n")


def write_csv(result: Result, out: TextIO) -> None:
    """CSV with a header; NULL is an empty cell, a list is a JSON array."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, (list, dict)) else _cell(v, "")
                         for v in row])


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return str(value)


def write_json(result: Result, out: TextIO) -> None:
    """A JSON array of objects, one per row."""
    json.dump(result.dicts(), out, ensure_ascii=False, indent=1, default=_json_value)
    out.write("\n")


def write_markdown(result: Result, out: TextIO, title: str | None = None) -> None:
    """A GitHub-flavoured Markdown table."""
    def cell(v: Any) -> str:
        return _cell(v, "").replace("|", "\\|").replace("\n", " ")

    if title:
        out.write(f"### {title}\n\n")
    out.write("| " + " | ".join(result.columns) + " |\n")
    out.write("|" + "|".join("---:" if _numeric(result, i) else "---" for i in range(len(result.columns))) + "|\n")
    for row in result.rows:
        out.write("| " + " | ".join(cell(v) for v in row) + " |\n")


def _piped(write: Callable[[], None]) -> int:
    """Run write; a reader that stops early (`| head`) ends the output quietly instead of with a traceback."""
    try:
        write()
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the flush at exit does not fail too
    return 0


def _query(args: argparse.Namespace) -> int:
    from .query import connect, run_query

    result = run_query(connect(args.inputs), args.sql)
    return _piped(lambda: {"table": write_table, "csv": write_csv, "json": write_json}[args.format](result, sys.stdout))


def _report(args: argparse.Namespace) -> int:
    from .query import connect, report

    tables = report(connect(args.inputs), [args.only] if args.only else REPORTS)
    return _piped(lambda: _write_report(tables, args.format))


def _write_report(tables: dict[str, tuple[str, Result]], fmt: str) -> None:
    for n, (title, result) in enumerate(tables.values()):
        if n:
            sys.stdout.write("\n")
        if fmt == "table":
            write_table(result, sys.stdout, title)
        elif fmt == "markdown":
            write_markdown(result, sys.stdout, title)
        else:  # csv: a title line only when several tables share the stream
            if len(tables) > 1:
                sys.stdout.write(f"# {title}\n")
            write_csv(result, sys.stdout)


def _export(args: argparse.Namespace) -> int:
    from .query import connect, export

    written = export(connect(args.inputs), args.to, args.dir)
    for path, rows in written.items():
        print(f"{rows} rows -> {path}", file=sys.stderr)
    return 0


def _render(args: argparse.Namespace) -> int:
    from .io import RecordError, validate_record
    from .query import QueryError, read_record
    from .render import render

    record = read_record(args.inputs, args.id)
    try:
        validate_record(record)
    except RecordError as e:
        raise QueryError(f"{e}; render pages of records that `jianbao extract` wrote") from None
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(render(record), encoding="utf-8")
    print(f"{args.id} -> {args.output}", file=sys.stderr)
    return 0


def add_commands(sub) -> None:
    """Add query, report, export and render to the `jianbao` subparsers."""
    views = ", ".join(VIEWS)
    q = sub.add_parser("query", help="run SQL (DuckDB) over extracted JSONL",
                       description=f"Run SQL over extracted JSONL with DuckDB. Views: {views}. "
                                   "`SELECT * FROM facts LIMIT 0` shows a view's columns; facts.agency joins a "
                                   "figure's agencies with 、 (NULL when none), facts.agencies keeps the list.",
                       epilog='example: jianbao query out.jsonl "SELECT agency, period_start, count(*) FROM facts '
                              'GROUP BY ALL ORDER BY ALL"')
    q.add_argument("inputs", nargs="+", metavar="JSONL", help=INPUTS_HELP)
    q.add_argument("sql", help="the SQL; with several statements, the last one's rows are printed")
    q.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="table (default), csv, or json (an array of objects)")
    q.set_defaults(func=_query)
    r = sub.add_parser("report", help="canned tables: figures by indicator, agency and period; officials; campaigns")
    r.add_argument("inputs", nargs="+", metavar="JSONL", help=INPUTS_HELP)
    r.add_argument("--format", choices=("table", "csv", "markdown"), default="table")
    r.add_argument("--only", choices=tuple(REPORTS), help="print only this table")
    r.set_defaults(func=_report)
    e = sub.add_parser("export", help="write the views as Parquet or CSV files, one per view",
                       description=f"Write the views ({views}) as DIR/VIEW.parquet or DIR/VIEW.csv.")
    e.add_argument("inputs", nargs="+", metavar="JSONL", help=INPUTS_HELP)
    e.add_argument("--to", choices=("parquet", "csv"), required=True)
    e.add_argument("dir", metavar="DIR", help="folder to write into (created if missing)")
    e.set_defaults(func=_export)
    v = sub.add_parser("render", help="an HTML review page of one article: entities, facts and their links")
    v.add_argument("inputs", nargs="+", metavar="JSONL", help=INPUTS_HELP)
    v.add_argument("--id", required=True, help="the record's id, or its source where ids repeat (see `SELECT id, source, title FROM docs`)")
    v.add_argument("-o", "--output", required=True, help="HTML file to write")
    v.set_defaults(func=_render)
