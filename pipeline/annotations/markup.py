"""An inline markup for reading and correcting annotations in a text editor.

    #doc {"id": "hn-1", "meta": {"published": "2023-08-16"}}
    ⟦2022年以来⟧... ⟦省市场监管局|AGENCY⟧取缔传销窝点⟦202个|STAT|agency=省市场监管局|period=2022年以来⟧

A span is ⟦text|LABEL⟧. A STAT names its relation children by their text; the
child is the span of that label and text nearest to the STAT in its paragraph
(the earlier one on a tie). `text@start` picks a farther one by offset. Removing
the markup gives back the record's text exactly, so a corrected file converts
back to spec records without any offset arithmetic by hand.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from ..labels import RELATIONS
from .records import AnnotationError, Record

OPEN, CLOSE = "\u27e6", "\u27e7"
_HEADER = "#doc "
_SPAN = re.compile(f"{OPEN}([^{OPEN}{CLOSE}|]+)\\|([^{OPEN}{CLOSE}]*){CLOSE}")


def _paragraph(text: str, pos: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, len(text) if end < 0 else end


def _distance(head: dict, child: dict) -> tuple[int, int]:
    if child["end"] <= head["start"]:
        return head["start"] - child["end"], 0
    return child["start"] - head["end"], 1


def _nearest(record: Record, head: int, label: str, name: str) -> list[int]:
    """Indexes of `label` spans reading `name` in the head's paragraph, nearest first."""
    h = record.spans[head]
    lo, hi = _paragraph(record.text, h["start"])
    found = [i for i, s in enumerate(record.spans)
             if s["label"] == label and i != head and lo <= s["start"] and s["end"] <= hi and record.span_text(i) == name]
    return sorted(found, key=lambda i: _distance(h, record.spans[i]))


def to_markup(record: Record) -> str:
    text = record.text
    if OPEN in text or CLOSE in text:
        raise AnnotationError(f"record {record.id!r}: text contains {OPEN} or {CLOSE}, which the markup reserves")
    children: dict[int, dict[str, list[str]]] = {}
    for r in record.relations:
        child_label = RELATIONS[r["label"]][1]
        name = record.span_text(r["child"])
        nearest = _nearest(record, r["head"], child_label, name)
        if not nearest or nearest[0] != r["child"]:
            name = f"{name}@{record.spans[r['child']]['start']}"
        children.setdefault(r["head"], {}).setdefault(r["label"].lower(), []).append(name)
    out, pos = [], 0
    for i, s in sorted(enumerate(record.spans), key=lambda x: x[1]["start"]):
        out.append(text[pos:s["start"]])
        fields = [text[s["start"]:s["end"]], s["label"]]
        fields += [f"{k}={';'.join(v)}" for k, v in sorted(children.get(i, {}).items())]
        out.append(OPEN + "|".join(fields) + CLOSE)
        pos = s["end"]
    out.append(text[pos:])
    meta = {"id": record.id, "meta": record.meta}
    return _HEADER + json.dumps(meta, ensure_ascii=False) + "\n" + "".join(out) + "\n"


def _parse_doc(header: str, body: str, where: str) -> Record:
    try:
        head = json.loads(header)
    except json.JSONDecodeError as e:
        raise AnnotationError(f"{where}: bad #doc header ({e.msg})") from None
    if not isinstance(head, dict) or "id" not in head:
        raise AnnotationError(f"{where}: the #doc header must be a JSON object with an id")
    text_parts, spans, pending = [], [], []
    pos = length = 0
    for m in _SPAN.finditer(body):
        text_parts.append(body[pos:m.start()])
        length += m.start() - pos
        surface, fields = m.group(1), m.group(2).split("|")
        label = fields[0].strip()
        spans.append({"start": length, "end": length + len(surface), "label": label})
        for f in fields[1:]:
            key, sep, value = f.partition("=")
            if not sep or key.strip().upper() not in RELATIONS:
                raise AnnotationError(f"{where}: doc {head['id']!r}: span {m.group(0)!r}: relation field {f!r} "
                                      f"should read {'|'.join(k.lower() + '=NAME' for k in RELATIONS)}")
            for name in filter(None, (n.strip() for n in value.split(";"))):
                pending.append((len(spans) - 1, key.strip().upper(), name, m.group(0)))
        text_parts.append(surface)
        length += len(surface)
        pos = m.end()
    text_parts.append(body[pos:])
    text = "".join(text_parts)
    if OPEN in text or CLOSE in text:
        i = text.find(OPEN) if OPEN in text else text.find(CLOSE)
        raise AnnotationError(f"{where}: doc {head['id']!r}: unbalanced or malformed span near {text[max(0, i - 10):i + 20]!r}; "
                              f"write spans as {OPEN}text|LABEL{CLOSE}")
    record = Record(str(head["id"]), text, head.get("meta") or {}, spans, [])
    for head_i, label, name, shown in pending:
        child_label = RELATIONS[label][1]
        name, at, start = name.partition("@")
        if at:
            found = [i for i, s in enumerate(spans) if s["label"] == child_label and s["start"] == int(start)
                     and record.span_text(i) == name]
        else:
            found = _nearest(record, head_i, child_label, name)
        if not found:
            raise AnnotationError(f"{where}: doc {head['id']!r}: {shown}: no {child_label} span reading {name!r} "
                                  f"in its paragraph; mark it {OPEN}{name}|{child_label}{CLOSE} or fix the name")
        record.relations.append({"head": head_i, "child": found[0], "label": label})
    return record.sorted()


def from_markup(source: str, where: str = "<markup>") -> list[Record]:
    """Records from markup text holding one or more #doc blocks."""
    if not source.startswith(_HEADER):
        raise AnnotationError(f"{where}: markup must start with a '#doc {{json}}' header line")
    records = []
    blocks = re.split(r"(?m)^#doc (.*)\n", source)[1:]
    for header, body in zip(blocks[0::2], blocks[1::2]):
        records.append(_parse_doc(header, body[:-1] if body.endswith("\n") else body, where))
    return records


def write_markup(records: Iterable[Record], path: str | Path) -> None:
    Path(path).write_text("".join(to_markup(r) for r in records), encoding="utf-8")


def read_markup(path: str | Path) -> list[Record]:
    return from_markup(Path(path).read_text(encoding="utf-8"), str(path))
