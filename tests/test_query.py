"""The analysts' commands: `jianbao query`, `report`, `export` and `render` over extracted JSONL."""

import csv
import io
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

import pipeline
from pipeline.io import validate_record
from pipeline.query import QueryError, connect, read_record, run_query
from pipeline.render import COLORS, render

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ["bulletin_scraped.txt", "bulletin_clean.txt", "bulletin_gbk.html"]


def run(*args):
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT)


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> tuple[Path, list[dict]]:
    """The bundled examples through the rules pipeline, as `jianbao extract` writes them."""
    from pipeline.models import rules_pipeline
    from pipeline.io import to_record
    from pipeline.normalize import normalize_file

    nlp = rules_pipeline()
    records = []
    for i, name in enumerate(EXAMPLES, 1):
        doc = nlp.make_doc(normalize_file(ROOT / "examples" / name).text)
        doc._.published = "2023-08-16"
        record = to_record(nlp(doc), f"example-{i}", source=f"examples/{name}")
        validate_record(record)
        records.append(record)
    return write_jsonl(tmp_path_factory.mktemp("extracted") / "out.jsonl", records), records


def _ent(text: str, part: str, label: str, nth: int = 0) -> dict:
    start = -1
    for _ in range(nth + 1):
        start = text.index(part, start + 1)
    return {"text": part, "label": label, "start": start, "end": start + len(part), "confidence": None}


def _fact(text: str, stat: dict, value: float, unit: str, indicator: str, agencies: list[str],
          period: tuple[str, str, str] | None) -> dict:
    return {"text": stat["text"], "start": stat["start"], "end": stat["end"], "value": value, "value_max": None,
            "value_reason": None, "unit": unit, "qualifier": "eq", "indicator": indicator, "agency": agencies,
            "place": None, "place_via": None, "sentence": text,
            "period": period and {"text": period[0], "start": period[1], "end": period[2], "granularity": None,
                                  "reason": None}}


def linked_record(id: str = "linked-1") -> dict:
    """A hand-made record whose figures are linked to agencies and periods."""
    text = "2023年上半年，市市场监管局会同市公安局捣毁传销窝点12个。2022年，市市场监管局查办传销案件9起，<b>&8起</b>。"
    ents = [_ent(text, "2023年上半年", "DATE"), _ent(text, "市市场监管局", "AGENCY"), _ent(text, "市公安局", "AGENCY"),
            _ent(text, "12个", "STAT"), _ent(text, "2022年", "DATE"), _ent(text, "市市场监管局", "AGENCY", 1),
            _ent(text, "9起", "STAT"), _ent(text, "8起", "STAT")]
    h1 = ("2023年上半年", "2023-01-01", "2023-06-30")
    facts = [_fact(text, ents[3], 12, "个", "捣毁传销窝点", ["市市场监管局", "市公安局"], h1),
             _fact(text, ents[6], 9, "起", "查办传销案件", ["市市场监管局"], ("2022年", "2022-01-01", "2022-12-31")),
             _fact(text, ents[7], None, "起", "查办传销案件", [], None)]
    facts[2]["value_reason"] = "not a number"
    record = {"id": id, "source": "hand-made", "published": "2023-08-16", "title": "上半年<打击传销>工作",
              "url": "https://example.invalid/a?b=1&c=2", "text": text, "entities": ents,
              "relations": [{"head": 3, "child": 1, "label": "AGENCY"}, {"head": 3, "child": 2, "label": "AGENCY"},
                            {"head": 3, "child": 0, "label": "PERIOD"}, {"head": 6, "child": 5, "label": "AGENCY"},
                            {"head": 6, "child": 4, "label": "PERIOD"}],
              "facts": facts, "officials": []}
    validate_record(record)
    return record


@pytest.fixture
def linked(tmp_path) -> Path:
    return write_jsonl(tmp_path / "linked.jsonl", [linked_record()])


def test_import_pipeline_stays_cheap():
    out = subprocess.run([sys.executable, "-c", "import pipeline, pipeline.cli, sys; "
                          "print(sorted(m for m in ('duckdb', 'pandas') if m in sys.modules))"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


def test_columns_follow_the_record_schema():
    from pipeline.io import SCHEMA_PATH
    from pipeline.query import COLUMNS

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))["properties"]
    assert set(COLUMNS) == set(schema)
    for name in ("entities", "relations", "facts", "officials"):
        fields = schema[name]["items"]["properties"]
        if name == "facts":
            fields = {**fields, **fields["period"]["properties"]}
        missing = [f for f in fields if f" {f} " not in COLUMNS[name] and f'"{f}" ' not in COLUMNS[name]
                   and f"({f} " not in COLUMNS[name]]
        assert not missing, f"{name}: add {missing} to pipeline.query.COLUMNS and the views"


