"""Non-destructive normalization of scraped bulletins.

`normalize` repairs what scraping did to an article (encoding, HTML, character
references left in plain text, pinyin glosses, GBK misalignment, traditional
characters, ASCII punctuation, stray whitespace, trailing page chrome) and
keeps, for every output character, the span of the raw text it came from.
Stages run in a fixed order; each is a set of edits on a `Tracked` text, so
the offsets survive every stage.
"""

from __future__ import annotations

import difflib
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import html as html_stage
from .charmodel import t2s
from .decode import NormalizeError, decode
from .mojibake import SYLLABLE, repair_misaligned, strip_glosses
from .tracked import Tracked

__all__ = ["Normalized", "NormalizeError", "normalize", "normalize_file"]

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_PUNCT = r"\u3001-\u3003\u3008-\u3011\u3014-\u301f\u2018\u2019\u201c\u201d\u2026\u2014\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\u00b7"
_WIDE = f"[{_HAN}{_CJK_PUNCT}]"
_WIDE_RE = re.compile(_WIDE)


@dataclass
class Normalized:
    """Normalized text; `offsets[i]` is the [start, end) span in `raw` that
    `text[i]` stands for. `raw` is the input as decoded text."""

    text: str
    offsets: list[tuple[int, int]]
    notes: list[str] = field(default_factory=list)
    raw: str = ""
    encoding: str = "str"

    def offsets_json(self) -> str:
        return json.dumps({"encoding": self.encoding, "offsets": self.offsets}, separators=(",", ":"))


# --- residue of misalignment ------------------------------------------------
# Orphan glosses, `?!`, U+FFFD, runs of `?`, and `€` (GBK byte 0x80 read alone) inside Han text.

_RESIDUE = re.compile(rf"[?\ufffd]{SYLLABLE}\)|\?!|\ufffd|(?<=[{_HAN}{_CJK_PUNCT},])\?{{2,}}|(?<=[{_HAN}])\u20ac(?=[{_HAN}])")


def _drop_residue(t: Tracked, notes: list[str]) -> Tracked:
    """Lost-byte markers the repair could not use carry no text: drop them."""
    out = t.sub(_RESIDUE, lambda m: "")
    if out is not t:
        notes.append(f"residue-removed: {len(t.text) - len(out.text)} characters")
    return out


# --- traditional to simplified ------------------------------------------------

# Share of Han characters that t2s changes above which a text counts as
# traditional; simplified text changes almost none.
TRADITIONAL_SHARE = 0.05


def _to_simplified(t: Tracked, notes: list[str]) -> Tracked:
    han = re.findall(f"[{_HAN}]", t.text)
    if not han:
        return t
    converter = t2s()
    converted = converter.convert(t.text)
    if converted == t.text:
        return t
    changed = sum(a != b for a, b in zip(han, re.findall(f"[{_HAN}]", converted)))
    if changed < TRADITIONAL_SHARE * len(han):
        return t
    notes.append(f"traditional-to-simplified: {changed} of {len(han)} Han characters")
    if len(converted) == len(t.text):
        return Tracked(converted, t.starts, t.ends)
    # Phrase conversions changed the length: align line by line.
    edits = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, t.text, converted, autojunk=False).get_opcodes():
        if op != "equal":
            edits.append((i1, i2, converted[j1:j2]))
    return t.apply(edits)


# --- punctuation ------------------------------------------------------------------

_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}
_ASCII_PUNCT = re.compile(r"[,;:?!()]")
# Brackets around Chinese ('(传真)', '(一)') are full-width whatever surrounds them.
_PAREN_PAIR = re.compile(r"\(([^()\n]{1,40})\)")
_HAN_RE = re.compile(f"[{_HAN}]")
_QUESTION = re.compile(r"吗|呢|么|吧|嘛|难道|岂|谁|哪|什么|怎|如何|为何|为什么|是否|多少|几|否")
_DEBRIS_COMMA = re.compile(r"[,，]+(?=[。、；：？！”’）》」』])|(?<=[。；！？])[,，]")
_CLAUSE_START = re.compile(r"[。！？；\n]")


