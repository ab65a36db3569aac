"""Article records: the plain JSON one article becomes (pipeline/schema.json), built from a processed Doc.

Connectors downstream (JSONL, DuckDB, pandas) see only these records, never Docs.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from spacy.tokens import Doc, Span

from .relations import SENTENCE_END, Text

SCHEMA_PATH = Path(__file__).with_name("schema.json")


class RecordError(ValueError):
    """A record that does not follow pipeline/schema.json."""


def sentence(text: Text, start: int, end: int) -> str:
    """The sentence around text[start:end] with its closing mark, without its line break."""
    a = text.bounds(start, SENTENCE_END)[0]
    b = min(text.bounds(end, SENTENCE_END)[1] + 1, len(text))
    return text[a:b].strip()


def _period(date: Span | None) -> dict | None:
    if date is None:
        return None
    p = date._.date
    return {"text": date.text, "start": p.start if p else None, "end": p.end if p else None,
            "granularity": p.granularity if p else None, "reason": p.reason if p else "not resolved"}


def _fact(text: Text, stat: Span) -> dict:
    v = stat._.value
    place = stat._.place
    return {"text": stat.text, "start": stat.start_char, "end": stat.end_char,
            "value": v.value, "value_max": v.value_max, "value_reason": v.reason, "unit": v.unit,
            "qualifier": v.qualifier, "indicator": stat._.indicator,
            "agency": [a.text for a in stat._.agencies or []],
            "place": place.text if place else None, "place_via": place.via if place else None,
            "period": _period(stat._.period), "sentence": sentence(text, stat.start_char, stat.end_char)}


def to_record(doc: Doc, id: str, source: str | None = None, published: str | None = None,
              title: str | None = None, url: str | None = None) -> dict:
    """The article record of a Doc that went through the whole pipeline."""
    ents, text = list(doc.ents), Text(doc.text)  # doc.text is built anew on each access
    return {
        "id": id, "source": source, "published": published or doc._.published, "title": title, "url": url,
        "text": str(text),
        "entities": [{"text": e.text, "label": e.label_, "start": e.start_char, "end": e.end_char,
                      "confidence": e._.confidence} for e in ents],
        "relations": list(doc._.relations),
        "facts": [_fact(text, e) for e in ents if e.label_ == "STAT"],
        "officials": [{"name": e.text, "titles": [t.text for t in e._.titles or []],
                       "agency": e._.agency.text if e._.agency is not None else None,
                       "start": e.start_char, "end": e.end_char,
                       "posts_from": e._.posts_from.start_char if e._.posts_from is not None else None}
                      for e in ents if e.label_ == "OFFICIAL"],
    }


def merge_records(parts: list[tuple[int, dict]]) -> dict:
    """One record from the records of consecutive pieces of an article, each with its start offset."""
    first = parts[0][1]
    merged = {**first, "text": "".join(r["text"] for _, r in parts), "entities": [], "relations": [],
              "facts": [], "officials": []}
    for offset, r in parts:
        base = len(merged["entities"])
        merged["entities"] += [{**e, "start": e["start"] + offset, "end": e["end"] + offset} for e in r["entities"]]
        merged["relations"] += [{**x, "head": x["head"] + base, "child": x["child"] + base} for x in r["relations"]]
        merged["facts"] += [{**f, "start": f["start"] + offset, "end": f["end"] + offset} for f in r["facts"]]
        merged["officials"] += [{**o, "start": o["start"] + offset, "end": o["end"] + offset,
                                 "posts_from": None if o["posts_from"] is None else o["posts_from"] + offset}
                                for o in r["officials"]]
    return merged


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def validate_record(record: dict) -> None:
    """Raise RecordError naming the record, the field and the problem."""
    errors = sorted(_validator().iter_errors(record), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(record)"
        raise RecordError(f"record {record.get('id')!r}: {where}: {e.message}"
                          + (f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""))
    n = len(record["entities"])
    for r in record["relations"]:
        if not (r["head"] < n and r["child"] < n):
            raise RecordError(f"record {record['id']!r}: relation {r} points past the {n} entities")
    for e in record["entities"]:
        if record["text"][e["start"]:e["end"]] != e["text"]:
            raise RecordError(f"record {record['id']!r}: entity {e} does not match text[start:end]")