def test_facts_count_counts_every_normalized_figure(extracted):
    path, records = extracted
    expected = sum(f["value"] is not None for r in records for f in r["facts"])
    assert expected > 0
    out = run("query", path, "SELECT count(*) AS n FROM facts WHERE value IS NOT NULL", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [{"n": expected}]


def test_views_flatten_the_records(extracted):
    path, records = extracted
    con = connect(path)
    docs = run_query(con, "SELECT id, source, published, title, url, n_entities, n_facts FROM docs ORDER BY id").rows
    assert docs == [(r["id"], r["source"], date(2023, 8, 16), None, r.get("url"), len(r["entities"]), len(r["facts"]))
                    for r in records]
    count = {v: run_query(con, f"SELECT count(*) FROM {v}").rows[0][0]
             for v in ("entities", "relations", "facts", "officials")}
    assert count == {v: sum(len(r[v]) for r in records) for v in count}
    r0 = records[0]
    e = run_query(con, "SELECT idx, text, label, start_char, end_char FROM entities WHERE doc_id = 'example-1' "
                       "ORDER BY idx").rows
    assert e == [(i, x["text"], x["label"], x["start"], x["end"]) for i, x in enumerate(r0["entities"])]
    rel = r0["relations"][0]
    assert run_query(con, "SELECT head_text, child_text FROM relations WHERE doc_id = 'example-1' "
                          f"AND head = {rel['head']} AND child = {rel['child']}").rows == \
        [(r0["entities"][rel["head"]]["text"], r0["entities"][rel["child"]]["text"])]
    assert ("李明", "党组书记、局长", "市市场监管局") in run_query(con, "SELECT name, title, agency FROM officials").rows


def test_group_figures_by_agency_and_period(linked):
    sql = ("SELECT agency, period_start, period_end, count(*) AS figures, sum(value) AS total FROM facts "
           "WHERE value IS NOT NULL GROUP BY agency, period_start, period_end ORDER BY period_start")
    assert run_query(connect(linked), sql).rows == [
        ("市市场监管局", date(2022, 1, 1), date(2022, 12, 31), 1, 9.0),
        ("市市场监管局、市公安局", date(2023, 1, 1), date(2023, 6, 30), 1, 12.0)]
    # one row per figure, whatever the number of agencies; the list stays available
    agencies = run_query(connect(linked), "SELECT agencies FROM facts ORDER BY start_char").rows
    assert agencies == [(["市市场监管局", "市公安局"],), (["市市场监管局"],), ([],)]
    out = run("query", linked, sql, "--format", "csv")
    assert out.returncode == 0, out.stderr
    assert list(csv.reader(io.StringIO(out.stdout))) == [
        ["agency", "period_start", "period_end", "figures", "total"],
        ["市市场监管局", "2022-01-01", "2022-12-31", "1", "9"],
        ["市市场监管局、市公安局", "2023-01-01", "2023-06-30", "1", "12"]]


def test_several_files_and_globs(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [linked_record("a-1"), linked_record("a-2")])
    write_jsonl(folder / "b.jsonl", [linked_record("b-1")])
    (folder / "notes.txt").write_text("not records")
    assert run_query(connect([folder / "a.jsonl", folder / "b.jsonl"]), "SELECT count(*) FROM docs").rows == [(3,)]
    out = run("query", folder / "*.jsonl", "SELECT file, count(*) AS n FROM docs GROUP BY file ORDER BY file",
              "--format", "json")
    assert out.returncode == 0, out.stderr
    assert [(Path(r["file"]).name, r["n"]) for r in json.loads(out.stdout)] == [("a.jsonl", 2), ("b.jsonl", 1)]


def test_query_table_format(linked):
    out = run("query", linked, "SELECT indicator, value, agency FROM facts ORDER BY start_char")
    assert out.returncode == 0, out.stderr
    assert "indicator" in out.stdout and "捣毁传销窝点" in out.stdout and "市市场监管局、市公安局" in out.stdout
    assert "NULL" in out.stdout and "(3 rows)" in out.stdout
    assert "12.0" not in out.stdout  # whole numbers print as such


def test_plain_table_aligns_wide_characters():
    from pipeline.analyst_cli import _write_plain_table
    from pipeline.query import Result

    out = io.StringIO()
    _write_plain_table(Result(["agency", "n"], [("市公安局", 12), (None, 3)]), out, "by agency")
    assert out.getvalue().splitlines() == ["by agency", "agency     n", "--------  --", "市公安局  12",
                                           "NULL       3", "(2 rows)"]


def _one_line_error(out: subprocess.CompletedProcess, command: str, *words: str) -> str:
    assert out.returncode == 2, out
    assert "Traceback" not in out.stderr and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"jianbao {command}: error: "), out.stderr
    assert all(w in lines[0] for w in words), lines[0]
    return lines[0]


