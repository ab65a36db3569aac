"""A character-frequency model of Chinese, used to judge repair candidates.

Counts come from jieba's word dictionary (a dependency that ships word
frequencies): each word adds its frequency to each of its characters.
Traditional characters are scored as their simplified form, and common
full-width punctuation gets a fixed share, since the dictionary holds words only.
"""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources

# Share of punctuation in running government text, roughly one mark in twelve
# characters; only the order of magnitude matters for ranking candidates.
_PUNCT_SHARE = {"，": 0.04, "。": 0.025, "、": 0.015, "“": 0.006, "”": 0.006, "；": 0.004,
                "：": 0.003, "（": 0.002, "）": 0.002, "《": 0.002, "》": 0.002,
                "？": 0.001, "！": 0.001, "　": 0.01}
PUNCTUATION = frozenset(_PUNCT_SHARE)


class CharModel:
    def __init__(self, counts: dict[str, float], pairs: dict[str, float]):
        self._pairs = pairs
        total = sum(counts.values())
        self._logp = {c: math.log(n / total) for c, n in counts.items()}
        for c, share in _PUNCT_SHARE.items():
            self._logp[c] = math.log(share)
        # Unseen characters (rare Han, symbols, ASCII inside Han text) score
        # below the rarest dictionary character.
        self.floor = min(self._logp.values()) - 2.0

    def logp(self, char: str) -> float:
        return self._logp.get(_simplified(char), self.floor)

    def in_context(self, prev: str, char: str, nxt: str) -> float:
        """How well `char` fits between its neighbours: its own frequency plus
        how often it forms a dictionary word with each of them."""
        c = _simplified(char)
        return (self.logp(char) + math.log1p(self._pairs.get(_simplified(prev) + c, 0.0))
                + math.log1p(self._pairs.get(c + _simplified(nxt), 0.0)))

    def mean_logp(self, text: str) -> float:
        if not text:
            return 0.0
        return sum(self.logp(c) for c in text) / len(text)


@lru_cache(maxsize=4096)
def _simplified(char: str) -> str:
    out = t2s().convert(char)
    return out if len(out) == 1 else char


@lru_cache(maxsize=1)
def t2s():
    """OpenCC's traditional-to-simplified converter, loaded once for every stage that needs it."""
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def char_model() -> CharModel:
    counts: dict[str, float] = {}
    pairs: dict[str, float] = {}
    with resources.files("jieba").joinpath("dict.txt").open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.split(" ")
            if len(parts) < 2:
                continue
            word, freq = parts[0], float(parts[1])
            for c in word:
                if "\u4e00" <= c <= "\u9fff":
                    counts[c] = counts.get(c, 0.0) + freq
            for k in range(len(word) - 1):
                pairs[word[k:k + 2]] = pairs.get(word[k:k + 2], 0.0) + freq
    return CharModel(counts, pairs)
