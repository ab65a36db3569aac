"""An HTML review page of one article record: displaCy's entity view, then its figures and their links.

Reviewers check extraction by eye: each figure in the text is tagged with its number in the facts table,
and the table shows what the figure was normalized to and which entities it was linked to. The page is
one self-contained file (no scripts, no external styles) so it can be mailed or archived.
"""

from __future__ import annotations

from html import escape
from typing import Any

from spacy import displacy

# one distinct colour per label (none of them used elsewhere on the page, so a screenshot can find entities)
COLORS = {"STAT": "#ffb3c6", "AGENCY": "#8fd3fe", "OFFICIAL": "#ffd966", "PERSON": "#ffeeaa", "TITLE": "#d7bdff",
          "ORG": "#b5e8b5", "PLACE": "#a8ecd8", "CAMPAIGN": "#ffc285", "DATE": "#d3dce0"}

_STYLE = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif;
       margin: 2rem; color: #222; max-width: 70rem; }
.meta { color: #555; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
"""


def _period(period: dict | None) -> str:
    if not period:
        return ""
    if period.get("start") or period.get("end"):
        return f"{period['text']} ({period.get('start') or '…'} – {period.get('end') or '…'})"
    return f"{period['text']} ({period.get('reason') or 'not resolved'})"


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else format(v, ".15g")


def _value(fact: dict) -> str:
    if fact.get("value") is None:
        return f"— ({fact['value_reason']})" if fact.get("value_reason") else "—"
    return _number(fact["value"]) + (f" – {_number(fact['value_max'])}" if fact.get("value_max") is not None else "")


def _table(header: list[str], rows: list[list[str]], row_ids: list[str] | None = None) -> str:
    """A table of cells that hold escaped HTML already."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = ""
    for i, row in enumerate(rows):
        body += (f'<tr id="{row_ids[i]}">' if row_ids else "<tr>") + "".join(f"<td>{c}</td>" for c in row) + "</tr>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _entity_view(record: dict[str, Any]) -> str:
    """displaCy's entity markup; each figure's tag carries its number, a link to its row in the facts table."""
    fact_no = {(f["start"], f["end"]): n for n, f in enumerate(record["facts"], 1)}
    spans, last_end = [], 0
    for e in sorted(record["entities"], key=lambda e: (e["start"], e["end"])):
        if e["start"] < last_end:  # displaCy's entity view cannot nest spans; keep the first
            continue
        span = {"start": e["start"], "end": e["end"], "label": escape(e["label"])}
        if e["label"] == "STAT" and (e["start"], e["end"]) in fact_no:
            n = fact_no[e["start"], e["end"]]
            span |= {"kb_id": f"#{n}", "kb_url": f"#fact-{n}"}
        spans.append(span)
        last_end = e["end"]
    return displacy.render({"text": record["text"], "ents": spans}, style="ent", manual=True,
                           options={"colors": COLORS})


def _facts_table(record: dict[str, Any]) -> str:
    """One row per figure: its normalized reading, and its links (the relations whose head is its STAT span)."""
    entities = record["entities"]
    stat_index = {(e["start"], e["end"]): i for i, e in enumerate(entities) if e["label"] == "STAT"}
    links: dict[int, list[str]] = {}
    for r in record["relations"]:
        child = entities[r["child"]]
        links.setdefault(r["head"], []).append(
            f"{escape(r['label'])} → {escape(child['text'])} <small>[{child['start']}:{child['end']}]</small>")
    rows = []
    for n, f in enumerate(record["facts"], 1):
        via = f" <small>(via {escape(f['place_via'])})</small>" if f.get("place_via") not in (None, "span") else ""
        rows.append([str(n), f'<span title="{escape(f["sentence"])}">{escape(f["text"])}</span>',
                     escape(_value(f)), escape(f["unit"]), escape(f["qualifier"]), escape(f["indicator"] or ""),
                     escape("、".join(f["agency"])), escape(f["place"] or "") + via, escape(_period(f["period"])),
                     "<br>".join(links.get(stat_index.get((f["start"], f["end"]), -1), [])) or "—"])
    if not rows:
        return "<p>No figures.</p>"
    return _table(["#", "figure", "value", "unit", "qualifier", "indicator", "agency", "place", "period", "links"],
                  rows, [f"fact-{n}" for n in range(1, len(rows) + 1)])


def render(record: dict[str, Any]) -> str:
    """The review page of one valid record (pipeline/schema.json) as a complete HTML document."""
    officials = record["officials"]
    people = _table(["name", "titles", "agency"],
                    [[escape(o["name"]), escape("、".join(o["titles"])), escape(o["agency"] or "")] for o in officials]
                    ) if officials else "<p>No officials.</p>"
    title = escape(record.get("title") or record["id"])
    meta = " · ".join(escape(str(x)) for x in (record["id"], record["source"], record.get("url"), record["published"])
                      if x)
    return f"""<!DOCTYPE html>
<html lang="zh">
<head><meta charset="utf-8"><title>{title}</title><style>{_STYLE}</style></head>
<body>
<h1>{title}</h1>
<p class="meta">{meta} · {len(record["entities"])} entities · {len(record["facts"])} figures</p>
<h2>Entities</h2>
{_entity_view(record)}
<h2>Figures</h2>
{_facts_table(record)}
<h2>Officials</h2>
{people}
</body>
</html>
"""