def test_errors_are_one_line_with_exit_2(tmp_path, linked):
    _one_line_error(run("query", tmp_path / "nope.jsonl", "SELECT 1"), "query", "nope.jsonl", "no such file")
    _one_line_error(run("query", tmp_path / "none" / "*.jsonl", "SELECT 1"), "query", "*.jsonl", "no files match")
    _one_line_error(run("query", linked, "SELEC count(*) FROM facts"), "query", "bad SQL", "syntax error", "SELEC")
    _one_line_error(run("query", linked, "SELECT * FROM fact"), "query", "bad SQL", 'Did you mean "facts"')
    _one_line_error(run("query", linked, "SELECT nope FROM facts"), "query", "bad SQL", '"nope"')
    _one_line_error(run("query", linked, " "), "query", "no SQL")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(linked.read_text(encoding="utf-8") + '{"id": "x", "facts": [\n', encoding="utf-8")
    _one_line_error(run("query", bad, "SELECT 1"), "query", "bad.jsonl:2", "invalid JSON")
    _one_line_error(run("report", bad), "report", "bad.jsonl:2")
    gbk = tmp_path / "gbk.jsonl"
    gbk.write_bytes(json.dumps(linked_record(), ensure_ascii=False).encode("gbk", errors="replace") + b"\n")
    _one_line_error(run("query", gbk, "SELECT 1"), "query", "gbk.jsonl:1", "not UTF-8")
    array = tmp_path / "records.json"
    array.write_text(json.dumps([linked_record()]), encoding="utf-8")
    _one_line_error(run("query", array, "SELECT 1"), "query", "records.json:1", "not a record")
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text('{"id": "x", "published": "yesterday"}\n', encoding="utf-8")
    _one_line_error(run("export", wrong, "--to", "csv", tmp_path / "out"), "export", "wrong.jsonl", "yesterday")
    _one_line_error(run("render", linked, "--id", "nope", "-o", tmp_path / "p.html"), "render", "'nope'", "1 records")
    twice = write_jsonl(tmp_path / "twice.jsonl", [dict(linked_record(), source="feed.jsonl:1"),
                                                   dict(linked_record(), source="feed.jsonl:7", text="重复的编号")])
    _one_line_error(run("render", twice, "--id", "linked-1", "-o", tmp_path / "p.html"), "render",
                    "2 records have id 'linked-1'", "'feed.jsonl:1', 'feed.jsonl:7'", "source as --id")
    assert not (tmp_path / "p.html").exists()


def test_report_tables(extracted, linked):
    path, records = extracted
    out = run("report", path, linked)
    assert out.returncode == 0, out.stderr
    for title in ("Figures by indicator, agency and period", "Officials by agency", "Campaigns mentioned"):
        assert title in out.stdout
    assert "清源行动" in out.stdout and "李明" in out.stdout and "市市场监管局、市公安局" in out.stdout
    md = run("report", path, linked, "--format", "markdown").stdout
    assert "### Officials by agency" in md and "| 市市场监管局 | 李明 | 党组书记、局长 | 3 | 3 |" in md
    figures = list(csv.DictReader(io.StringIO(run("report", linked, "--only", "figures", "--format", "csv").stdout)))
    assert figures[0] == {"indicator": "捣毁传销窝点", "agency": "市市场监管局、市公安局", "period_start": "2023-01-01",
                          "period_end": "2023-06-30", "unit": "个", "figures": "1", "docs": "1", "total": "12"}
    assert [(f["indicator"], f["agency"], f["figures"], f["total"]) for f in figures[1:]] == [
        ("查办传销案件", "市市场监管局", "1", "9"), ("查办传销案件", "", "1", "")]
    campaigns = run("report", path, "--only", "campaigns", "--format", "csv").stdout
    assert campaigns.splitlines() == ["campaign,docs,mentions,first_published,last_published",
                                      "清源行动,3,3,2023-08-16,2023-08-16"]
    several = run("report", path, "--format", "csv").stdout
    assert several.startswith("# Figures by indicator, agency and period\n")


