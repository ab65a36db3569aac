"""Character similarity of normalized damaged copies with their clean originals.

    python -m evaluation.normalize_similarity [--data DIR] [--passages N]

DIR holds clean simplified text (.txt, .md, or .jsonl with a full_text/text
field); the default is ../shared/data/unlabeled. Each passage is damaged with
`evaluation.damage`, normalized, and compared with the normalized clean passage
(difflib ratio, 1.0 = identical). Prints mean, worst and the share >= 0.995.
"""

from __future__ import annotations

import argparse
import difflib
import json
import statistics
from pathlib import Path

from evaluation.damage import damage
from pipeline.normalize import normalize


def passages(root: Path, size: int = 1200):
    for path in sorted(root.rglob("*")):
        if path.suffix == ".jsonl":
            texts = [json.loads(line).get("full_text") or json.loads(line).get("text", "")
                     for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        elif path.suffix in {".txt", ".md"}:
            texts = [path.read_text(encoding="utf-8")]
        else:
            continue
        for text in texts:
            paras = [p.strip() for p in text.split("\n") if len(p.strip()) > 20 and not p.startswith("#")]
            chunk = ""
            for p in paras:
                chunk += p + "\n"
                if len(chunk) >= size:
                    yield path.name, chunk.strip()
                    chunk = ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/unlabeled")
    ap.add_argument("--passages", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3, help="misaligned runs per passage")
    ap.add_argument("--show-worst", type=int, default=0)
    args = ap.parse_args()
    root = Path(args.data)
    if not root.is_dir():
        raise SystemExit(f"--data {root}: no such folder; point it at clean simplified text")
    all_passages = list(passages(root))
    step = max(1, len(all_passages) // args.passages)
    scores = []
    for k, (name, clean) in enumerate(all_passages[::step][: args.passages]):
        reference = normalize(clean).text
        repaired = normalize(damage(clean, seed=k, runs=args.runs)).text
        scores.append((difflib.SequenceMatcher(None, reference, repaired, autojunk=False).ratio(), name, reference, repaired))
    ratios = [s[0] for s in scores]
    print(f"passages {len(ratios)}  chars {sum(len(s[2]) for s in scores)}  runs/passage {args.runs}")
    print(f"similarity mean {statistics.mean(ratios):.4f}  median {statistics.median(ratios):.4f}  "
          f"worst {min(ratios):.4f}  share>=0.995 {sum(r >= 0.995 for r in ratios) / len(ratios):.3f}")
    for ratio, name, ref, rep in sorted(scores)[: args.show_worst]:
        print(f"--- {ratio:.4f} {name}")
        for op in difflib.SequenceMatcher(None, ref, rep, autojunk=False).get_opcodes():
            if op[0] != "equal":
                print("   ", op[0], repr(ref[op[1]:op[2]]), "->", repr(rep[op[3]:op[4]]))


if __name__ == "__main__":
    main()
