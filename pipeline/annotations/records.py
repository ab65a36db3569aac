"""The spec record (one document per JSONL line) and reading/writing it.

Records stay plain: `spans` are dicts {start, end, label} and `relations` are
dicts {head, child, label} indexing into `spans`, exactly as the spec writes
them, so what is read is what is written back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path


class AnnotationError(ValueError):
    """An annotation file or record that cannot be used as it is."""


@dataclass
class Record:
    id: str
    text: str
    meta: dict = field(default_factory=dict)
    spans: list[dict] = field(default_factory=list)
    relations: list[dict] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: object, where: str) -> "Record":
        if not isinstance(data, dict):
            raise AnnotationError(f"{where}: a record must be a JSON object, got {type(data).__name__}")
        missing = [k for k in ("id", "text") if k not in data]
        if missing:
            raise AnnotationError(f"{where}: record lacks {', '.join(missing)}; every record needs id and text")
        if not isinstance(data["text"], str):
            raise AnnotationError(f"{where}: record {data['id']!r}: text must be a string")
        for key in ("spans", "relations"):
            value = data.get(key, [])
            if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
                raise AnnotationError(f"{where}: record {data['id']!r}: {key} must be a list of objects")
        meta = data.get("meta") or {}
        if not isinstance(meta, dict):
            raise AnnotationError(f"{where}: record {data['id']!r}: meta must be an object")
        return cls(str(data["id"]), data["text"], meta, list(data.get("spans", [])), list(data.get("relations", [])))

    def to_json(self) -> dict:
        return {"id": self.id, "text": self.text, "meta": self.meta, "spans": self.spans, "relations": self.relations}

    def span_text(self, i: int) -> str:
        s = self.spans[i]
        return self.text[s["start"]:s["end"]]

    def sorted(self) -> "Record":
        """The same record with spans in text order and relations re-indexed."""
        order = sorted(range(len(self.spans)), key=lambda i: (self.spans[i]["start"], self.spans[i]["end"]))
        new_index = {old: new for new, old in enumerate(order)}
        relations = [{**r, "head": new_index[r["head"]], "child": new_index[r["child"]]} for r in self.relations]
        relations.sort(key=lambda r: (r["head"], r["child"], r["label"]))
        return Record(self.id, self.text, self.meta, [self.spans[i] for i in order], relations)


def _hint(hint: str) -> str:
    return f"; {hint}" if hint else ""


def read_json(path: str | Path, what: str, hint: str = "") -> object:
    """A whole JSON file; a missing or broken file is an AnnotationError naming it and `what` it should be."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AnnotationError(f"{path}: no such {what}{_hint(hint)}") from None
    except json.JSONDecodeError as e:
        raise AnnotationError(f"{path}: {what} is not valid JSON ({e.msg} at line {e.lineno}){_hint(hint)}") from None


def jsonl_objects(path: str | Path, hint: str = "") -> Iterator[tuple[int, object]]:
    """(line number, parsed line) for each non-blank line of a JSONL file; a bad line raises with its number."""
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(f"{path}: no such file{_hint(hint)}")
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as e:
                raise AnnotationError(f"{path}:{n}: not UTF-8 text (byte 0x{raw[e.start]:02x} at byte {e.start + 1} of "
                                      f"the line); save the file as UTF-8{_hint(hint)}") from None
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as e:
                raise AnnotationError(f"{path}:{n}: invalid JSON ({e.msg} at column {e.colno}){_hint(hint)}") from None
            yield n, data


def read_records(path: str | Path) -> Iterator[Record]:
    """Spec records from a JSONL file."""
    for n, data in jsonl_objects(path):
        yield Record.from_json(data, f"{path}:{n}")


def write_records(records: Iterable[Record], path: str | Path) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
            n += 1
    return n
