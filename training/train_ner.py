"""Fine-tune the base encoder for NER, in the manner of HF's run_ner.py.

One linear recipe driven by a JSON config (configs/*.json): base encoder →
gold and public records → one-character-per-token windows with BIO labels →
transformers Trainer with early stopping on gold dev F1 (seqeval) → the best
model, metrics.json, a seqeval report, and a spaCy pipeline around the model.
"""

from __future__ import annotations

import json
import random
import sys
import time
import types
import typing
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from pipeline.annotations.convert import LabelMap, convert
from pipeline.annotations.records import AnnotationError, Record, read_json, read_records
from pipeline.encoding import BIO, CharEncoder, char_tags
from training.augment import NAME_LABELS, oversample, replace_mentions
from training.teacher import load_models, mean_model, probabilities
from training.texts import EXCLUDE_RUN, held_out_runs, keep_paragraphs, read_texts


class JSONConfig:
    """A dataclass of settings read from a JSON file, with each value's type checked against the field."""

    @classmethod
    def load(cls, path: str | Path) -> typing.Self:
        data = read_json(path, "config", "see configs/ for examples")
        if not isinstance(data, dict):
            raise AnnotationError(f"{path}: a config is a JSON object of settings")
        unknown = set(data) - set(cls.__dataclass_fields__) - {"about"}
        if unknown:
            raise AnnotationError(f"{path}: unknown config keys {sorted(unknown)}")
        data.pop("about", None)
        hints = typing.get_type_hints(cls)
        for key, value in data.items():
            if not _fits(value, hints[key]):
                kind = str(hints[key]).replace("typing.", "").replace("<class '", "").replace("'>", "")
                raise AnnotationError(f"{path}: {key} must be {kind}, not {value!r}")
        return cls(**data)


@dataclass
class Config(JSONConfig):
    output_dir: str
    base_model: str = "models/base/multilingual-e5-small-chars"
    build_base: bool = True
    pretrained: bool = True  # False: same architecture, random weights (the not-pretrained baseline)
    init_model: str | None = None  # continue from a trained token-classification folder instead
    gold_train: str = "annotations/train.jsonl"
    gold_dev: str = "annotations/dev.jsonl"
    gold_test: str = "annotations/test.jsonl"
    # also score the test split at the end (metrics.json, the report); off, test stays unread while runs are
    # compared and chosen on dev, and is read once for the chosen one (`jianbao evaluate`)
    report_test: bool = False
    oversample_gold: int = 1
    # gold records repeated this many times more by meta.selection, e.g. {"seed": 4} for the bulletins
    oversample_selection: dict[str, int] = field(default_factory=dict)
    replace_mentions: int = 0  # copies of the gold with names swapped for names of the same label (augment.py)
    replace_labels: list[str] = field(default_factory=lambda: list(NAME_LABELS))
    # {"path", "mapping", "limit", "ignore": [labels whose spans are masked out of the loss],
    #  "silver": [labels the corpus lacks, drafted by the rules where nothing else is marked]}
    public: list[dict] = field(default_factory=list)
    # distillation (training/teacher.py): fine-tuned model folders whose mean probabilities the model also
    # learns, on every training window and on the `unlabeled` text, which has no gold
    teacher: list[str] = field(default_factory=list)
    teacher_weight: float = 0.5  # the teacher's share of the loss; the rest is the gold's cross-entropy
    unlabeled: list[dict] = field(default_factory=list)  # text sources, as "texts" in configs/mlm_gov.json
    unlabeled_windows: int = 0  # windows of that text drawn with the seed; 0 takes them all
    max_length: int = 256
    stride: int = 32
    epochs: float = 10
    max_steps: int = -1
    learning_rate: float = 1e-4
    batch_size: int = 16
    warmup: float = 0.1  # a fraction of the steps below 1, else a step count
    weight_decay: float = 0.01
    patience: int = 3
    seed: int = 13
    threads: int = 0
    segmenter: str = "pkuseg"
    ship_fp16: bool = True
    use_cpu: bool = False
    # None: train in bf16 where the hardware multiplies it natively (a CPU with AVX512-BF16/AMX, about
    # twice as fast per step here; a CUDA GPU that supports it), else in fp32
    bf16: bool | None = None

