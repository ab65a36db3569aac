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
    return text, best.encoding


def _undecodable(source: str, why: str) -> NormalizeError:
    return NormalizeError(f"{source}: cannot decode: {why}. Convert it to UTF-8 "
                          "(e.g. `iconv -f ENCODING -t UTF-8`) or check that it is an article.")
