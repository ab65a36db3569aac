"""Damage clean simplified text the way the scraped seeds are damaged.

Used by the tests (fixtures made on the fly) and by `evaluation.normalize_similarity`.
The steps mirror what the seeds show: conversion to traditional, pinyin glosses
after some characters, GBK runs shifted by a lost byte (`?` for the lost byte,
sometimes an orphan gloss of the spurious character), a stray comma before full
stops, and full-width punctuation folded to ASCII.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache

_FOLD = str.maketrans({"，": ",", "；": ";", "：": ":", "？": "?", "！": "!", "（": "(", "）": ")", "\u3000": " "})
_HAN = re.compile(r"[\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


def to_traditional(text: str) -> str:
    return _s2t().convert(text)


def gloss(char: str) -> str:
    """`網(wǎng)`; a neutral-tone reading (的 de) gets no gloss, as in the seeds."""
    from pypinyin import Style, pinyin

    reading = pinyin(char, style=Style.TONE)[0][0]
    return f"{char}({reading})" if reading != pinyin(char, style=Style.NORMAL)[0][0] else char


def add_glosses(text: str, rng: random.Random, rate: float = 0.06) -> str:
    return "".join(gloss(c) if _HAN.match(c) and rng.random() < rate else c for c in text)


def misalign(text: str, i: int) -> str:
    """Lose the lead byte of the character at `i` and decode the rest of the
    following stretch one byte early, as a GBK decoder would."""
    end = text.find("\n", i)
    end = len(text) if end < 0 else end
    data = text[i:end].encode("gbk", errors="ignore")
    shifted = data[1:].decode("gbk", errors="ignore")
    return text[:i] + "?" + shifted + text[end:]


def add_misalignment(text: str, rng: random.Random, runs: int = 3) -> str:
    for _ in range(runs):
        han = [m.start() for m in _HAN.finditer(text)]
        if not han:
            break
        text = misalign(text, rng.choice(han))
    return text


def add_comma_debris(text: str, rng: random.Random, rate: float = 0.3) -> str:
    return re.sub("。", lambda m: "，。" if rng.random() < rate else "。", text)


def damage(text: str, seed: int = 0, runs: int = 3) -> str:
    """Traditional + glosses + misaligned runs + debris + ASCII punctuation."""
    rng = random.Random(seed)
    text = to_traditional(text)
    text = add_comma_debris(text, rng)
    text = add_misalignment(text, rng, runs)
    text = add_glosses(text, rng)
    return text.translate(_FOLD)