def test_export_parquet_and_csv_round_trip(extracted, tmp_path):
    import duckdb
    import pandas

    path, records = extracted
    facts = pipeline.load_facts(path)
    for to in ("parquet", "csv"):
        out = run("export", path, "--to", to, tmp_path / to)
        assert out.returncode == 0, out.stderr
        files = sorted(p.name for p in (tmp_path / to).iterdir())
        assert files == sorted(f"{v}.{to}" for v in ("docs", "entities", "relations", "facts", "officials"))
    back = duckdb.sql(f"SELECT * FROM '{tmp_path / 'parquet' / 'facts.parquet'}'").df()
    assert list(back.columns) == list(facts.columns) and len(back) == len(facts)
    assert back["value"].tolist() == facts["value"].tolist() and back["indicator"].tolist() == facts["indicator"].tolist()
    assert duckdb.sql(f"SELECT DISTINCT typeof(period_start), typeof(agencies) FROM "
                      f"'{tmp_path / 'parquet' / 'facts.parquet'}'").fetchall() == [("DATE", "VARCHAR[]")]
    csv_back = pandas.read_csv(tmp_path / "csv" / "facts.csv")
    assert list(csv_back.columns) == list(facts.columns) and len(csv_back) == len(facts)
    assert csv_back["value"].tolist() == facts["value"].tolist()
    docs = pandas.read_csv(tmp_path / "csv" / "docs.csv")
    assert docs["text"].tolist() == [r["text"] for r in records]


def test_load_facts_columns(extracted):
    path, records = extracted
    facts = pipeline.load_facts(path)
    for column in ("doc_id", "indicator", "value", "unit", "qualifier", "agency", "agencies", "place",
                   "period_start", "period_end", "text", "sentence"):
        assert column in facts.columns
    assert len(facts) == sum(len(r["facts"]) for r in records)
    assert facts["value"].notna().sum() == sum(f["value"] is not None for r in records for f in r["facts"])
    assert set(facts["doc_id"]) == {r["id"] for r in records}


def test_read_record_and_query_errors(tmp_path, linked):
    assert read_record(linked, "linked-1")["title"] == "上半年<打击传销>工作"
    with pytest.raises(QueryError, match="no record with id or source 'x'"):
        read_record(linked, "x")
    assert read_record([linked, linked], "linked-1")["title"]  # a file given twice is one article, not two
    with pytest.raises(QueryError, match="no files match"):
        connect(str(tmp_path / "none" / "*.jsonl"))


def test_render_html():
    page = render(linked_record())
    assert page.startswith("<!DOCTYPE html>")
    assert not any(x in page for x in ("<script", "<link", " src=", "@import", "url("))  # self-contained
    assert COLORS["STAT"] in page and COLORS["AGENCY"] in page
    assert "&lt;b&gt;&amp;8起&lt;/b&gt;" in page and "<b>" not in page  # the text is escaped
    assert "<title>上半年&lt;打击传销&gt;工作</title>" in page and "https://example.invalid/a?b=1&amp;c=2" in page
    # each figure is numbered in the text, linked to its row, and the row lists its links
    assert 'href="#fact-1"' in page and 'id="fact-1"' in page and 'id="fact-3"' in page
    row1 = page.split('id="fact-1">')[1].split("</tr>")[0]
    assert "捣毁传销窝点" in row1 and "市市场监管局、市公安局" in row1 and "2023-01-01 – 2023-06-30" in row1
    assert "AGENCY → 市公安局" in row1 and "PERIOD → 2023年上半年" in row1
    row3 = page.split('id="fact-3">')[1].split("</tr>")[0]
    assert "not a number" in row3


def test_render_cli(extracted, tmp_path):
    path, records = extracted
    out = run("render", path, "--id", "example-3", "-o", tmp_path / "page.html")
    assert out.returncode == 0, out.stderr
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert "examples/bulletin_gbk.html" in page and "清源行动" in page
    assert page.count('<tr id="fact-') == len(records[2]["facts"])
    by_source = run("render", path, "--id", records[2]["source"], "-o", tmp_path / "same.html")
    assert by_source.returncode == 0 and (tmp_path / "same.html").read_text(encoding="utf-8") == page


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)


def _screenshot_colors(html: str, tmp_path: Path, name: str) -> dict[str, int]:
    """How many pixels of a headless Chromium screenshot of the page have each entity label's colour."""
    from PIL import Image

    page, png = tmp_path / f"{name}.html", tmp_path / f"{name}.png"
    page.write_text(html, encoding="utf-8")
    out = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                          f"--screenshot={png}", "--window-size=1200,2000", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert png.is_file(), out.stderr
    counts = {c: n for n, c in Image.open(png).convert("RGB").getcolors(1200 * 2000)}
    return {label: counts.get(tuple(int(color[i:i + 2], 16) for i in (1, 3, 5)), 0) for label, color in COLORS.items()}


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="no chromium binary on PATH (apt-get install chromium)")
def test_render_screenshot_shows_the_entities(extracted, tmp_path):
    pytest.importorskip("PIL", reason="Pillow is needed to read the screenshot")
    path, records = extracted
    shown = _screenshot_colors(render(records[0]), tmp_path, "page")
    assert shown["STAT"] > 5000 and shown["AGENCY"] > 2000 and shown["CAMPAIGN"] > 500, shown
    bare = dict(records[0], entities=[], relations=[], facts=[], officials=[])
    assert set(_screenshot_colors(render(bare), tmp_path, "bare").values()) == {0}
