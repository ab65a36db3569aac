"""Machine audit of corrected annotations against a reference set (usually the train split).

A reviewer of a new batch looks again where the batch disagrees with what the
gold already says. Each finding is a hint, not a verdict: the reference has
its own mistakes, and a surface can rightly change label with its context.

- LABEL: a span whose text the reference labels otherwise at least as often;
- UNTAGGED: a text the reference tags at least twice, here with no span on it (the longest such text
  only: 四川 is not listed again inside an untagged 四川省);
- FIGURE: a figure or date the rule pre-annotator finds where no span stands;
- NO_PERIOD: a STAT without a PERIOD relation though a DATE precedes it in its sentence.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from ..relations import SENTENCE_END
from .prelabel import prelabel_spans
from .records import Record

KINDS = ("LABEL", "UNTAGGED", "FIGURE", "NO_PERIOD")


@dataclass(frozen=True)
class Finding:
    record: str
    kind: str
    start: int
    end: int
    text: str
    detail: str

    def __str__(self) -> str:
        return f"{self.record}\t{self.kind}\t{self.start}-{self.end}\t{self.text}\t{self.detail}"


def surface_labels(reference: list[Record]) -> dict[str, Counter]:
    """How often the reference gives each span text each label."""
    labels: dict[str, Counter] = defaultdict(Counter)
    for r in reference:
        for i, s in enumerate(r.spans):
            labels[r.span_text(i)][s["label"]] += 1
    return labels


def _context(text: str, start: int, end: int, width: int = 12) -> str:
    return "…" + text[max(0, start - width):end + width].replace("\n", " ") + "…"


def _sentence_start(text: str, at: int) -> int:
    return max(text.rfind(c, 0, at) for c in SENTENCE_END) + 1


def audit_record(record: Record, labels: dict[str, Counter]) -> list[Finding]:
    text, spans, found = record.text, record.spans, []
    covered = bytearray(len(text))
    for s in spans:
        covered[s["start"]:s["end"]] = b"\x01" * (s["end"] - s["start"])

    def free(start: int, end: int) -> bool:
        return not any(covered[start:end])

    for i, s in enumerate(spans):
        seen = labels.get(record.span_text(i), Counter())
        other = sum(n for label, n in seen.items() if label != s["label"])
        if other and other >= seen[s["label"]]:
            found.append(Finding(record.id, "LABEL", s["start"], s["end"], record.span_text(i),
                                 f"{s['label']} here; reference has {dict(seen)}"))
    untagged = []
    for surface, seen in labels.items():
        if len(surface) < 2 or sum(seen.values()) < 2:
            continue
        at = text.find(surface)
        while at >= 0:
            if free(at, at + len(surface)):
                untagged.append(Finding(record.id, "UNTAGGED", at, at + len(surface), surface,
                                        f"reference has {dict(seen)} {_context(text, at, at + len(surface))}"))
            at = text.find(surface, at + 1)
    found += [f for f in untagged if not any(g.start <= f.start and f.end <= g.end and g != f for g in untagged)]
    for s in prelabel_spans(text):
        if s["label"] in ("STAT", "DATE") and free(s["start"], s["end"]):
            found.append(Finding(record.id, "FIGURE", s["start"], s["end"], text[s["start"]:s["end"]],
                                 f"the rules read a {s['label']} {_context(text, s['start'], s['end'])}"))
    with_period = {r["head"] for r in record.relations if r["label"] == "PERIOD"}
    for i, s in enumerate(spans):
        if s["label"] != "STAT" or i in with_period:
            continue
        begin = _sentence_start(text, s["start"])
        if any(d["label"] == "DATE" and begin <= d["start"] and d["end"] <= s["start"] for d in spans):
            found.append(Finding(record.id, "NO_PERIOD", s["start"], s["end"], record.span_text(i),
                                 _context(text, begin, s["end"], 0)))
    return sorted(found, key=lambda f: (f.start, KINDS.index(f.kind)))


def audit(records: list[Record], reference: list[Record]) -> list[Finding]:
    """Findings for each record against the reference, less the record's own spans where the reference
    holds it too (a split audited against itself does not vouch for its own spans)."""
    labels = surface_labels(reference)
    in_reference = {r.id for r in reference}
    found = []
    for r in records:
        others = labels
        if r.id in in_reference:
            others = {**labels, **{k: labels[k] - n for k, n in surface_labels([r]).items()}}
        found += audit_record(r, others)
    return found
