"""Value and period normalization against hand-decided gold answers for the gold spans.

    python -m evaluation.eval_normalized [--show N]

The gold files in evaluation/data/ were written by annotators reading each span in its
text (values_gold_*.jsonl: value, unit, qualifier of every STAT in dev and test;
periods_gold_*.jsonl: first and last day of every DATE in dev, test and 60 of train's
passages, or null with a reason; train's later passages have none). The pipeline's own
stages run over the gold entities of annotations/*.jsonl, so 当天 and 全年 see the same
neighbours as in the real pipeline.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from pathlib import Path

from pipeline.annotations.records import read_records
from pipeline.ner import set_entities

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "evaluation" / "data"
SPLITS = ("train", "dev", "test")


def _docs(nlp):
    """(record id, split, doc) for every gold record, after the value and period stages."""
    for split in SPLITS:
        for r in read_records(ROOT / "annotations" / f"{split}.jsonl"):
            doc = set_entities(nlp.make_doc(r.text), r.spans)
            doc._.published = r.meta.get("published")
            for name in ("jianbao_values", "jianbao_periods"):
                doc = nlp.get_pipe(name)(doc)
            yield r.id, split, doc


def _gold(pattern: str) -> dict[tuple, dict]:
    out = {}
    for path in sorted(DATA.glob(pattern)):
        for line in path.read_text(encoding="utf-8").splitlines():
            g = json.loads(line)
            out[(g["id"], g["start"], g["end"])] = g
    return out


def _same_number(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--show", type=int, default=20, help="print up to N mismatches of each kind")
    args = ap.parse_args()
    from pipeline.models import rules_pipeline

    nlp = rules_pipeline()
    values, periods = _gold("values_gold_*.jsonl"), _gold("periods_gold_*.jsonl")
    counts = Counter()
    misses = {"value": [], "period": []}
    for rid, split, doc in _docs(nlp):
        for e in doc.ents:
            key = (rid, e.start_char, e.end_char)
            if e.label_ == "STAT" and key in values:
                g, v = values[key], e._.value
                counts[f"value {split}"] += 1
                ok = (_same_number(g["value"], v.value) and _same_number(g["value_max"], v.value_max)
                      and g["unit"] == v.unit and g["qualifier"] == v.qualifier)
                counts[f"value {split} exact"] += ok
                if not ok:
                    misses["value"].append(f"{rid} {e.text!r}: gold {g['value']} {g['value_max']} {g['unit']!r} "
                                           f"{g['qualifier']} | got {v.value} {v.value_max} {v.unit!r} {v.qualifier}")
            if e.label_ == "DATE" and key in periods:
                g, p = periods[key], e._.date
                if g["period"] is None:
                    counts[f"period {split} unresolvable"] += 1
                    counts[f"period {split} unresolvable kept open"] += not (p.start or p.end)
                    continue
                counts[f"period {split}"] += 1
                ok = (p.start, p.end) == (g["period"]["start"], g["period"]["end"])
                counts[f"period {split} correct"] += ok
                if not ok:
                    misses["period"].append(f"{rid} {e.text!r} (published {g['published']}): gold "
                                            f"{g['period']['start']}..{g['period']['end']} | got {p.start}..{p.end}"
                                            + (f" ({p.reason})" if p.reason else ""))
    print(f"{'':<28}{'spans':>7}{'right':>7}{'share':>8}")
    for kind, right in (("value", "exact"), ("period", "correct")):
        for split in SPLITS:
            n = counts[f"{kind} {split}"]
            if n:
                print(f"{kind + ' ' + split:<28}{n:>7}{counts[f'{kind} {split} {right}']:>7}"
                      f"{counts[f'{kind} {split} {right}'] / n:>8.3f}")
        n = sum(counts[f"{kind} {s}"] for s in SPLITS)
        k = sum(counts[f"{kind} {s} {right}"] for s in SPLITS)
        if n:
            print(f"{kind + ' all':<28}{n:>7}{k:>7}{k / n:>8.3f}")
    n = sum(counts[f"period {s} unresolvable"] for s in SPLITS)
    k = sum(counts[f"period {s} unresolvable kept open"] for s in SPLITS)
    print(f"gold-unresolvable DATEs: {n}, of which the pipeline leaves open: {k}")
    for kind, lines in misses.items():
        if lines and args.show:
            print(f"\n{kind} mismatches ({len(lines)}):")
            print("\n".join(lines[:args.show]))


if __name__ == "__main__":
    main()
