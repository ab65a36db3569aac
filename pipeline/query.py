"""SQL over extracted JSONL, so analysts query article records without writing a parser.

The records (pipeline/schema.json) are read once into DuckDB and flattened into the views `docs`,
`entities`, `relations`, `facts` and `officials`; the canned reports, the exports and `load_facts` are
queries over those views. duckdb and pandas are imported only when used, so `import pipeline.query`
(and the CLI's error handling that needs QueryError) stays cheap.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .annotations.records import AnnotationError, jsonl_objects

if TYPE_CHECKING:
    import duckdb
    import pandas

VIEWS = ("docs", "entities", "relations", "facts", "officials")


class QueryError(ValueError):
    """Input files or SQL that cannot be used; the message is one line saying what to do."""


@dataclass
class Result:
    """Rows of a query with their column names."""

    columns: list[str]
    rows: list[tuple]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]


# The record schema as DuckDB types: explicit, so missing or null fields read as NULL instead of failing
# type inference, and dates are DATEs.
_ENTITY = 'STRUCT(text VARCHAR, label VARCHAR, start BIGINT, "end" BIGINT, confidence DOUBLE)'
_RELATION = "STRUCT(head BIGINT, child BIGINT, label VARCHAR)"
_PERIOD = 'STRUCT(text VARCHAR, start DATE, "end" DATE, granularity VARCHAR, reason VARCHAR)'
_FACT = (f'STRUCT(text VARCHAR, start BIGINT, "end" BIGINT, value DOUBLE, value_max DOUBLE, value_reason VARCHAR, '
         f'unit VARCHAR, qualifier VARCHAR, indicator VARCHAR, agency VARCHAR[], place VARCHAR, place_via VARCHAR, '
         f'period {_PERIOD}, sentence VARCHAR)')
_OFFICIAL = 'STRUCT(name VARCHAR, titles VARCHAR[], agency VARCHAR, start BIGINT, "end" BIGINT, posts_from BIGINT)'
COLUMNS = {"id": "VARCHAR", "source": "VARCHAR", "published": "DATE", "title": "VARCHAR", "url": "VARCHAR",
           "text": "VARCHAR", "entities": f"{_ENTITY}[]", "relations": f"{_RELATION}[]", "facts": f"{_FACT}[]",
           "officials": f"{_OFFICIAL}[]"}

_VIEW_SQL = {
    "docs": """
        SELECT id, source, published, title, url, coalesce(len(entities), 0) AS n_entities,
               coalesce(len(facts), 0) AS n_facts, text, filename AS file
        FROM records""",
    # idx is the entity's position in its record: what relations' head and child point to
    "entities": """
        SELECT doc_id, idx, e.text AS text, e.label AS label, e.start AS start_char, e."end" AS end_char,
               e.confidence AS confidence
        FROM (SELECT id AS doc_id, unnest(entities) AS e, generate_subscripts(entities, 1) - 1 AS idx
              FROM records)""",
    "relations": """
        SELECT doc_id, r.label AS label, r.head AS head, r.child AS child, ents[r.head + 1].text AS head_text,
               ents[r.child + 1].text AS child_text, ents[r.child + 1].label AS child_label
        FROM (SELECT id AS doc_id, entities AS ents, unnest(relations) AS r FROM records)""",
    # agency: the linked agencies joined by 、 (NULL when none), so GROUP BY agency works; agencies keeps the list
    "facts": """
        SELECT doc_id, f.indicator AS indicator, f.value AS value, f.value_max AS value_max, f.unit AS unit,
               f.qualifier AS qualifier, nullif(array_to_string(f.agency, '、'), '') AS agency,
               coalesce(f.agency, []::VARCHAR[]) AS agencies, f.place AS place, f.place_via AS place_via,
               f.period.text AS period, f.period.start AS period_start, f.period."end" AS period_end,
               f.period.granularity AS period_granularity, f.text AS text, f.start AS start_char,
               f."end" AS end_char, f.value_reason AS value_reason, f.sentence AS sentence
        FROM (SELECT id AS doc_id, unnest(facts) AS f FROM records)""",
    "officials": """
        SELECT doc_id, o.name AS name, nullif(array_to_string(o.titles, '、'), '') AS title,
               coalesce(o.titles, []::VARCHAR[]) AS titles, o.agency AS agency, o.start AS start_char,
               o."end" AS end_char, o.posts_from AS posts_from_char
        FROM (SELECT id AS doc_id, unnest(officials) AS o FROM records)""",
}

REPORTS = {
    "figures": ("Figures by indicator, agency and period", """
        SELECT indicator, agency, period_start, period_end, unit, count(*) AS figures,
               count(DISTINCT doc_id) AS docs, sum(value) AS total
        FROM facts
        GROUP BY ALL
        ORDER BY indicator NULLS LAST, agency NULLS LAST, period_start NULLS LAST, period_end NULLS LAST, unit"""),
    "officials": ("Officials by agency", """
        SELECT agency, name, array_to_string(list_sort(list_distinct(flatten(list(titles)))), '、') AS titles,
               count(DISTINCT doc_id) AS docs, count(*) AS mentions
        FROM officials
        GROUP BY agency, name
        ORDER BY agency NULLS LAST, name"""),
    "campaigns": ("Campaigns mentioned", """
        SELECT e.text AS campaign, count(DISTINCT id) AS docs, count(*) AS mentions,
               min(published) AS first_published, max(published) AS last_published
        FROM (SELECT id, published, unnest(entities) AS e FROM records)
        WHERE e.label = 'CAMPAIGN'
        GROUP BY e.text
        ORDER BY docs DESC, mentions DESC, campaign"""),
}

_HINT = "each line must be one JSON article record as `jianbao extract` writes (pipeline/schema.json)"


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0].rstrip(". ")


def _sql_message(e: Exception) -> str:
    """DuckDB's message up to its quote of the SQL (LINE 1: ...), on one line: keeps 'Did you mean ...'."""
    lines = []
    for line in str(e).strip().splitlines():
        if not line.strip() or line.startswith("LINE "):
            break
        lines.append(line.strip())
    return " ".join(lines).rstrip(". ")


