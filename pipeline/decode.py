"""Bytes to text: BOMs first, then strict UTF-8, then charset detection."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes


class NormalizeError(ValueError):
    """Input the normalizer cannot turn into text; the message says what to do."""


# Encodings a Chinese bulletin arrives in. Detection is limited to these so
# that short GBK text is not read as a Cyrillic or Latin code page.
CANDIDATES = ["utf_8", "gb18030", "big5", "utf_16", "utf_16_le", "utf_16_be"]
_BOMS = [(codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
         (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16")]


# Where the characters of a Chinese article lie: ASCII, general and CJK punctuation, CJK ideographs
# (extension A and unified), fullwidth forms. UTF-16 read without a byte-order mark turns any even run
# of bytes into characters, mostly outside these.
_CHINESE_TEXT = [(0x09, 0x7E), (0x2000, 0x206F), (0x3000, 0x303F), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
                 (0xFF00, 0xFFEF)]
_UTF16_PLAUSIBLE = 0.9  # share of non-space characters in those ranges that BOM-less UTF-16 must reach


def _plausible_utf16(text: str) -> bool:
    chars = [ord(c) for c in text if not c.isspace()]
    inside = sum(any(lo <= c <= hi for lo, hi in _CHINESE_TEXT) for c in chars)
    return bool(chars) and inside >= _UTF16_PLAUSIBLE * len(chars)


def decode(raw: bytes, source: str = "<input>") -> tuple[str, str]:
    """Return (text, encoding name)."""
    if not raw:
        raise NormalizeError(f"{source}: input is empty; give a file with article text")
    for bom, name in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(name), name
            except UnicodeDecodeError as e:
                raise _undecodable(source, f"it starts with a {name} byte-order mark but {e.reason}") from e
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(raw, cp_isolation=CANDIDATES).best()
    if best is None or best.encoding is None:
        raise _undecodable(source, "it is not text in UTF-8, GB18030/GBK, Big5 or UTF-16 (binary file?)")
    text = str(best)
    if "\x00" in text:
        raise _undecodable(source, f"it decodes as {best.encoding} only with NUL characters (binary file?)")
    if best.encoding.startswith("utf_16") and not _plausible_utf16(text):
        raise _undecodable(source, f"read as {best.encoding} without a byte-order mark it is not Chinese text "
                                   "(binary file?)")
    return text, best.encoding


def _undecodable(source: str, why: str) -> NormalizeError:
    return NormalizeError(f"{source}: cannot decode: {why}. Convert it to UTF-8 "
                          "(e.g. `iconv -f ENCODING -t UTF-8`) or check that it is an article.")