def _fits(value: object, hint: object) -> bool:
    """Whether a JSON value has the type a config field declares (a config typo should not surface as a
    TypeError deep inside the Trainer)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_fits(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if isinstance(value, bool):
        return hint is bool
    if hint is float:
        return isinstance(value, (int, float))
    return isinstance(value, typing.get_origin(hint) or hint)


def public_records(cfg: Config) -> list[Record]:
    """Mapped public corpora, each capped at `limit` records (chosen with the seed).

    A public set labels only some of our labels. Spans of an `ignore` label (CLUENER's names mix
    officials and other persons) are kept out of the loss; `silver` labels it lacks (figures,
    dates) are drafted by the rules, so the model is not taught that they are nothing."""
    from pipeline.annotations.prelabel import prelabel_spans

    out = []
    for source in cfg.public:
        path = Path(source["path"])
        if not path.exists():
            raise AnnotationError(f"{path}: public corpus not found; fix its path in the config or drop it")
        records = list(convert(path, LabelMap.load(source["mapping"])))
        if source.get("limit"):
            records = random.Random(cfg.seed).sample(records, min(source["limit"], len(records)))
        silver = set(source.get("silver", []))
        for r in records:
            taken = [(s["start"], s["end"]) for s in r.spans]
            for s in prelabel_spans(r.text) if silver else []:
                if s["label"] in silver and not any(a < s["end"] and s["start"] < b for a, b in taken):
                    r.spans.append(s)
            r.meta["ignore"] = list(source.get("ignore", []))
        out += records
    return out


def encode(records: list[Record], encoder: CharEncoder) -> dict[str, list]:
    """Windows with one BIO label id per content token; -100 on <s> and </s>."""
    label_id = {tag: i for i, tag in enumerate(BIO)}
    rows: dict[str, list] = {"input_ids": [], "labels": []}
    for r in records:
        ignore = set(r.meta.get("ignore", []))
        tags = char_tags(r.text, [s for s in r.spans if s["label"] not in ignore])
        masked = {c for s in r.spans if s["label"] in ignore for c in range(s["start"], s["end"])}
        for w in encoder.windows(r.text):
            rows["input_ids"].append(w.input_ids)
            rows["labels"].append([-100] + [-100 if c in masked else label_id[tags[c]] for c in w.chars] + [-100])
    return rows


def unlabeled_windows(cfg: Config, encoder: CharEncoder) -> tuple[list[list[int]], int]:
    """Windows of the `unlabeled` text, drawn with the seed, and how many paragraphs were dropped for
    sharing a run of characters with dev or test (the teacher's view of those must not leak in)."""
    runs = held_out_runs([cfg.gold_dev, cfg.gold_test], EXCLUDE_RUN)
    windows, dropped = [], 0
    for doc in read_texts(cfg.unlabeled):
        kept, n = keep_paragraphs(doc, runs, EXCLUDE_RUN)
        dropped += n
        windows += [w.input_ids for w in encoder.windows(kept)] if kept else []
    random.Random(cfg.seed).shuffle(windows)
    return windows[:cfg.unlabeled_windows or None], dropped


class TeacherCollator:
    """Pads the teacher's probabilities of each window beside its gold labels, as `teacher_probs` (rows
    of zeros carry no target: specials and padding)."""

    def __init__(self, base, soft: list[np.ndarray]):
        self.base, self.soft = base, soft

    def __call__(self, features: list[dict]) -> dict:
        import torch

        rows = [f.pop("row") for f in features] if "row" in features[0] else None
        batch = self.base(features)
        if rows is not None:
            probs = torch.zeros(len(rows), batch["input_ids"].shape[1], len(BIO))
            for i, r in enumerate(rows):
                probs[i, :len(self.soft[r])] = torch.from_numpy(self.soft[r].astype(np.float32))
            batch["teacher_probs"] = probs
        return batch


def distill_loss(logits, labels, teacher, weight: float):
    """(1 - weight) x the gold's cross-entropy over the positions it labels, plus weight x the KL divergence
    from the teacher's probabilities over the positions it has them for. Each part is a mean over its
    own positions, so a batch of unlabeled text alone still gives a finite loss."""
    import torch

    logp = torch.log_softmax(logits.float(), -1)
    gold = labels != -100
    ce = -logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)[gold].sum() / gold.sum().clamp(min=1)
    has = teacher.sum(-1) > 0
    kl = (teacher * (torch.log(teacher.clamp(min=1e-8)) - logp)).sum(-1)[has].sum() / has.sum().clamp(min=1)
    return (1 - weight) * ce + weight * kl


def seqeval_scores(predictions: np.ndarray, labels: np.ndarray) -> tuple[dict, str]:
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

    true, pred = [], []
    for p_row, l_row in zip(predictions, labels):
        keep = l_row != -100
        true.append([BIO[i] for i in l_row[keep]])
        pred.append([BIO[i] for i in p_row[keep]])
    report = classification_report(true, pred, digits=4, zero_division=0)
    per_label = classification_report(true, pred, output_dict=True, zero_division=0)
    scores = {"precision": precision_score(true, pred), "recall": recall_score(true, pred), "f1": f1_score(true, pred),
              "per_label": {k: {"p": v["precision"], "r": v["recall"], "f": v["f1-score"], "support": int(v["support"])}
                            for k, v in per_label.items() if k.isupper()}}
    return scores, report