def _neighbour(text: str, i: int, step: int) -> str:
    i += step
    while 0 <= i < len(text) and text[i].isspace() and text[i] != "\n":
        i += step
    return text[i] if 0 <= i < len(text) else ""


def _punctuation(t: Tracked, notes: list[str]) -> Tracked:
    def widen(m: re.Match[str]) -> str | None:
        c, i, text = m.group(), m.start(), m.string
        left, right = _neighbour(text, i, -1), _neighbour(text, i, 1)
        if not (_WIDE_RE.match(left or "x") or _WIDE_RE.match(right or "x")):
            return None
        if (left.isascii() and left.isalpha()) or (right.isascii() and right.isalpha()):
            return None
        if c == "?" and _WIDE_RE.match(left or "x"):
            lo = max(0, i - 100)
            clause = text[max((k.end() for k in _CLAUSE_START.finditer(text, lo, i)), default=lo):i]
            if not _QUESTION.search(clause):
                notes.append(f"stray-question-mark@{t.starts[i]}")
                return ""  # a lost-byte marker, not a question
        return _FULL[c]

    def pair(m: re.Match[str]) -> str | None:
        outside = m.string[m.start() - 1: m.start()] + m.string[m.end(): m.end() + 1]
        return f"（{m.group(1)}）" if _HAN_RE.search(m.group(1) + outside) else None

    t = t.sub(_PAREN_PAIR, pair)
    # A mark's neighbour may be a mark that widening changes: repeat until settled.
    for _ in range(3):
        widened = t.sub(_ASCII_PUNCT, widen)
        if widened is t:
            break
        t = widened
    return t.sub(_DEBRIS_COMMA, lambda m: "")


# --- character references ----------------------------------------------------------


def _entities(t: Tracked, notes: list[str]) -> Tracked:
    """Decode the character references a page's text often keeps in scraped feeds (&nbsp;, &amp;, &#8220;);
    an unknown name stays as written."""
    decoded = []

    def decode(m: re.Match[str]) -> str | None:
        c = html.unescape(m.group())
        if c == m.group():
            return None
        decoded.append(m.group())
        return c

    out = t.sub(html_stage.CHARACTER_REFERENCE, decode)
    if decoded:
        notes.append(f"entities-decoded: {len(decoded)}")
    return out


# --- whitespace -------------------------------------------------------------------

_BLANKS = re.compile(r"[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_LINE_BREAK = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")
_SPACES = re.compile(r" {2,}")
# Ideographic spaces beside Chinese are indentation, never word separators.
_WIDE_BLANK = re.compile(rf"(?<={_WIDE})\u3000+|\u3000+(?={_WIDE})")
# A space next to CJK punctuation, or beside a lone Han character ('联 系 人'),
# is layout; one between two Han words ('编辑 邬建玲 陆维刚') separates names.
_LAYOUT_SPACE = re.compile(
    rf"(?<=[{_CJK_PUNCT}]) | (?=[{_CJK_PUNCT}])"
    rf"|(?<=[{_HAN}])(?<![{_HAN}][{_HAN}]) (?=[{_HAN}])|(?<=[{_HAN}]) (?=[{_HAN}](?![{_HAN}]))"
)
_EDGE_SPACE = re.compile(r"^ +| +$", re.M)
_EXTRA_BREAKS = re.compile(r"\n{3,}")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")


def _whitespace(t: Tracked) -> Tracked:
    t = t.sub(_LINE_BREAK, lambda m: "\n")
    t = t.sub(_INVISIBLE, lambda m: "")
    t = t.sub(_WIDE_BLANK, lambda m: "")
    t = t.sub(_BLANKS, lambda m: " ")
    t = t.sub(_SPACES, lambda m: " ")
    t = t.sub(_LAYOUT_SPACE, lambda m: "")
    t = t.sub(_EDGE_SPACE, lambda m: "")
    t = t.sub(_EXTRA_BREAKS, lambda m: "\n\n")
    return t.sub(re.compile(r"^\n+|\n+$"), lambda m: "")


