"""Training-set weighting and augmentation of the gold records.

The bulletins the pipeline is for are the scarcest records in the corpus (one seed bulletin in
train beside 250 work-report and news passages), so a recipe can repeat records by their selection,
and can add copies in which names are swapped for other names of the same label, so that a label is
read from its context as well as from names the model has memorised (mention replacement, Dai and
Adel 2020, "An Analysis of Simple Data Augmentation for Named Entity Recognition").
"""

from __future__ import annotations

import random

from pipeline.annotations.records import AnnotationError, Record

# Names, not formats: figures and dates keep their own surfaces (a swapped 8.2% would break its sentence).
NAME_LABELS = ("AGENCY", "ORG", "PLACE", "CAMPAIGN", "OFFICIAL", "PERSON", "TITLE")


def oversample(records: list[Record], times: int, by_selection: dict[str, int]) -> list[Record]:
    """Every record `times` times, and those whose meta.selection is a key of `by_selection` that many
    times more (times x factor in all)."""
    for key, factor in by_selection.items():
        if not isinstance(factor, int) or factor < 1:
            raise AnnotationError(f"oversample_selection: {key!r} must map to a whole number >= 1, got {factor!r}")
    return [r for r in records for _ in range(times * by_selection.get(r.meta.get("selection"), 1))]


def replace_mentions(records: list[Record], copies: int, labels: tuple[str, ...] = NAME_LABELS,
                     rate: float = 0.5, seed: int = 13) -> list[Record]:
    """`copies` new records per record in which each mention of `labels`, with odds `rate`, becomes a
    surface of the same label drawn from all the records; spans move with the text, relations are dropped
    (the copies only teach the tagger)."""
    unknown = set(labels) - set(NAME_LABELS)
    if unknown:
        raise AnnotationError(f"replace_labels: {sorted(unknown)} cannot be swapped; choose from {list(NAME_LABELS)}")
    pool: dict[str, list[str]] = {}
    for r in records:
        for i, s in enumerate(r.spans):
            if s["label"] in labels:
                pool.setdefault(s["label"], []).append(r.span_text(i))
    rng = random.Random(seed)
    out = []
    for n in range(copies):
        for r in records:
            text, spans, at, length = [], [], 0, 0
            for s in sorted(r.spans, key=lambda s: s["start"]):
                surface = r.text[s["start"]:s["end"]]
                if s["label"] in labels and rng.random() < rate:
                    surface = rng.choice(pool[s["label"]])
                length += s["start"] - at
                text += [r.text[at:s["start"]], surface]
                spans.append({"start": length, "end": length + len(surface), "label": s["label"]})
                length += len(surface)
                at = s["end"]
            text.append(r.text[at:])
            out.append(Record(f"{r.id}~{n + 1}", "".join(text), {**r.meta, "augmented": "replace_mentions"}, spans))
    return out