def gold_terms(records: list[Record]) -> list[str]:
    """Domain words for the segmenter's user dictionary: bodies, posts, campaigns, organisations."""
    return sorted({r.span_text(i) for r in records for i, s in enumerate(r.spans)
                   if s["label"] in ("AGENCY", "TITLE", "CAMPAIGN", "ORG") and 2 <= s["end"] - s["start"] <= 12})


def build_pipeline(model_dir: Path, out: Path, cfg: Config, terms: list[str]) -> Path:
    import spacy

    from pipeline.models import add_fact_stages, register

    register()

    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"@tokenizers": "jianbao.ChineseTokenizer.v1",
                                                           "segmenter": cfg.segmenter}}})
    nlp.tokenizer.user_dict = terms
    # the weights go inside the pipeline folder (to_disk), so the config does not name the run's folder
    nlp.add_pipe("jianbao_ner", config={"max_length": cfg.max_length, "stride": cfg.stride}).load(model_dir)
    add_fact_stages(nlp)
    nlp.meta.update({"name": out.name.replace("-", "_"), "version": "0.1.0", "lang": "zh"})
    nlp.to_disk(out)
    return out


def base_tokenizer(name: str, build_base: bool):
    """The base encoder's tokenizer, after writing the e5 base into `name` when it is missing and
    `build_base` says so; a folder that is still not there is named with the commands that write it
    (transformers would otherwise report a failed hub lookup)."""
    from transformers import AutoTokenizer

    base = Path(name)
    if not (base / "config.json").is_file() and build_base:
        from pipeline.base_model import build

        print(f"building the base encoder into {base}", file=sys.stderr)
        build(base, prune_sample=[])  # one-character pieces are all that per-character tokens use
    try:
        return AutoTokenizer.from_pretrained(name)
    except OSError as err:
        raise AnnotationError(
            f"base_model {name!r} could not be loaded ({str(err).splitlines()[0]}). Write it first: "
            "`jianbao model base --chars-only` for the e5 base, `jianbao pretrain --config configs/mlm_gov.json` "
            "for the adapted one, or set 'build_base': true") from err


def attention(on_gpu: bool, bf16: bool) -> str | None:
    """The attention implementation to train with; None keeps transformers' default (fused SDPA).

    On a CPU in bf16, fused attention with dropout (training has it; inference does not) takes a slow
    path: 6.9 s per Trainer step of 16 windows of 256 characters against 3.5 s for the plain ("eager")
    one, on the 2 cores here with the shipped encoder. Same arithmetic, same dropout; in fp32, on a GPU and in
    inference the fused one is as fast or faster."""
    return "eager" if bf16 and not on_gpu else None


def last_checkpoint(out: Path) -> str | None:
    """The newest epoch checkpoint a run under `out` left behind, if any."""
    from transformers.trainer_utils import get_last_checkpoint

    folder = out / "checkpoints"
    return get_last_checkpoint(str(folder)) if folder.is_dir() else None


def reseeded(cfg: Config, seed: int) -> Config:
    """The config with another seed, writing beside the original run (OUTPUT_DIR-sSEED) instead of over it."""
    return replace(cfg, seed=seed, output_dir=f"{cfg.output_dir}-s{seed}")