def resolve(paths: str | Path | Iterable[str | Path]) -> list[str]:
    """The JSONL files named by paths and glob patterns, each pattern's matches sorted."""
    files: list[str] = []
    for p in [paths] if isinstance(paths, (str, Path)) else paths:
        p = str(p)
        if any(c in p for c in "*?["):
            matches = sorted(m for m in glob.glob(p, recursive=True) if Path(m).is_file())
            if not matches:
                raise QueryError(f"{p}: no files match this pattern; check the folder and the extension "
                                 f"(quote the pattern so the shell does not expand it)")
            files += matches
        elif Path(p).is_file():
            files.append(p)
        else:
            raise QueryError(f"{p}: no such file; give JSONL files written by `jianbao extract`, or a glob")
    if not files:
        raise QueryError("no input files given; give JSONL files written by `jianbao extract`, or a glob")
    return files


def connect(paths: str | Path | Iterable[str | Path]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding the records of paths (files or globs) as table `records`, plus the views."""
    import duckdb

    files = resolve(paths)
    con = duckdb.connect()
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items()) + "}"
    try:
        con.execute(f"CREATE TABLE records AS SELECT * FROM read_json($files, format = 'newline_delimited', "
                    f"columns = {columns}, filename = true)", {"files": files})
    except duckdb.Error as e:
        for file in files:  # name the exact line where Python's json can; DuckDB's line numbers are approximate
            for _ in _records(file):
                pass
        what = files[0] if len(files) == 1 else f"{len(files)} files"
        raise QueryError(f"cannot read {what}: {_first_line(e)}; {_HINT}") from None
    for name, sql in _VIEW_SQL.items():
        con.execute(f"CREATE VIEW {name} AS {sql}")
    return con


def run_query(con: duckdb.DuckDBPyConnection, sql: str) -> Result:
    """The rows of sql (the last statement's, when there are several)."""
    import duckdb

    if not sql.strip():
        raise QueryError(f"no SQL given; query the views {', '.join(VIEWS)}, e.g. \"SELECT count(*) FROM facts\"")
    try:
        cursor = con.execute(sql)
        if cursor.description is None:
            return Result([], [])
        return Result([d[0] for d in cursor.description], cursor.fetchall())
    except duckdb.Error as e:
        raise QueryError(f"bad SQL: {_sql_message(e)} (the views are {', '.join(VIEWS)}; "
                         f"`SELECT * FROM facts LIMIT 0` shows a view's columns)") from None


def report(con: duckdb.DuckDBPyConnection, names: Iterable[str] = REPORTS) -> dict[str, tuple[str, Result]]:
    """The canned tables, by name: (title, rows)."""
    return {name: (REPORTS[name][0], run_query(con, REPORTS[name][1])) for name in names}


def _sql_string(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def export(con: duckdb.DuckDBPyConnection, to: str, out_dir: str | Path) -> dict[Path, int]:
    """Write each view to out_dir/VIEW.parquet or .csv; the files written and their row counts."""
    import duckdb

    options = {"parquet": "FORMAT parquet", "csv": "FORMAT csv, HEADER true"}
    if to not in options:
        raise QueryError(f"cannot export to {to!r}; choose one of {', '.join(options)}")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise QueryError(f"{out}: cannot make this folder ({e.strerror or e}); give a folder to write "
                         f"the {to} files into") from None
    written = {}
    for name in VIEWS:
        path = out / f"{name}.{to}"
        try:
            con.execute(f"COPY (SELECT * FROM {name}) TO {_sql_string(str(path))} ({options[to]})")
        except duckdb.Error as e:
            raise QueryError(f"cannot write {path}: {_first_line(e)}") from None
        written[path] = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    return written


def load_facts(path: str | Path | Iterable[str | Path]) -> pandas.DataFrame:
    """The `facts` view of JSONL file(s) or globs as a DataFrame: one row per figure."""
    con = connect(path)  # held: a relation does not keep its connection open
    return con.execute("SELECT * FROM facts").df()


def _records(file: str) -> Iterator[dict]:
    """The records of one JSONL file, by Python's json: a bad line raises QueryError naming its number."""
    try:
        for n, record in jsonl_objects(file, _HINT):
            if not isinstance(record, dict):
                raise QueryError(f"{file}:{n}: a JSON {type(record).__name__}, not a record; {_HINT}")
            yield record
    except AnnotationError as e:
        raise QueryError(str(e)) from None


def read_record(paths: str | Path | Iterable[str | Path], id: str) -> dict:
    """The record with this id, or with this source (a feed may give two articles one id; their sources,
    path:line, differ), read as plain JSON. An id that records of several sources share is an error naming
    them, not a silent pick of the first."""
    seen, by_id, by_source = 0, [], []
    for file in resolve(paths):
        for record in _records(file):
            seen += 1
            if record.get("id") == id:
                by_id.append(record)
            elif record.get("source") == id:
                by_source.append(record)
    found = by_id or by_source
    if found and len({r.get("source") for r in found}) == 1:  # one article, if some files repeat it
        return found[0]
    if not found:
        raise QueryError(f"no record with id or source {id!r} among the {seen} records; "
                         f"list them with `jianbao query FILE \"SELECT id, source, title FROM docs\"`")
    sources = ", ".join(repr(r.get("source")) for r in found[:5]) + (", …" if len(found) > 5 else "")
    raise QueryError(f"{len(found)} records have id {id!r} (sources {sources}); give one's source as --id")
