"""Scraping damage specific to re-published Chinese news: pinyin glosses and
GBK byte-misaligned runs.

Some aggregators convert articles to traditional characters, gloss characters
with pinyin (`網(wǎng)`) and pass the text through GBK with a byte lost. The
decoder then pairs each trail byte with the next lead byte until an ASCII trail
byte resynchronises, e.g. `投訴` = CD B6 D4 56 read one byte early as
`魍对V` = F7 CD B6 D4 56. The lost byte shows as `?`, and the glosser sometimes
glossed the spurious character the shift made, leaving an orphan `zhèn)`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .charmodel import PUNCTUATION, char_model
from .tracked import Tracked

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
# One pinyin syllable carrying a tone mark: a toneless "(de)" is too easily real text.
SYLLABLE = rf"[a-zü]{{0,5}}[{_TONED}][a-zü]{{0,4}}"
_GLOSS = re.compile(rf"(?<=[^\s(（])[(（]({SYLLABLE})[)）]")
_HAN_CHAR = re.compile(r"[\u4e00-\u9fff]")
_TRIGGER = re.compile(rf"[?\ufffd](?:({SYLLABLE})\))?")

# The site folds full-width punctuation to ASCII after the damage, so inside a
# misaligned run these ASCII marks stand for the GBK pairs they were.
_UNFOLD = {"!": "！", " ": "　", ",": "，", ";": "；", ":": "：", "(": "（", ")": "）"}
_LOST = "?\ufffd"
_MAX_RUN = 80
# A repair must raise the mean log-probability per character by this much (nats):
# misaligned runs score near the floor, real text far above it.
MARGIN = 3.0
# Characters this rare (log-probability) mark a run as possibly misaligned.
_RARE = -12.0
# A lost character is restored only if it is at least this common (log-probability).
_LOST_MIN_LOGP = -9.0


def strip_glosses(t: Tracked) -> Tracked:
    """Drop `(pinyin)` after a character: `網(wǎng)` -> `網`."""
    return t.sub(_GLOSS, lambda m: "")


@dataclass
class _Run:
    end: int  # index after the run in the text
    data: bytes
    has_wide: bool  # holds a character other than ASCII

    def realigned(self) -> tuple[str, int | None] | None:
        """The run re-paired one byte later, and the lead byte left dangling at
        its end when no ASCII trail byte closed it (the next lost character's)."""
        rest, dangling = self.data[1:], None
        if len(rest) % 2:
            rest, dangling = rest[:-1], rest[-1]
        try:
            text = rest.decode("gbk")
        except UnicodeDecodeError:
            return None
        # Bytes the decoder dropped leave stray symbols from GBK's symbol rows.
        text = "".join(c for c in text if not unicodedata.category(c).startswith(("S", "C")))
        return text, dangling


def _gbk(char: str) -> bytes | None:
    try:
        return char.encode("gbk")
    except UnicodeEncodeError:
        return None


def _scan_run(text: str, start: int) -> _Run | None:
    """GBK bytes of the run starting at `start`, up to and including the first
    ASCII character that can be a trail byte (it ends the misalignment)."""
    data = bytearray()
    wide = False
    i = start
    while i < len(text) and i - start < _MAX_RUN:
        c = text[i]
        if c in _LOST:
            break
        if c in _UNFOLD:
            data += _UNFOLD[c].encode("gbk")
        elif ord(c) < 0x80 and not 0x40 <= ord(c) <= 0x7E:
            break
        else:
            b = _gbk(c)
            if b is None:
                break
            data += b
            if len(b) == 1:  # a trail byte standing alone closes the run
                return _Run(i + 1, bytes(data), wide)
            wide = True
        i += 1
    return _Run(i, bytes(data), wide)


@lru_cache(maxsize=1)
def _gbk_table() -> dict[tuple[int, int], str]:
    """Every two-byte GBK character by its (lead, trail) bytes."""
    table = {}
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            try:
                table[(lead, trail)] = bytes([lead, trail]).decode("gbk")
            except UnicodeDecodeError:
                pass
    return table


def _reads_as(char: str, syllable: str) -> bool:
    from pypinyin import Style, pinyin

    return syllable in pinyin(char, style=Style.TONE, heteronym=True)[0]


def _glossed_leads(prev: str, gloss: str) -> set[int]:
    """Lead bytes of the lost character, from an orphan gloss: it glossed the
    spurious character made of the previous character's trail byte and that
    lead byte."""
    prev_bytes = _gbk(_UNFOLD.get(prev, prev)) if prev else None
    if not prev_bytes or len(prev_bytes) != 2:
        return set()
    table = _gbk_table()
    return {lead for lead in range(0x81, 0xFF)
            if (prev_bytes[1], lead) in table and _reads_as(table[(prev_bytes[1], lead)], gloss)}


def _lost_char(leads: set[int] | None, trail: int | None, prev: str, nxt: str) -> str:
    """The character with one of `leads` (None: any) and `trail` (None: any)
    that best fits between `prev` and `nxt`; empty when nothing common enough
    fits or nothing is known."""
    if leads is None and trail is None:
        return ""
    model = char_model()
    table = _gbk_table()
    # Look up only the byte pairs that fit, lead-major as the table is built.
    lead_bytes = sorted(leads) if leads is not None else range(0x81, 0xFF)
    trail_bytes = (trail,) if trail is not None else range(0x40, 0xFF)
    fits = [table[(lead, t)] for lead in lead_bytes for t in trail_bytes
            if (lead, t) in table and model.logp(table[(lead, t)]) >= _LOST_MIN_LOGP]
    if not fits:
        return ""
    # Punctuation forms no dictionary words, so context cannot speak for it:
    # where it is the most common fit (the lost lead byte of 。), it wins.
    common = max(fits, key=model.logp)
    if common in PUNCTUATION:
        return common
    return max(fits, key=lambda c: model.in_context(prev, c, nxt))


def _gain(model, original: str, candidate: str) -> float:
    if not candidate:
        return 0.0
    return model.mean_logp(candidate) - model.mean_logp(original)


def repair_misaligned(t: Tracked, notes: list[str]) -> Tracked:
    """Re-pair GBK bytes after each lost-byte marker where that is clearly
    more plausible; otherwise keep the text and note it."""
    model = char_model()
    text = t.text
    edits = []
    pos = 0
    dangling: int | None = None  # lead byte left over by the run just before
    for m in _TRIGGER.finditer(text):
        if m.start() < pos:
            continue
        gloss = m.group(1)
        prev = text[m.start() - 1] if m.start() else ""
        leads = None
        if gloss:
            leads = _glossed_leads(prev, gloss)
            if dangling is not None and m.start() == pos:
                leads = (leads & {dangling}) or {dangling}
        dangling = None
        run = _scan_run(text, m.end())
        repair = None
        # First choice: the run re-paired, with the lost character before it.
        # `?!` is the lost lead byte of 。 followed by its trail byte paired
        # with the next lead byte as ！: the signature of a shift.
        # A lone Latin letter glued to Han text is a trail byte read alone.
        after_han = _HAN_CHAR.match(text[:m.start()].rstrip(_LOST)[-1:]) is not None
        next_is_letter = run.end < len(text) and text[run.end].isascii() and text[run.end].isalpha()
        closed_by_letter = run.end > m.end() and text[run.end - 1].isascii() and after_han and not next_is_letter
        suspicious = (gloss or closed_by_letter or text.startswith("?!", m.start())
                      or any(model.logp(c) <= _RARE for c in text[m.end():run.end] if ord(c) > 0x7F))
        shifted = run.realigned() if run.data and suspicious else None
        if shifted is not None:
            realigned, left = shifted
            realigned = "".join(c for c in realigned if model.logp(c) > model.floor)
            candidate = _lost_char(leads, run.data[0], prev, realigned[:1] or text[run.end:run.end + 1]) + realigned
            if _gain(model, text[m.start():run.end], candidate) >= MARGIN:
                repair = (run.end, candidate, left)
        # Else, where a character was certainly lost, restore it alone.
        if repair is None and leads:
            candidate = _lost_char(leads, None, prev, text[m.end():m.end() + 1])
            if _gain(model, m.group(), candidate) >= MARGIN:
                repair = (m.end(), candidate, None)
        where = t.starts[m.start()]
        if repair is not None:
            end, candidate, dangling = repair
            edits.append((m.start(), end, candidate))
            notes.append(f"gbk-realigned@{where}: {text[m.start():end]!r} -> {candidate!r}")
            pos = end
        elif gloss:
            notes.append(f"gbk-unrepaired@{where}: {m.group()!r}")
    return t.apply(edits) if edits else t