def main(config_path: str, resume: bool = False, seed: int | None = None, init_model: str | None = None) -> Path:
    """Train as the config says; `resume` continues a run that was stopped from its last epoch checkpoint
    (weights, optimizer, schedule, early-stopping state), so a CPU run of hours can span several sittings.
    `seed` reruns the config with that seed in its own folder (`reseeded`); `init_model` replaces the
    config's (a recipe's later stage continuing the reseeded stage before it)."""
    import torch
    from datasets import Dataset
    from transformers import (AutoConfig, AutoModelForTokenClassification, DataCollatorForTokenClassification,
                              EarlyStoppingCallback, Trainer, TrainingArguments, set_seed)

    from pipeline.ner import native_bf16

    cfg = Config.load(config_path)
    if seed is not None:
        cfg = reseeded(cfg, seed)
    if init_model is not None:
        cfg.init_model = init_model
    if cfg.unlabeled and not cfg.teacher:
        raise AnnotationError(f"{config_path}: 'unlabeled' text has no gold, so it needs a 'teacher' to learn from")
    if not 0 < cfg.teacher_weight <= 1:
        raise AnnotationError(f"{config_path}: teacher_weight {cfg.teacher_weight} must be above 0 and at most 1")
    out = Path(cfg.output_dir)
    checkpoint = last_checkpoint(out)
    if resume and checkpoint is None:
        raise AnnotationError(f"{config_path}: --resume found no checkpoint under {out / 'checkpoints'}; "
                              "run without --resume to start the training")
    if checkpoint and not resume:
        print(f"starting afresh; {checkpoint} is left from an earlier run (--resume would continue it)",
              file=sys.stderr)
    set_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    on_gpu = torch.cuda.is_available() and not cfg.use_cpu
    if cfg.bf16 is None:
        cfg.bf16 = torch.cuda.is_bf16_supported() if on_gpu else native_bf16()

    # 1. base encoder
    tokenizer = base_tokenizer(cfg.base_model, cfg.build_base)
    encoder = CharEncoder(tokenizer, cfg.max_length, cfg.stride)

    # 2. data
    gold = list(read_records(cfg.gold_train))
    swapped = replace_mentions(gold, cfg.replace_mentions, tuple(cfg.replace_labels), seed=cfg.seed)
    train = oversample(gold + swapped, cfg.oversample_gold, cfg.oversample_selection) + public_records(cfg)
    dev = list(read_records(cfg.gold_dev))
    eval_encoder = CharEncoder(tokenizer, cfg.max_length, 0)
    rows = encode(train, encoder)
    extra, dropped = unlabeled_windows(cfg, encoder) if cfg.unlabeled else ([], 0)
    rows["input_ids"] += extra
    rows["labels"] += [[-100] * len(w) for w in extra]
    soft: list[np.ndarray] = []
    if cfg.teacher:
        teacher = mean_model(load_models(cfg.teacher, BIO, tokenizer.get_vocab(), "teacher"))
        started = time.time()
        soft = probabilities(teacher.to("cuda" if on_gpu else "cpu"), rows["input_ids"], encoder.pad, cfg.batch_size,
                             cfg.bf16)
        del teacher
        rows["row"] = list(range(len(rows["input_ids"])))
        print(f"teacher: {len(cfg.teacher)} model(s) read {len(soft)} windows ({len(extra)} of unlabeled text, "
              f"{dropped} paragraphs dropped: dev or test text, or headings) in {time.time() - started:.0f} s",
              file=sys.stderr)
    train_ds = Dataset.from_dict(rows).shuffle(seed=cfg.seed)
    dev_ds = Dataset.from_dict(encode(dev, eval_encoder))
    scored = {"dev": dev_ds}
    if cfg.report_test:
        scored["test"] = Dataset.from_dict(encode(list(read_records(cfg.gold_test)), eval_encoder))
    print("windows: " + ", ".join(f"{k} {len(v)}" for k, v in {"train": train_ds, **scored}.items()), file=sys.stderr)

    # 3. model and trainer
    labels = {"num_labels": len(BIO), "id2label": dict(enumerate(BIO)), "label2id": {t: i for i, t in enumerate(BIO)}}
    attn = {"attn_implementation": attention(on_gpu, cfg.bf16)}
    if cfg.init_model:
        model = AutoModelForTokenClassification.from_pretrained(cfg.init_model, dtype=torch.float32, **attn)
        if model.config.id2label != labels["id2label"]:
            raise AnnotationError(f"{cfg.init_model}: its labels differ from {BIO}; it cannot be continued")
    elif cfg.pretrained:
        model = AutoModelForTokenClassification.from_pretrained(cfg.base_model, **labels, **attn)
    else:
        model = AutoModelForTokenClassification.from_config(AutoConfig.from_pretrained(cfg.base_model, **labels), **attn)

    def compute_metrics(p):
        scores, _ = seqeval_scores(p.predictions.argmax(-1), p.label_ids)
        return {"precision": scores["precision"], "recall": scores["recall"], "f1": scores["f1"]}

    args = TrainingArguments(
        output_dir=str(out / "checkpoints"), num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        learning_rate=cfg.learning_rate, per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size, warmup_steps=cfg.warmup, weight_decay=cfg.weight_decay,
        eval_strategy="epoch", save_strategy="epoch", save_total_limit=2, load_best_model_at_end=True,
        metric_for_best_model="f1", logging_steps=20, train_sampling_strategy="group_by_length", report_to=[], seed=cfg.seed, use_cpu=not on_gpu,
        bf16=cfg.bf16, dataloader_num_workers=0, remove_unused_columns=not soft)

    class DistillingTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            teacher = inputs.pop("teacher_probs", None)
            if teacher is None:  # evaluation, or no teacher: the model's own cross-entropy
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            loss = distill_loss(outputs.logits, labels, teacher, cfg.teacher_weight)
            return (loss, outputs) if return_outputs else loss

    trainer = DistillingTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=dev_ds,
                                data_collator=TeacherCollator(DataCollatorForTokenClassification(tokenizer), soft),
                                compute_metrics=compute_metrics,
                                callbacks=[EarlyStoppingCallback(early_stopping_patience=cfg.patience)])
    started = time.time()
    trainer.train(resume_from_checkpoint=checkpoint if resume else None)
    seconds = time.time() - started

    # 4. best model, metrics, report
    model_dir = out / "model"
    best = trainer.model.half() if cfg.ship_fp16 else trainer.model
    best.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    trainer.model.float()
    metrics: dict = {"train_seconds": round(seconds, 1), "train_windows": len(train_ds), "seed": cfg.seed,
                     "pretrained": cfg.pretrained, "init_model": cfg.init_model, "bf16": cfg.bf16,
                     "attention": model.config._attn_implementation,
                     "resumed_from": Path(checkpoint).name if resume else None,
                     "public": cfg.public, "oversample_gold": cfg.oversample_gold,
                     "oversample_selection": cfg.oversample_selection, "replace_mentions": cfg.replace_mentions,
                     "replace_labels": cfg.replace_labels, "teacher": cfg.teacher,
                     "teacher_weight": cfg.teacher_weight if cfg.teacher else None, "unlabeled": cfg.unlabeled,
                     "unlabeled_windows": len(extra), "unlabeled_paragraphs_dropped": dropped}
    reports = []
    for name, ds in scored.items():
        pred = trainer.predict(ds)
        scores, report = seqeval_scores(pred.predictions.argmax(-1), pred.label_ids)
        metrics[name] = scores
        reports.append(f"== {name} (gold, per character window, seqeval strict) ==\n{report}")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")
    (out / "seqeval_report.txt").write_text("\n".join(reports), encoding="utf-8")
    print("\n".join(reports))

    # 5. the spaCy pipeline around it
    pipeline_dir = build_pipeline(model_dir, out / "pipeline", cfg, gold_terms(train))
    print(f"pipeline -> {pipeline_dir}", file=sys.stderr)
    return pipeline_dir


