"""Normalizer throughput on one core.

    python -m evaluation.bench_normalize [FILES...] [--repeat N]

Defaults to the three dirty seed bulletins in ../shared/data/seeds (falls back
to examples/ when they are absent). Loading the character model and OpenCC is
done once before timing and reported apart as cold start.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from pipeline.normalize import normalize

DEFAULT = Path("../shared/data/seeds")
FALLBACK = Path(__file__).resolve().parent.parent / "examples"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    files = args.files or sorted(DEFAULT.glob("*.txt")) or sorted(FALLBACK.glob("*"))
    if not files:
        raise SystemExit("no input files: pass some, or run from the repo root with ../shared present")
    data = [f.read_bytes() for f in files]
    t0 = time.perf_counter()
    normalize(data[0])
    print(f"cold start (first document, models loaded): {time.perf_counter() - t0:.2f} s")
    total_chars = 0
    for f, raw in zip(files, data):
        n = len(normalize(raw).raw)
        t0 = time.perf_counter()
        for _ in range(args.repeat):
            normalize(raw)
        dt = (time.perf_counter() - t0) / args.repeat
        total_chars += n
        print(f"{f.name:40s} {n:7d} chars {dt * 1000:8.1f} ms {n / dt:10,.0f} chars/s")
    t0 = time.perf_counter()
    for _ in range(args.repeat):
        for raw in data:
            normalize(raw)
    dt = (time.perf_counter() - t0) / args.repeat
    print(f"{'all':40s} {total_chars:7d} chars {dt * 1000:8.1f} ms {total_chars / dt:10,.0f} chars/s (target >= 100,000)")


if __name__ == "__main__":
    main()
