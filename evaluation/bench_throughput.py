"""Throughput of the shipped pipeline: chars/s, docs/s, peak RSS, cold start, where time goes.

    python -m evaluation.bench_throughput [--gold annotations/dev.jsonl] [--model PATH] [--repeat N]

Runs on the gold texts (in the repo), so it needs nothing from ../shared. Prints:
- cold start (loading the pipeline) and a per-stage profile on one core (torch 1 thread);
- the pkuseg and char segmenters' cost;
- NER with 32-bit weights against int8 dynamic quantization of the Linear layers, with the F1
  each gets on the gold file (strict spans, as `jianbao evaluate`);
- `jianbao extract` with 1 and 2 worker processes: docs/s, chars/s, peak RSS of a worker.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from pipeline.annotations.records import read_records
from pipeline.evaluate import predict_records, score
from pipeline.models import SHIPPED, load_pipeline


def _profile(nlp, texts: list[str]) -> dict[str, float]:
    """Seconds per stage over all texts, stages run one after another on the same docs."""
    out = {}
    t = time.perf_counter()
    docs = [nlp.make_doc(x) for x in texts]
    out["tokenizer"] = time.perf_counter() - t
    for name, proc in nlp.pipeline:
        t = time.perf_counter()
        docs = list(proc.pipe(docs)) if hasattr(proc, "pipe") else [proc(d) for d in docs]
        out[name] = time.perf_counter() - t
    return out


def _f1(nlp, records) -> float:
    return score(list(zip(records, predict_records(nlp, records))))["ner"]["micro"]["f"]


def _extract(texts: list[str], model: str, n_process: int) -> tuple[float, float]:
    """(seconds, peak RSS in MB of any worker) for `jianbao extract` over the texts."""
    from pipeline.extract import run

    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "feed.jsonl"
        feed.write_text("".join(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n"
                                for i, t in enumerate(texts)), encoding="utf-8")
        start = time.perf_counter()
        run([str(feed)], Path(tmp) / "out.jsonl", model=model, n_process=n_process, batch_size=4, progress=False)
        seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_CHILDREN if n_process > 1 else resource.RUSAGE_SELF).ru_maxrss
    return seconds, rss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", default="annotations/dev.jsonl", help="spec JSONL whose texts are timed and scored")
    ap.add_argument("--model", default=str(SHIPPED))
    ap.add_argument("--skip-processes", action="store_true", help="skip the 1- and 2-process extract runs")
    args = ap.parse_args()
    import torch

    records = list(read_records(args.gold))
    texts = [r.text for r in records]
    chars = sum(map(len, texts))
    print(f"{len(texts)} documents, {chars:,} characters ({args.gold}); torch threads 1 for the per-core figures")
    torch.set_num_threads(1)

    start = time.perf_counter()
    nlp = load_pipeline(args.model)
    print(f"cold start (load pipeline, pkuseg): {time.perf_counter() - start:.1f} s")
    nlp(nlp.make_doc("预热。"))  # first-call costs out of the way
    prof = _profile(nlp, texts)
    total = sum(prof.values())
    print(f"\nend to end, one core: {chars / total:,.0f} chars/s, {len(texts) / total:.2f} docs/s")
    print(f"{'stage':<22}{'seconds':>9}{'share':>8}")
    for name, sec in prof.items():
        print(f"{name:<22}{sec:>9.2f}{sec / total:>8.1%}")

    char_nlp = load_pipeline(args.model, segmenter="char")
    t = time.perf_counter()
    for x in texts:
        char_nlp.make_doc(x)
    print(f"\nsegmenter: pkuseg {prof['tokenizer']:.2f} s, char {time.perf_counter() - t:.2f} s")

    ner = nlp.get_pipe("jianbao_ner")
    f1_fp32, ner_fp32 = _f1(nlp, records), prof["jianbao_ner"]
    ner.model = torch.ao.quantization.quantize_dynamic(ner.model, {torch.nn.Linear}, dtype=torch.qint8)
    ner_int8 = _profile(nlp, texts)["jianbao_ner"]
    f1_int8 = _f1(nlp, records)
    print(f"\n{'NER weights':<14}{'chars/s':>10}{'micro-F1':>10}")
    print(f"{'32-bit':<14}{chars / ner_fp32:>10,.0f}{f1_fp32:>10.4f}")
    print(f"{'int8 dynamic':<14}{chars / ner_int8:>10,.0f}{f1_int8:>10.4f}")

    if not args.skip_processes:
        print(f"\n{'extract':<14}{'seconds':>9}{'docs/s':>9}{'chars/s':>10}{'peak RSS MB':>13}")
        base = None
        for n in (1, 2):
            seconds, rss = _extract(texts, args.model, n)
            base = base or seconds
            print(f"{n} process{'es' if n > 1 else '  '}{seconds:>9.1f}{len(texts) / seconds:>9.2f}"
                  f"{chars / seconds:>10,.0f}{rss:>13,.0f}   speed-up {base / seconds:.2f}x")


if __name__ == "__main__":
    main()
