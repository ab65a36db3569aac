"""`jianbao_ner`: the fine-tuned transformer as a spaCy component.

It runs a HF token-classification model over `doc.text` one character per token
(pipeline/encoding.py), sets `doc.ents` at character precision — splitting a
word token where an entity edge falls inside it — and gives each entity a
`span._.confidence`. The model folder is saved inside the pipeline by `to_disk`.
"""

from __future__ import annotations

import bisect
import copy
import json
from pathlib import Path

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from .conventions import conform, place_names
from .encoding import CharEncoder, decode

if not Span.has_extension("confidence"):
    Span.set_extension("confidence", default=None)

class NERModelError(RuntimeError):
    """The NER component has no usable model."""


PRECISIONS = ("auto", "fp32", "bf16")

def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX). There, bf16 autocast runs the
    encoder 2.7x faster at the same F1 (evaluation/bench_throughput.py); elsewhere it is emulated and slower."""
    import torch

    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a torch without these probes: stay on fp32
        return False


class TransformerNER:
    def __init__(self, nlp: Language, name: str, model: str | None, max_length: int, stride: int,
                 batch_size: int, threads: int, precision: str = "auto", min_confidence: float = 0.0,
                 label_min_confidence: dict[str, float] | None = None, word_edge_penalty: float = 0.0):
        if precision not in PRECISIONS:
            raise ValueError(f"jianbao_ner: precision {precision!r} is not one of {', '.join(PRECISIONS)}")
        self.label_min_confidence = dict(label_min_confidence or {})
        for what, value in [("min_confidence", min_confidence),
                            *((f"label_min_confidence.{k}", v) for k, v in self.label_min_confidence.items())]:
            if not 0.0 <= value < 1.0:
                raise ValueError(f"jianbao_ner: {what} {value!r} must be at least 0 and below 1")
        if word_edge_penalty < 0:
            raise ValueError(f"jianbao_ner: word_edge_penalty {word_edge_penalty!r} must not be negative")
        self.min_confidence = min_confidence
        self.word_edge_penalty = word_edge_penalty
        self.name = name
        self.max_length, self.stride, self.batch_size, self.threads = max_length, stride, batch_size, threads
        self.precision = precision
        self.bf16 = False
        self.model = self.tokenizer = self.encoder = None
        self.stored_dtype: str | None = None
        self.labels: list[str] = []
        if model:
            self.load(model)

    def load(self, path: str | Path) -> None:
        """Load a HF token-classification folder (as written by `jianbao train`)."""
        import torch
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        path = Path(path)
        if not (path / "config.json").is_file():
            raise NERModelError(f"{path}: no HF model folder (config.json missing); train one with `jianbao train`")
        if self.threads:
            torch.set_num_threads(self.threads)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        # shipped weights may be fp16 to save space; CPU inference runs in fp32, saving keeps the stored type
        self.stored_dtype = json.loads((path / "config.json").read_text(encoding="utf-8")).get("dtype")
        self.model = AutoModelForTokenClassification.from_pretrained(path, dtype=torch.float32).eval()
        # weights stay fp32; with bf16 only the matrix products run in bf16 (autocast)
        self.bf16 = self.precision == "bf16" or (self.precision == "auto" and native_bf16())
        self.labels = [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]
        length = min(self.max_length, self.model.config.max_position_embeddings)  # the encoder's own limit
        self.encoder = CharEncoder(self.tokenizer, length, min(self.stride, (length - 3) // 2))
        place_names()  # read the gazetteer now (0.3 s), at load time rather than inside the first document

    def predict(self, texts: list[str], boundaries: list[set[int]] | None = None) -> list[list[dict]]:
        """Character spans {start, end, label, confidence} for each text; `boundaries`, each text's word
        boundaries (character offsets), make edges inside a word cost `word_edge_penalty`."""
        if self.model is None:
            raise NERModelError(f"component {self.name!r} has no model: load a trained pipeline with spacy.load")
        per_text = [self.encoder.windows(t) for t in texts]
        flat = [(i, w) for i, ws in enumerate(per_text) for w in ws]
        rows = window_probabilities(self.model, [w.input_ids for _, w in flat], self.encoder.pad, self.batch_size,
                                    self.bf16)
        probs: list[list[np.ndarray]] = [[] for _ in texts]
        for (i, w), row in zip(flat, rows):
            probs[i].append(row[1:1 + len(w.chars)])  # the content tokens, without <s> and </s>
        words = boundaries or [None] * len(texts)
        return [conform(t, decode(t, ws, ps, self.labels, b, self.word_edge_penalty), self._confident)
                for t, ws, ps, b in zip(texts, per_text, probs, words)]

    def _confident(self, span: dict) -> bool:
        return span["confidence"] >= self.label_min_confidence.get(span["label"], self.min_confidence)

    def __call__(self, doc: Doc) -> Doc:
        return next(self.pipe([doc]))

    def pipe(self, docs, batch_size: int | None = None):
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= (batch_size or self.batch_size):
                yield from self._set(batch)
                batch = []
        if batch:
            yield from self._set(batch)

    def _set(self, docs: list[Doc]):
        words = [{t.idx for t in d} | {t.idx + len(t.text) for t in d} for d in docs]
        for doc, spans in zip(docs, self.predict([d.text for d in docs], words)):
            yield set_entities(doc, spans)

    def to_disk(self, path, *, exclude=tuple()) -> None:
        if self.model is None:
            raise NERModelError(f"component {self.name!r} has no model to save")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        model = copy.deepcopy(self.model).half() if self.stored_dtype == "float16" else self.model
        model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)

    def from_disk(self, path, *, exclude=tuple()) -> "TransformerNER":
        self.load(path)
        return self


def window_probabilities(model, windows: list[list[int]], pad: int, batch_size: int, bf16: bool) -> list[np.ndarray]:
    """Per window of input ids, the model's label probabilities at each of its positions, specials included.
    Windows are batched by length, so little of a batch is padding; with `bf16` the matrix products run
    in bf16 (autocast) on the model's device."""
    import torch

    device = next(model.parameters()).device
    out: list[np.ndarray] = [np.empty(0)] * len(windows)
    order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
    for b in range(0, len(order), batch_size):
        picks = order[b:b + batch_size]
        width = max(len(windows[i]) for i in picks)
        ids = torch.tensor([windows[i] + [pad] * (width - len(windows[i])) for i in picks])
        mask = torch.tensor([[1] * len(windows[i]) + [0] * (width - len(windows[i])) for i in picks])
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        for i, row in zip(picks, torch.softmax(logits.float(), dim=-1).cpu().numpy()):
            out[i] = row[:len(windows[i])]
    return out


