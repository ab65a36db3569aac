"""Throughput of the shipped pipeline: chars/s, docs/s, peak RSS, cold start, where time goes.

    python -m evaluation.bench_throughput [--gold annotations/dev.jsonl] [--model PATH] [--repeat N]

Runs on the gold texts (in the repo), so it needs nothing from ../shared. Prints:
- cold start (loading the pipeline) and a per-stage profile on one core (torch 1 thread);
- the pkuseg and char segmenters' cost;
- NER variants, each with the F1 it gets on the gold file (strict spans, as `jianbao evaluate`):
  fp32 against bf16 autocast (`precision`, on where the CPU has native bf16; without it bf16 is
  emulated, about 8x slower than fp32, and skipped unless --bf16) and int8 dynamic quantization of
  the Linear layers; the training windows (256, overlap 32) against the shipped ones;
- `jianbao extract` with 1 and 2 worker processes of one torch thread each: docs/s, chars/s,
  peak RSS of a worker; and the steady rate of the same worker code once loaded and warmed up, so that
  the scaling is not hidden by what each process pays once (imports, loading, first calls: about 12 s).
  This shared machine's rates move by 10-20 % from run to run, so the steady runs alternate 1 and 2
  processes `--trials` times and the median of each is printed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from pipeline import extract
from pipeline.annotations.records import read_records
from pipeline.encoding import CharEncoder
from pipeline.evaluate import predict_records, score
from pipeline.models import SHIPPED, load_pipeline
from pipeline.ner import native_bf16


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


def _ner_variant(nlp, texts: list[str], records, bf16: bool, window: tuple[int, int]) -> tuple[float, float]:
    """(NER chars/s on one core, micro-F1) with the NER stage set to `bf16` and `window` (length, stride)."""
    ner = nlp.get_pipe("jianbao_ner")
    ner.bf16 = bf16
    ner.encoder = CharEncoder(ner.tokenizer, *window)
    docs = [nlp.make_doc(x) for x in texts]
    start = time.perf_counter()
    list(ner.pipe(docs))  # the NER stage alone: the rule stages after it do not depend on the variant
    return sum(map(len, texts)) / (time.perf_counter() - start), _f1(nlp, records)


# one extract run in a fresh interpreter, so that its peak RSS is its own: the process itself with one
# worker, the largest worker with two
_EXTRACT_CHILD = """
import json, resource, sys, time
from pathlib import Path
from pipeline.extract import run
feed, out, model, n = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
start = time.perf_counter()
run([feed], out, model=model, n_process=n, batch_size=4, progress=False, threads=1)
seconds = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN if n > 1 else resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rss_mib": rss}))
"""


def _extract(texts: list[str], model: str, n_process: int) -> tuple[float, float]:
    """(seconds, peak RSS in MiB of a worker: ru_maxrss is KiB) for `jianbao extract` over the texts, pipeline loading included."""
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "feed.jsonl"
        feed.write_text("".join(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n"
                                for i, t in enumerate(texts)), encoding="utf-8")
        done = subprocess.run([sys.executable, "-c", _EXTRACT_CHILD, str(feed), str(Path(tmp) / "out.jsonl"),
                               model, str(n_process)], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["seconds"], result["rss_mib"]


def _warm_worker(model: str) -> None:
    """A pool worker as `jianbao extract` starts one, then one document through it for the first-call costs."""
    extract._init_worker(model, None, 1)
    extract._run_batch([extract.Item("warm-up", "warm-up", "2023年以来，全市市场监管部门查处传销案件12件。")])


def _timed_batch(items: list) -> tuple[int, float]:
    start = time.perf_counter()
    extract._run_batch(items)
    return os.getpid(), time.perf_counter() - start


def _steady(texts: list[str], model: str, n_process: int) -> float:
    """chars/s of n warm extract workers (one torch thread each): all characters over the busiest
    worker's time."""
    items = [extract.Item(str(i), str(i), t) for i, t in enumerate(texts)]
    busy: Counter = Counter()
    with multiprocessing.get_context("spawn").Pool(n_process, _warm_worker, (model,)) as pool:
        for pid, seconds in pool.imap(_timed_batch, extract.batches(items, 4)):
            busy[pid] += seconds
    return sum(map(len, texts)) / max(busy.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", default="annotations/dev.jsonl", help="spec JSONL whose texts are timed and scored")
    ap.add_argument("--model", default=str(SHIPPED))
    ap.add_argument("--skip-processes", action="store_true", help="skip the 1- and 2-process extract runs")
    ap.add_argument("--repeat", type=int, default=12, help="how many times the extract runs read the texts")
    ap.add_argument("--trials", type=int, default=3, help="steady runs of 1 and 2 processes, alternating")
    ap.add_argument("--bf16", action="store_true", help="time bf16 variants even where bf16 is emulated (slow)")
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
    shipped = (ner.encoder.max_length, ner.encoder.stride)
    print(f"\nNER as loaded: precision {ner.precision!r} -> {'bf16' if ner.bf16 else 'fp32'} "
          f"(native bf16: {native_bf16()}), window {shipped[0]}, overlap {shipped[1]}")
    print(f"{'NER variant':<34}{'chars/s':>10}{'micro-F1':>10}")
    variants = [("fp32, window 256/32 (training)", False, (256, 32)), ("bf16, window 256/32", True, (256, 32)),
                ("fp32, window %d/%d (shipped)" % shipped, False, shipped),
                ("bf16, window %d/%d (shipped)" % shipped, True, shipped)]
    for label, bf16, window in variants:
        if bf16 and not (native_bf16() or args.bf16):
            print(f"{label:<34}{'skipped: no native bf16 (--bf16 to time it)':>20}")
            continue
        speed, f1 = _ner_variant(nlp, texts, records, bf16, window)
        print(f"{label:<34}{speed:>10,.0f}{f1:>10.4f}")
    ner.model = torch.ao.quantization.quantize_dynamic(ner.model, {torch.nn.Linear}, dtype=torch.qint8)
    speed, f1 = _ner_variant(nlp, texts, records, False, shipped)
    print(f"{'int8 dynamic, window ' + '/'.join(map(str, shipped)):<34}{speed:>10,.0f}{f1:>10.4f}")

    if not args.skip_processes:
        many = texts * args.repeat
        print(f"\njianbao extract over the texts {args.repeat} times ({len(many)} documents), one torch thread per "
              f"process, pipeline loading included; steady: the same workers once loaded and warm")
        print(f"{'extract':<14}{'seconds':>9}{'docs/s':>9}{'chars/s':>10}{'peak RSS MiB':>13}{'speed-up':>10}"
              f"{'steady chars/s':>16}{'speed-up':>10}")
        steady = {1: [], 2: []}
        for _ in range(args.trials):
            for n in (1, 2):
                steady[n].append(_steady(many, args.model, n))
        median = {n: statistics.median(v) for n, v in steady.items()}
        base = None
        for n in (1, 2):
            seconds, rss = _extract(many, args.model, n)
            base = base or seconds
            print(f"{n} process{'es' if n > 1 else '  '}{seconds:>9.1f}{len(many) / seconds:>9.2f}"
                  f"{chars * args.repeat / seconds:>10,.0f}{rss:>13,.0f}{base / seconds:>9.2f}x"
                  f"{median[n]:>16,.0f}{median[n] / median[1]:>9.2f}x")
        print("steady runs, chars/s: " + "; ".join(f"{n} process{'es' if n > 1 else ''} "
                                                   + ", ".join(f"{x:,.0f}" for x in v) for n, v in steady.items()))


if __name__ == "__main__":
    main()