def train(config_path: str, resume: bool = False, seed: int | None = None) -> Path:
    """Train what a config names. A stage config trains one model (`main`); a recipe config,
    {"stages": [stage config, ...]}, trains its stages in order, each continuing the one before through its
    init_model, so the shipped model's recipe is one command. With `resume` a recipe skips the stages that
    finished in an earlier sitting and resumes the one that was stopped; the stages after it start afresh.
    With `seed` every stage takes that seed and writes to its own OUTPUT_DIR-sSEED, each continuing the
    reseeded stage before it, so runs of one recipe with several seeds sit side by side."""
    data = read_json(config_path, "config", "see configs/ for examples")
    if not isinstance(data, dict) or "stages" not in data:
        return main(config_path, resume, seed)
    stages = data["stages"]
    if set(data) - {"about", "stages"} or not stages or not all(isinstance(x, str) for x in stages):
        raise AnnotationError(f"{config_path}: a recipe config holds only \"stages\", a non-empty list of stage "
                              "config paths (and \"about\"); see configs/ner_r4.json")
    configs = [Config.load(stage) for stage in stages]  # every stage config checked before hours of training
    for stage, before, cfg in zip(stages[1:], configs, configs[1:]):
        if cfg.init_model is None or Path(cfg.init_model) != Path(before.output_dir) / "model":
            raise AnnotationError(f"{config_path}: stage {stage} does not continue the stage before it: its init_model "
                                  f"is {cfg.init_model!r}; set it to \"{before.output_dir}/model\", or train the stage "
                                  "on its own with --config")
    if seed is not None:
        configs = [reseeded(cfg, seed) for cfg in configs]
    outs = [Path(cfg.output_dir) for cfg in configs]
    pipeline = outs[-1] / "pipeline"
    for k, (stage, out) in enumerate(zip(stages, outs)):
        if resume and (out / "pipeline" / "config.cfg").is_file():
            print(f"{stage}: finished in an earlier sitting ({out}), skipped", file=sys.stderr)
            continue
        before = str(outs[k - 1] / "model") if k and seed is not None else None
        pipeline = main(stage, resume=resume and last_checkpoint(out) is not None, seed=seed, init_model=before)
        resume = False
    return pipeline


if __name__ == "__main__":
    train(sys.argv[1], resume="--resume" in sys.argv[2:])
