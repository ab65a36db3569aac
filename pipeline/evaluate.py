"""Strict span and relation scores of a pipeline on gold records (`jianbao evaluate`).

Each record's text is run through the pipeline exactly as given. An entity counts
when start, end and label all match (seqeval's strict semantics); a relation when
its label and both ends' offsets and labels match.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterator

from .annotations.records import AnnotationError, Record, read_records
from .labels import ENTITY_LABELS, RELATIONS


def read_gold(path: str) -> list[Record]:
    """The gold records of `path`, refused when empty or when a span could never be matched: a span off
    the text or of no spec label would be scored as a miss the model could never avoid."""
    from .annotations.validate import validate

    gold = list(read_records(path))
    if not gold:
        raise AnnotationError(f"{path}: no records to evaluate on")
    broken = [p for p in validate(gold, check_normalized=False) if p.kind != "whitespace"]
    if broken:
        raise AnnotationError(f"{path}: {len(broken)} problem(s) in the gold (first: {broken[0]}); fix them "
                              f"(`jianbao annotations validate {path}` lists them all)")
    return gold


def _prf(tp: int, n_pred: int, n_gold: int) -> dict:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": round(p, 4), "r": round(r, 4), "f": round(f, 4)}


def _span(s: dict) -> tuple[str, int, int]:
    return s["label"], s["start"], s["end"]


def _relations(record: Record) -> set[tuple]:
    return {(r["label"], _span(record.spans[r["head"]]), _span(record.spans[r["child"]])) for r in record.relations}


def _counts(pairs: list[tuple[Record, Record]]) -> list[dict]:
    """Per (gold, predicted) pair and kind, the true positive, predicted and gold counts per label."""
    out = []
    for gold, pred in pairs:
        doc = {}
        # each item is a tuple whose first element is its label
        for kind, g, p in (("ner", {_span(s) for s in gold.spans}, {_span(s) for s in pred.spans}),
                           ("relations", _relations(gold), _relations(pred))):
            doc[kind] = {which: Counter(x[0] for x in items) for which, items in (("gold", g), ("pred", p), ("tp", g & p))}
        out.append(doc)
    return out


KINDS = (("ner", ENTITY_LABELS), ("relations", tuple(RELATIONS)))


def _sum(docs: list[dict], kind: str) -> dict[str, Counter]:
    """The true positive, predicted and gold counts of `kind` over these documents."""
    return {which: sum((d[kind][which] for d in docs), Counter()) for which in ("tp", "pred", "gold")}


def _scores(docs: list[dict]) -> dict:
    out = {}
    for kind, labels in KINDS:
        c = _sum(docs, kind)
        out[kind] = {"micro": _prf(sum(c["tp"].values()), sum(c["pred"].values()), sum(c["gold"].values())),
                     "per_label": {label: {**_prf(c["tp"][label], c["pred"][label], c["gold"][label]),
                                           "support": c["gold"][label]} for label in labels}}
    return out


def _f1s(docs: list[dict], picks: list[int]) -> dict[tuple, float]:
    """F1 per (kind, label) over the documents at `picks` (label None: micro). A label none of these
    documents holds in the gold has no F1 here (its recall is undefined) and is left out."""
    out = {}
    for kind, labels in KINDS:
        c = _sum([docs[i] for i in picks], kind)
        for label in (*labels, None):
            tp, n_pred, n_gold = (sum(c[w].values()) if label is None else c[w][label] for w in ("tp", "pred", "gold"))
            if n_gold:
                out[(kind, label)] = _prf(tp, n_pred, n_gold)["f"]
    return out


def _draws(n_docs: int, bootstrap: int, seed: int) -> list[list[int]]:
    """`bootstrap` resamplings of the document indexes with replacement."""
    rng = random.Random(seed)
    return [rng.choices(range(n_docs), k=n_docs) for _ in range(bootstrap)]


def _interval(values: list[float]) -> list[float] | None:
    if not values:
        return None
    values = sorted(values)
    n = len(values)
    return [round(values[int(0.025 * n)], 4), round(values[max(math.ceil(0.975 * n) - 1, 0)], 4)]


def _entries(result: dict):
    """(kind, label, entry) for each micro (label None) and per-label entry of a result."""
    for kind, by_kind in result.items():
        yield kind, None, by_kind["micro"]
        for label, entry in by_kind["per_label"].items():
            yield kind, label, entry


def score(pairs: list[tuple[Record, Record]], bootstrap: int = 0, seed: int = 0) -> dict:
    """Scores for (gold, predicted) record pairs over the same texts. With `bootstrap` > 0 each F1 also
    gets `ci95`, the 2.5th and 97.5th percentiles of its F1 over that many resamplings of the documents
    with replacement (null where no draw holds the label): on splits of 20 documents one label's F1
    rests on a few dozen spans, and a difference inside these bounds is no evidence of a difference."""
    docs = _counts(pairs)
    out = _scores(docs)
    if bootstrap > 0:
        draws: dict[tuple, list[float]] = {}
        for picks in _draws(len(docs), bootstrap, seed):
            for key, f in _f1s(docs, picks).items():
                draws.setdefault(key, []).append(f)
        for kind, label, entry in _entries(out):
            entry["ci95"] = _interval(draws.get((kind, label), []))
    return out


def compare(pairs: list[tuple[Record, Record]], baseline: list[tuple[Record, Record]], bootstrap: int = 1000,
            seed: int = 0) -> dict:
    """A model's F1s against a baseline's on the same gold, paired: each resampling of the documents
    scores both on the same draw, so what the documents share cancels out and the interval of the
    difference is much narrower than either model's own. Per entry: `model`, `baseline`, `diff`
    (model minus baseline), `ci95` of the difference and `share_better`, the share of draws in which
    the model scored higher."""
    if [g.id for g, _ in pairs] != [g.id for g, _ in baseline]:
        raise ValueError("compare: the two sets of pairs must hold the same gold records in the same order")
    docs, base = _counts(pairs), _counts(baseline)
    mine, theirs = _scores(docs), _scores(base)
    diffs: dict[tuple, list[float]] = {}
    for picks in _draws(len(docs), bootstrap, seed):
        a, b = _f1s(docs, picks), _f1s(base, picks)
        for key in a:
            diffs.setdefault(key, []).append(a[key] - b[key])
    out: dict = {}
    for (kind, label, entry), (_, _, other) in zip(_entries(mine), _entries(theirs)):
        d = diffs.get((kind, label), [])
        row = {"model": entry["f"], "baseline": other["f"], "diff": round(entry["f"] - other["f"], 4),
               "ci95": _interval(d), "share_better": round(sum(x > 0 for x in d) / len(d), 3) if d else None}
        if label is None:
            out.setdefault(kind, {})["micro"] = row
        else:
            out.setdefault(kind, {}).setdefault("per_label", {})[label] = {**row, "support": entry["support"]}
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
    ci = "ci95" in result["ner"]["micro"]
    lines = [f"{'':<10}{'P':>8}{'R':>8}{'F1':>8}{'support':>9}" + (f"{'F1 95% interval':>18}" if ci else "")]
    for kind in ("ner", "relations"):
        lines.append(f"-- {kind}")
        rows = [(label, v, f"{v['support']:>9}") for label, v in result[kind]["per_label"].items()]
        for label, v, support in rows + [("micro", result[kind]["micro"], " " * 9)]:
            interval = "" if not ci else f"{'–':>18}" if v["ci95"] is None else f"{v['ci95'][0]:>11.3f} – {v['ci95'][1]:.3f}"
            lines.append(f"{label:<10}{v['p']:>8.3f}{v['r']:>8.3f}{v['f']:>8.3f}{support}{interval}")
    return "\n".join(lines)


def compare_table(result: dict) -> str:
    lines = [f"{'':<10}{'baseline':>9}{'model':>8}{'diff':>8}{'diff 95% interval':>20}{'model better':>14}"]
    for kind in ("ner", "relations"):
        lines.append(f"-- {kind}")
        for label, v in [*result[kind]["per_label"].items(), ("micro", result[kind]["micro"])]:
            interval = f"{'–':>20}" if v["ci95"] is None else f"{v['ci95'][0]:>+11.3f} – {v['ci95'][1]:+.3f}"
            better = f"{'–':>14}" if v["share_better"] is None else f"{v['share_better']:>13.0%} "
            lines.append(f"{label:<10}{v['baseline']:>9.3f}{v['model']:>8.3f}{v['diff']:>+8.3f}{interval}{better}")
    return "\n".join(lines)
