"""Continue the base encoder's masked-LM pretraining on unlabeled government text (domain adaptation).

The base encoder is a 4-bit copy of a general multilingual model; reading the bulletins' own
language before fine-tuning is the lever issue 4 names for it. The text is read one character per
token, exactly as the NER model reads it (CharEncoder), so the adapted pieces are the ones fine-tuning
uses. Paragraphs that share a run of characters with a held-out gold split (dev, test) are dropped, so
no evaluation text is seen, not even unlabeled. The result is a HF encoder folder that a NER config
names as its `base_model`, with metrics.json giving the masked-LM loss on held-out windows before
and after.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.annotations.records import AnnotationError
from pipeline.encoding import CharEncoder
from training.texts import EXCLUDE_RUN, held_out_runs, keep_paragraphs, read_texts
from training.train_ner import JSONConfig, attention, base_tokenizer

if TYPE_CHECKING:
    import torch


@dataclass
class MLMConfig(JSONConfig):
    output_dir: str
    # each {"path": a JSONL file, "field": its text key} or {"path": a folder, "glob": "*.md"}
    texts: list[dict]
    base_model: str = "models/base/multilingual-e5-small-chars"
    build_base: bool = True
    exclude: list[str] = field(default_factory=lambda: ["annotations/dev.jsonl", "annotations/test.jsonl"])
    exclude_run: int = EXCLUDE_RUN
    max_length: int = 256
    mlm_probability: float = 0.15
    heldout: float = 0.02  # share of windows kept out of training to measure the loss on
    epochs: float = 1
    max_steps: int = -1
    learning_rate: float = 1e-4
    batch_size: int = 16
    warmup: float = 0.06
    weight_decay: float = 0.01
    seed: int = 13
    threads: int = 0
    use_cpu: bool = False
    bf16: bool | None = None


def heldout_loss(model, held: Mapping[str, torch.Tensor], batch_size: int, bf16: bool) -> float:
    """Masked-LM loss per masked character over the held-out windows, as masked once in `held`."""
    import torch

    model.eval()
    total, n = 0.0, 0
    with torch.no_grad(), torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=bf16):
        for i in range(0, len(held["input_ids"]), batch_size):
            batch = {k: v[i:i + batch_size].to(model.device) for k, v in held.items()}
            masked = int((batch["labels"] != -100).sum())
            if masked:
                total += float(model(**batch).loss) * masked
                n += masked
    return total / n


def main(config_path: str) -> Path:
    import torch
    from datasets import Dataset
    from transformers import (AutoModelForMaskedLM, DataCollatorForLanguageModeling, Trainer,
                              TrainingArguments, set_seed)

    from pipeline.ner import native_bf16

    cfg = MLMConfig.load(config_path)
    out = Path(cfg.output_dir)
    set_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    tokenizer = base_tokenizer(cfg.base_model, cfg.build_base)
    if tokenizer.mask_token_id is None:
        raise AnnotationError(f"{cfg.base_model}: its tokenizer has no mask token, so it cannot be pretrained by masking")

    # 1. text, without what evaluation reads
    runs = held_out_runs(cfg.exclude, cfg.exclude_run)
    docs, dropped = [], 0
    for doc in read_texts(cfg.texts):
        kept, n = keep_paragraphs(doc, runs, cfg.exclude_run)
        docs.append(kept)
        dropped += n
    encoder = CharEncoder(tokenizer, cfg.max_length, 0)
    windows = [w.input_ids for d in docs if d for w in encoder.windows(d)]
    random.Random(cfg.seed).shuffle(windows)
    n_held = max(1, round(len(windows) * cfg.heldout))
    if len(windows) <= n_held:
        raise AnnotationError(f"{config_path}: only {len(windows)} windows of text after exclusion; give more text")
    train_ds = Dataset.from_dict({"input_ids": windows[n_held:]})
    chars = sum(len(w) - 2 for w in windows)
    print(f"{len(docs)} documents, {dropped} paragraphs dropped, {len(windows)} windows ({chars} characters), "
          f"{n_held} held out", file=sys.stderr)

    # 2. model and trainer
    on_gpu = torch.cuda.is_available() and not cfg.use_cpu
    if cfg.bf16 is None:
        cfg.bf16 = torch.cuda.is_bf16_supported() if on_gpu else native_bf16()
    model, loading = AutoModelForMaskedLM.from_pretrained(
        cfg.base_model, attn_implementation=attention(on_gpu, cfg.bf16), output_loading_info=True)
    # an encoder shipped without its masked-LM head (e5 is one) starts the head at random, so the loss
    # before training is an untrained head's, not the encoder's
    head_new = any(key.startswith("cls.") for key in loading["missing_keys"])
    args = TrainingArguments(
        output_dir=str(out), num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        learning_rate=cfg.learning_rate, per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size, warmup_steps=cfg.warmup, weight_decay=cfg.weight_decay,
        eval_strategy="no", save_strategy="no", logging_steps=20, train_sampling_strategy="group_by_length",
        report_to=[], seed=cfg.seed, use_cpu=not on_gpu, bf16=cfg.bf16, dataloader_num_workers=0)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=cfg.mlm_probability,
                                               seed=cfg.seed)
    # the held-out windows are masked once, so the loss before and after training reads the same positions
    held = collator([{"input_ids": w} for w in windows[:n_held]])
    n_masked = int((held["labels"] != -100).sum())
    if not n_masked:
        raise AnnotationError(f"{config_path}: no held-out character was masked; raise heldout or mlm_probability")
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, data_collator=collator)
    before = heldout_loss(trainer.model, held, cfg.batch_size, cfg.bf16)
    started = time.time()
    trainer.train()
    seconds = time.time() - started
    after = heldout_loss(trainer.model, held, cfg.batch_size, cfg.bf16)

    # 3. the adapted encoder, a drop-in base_model
    trainer.model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    metrics = {"heldout_mlm_loss": {"before": round(before, 4), "after": round(after, 4),
                                        "head_started_random": head_new},
               "train_seconds": round(seconds, 1), "train_windows": len(train_ds), "heldout_windows": n_held,
               "heldout_masked": n_masked,
               "characters": chars, "paragraphs_dropped": dropped, "texts": cfg.texts, "exclude": cfg.exclude,
               "base_model": cfg.base_model, "bf16": cfg.bf16}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"held-out masked-LM loss {before:.3f} -> {after:.3f}; encoder -> {out}", file=sys.stderr)
    return out


if __name__ == "__main__":
    main(sys.argv[1])
