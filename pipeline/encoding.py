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


def _allowed(labels: list[str]) -> np.ndarray:
    """allowed[i, j]: tag j may follow tag i (I-X only after B-X or I-X)."""
    n = len(labels)
    ok = np.ones((n, n), dtype=bool)
    for j, tag in enumerate(labels):
        if tag.startswith("I-"):
            ok[:, j] = [labels[i] in (f"B-{tag[2:]}", tag) for i in range(n)]
    return ok


def viterbi(probs: np.ndarray, labels: list[str], edge_cost: np.ndarray | None = None) -> list[int]:
    """The most probable tag sequence that is valid BIO (a constrained decode, no trained CRF).

    `edge_cost[t]` (2 x T: start, end) is subtracted from a path's log-probability where a span starts
    at character t, or ends after it: the word segmenter's prior that entity edges fall between words."""
    allowed = _allowed(labels)
    logp = np.log(np.clip(probs, 1e-12, 1.0))
    begins = np.array([t.startswith("B-") for t in labels])
    start_ok = np.array([not t.startswith("I-") for t in labels])
    # ends[i, j]: tag j after tag i closes the span tag i is in
    ends = np.array([[a != "O" and not (b.startswith("I-") and b[2:] == a[2:]) for b in labels] for a in labels])
    start_cost = np.zeros(len(probs)) if edge_cost is None else edge_cost[0]
    end_cost = np.zeros(len(probs)) if edge_cost is None else edge_cost[1]
    score = np.where(start_ok, logp[0], -np.inf) - begins * start_cost[0]
    back = np.zeros((len(probs), len(labels)), dtype=int)
    transition = np.where(allowed, 0.0, -np.inf)
    for t in range(1, len(probs)):
        cand = score[:, None] + transition - ends * end_cost[t - 1] - begins[None, :] * start_cost[t]
        back[t] = cand.argmax(0)
        score = cand.max(0) + logp[t]
    score = score - np.array([t != "O" for t in labels]) * end_cost[-1]
    path = [int(score.argmax())]
    for t in range(len(probs) - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


# Whether a name is one of a person acting in a public role is settled after the model too (rules for
# officials and private roles), so a name's confidence counts both person labels.
PERSON_LABELS = ("OFFICIAL", "PERSON")


def _kin_tags(labels: list[str]) -> list[list[int]]:
    """For each tag, the tags whose probabilities make a character's confidence: B- and I- of its label,
    and of the other person label for a person. The confidence says whether the model reads the character
    as part of such an entity; where the span starts is the decoder's part (a title before a name drew
    I- probability onto the name's first character: 副市长伍浩, B 0.22, I 0.70)."""
    index = {t: i for i, t in enumerate(labels)}
    out = []
    for t in labels:
        label = t.partition("-")[2]
        names = PERSON_LABELS if label in PERSON_LABELS else (label,)
        out.append([index[f"{b}-{x}"] for x in names for b in "BI" if f"{b}-{x}" in index] if label else [index[t]])
    return out


def decode(text: str, windows: list[Window], probs: list[np.ndarray], labels: list[str],
           boundaries: set[int] | None = None, edge_penalty: float = 0.0) -> list[dict]:
    """Spans {start, end, label, confidence} from per-window probabilities of the content tokens.

    Each character takes the probabilities of the window where it is most central; the tag
    sequence is the most probable valid BIO one; confidence is the mean, over the span's characters,
    of the probability that the character is in an entity of the span's label (`_kin_tags`). With
    word `boundaries` (character offsets), a span edge inside a word costs `edge_penalty` in
    log-probability: the model reads characters and places edges one character off (宁|夏, 海南国|家),
    while in the gold fewer than 3 % of spans have an edge inside a pkuseg word (dev, test). The
    encoder never sees whitespace, so a tag run may carry on across a line break; no entity does
    (none in the gold corpus), so a line break ends the span and an I- tag after it opens a new one."""
    own = sorted(owner(windows).items())
    if not own:
        return []
    chars = [c for c, _ in own]
    matrix = np.stack([probs[w][k] for _, (w, k) in own])
    edge_cost = None
    if boundaries is not None and edge_penalty:
        edge_cost = edge_penalty * np.array([[c not in boundaries for c in chars],
                                             [c + 1 not in boundaries for c in chars]])
    tags = viterbi(matrix, labels, edge_cost)
    kin = _kin_tags(labels)
    spans: list[dict] = []
    for i, (c, tag) in enumerate(zip(chars, tags)):
        prefix, _, label = labels[tag].partition("-")
        p = float(matrix[i, kin[tag]].sum())
        if prefix == "I" and spans and spans[-1]["open"] and "\n" not in text[spans[-1]["end"]:c]:
            spans[-1]["end"] = c + 1
            spans[-1]["p"].append(p)
            continue
        if spans:
            spans[-1]["open"] = False
        if prefix in ("B", "I"):
            spans.append({"start": c, "end": c + 1, "label": label, "p": [p], "open": True})
    return [{"start": s["start"], "end": s["end"], "label": s["label"], "confidence": round(sum(s["p"]) / len(s["p"]), 4)}
            for s in spans]
