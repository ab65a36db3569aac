"""Converters from public NER corpora to spec records through a declared label mapping.

A mapping file (configs/label_maps/*.json) names the source format and maps each
source label to a spec label or to null (span dropped, text kept). A source label
the mapping does not mention is an error, so nothing is mapped by accident.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..labels import ENTITY_LABELS
from .records import AnnotationError, Record, jsonl_objects, read_json

FORMATS = ("cluener", "bio", "bmes")


@dataclass
class LabelMap:
    format: str
    labels: dict[str, str | None]
    path: str = "<mapping>"
    dropped: Counter = field(default_factory=Counter)

    @classmethod
    def load(cls, path: str | Path) -> "LabelMap":
        data = read_json(path, "mapping file", "see configs/label_maps/ for examples")
        if not isinstance(data, dict) or data.get("format") not in FORMATS or not isinstance(data.get("labels"), dict):
            raise AnnotationError(f"{path}: a mapping needs \"format\" (one of {', '.join(FORMATS)}) and a \"labels\" object")
        bad = {k: v for k, v in data["labels"].items() if v is not None and v not in ENTITY_LABELS}
        if bad:
            raise AnnotationError(f"{path}: maps to unknown spec labels {bad}; use {', '.join(ENTITY_LABELS)} or null")
        return cls(data["format"], data["labels"], str(path))

    def map(self, label: str, where: str) -> str | None:
        if label not in self.labels:
            raise AnnotationError(f"{where}: source label {label!r} is not in mapping {self.path}; "
                                  f"add it (to a spec label or null)")
        target = self.labels[label]
        if target is None:
            self.dropped[label] += 1
        return target


def from_cluener(path: str | Path, mapping: LabelMap, prefix: str) -> Iterator[Record]:
    """CLUENER2020 JSONL: {"text", "label": {type: {mention: [[start, end_inclusive], ...]}}}."""
    for n, data in jsonl_objects(path):
        where = f"{path}:{n}"
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise AnnotationError(f"{where}: not a CLUENER record (JSON with text and label)")
        text = data["text"]
        spans = []
        for source_label, mentions in (data.get("label") or {}).items():
            target = mapping.map(source_label, where)
            for mention, places in mentions.items():
                for start, end_inclusive in places:
                    if text[start:end_inclusive + 1] != mention:
                        raise AnnotationError(f"{where}: {source_label} {mention!r} at [{start}, {end_inclusive}] "
                                              f"reads {text[start:end_inclusive + 1]!r} in the text")
                    if target:
                        spans.append({"start": start, "end": end_inclusive + 1, "label": target})
        yield Record(f"{prefix}-{n:06d}", text, {"source": f"{Path(path).name}:{n}"}, spans).sorted()


def _sentences(path: Path) -> Iterator[tuple[int, list[tuple[str, str]]]]:
    rows: list[tuple[str, str]] = []
    first = 0
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            raw = line.rstrip("\r\n")
            if not raw.strip(" \t"):
                if rows:
                    yield first, rows
                rows = []
                continue
            tag = raw.split()[-1] if raw.split() else ""
            token = raw[:len(raw) - len(tag)].rstrip(" \t")
            if not tag or not token or tag == raw:
                raise AnnotationError(f"{path}:{n}: expected 'CHARACTER TAG', got {raw!r}")
            if not rows:
                first = n
            rows.append((token, tag))
    if rows:
        yield first, rows


def from_tagged(path: str | Path, mapping: LabelMap, prefix: str) -> Iterator[Record]:
    """Character-per-line BIO or BMES files, a blank line between sentences.

    Tokens longer than one character (some corpora hold Latin words or numbers)
    are kept whole; offsets count characters of the joined text."""
    path = Path(path)
    scheme = mapping.format
    begin, inside, end, single = ("B", "I", None, None) if scheme == "bio" else ("B", "M", "E", "S")
    for line_no, rows in _sentences(path):
        text, spans, open_span = "", [], None

        def close(at: int) -> None:
            nonlocal open_span
            if open_span is not None:
                start, label = open_span
                target = mapping.map(label, f"{path}:{line_no}")
                if target:
                    spans.append({"start": start, "end": at, "label": target})
            open_span = None

        for k, (token, tag) in enumerate(rows):
            where = f"{path}:{line_no + k}"
            pos = len(text)
            text += token
            prefix_tag, _, label = tag.partition("-")
            if tag == "O":
                close(pos)
                continue
            if not label or prefix_tag not in tuple(filter(None, (begin, inside, end, single))):
                raise AnnotationError(f"{where}: tag {tag!r} is not {scheme.upper()} (expected O or "
                                      f"{'/'.join(filter(None, (begin, inside, end, single)))}-LABEL)")
            continues = prefix_tag in (inside, end) and open_span is not None and open_span[1] == label
            if not continues:
                close(pos)
                open_span = (pos, label)
            if prefix_tag in (end, single):
                close(len(text))
        close(len(text))
        yield Record(f"{prefix}-{line_no:07d}", text, {"source": f"{path.name}:{line_no}"}, spans)


def convert(path: str | Path, mapping: LabelMap, prefix: str | None = None) -> Iterator[Record]:
    prefix = prefix or Path(path).stem
    if mapping.format == "cluener":
        return from_cluener(path, mapping, prefix)
    return from_tagged(path, mapping, prefix)