def _split_at(doc: Doc, cuts: set[int]) -> Doc:
    """Split tokens so that every character offset in `cuts` is a token boundary."""
    todo = []
    ordered = sorted(cuts)
    for token in doc:
        lo = bisect.bisect_right(ordered, token.idx)
        hi = bisect.bisect_left(ordered, token.idx + len(token.text))
        inner = [c - token.idx for c in ordered[lo:hi]]
        if inner:
            bounds = [0, *inner, len(token.text)]
            todo.append((token, [token.text[a:b] for a, b in zip(bounds, bounds[1:])]))
    if todo:
        with doc.retokenize() as retokenizer:
            for token, parts in todo:
                heads = [(token, k) for k in range(len(parts))]
                retokenizer.split(token, parts, heads=heads)
    return doc


def set_entities(doc: Doc, spans: list[dict]) -> Doc:
    doc = _split_at(doc, {c for s in spans for c in (s["start"], s["end"])})
    ents = []
    for s in spans:
        span = doc.char_span(s["start"], s["end"], label=s["label"])
        if span is not None:
            span._.confidence = s.get("confidence")
            ents.append(span)
    doc.ents = filter_spans(ents)
    return doc


@Language.factory("jianbao_ner", assigns=["doc.ents"],
                  default_config={"model": None, "max_length": 256, "stride": 64, "batch_size": 16, "threads": 0,
                                  "precision": "auto", "min_confidence": 0.0, "label_min_confidence": {},
                                  "word_edge_penalty": 0.0})
def make_ner(nlp: Language, name: str, model: str | None, max_length: int, stride: int, batch_size: int,
             threads: int, precision: str, min_confidence: float,
             label_min_confidence: dict[str, float], word_edge_penalty: float) -> TransformerNER:
    """`precision`: "auto" (bf16 autocast where the CPU has native bf16, else fp32), "fp32" or "bf16".
    `min_confidence`: spans whose confidence (the mean probability of their label per character) is lower
    are dropped; `label_min_confidence` sets it for single labels. `word_edge_penalty`: the log-probability
    a span edge inside a word of the tokenizer costs (0 reads characters only; the `char` segmenter has no
    inner edges). The shipped model's values were chosen on dev: the model card."""
    return TransformerNER(nlp, name, model, max_length, stride, batch_size, threads, precision, min_confidence,
                          label_min_confidence, word_edge_penalty)
