"""Checks that a gold record keeps the contract: every problem, with record id and span."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..labels import ENTITY_LABELS, RELATIONS, SINGLE_RELATIONS
from .records import Record


@dataclass(frozen=True)
class Problem:
    record: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.record}: {self.kind}: {self.message}"


def _show(record: Record, i: int) -> str:
    s = record.spans[i]
    text = record.text[s["start"]:s["end"]] if isinstance(s.get("start"), int) and isinstance(s.get("end"), int) else "?"
    return f"span {i} [{s.get('start')}:{s.get('end')}] {s.get('label')} {text!r}"


def validate_record(record: Record, check_normalized: bool = True) -> list[Problem]:
    problems: list[Problem] = []

    def add(kind: str, message: str) -> None:
        problems.append(Problem(record.id, kind, message))

    n = len(record.text)
    good: list[int] = []
    for i, s in enumerate(record.spans):
        start, end, label = s.get("start"), s.get("end"), s.get("label")
        if not (isinstance(start, int) and isinstance(end, int)):
            add("offsets", f"{_show(record, i)}: start and end must be integers")
            continue
        if not 0 <= start < end <= n:
            add("offsets", f"{_show(record, i)}: must satisfy 0 <= start < end <= {n} (text length)")
            continue
        if label not in ENTITY_LABELS:
            add("label", f"{_show(record, i)}: unknown label; use one of {', '.join(ENTITY_LABELS)}")
        if record.text[start:end] != record.text[start:end].strip():
            add("whitespace", f"{_show(record, i)}: span starts or ends with whitespace")
        good.append(i)
    ordered = sorted(good, key=lambda i: (record.spans[i]["start"], record.spans[i]["end"]))
    for a, b in zip(ordered, ordered[1:]):
        if record.spans[b]["start"] < record.spans[a]["end"]:
            add("overlap", f"{_show(record, a)} overlaps {_show(record, b)}; spans are flat")
    links: set[tuple] = set()
    per_head: Counter = Counter()
    for k, r in enumerate(record.relations):
        head, child, label = r.get("head"), r.get("child"), r.get("label")
        if label not in RELATIONS:
            add("relation", f"relation {k}: unknown label {label!r}; use {' or '.join(RELATIONS)}")
            continue
        if not all(isinstance(x, int) and 0 <= x < len(record.spans) for x in (head, child)):
            add("relation", f"relation {k} {label}: head {head} and child {child} must index spans (0..{len(record.spans) - 1})")
            continue
        want_head, want_child = RELATIONS[label]
        if record.spans[head].get("label") != want_head:
            add("relation", f"relation {k} {label}: head {_show(record, head)} must be {want_head}")
        if record.spans[child].get("label") != want_child:
            add("relation", f"relation {k} {label}: child {_show(record, child)} must be {want_child}")
        if (head, child, label) in links:
            add("relation", f"relation {k} {label}: duplicate link from {_show(record, head)}")
        links.add((head, child, label))
        per_head[(head, label)] += 1
    for (head, label), count in per_head.items():
        if label in SINGLE_RELATIONS and count > 1:
            add("relation", f"{_show(record, head)} has {count} {label} links; at most one is allowed")
    if check_normalized:
        from ..normalize import normalize

        again = normalize(record.text).text
        if again != record.text:
            at = next((i for i, (x, y) in enumerate(zip(record.text, again)) if x != y), min(len(again), n))
            add("text", f"text is not normalized text: normalizing changes it at offset {at} "
                        f"({record.text[max(0, at - 8):at + 8]!r} -> {again[max(0, at - 8):at + 8]!r}); "
                        f"annotate the output of `jianbao clean`")
    return problems


def validate(records: list[Record], check_normalized: bool = True) -> list[Problem]:
    problems = []
    ids = Counter(r.id for r in records)
    for rid, count in ids.items():
        if count > 1:
            problems.append(Problem(rid, "id", f"id appears {count} times; ids must be unique"))
    for r in records:
        problems += validate_record(r, check_normalized)
    return problems
