"""Strict span and relation scores of a pipeline on gold records (`jianbao evaluate`).

Each record's text is run through the pipeline exactly as given. An entity counts
when start, end and label all match (seqeval's strict semantics); a relation when
its label and both ends' offsets and labels match.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from .annotations.records import Record
from .labels import ENTITY_LABELS, RELATIONS


def _prf(tp: int, n_pred: int, n_gold: int) -> dict:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": round(p, 4), "r": round(r, 4), "f": round(f, 4)}


def _span(s: dict) -> tuple[str, int, int]:
    return s["label"], s["start"], s["end"]


def _relations(record: Record) -> set[tuple]:
    return {(r["label"], _span(record.spans[r["head"]]), _span(record.spans[r["child"]])) for r in record.relations}


def score(pairs: list[tuple[Record, Record]]) -> dict:
    """Scores for (gold, predicted) record pairs over the same texts."""
    counts = {kind: {"tp": Counter(), "pred": Counter(), "gold": Counter()} for kind in ("ner", "relations")}
    for gold, pred in pairs:
        # each item is a tuple whose first element is its label
        for kind, g, p in (("ner", {_span(s) for s in gold.spans}, {_span(s) for s in pred.spans}),
                           ("relations", _relations(gold), _relations(pred))):
            for which, items in (("gold", g), ("pred", p), ("tp", g & p)):
                counts[kind][which].update(x[0] for x in items)
    out = {}
    for kind, labels in (("ner", ENTITY_LABELS), ("relations", tuple(RELATIONS))):
        c = counts[kind]
        out[kind] = {"micro": _prf(sum(c["tp"].values()), sum(c["pred"].values()), sum(c["gold"].values())),
                     "per_label": {label: {**_prf(c["tp"][label], c["pred"][label], c["gold"][label]),
                                           "support": c["gold"][label]} for label in labels}}
    return out


def _entity(record: Record, s: dict, context: int) -> dict:
    text = record.text
    return {"label": s["label"], "start": s["start"], "end": s["end"], "text": text[s["start"]:s["end"]],
            "context": f"{text[max(0, s['start'] - context):s['start']]}[{text[s['start']:s['end']]}]"
                       f"{text[s['end']:s['end'] + context]}"}


def errors(pairs: list[tuple[Record, Record]], context: int = 12) -> Iterator[dict]:
    """What `score` counts against a pipeline, one plain record each, to read or to query (DuckDB, pandas):
    every gold entity or relation the prediction lacks (`missed`) and every predicted one gold lacks
    (`spurious`). An entity carries the text around it and the other side's entities overlapping it, so a
    wrong edge or label shows as a missed and a spurious span that name each other."""
    for gold, pred in pairs:
        for kind, this, other in (("missed", gold, pred), ("spurious", pred, gold)):
            theirs = {_span(s) for s in other.spans}
            for s in sorted(this.spans, key=lambda s: (s["start"], s["end"])):
                if _span(s) not in theirs:
                    overlapping = [f"{o['label']}:{gold.text[o['start']:o['end']]}" for o in other.spans
                                   if o["start"] < s["end"] and s["start"] < o["end"]]
                    yield {"id": gold.id, "kind": kind, "type": "entity", **_entity(gold, s, context),
                           "overlapping": overlapping}
            for label, head, child in sorted(_relations(this) - _relations(other), key=lambda r: (r[1][1], r[2][1])):
                ends = [{"label": e[0], "start": e[1], "end": e[2]} for e in (head, child)]
                yield {"id": gold.id, "kind": kind, "type": "relation", "label": label,
                       "head": _entity(gold, ends[0], context), "child": _entity(gold, ends[1], context)}


def _doc(nlp, record: Record, gold_entities: bool):
    from .ner import set_entities

    doc = nlp.make_doc(record.text)
    doc._.published = record.meta.get("published")
    return set_entities(doc, record.spans) if gold_entities else doc


def predict_records(nlp, records: list[Record], batch_size: int = 8, gold_entities: bool = False) -> list[Record]:
    """Run the pipeline over each record's text; entities and relations as records.
    With `gold_entities` the record's own spans stand in for NER, so only the rule stages run."""
    from .models import FACT_STAGES

    enabled = [n for n in nlp.pipe_names if n in FACT_STAGES or not gold_entities]
    out = []
    with nlp.select_pipes(enable=enabled):
        docs = nlp.pipe((_doc(nlp, r, gold_entities) for r in records), batch_size=batch_size)
        for record, doc in zip(records, docs):
            spans = [{"start": e.start_char, "end": e.end_char, "label": e.label_} for e in doc.ents]
            out.append(Record(record.id, record.text, record.meta, spans, list(doc._.relations)))
    return out


def table(result: dict) -> str:
    lines = [f"{'':<10}{'P':>8}{'R':>8}{'F1':>8}{'support':>9}"]
    for kind in ("ner", "relations"):
        lines.append(f"-- {kind}")
        for label, v in result[kind]["per_label"].items():
            lines.append(f"{label:<10}{v['p']:>8.3f}{v['r']:>8.3f}{v['f']:>8.3f}{v['support']:>9}")
        m = result[kind]["micro"]
        lines.append(f"{'micro':<10}{m['p']:>8.3f}{m['r']:>8.3f}{m['f']:>8.3f}")
    return "\n".join(lines)
