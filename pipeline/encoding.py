"""Characters in, model windows out, and back: the one place where text meets the encoder.

Training and the spaCy component share it, so what the model learns is exactly
what it is asked. Every non-space character is one token (its own sentencepiece
piece, else the `▁`-prefixed one, else its NFKC form, else <unk>): the encoder's
own tokenizer merges characters into pieces that cut across 3 % of entity
edges, and one token per character makes every span alignable. Long texts are
cut into overlapping windows; a character's prediction comes from the window
where it sits farthest from an edge.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from .labels import ENTITY_LABELS

BIO: list[str] = ["O"] + [f"{p}-{label}" for label in ENTITY_LABELS for p in ("B", "I")]


@dataclass
class Window:
    input_ids: list[int]
    chars: list[int]  # text offset of each content token (without <s> and </s>)


class CharEncoder:
    def __init__(self, tokenizer, max_length: int = 256, stride: int = 64):
        if max_length - 2 <= 2 * stride:
            raise ValueError(f"max_length {max_length} leaves no room beyond two strides of {stride}")
        self.vocab = tokenizer.get_vocab()
        self.cls, self.sep = tokenizer.cls_token_id, tokenizer.sep_token_id
        self.unk = tokenizer.unk_token_id
        self.pad = tokenizer.pad_token_id
        self.max_length, self.stride = max_length, stride
        self._cache: dict[str, int] = {}

    def char_id(self, ch: str) -> int:
        found = self._cache.get(ch)
        if found is None:
            nfkc = unicodedata.normalize("NFKC", ch)
            for piece in (ch, "\u2581" + ch, nfkc, "\u2581" + nfkc):
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
            else:
                found = self.unk
            self._cache[ch] = found
        return found

    def windows(self, text: str) -> list[Window]:
        chars = [i for i, ch in enumerate(text) if not ch.isspace()]
        size = self.max_length - 2
        step = size - 2 * self.stride
        out = []
        start = 0
        while True:
            part = chars[start:start + size]
            out.append(Window([self.cls] + [self.char_id(text[i]) for i in part] + [self.sep], part))
            if start + size >= len(chars):
                return out
            start += step


def owner(windows: list[Window]) -> dict[int, tuple[int, int]]:
    """For each character offset, the (window, position) where it sits farthest from a window edge."""
    best: dict[int, tuple[int, int, int]] = {}
    for w, window in enumerate(windows):
        n = len(window.chars)
        for k, c in enumerate(window.chars):
            margin = min(k, n - 1 - k)
            if c not in best or margin > best[c][0]:
                best[c] = (margin, w, k)
    return {c: (w, k) for c, (_, w, k) in best.items()}


def char_tags(text: str, spans: list[dict]) -> list[str]:
    tags = ["O"] * len(text)
    for s in spans:
        tags[s["start"]] = f"B-{s['label']}"
        for i in range(s["start"] + 1, s["end"]):
            tags[i] = f"I-{s['label']}"
    return tags


def decode(text: str, windows: list[Window], probs: list[np.ndarray], labels: list[str]) -> list[dict]:
    """Spans {start, end, label, confidence} from per-window probabilities of the content tokens.

    An I- tag that does not continue a span of its label starts one; whitespace inside a span
    is allowed; confidence is the mean probability of the span's character tags."""
    spans: list[dict] = []
    current: dict | None = None
    for c, (w, k) in sorted(owner(windows).items()):
        p = probs[w][k]
        prefix, _, label = labels[int(p.argmax())].partition("-")
        joins = current is not None and current["label"] == label and not text[current["end"]:c].strip()
        if prefix == "I" and joins:
            current["end"] = c + 1
            current["p"].append(float(p.max()))
            continue
        if current is not None:
            spans.append(current)
            current = None
        if prefix in ("B", "I"):
            current = {"start": c, "end": c + 1, "label": label, "p": [float(p.max())]}
    if current is not None:
        spans.append(current)
    return [{"start": s["start"], "end": s["end"], "label": s["label"], "confidence": round(sum(s["p"]) / len(s["p"]), 4)}
            for s in spans]
