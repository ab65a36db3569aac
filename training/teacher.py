"""Several fine-tuned NER models read as one: the mean of their per-character probabilities.

Averaging independent runs lifts the weak labels (ORG, CAMPAIGN) more than any single run does, at
one encoder pass per model. `evaluation/ensemble.py` measures that; `train_ner` can distil it into
one model of the shipped size (`teacher` in a config), so the pipeline keeps a single encoder pass.
"""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np

from pipeline.annotations.records import AnnotationError
from pipeline.ner import window_probabilities


def load_models(paths: list[str | Path], labels: list[str], vocab: dict[str, int], what: str) -> list:
    """The models in these folders, each checked to read the same input ids and give the same labels."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    models = []
    for path in map(Path, paths):
        if not (path / "config.json").is_file():
            raise AnnotationError(f"{what} {path}: no HF model folder (config.json missing); name a run's model "
                                  "folder, e.g. models/runs/NAME/model")
        model = AutoModelForTokenClassification.from_pretrained(path, dtype=torch.float32).eval()
        theirs = [model.config.id2label[i] for i in range(model.config.num_labels)]
        if theirs != labels:
            raise AnnotationError(f"{what} {path}: its labels {theirs} differ from {labels}; only models trained "
                                  "on the same label set can be averaged")
        if AutoTokenizer.from_pretrained(path).get_vocab() != vocab:
            raise AnnotationError(f"{what} {path}: its vocabulary differs, so the same input ids would mean other "
                                  "characters; average only runs trained from the same base encoder")
        models.append(model)
    return models


def mean_model(models: list):
    """One module whose logits are the log of the models' mean probabilities, so that a softmax over
    them gives back exactly that mean."""
    import torch

    class MeanProbabilities(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.models = torch.nn.ModuleList(models)

        def forward(self, input_ids, attention_mask):
            p = torch.stack([torch.softmax(m(input_ids=input_ids, attention_mask=attention_mask).logits.float(), -1)
                             for m in self.models]).mean(0)
            return types.SimpleNamespace(logits=torch.log(p))

    return MeanProbabilities().eval()


def probabilities(model, windows: list[list[int]], pad: int, batch_size: int, bf16: bool) -> list[np.ndarray]:
    """Per window, the model's label probabilities at each position (float16, to keep thousands of
    windows in memory), with the rows of the first and last token (<s>, </s>) zero: no target there."""
    out = []
    for row in window_probabilities(model, windows, pad, batch_size, bf16):
        row = row.astype(np.float16)
        row[0] = row[-1] = 0
        out.append(row)
    return out
