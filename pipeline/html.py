"""HTML pages: the article body through trafilatura, mapped back to the source.

trafilatura returns plain text with no positions, so each extracted character
is found again, in order, in the page's visible text (tags skipped, entities
decoded) to recover its span in the HTML.
"""

from __future__ import annotations

import html as html_lib
import re

from .tracked import Tracked

_LOOKS_HTML = re.compile(r"<(?:!doctype\s+html|html|head|body|p|div|br|article|span|table)\b", re.I)
# a character reference (&nbsp;, &amp;, &#8220;, &#x201C;): in a page, and left as text in scraped feeds
CHARACTER_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_TOKEN = re.compile(
    r"<!--.*?-->|<(script|style|noscript|template)\b.*?</\1\s*>|<[^>]*>|" + CHARACTER_REFERENCE.pattern + r"|[^<&]+|[<&]",
    re.I | re.S,
)
# A lost paragraph is searched for at most this far ahead, so that one
# unmatched character cannot pull the alignment to the end of the page.
_LOOKAHEAD = 20000


def looks_like_html(text: str) -> bool:
    return len(_LOOKS_HTML.findall(text[:5000])) >= 2


def _visible(page: str) -> tuple[str, list[tuple[int, int]]]:
    """The page's non-whitespace visible characters and their spans in it."""
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    for m in _TOKEN.finditer(page):
        tok = m.group()
        if tok.startswith("<") and len(tok) > 1:
            continue
        if tok.startswith("&"):
            for c in html_lib.unescape(tok):
                if not c.isspace():
                    chars.append(c)
                    spans.append((m.start(), m.end()))
            continue
        for k, c in enumerate(tok):
            if not c.isspace():
                chars.append(c)
                spans.append((m.start() + k, m.start() + k + 1))
    return "".join(chars), spans


def extract(page: str) -> Tracked | None:
    """The article body with spans into `page`, or None if nothing was found."""
    import trafilatura

    body = trafilatura.extract(page, output_format="txt", include_comments=False,
                               include_tables=True, favor_recall=True)
    if not body or not body.strip():
        return None
    visible, vspans = _visible(page)
    spans: list[tuple[int, int]] = []
    cursor = 0
    last = (0, 0)
    for line in body.split("\n"):
        solid = "".join(c for c in line if not c.isspace())
        hit = visible.find(solid, cursor, cursor + _LOOKAHEAD + len(solid)) if solid else -1
        for c in line + "\n":
            if c.isspace():
                spans.append((last[1], last[1]))
                continue
            if hit >= 0:
                k = hit
                hit += 1
            else:
                k = visible.find(c, cursor, cursor + _LOOKAHEAD)
            if k >= 0:
                last = vspans[k]
                cursor = k + 1
            spans.append(last)
    text = body + "\n"
    return Tracked.mapped(text[:-1], spans[:-1])
