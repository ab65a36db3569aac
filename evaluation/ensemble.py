"""A pipeline's NER read as an ensemble: the mean per-character probabilities of its own model and of
other fine-tuned models, against the pipeline alone on the same gold (paired, as `jianbao evaluate --against`).

    python -m evaluation.ensemble --gold annotations/dev.jsonl --with models/runs/ner-r5-stage3-s42/model
        [--model models/jianbao-ner] [--bootstrap 1000] [--segmenter char] [--output json]

Decoding stays the pipeline's own (windows, word-edge prior, thresholds, conventions); only the
probabilities it reads change. It measures what averaging independent runs is worth before anyone
distils or ships one: each model added costs one more pass of the encoder. The other models must have
been trained on the same character vocabulary and labels (any `jianbao train` run from the same base).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.annotations.records import AnnotationError
from pipeline.evaluate import compare, compare_table, predict_records, read_gold
from pipeline.models import SHIPPED, load_pipeline
from training.teacher import load_models, mean_model


def ensemble(nlp, model_dirs: list[str | Path]):
    """`nlp` with its NER reading the mean of its own model's and these models' probabilities."""
    ner = nlp.get_pipe("jianbao_ner")
    others = load_models(model_dirs, ner.labels, ner.tokenizer.get_vocab(), "--with")
    ner.model = mean_model([ner.model, *others])
    return nlp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.ensemble", description=__doc__.split("\n")[0])
    parser.add_argument("--gold", required=True, help="gold records (JSONL), e.g. annotations/dev.jsonl")
    parser.add_argument("--with", dest="others", nargs="+", required=True, metavar="MODEL",
                        help="fine-tuned HF model folders to average with the pipeline's own")
    parser.add_argument("--model", default=str(SHIPPED), help="the pipeline whose decoding is used (default: shipped)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="resamplings of the documents for the intervals")
    parser.add_argument("--segmenter", choices=("pkuseg", "char"), help="override the pipeline's segmenter")
    parser.add_argument("--output", choices=("table", "json"), default="table")
    args = parser.parse_args(argv)

    gold = read_gold(args.gold)
    alone = list(zip(gold, predict_records(load_pipeline(args.model, segmenter=args.segmenter), gold)))
    averaged = ensemble(load_pipeline(args.model, segmenter=args.segmenter), args.others)
    result = compare(list(zip(gold, predict_records(averaged, gold))), alone, bootstrap=args.bootstrap)
    print(json.dumps(result, indent=1) if args.output == "json" else
          f"model: the ensemble of {args.model} and {len(args.others)} more; baseline: {args.model} alone\n"
          + compare_table(result))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AnnotationError as err:
        sys.exit(f"error: {err}")