# --- trailing page chrome ---------------------------------------------------------

_TEASER_HEAD = re.compile(r"^[【\[]?(相关(新闻|阅读|链接|推荐|文章|报道)|推荐阅读|延伸阅读|热门(推荐|文章|新闻)|猜你喜欢|更多(新闻|阅读)|往期回顾)[】\]]?[：:]?$")
_CHROME_LINE = re.compile(
    r"^(分享(到|至)?[：:]?.{0,40}|.{0,10}(评论|跟帖)[（(]?\d*[）)]?(条)?|(已有|共)?\d+人(参与|评论|阅读|点赞)|"
    r"(点赞|收藏|打印|关闭|打印本页|关闭窗口|返回顶部|上一篇.*|下一篇.*|【?字体[：:].{0,10}|"
    r"扫一扫.{0,20}|微信|微博|QQ空间|朋友圈|阅读(数|量)?[：:]?\s*\d*|\d+\s*(阅读|评论|赞))"
    r"([ |｜/]+(分享(到|至)?[：:]?|点赞|收藏|打印|关闭|微信|微博|QQ空间|朋友圈|评论[（(]?\d*[）)]?))*)$"
)
# A teaser list is short headlines; a line this long or with a full stop is body.
_TEASER_MAX = 40


def _cut_chrome(t: Tracked, notes: list[str]) -> Tracked:
    lines = t.text.split("\n")
    keep = len(lines)
    while keep and (not lines[keep - 1].strip() or _CHROME_LINE.match(lines[keep - 1].strip())):
        keep -= 1
    for k in range(keep - 1, max(-1, keep - 30), -1):
        if _TEASER_HEAD.match(lines[k].strip()):
            tail = lines[k + 1:keep]
            if all(len(x) <= _TEASER_MAX and "。" not in x for x in tail):
                keep = k
            break
    if keep == len(lines):
        return t
    cut = sum(len(x) + 1 for x in lines[:keep])
    notes.append(f"chrome-cut: {len(lines) - keep} trailing lines")
    return t.apply([(max(cut - 1, 0), len(t.text), "")])


# --- the whole ------------------------------------------------------------------------


def normalize(raw: bytes | str, source: str = "<input>") -> Normalized:
    """Normalize one article. Bytes are decoded (UTF-8 with or without BOM,
    GB18030/GBK, Big5, UTF-16); `source` names the input in errors and notes."""
    notes: list[str] = []
    if isinstance(raw, bytes):
        text, encoding = decode(raw, source)
    elif isinstance(raw, str):
        text, encoding = raw, "str"
    else:
        raise NormalizeError(f"{source}: expected bytes or str, got {type(raw).__name__}")
    t = Tracked.identity(text)
    if html_stage.looks_like_html(text):
        body = html_stage.extract(text)
        if body is None:
            raise NormalizeError(f"{source}: HTML page with no article body found; "
                                 "pass the article's text or a page that contains it")
        notes.append(f"html-extracted: {len(body.text)} of {len(text)} characters")
        t = body  # its references are decoded by the extraction
    else:
        t = _entities(t, notes)
    t = strip_glosses(t)
    # A repair can end next to another lost byte that its run swallowed; repeat until nothing
    # changes, so normalizing normalized text changes nothing.
    for _ in range(3):
        repaired = repair_misaligned(t, notes)
        if repaired.text == t.text:
            break
        t = repaired
    t = _drop_residue(t, notes)
    t = _to_simplified(t, notes)
    t = _punctuation(t, notes)
    t = _whitespace(t)
    t = _cut_chrome(t, notes)
    return Normalized(t.text, t.spans, notes, text, encoding)


def normalize_file(path: str | Path) -> Normalized:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise NormalizeError(f"{path}: cannot read: {e.strerror}") from e
    return normalize(data, source=str(path))
