"""Normalized values of figures (STAT spans): number, unit, qualifier.

`3万余人次` → 30000 人次 "gt"; `1.6亿元` → 160000000 元; `20--30人` → 20..30 人 "range";
`近[万名]` → 10000 名 "lt". Chinese numerals go through cn2an, which rejects the 余/多
suffixes and a bare 万, so those are taken off around it. Approximation words outside
the span (近, 约, 超过, 逾 before it; 以上, 以下 after it) set the qualifier, as 余, 多
and 左右 inside it do. Whatever does not read as a number keeps `value` None and says why.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass

from spacy.language import Language
from spacy.tokens import Doc, Span

_CN_DIGITS = "零〇一二两双三四五六七八九十百千万亿"
_MULT = {"万亿": 10**12, "亿": 10**8, "万": 10**4, "千": 10**3, "百": 10**2}
_ARABIC = r"\d+(?:,\d{3})*(?:\.\d+)?"
# 千米, 千克, 千瓦 (units of a thousand) and 百分点: here 千 and 百 begin the unit, they multiply nothing
_THOUSAND = r"千(?!米|克|瓦|卡|伏|帕|公顷|赫|焦|兆)"
_HUNDRED = r"百(?!分点|分點)"
_AMOUNT = (rf"(?:(?P<ar>{_ARABIC})(?P<mult>万亿|亿|万|{_THOUSAND}|{_HUNDRED})?|"
           rf"(?P<cn>(?:[零〇一二两双三四五六七八九十万亿]|{_THOUSAND}|{_HUNDRED})+(?:点[零〇一二三四五六七八九]+)?))")
_FIGURE = re.compile(rf"^(?P<sign>[-−]|零下|负)?{_AMOUNT}(?P<more>[余多])?(?P<mult2>万亿|亿|万)?(?P<more2>[余多])?(?P<unit>.*?)(?P<tail>左右)?$")
_RANGE = re.compile(rf"^(?P<low>.+?)\s*(?:-{{1,2}}|—{{1,2}}|–|~|～|至|到)\s*(?P<high>.+)$")
_PERCENT_WORDS = re.compile(r"^(?P<sign>负)?百分之(?P<n>.+)$")
# traditional numeral characters the simplified patterns read
_TRADITIONAL_NUMERALS = str.maketrans("萬億點兩", "万亿点两")
_FRACTION = re.compile(r"^(\d+)/(\d+)$")
# (the span conventions keep these words outside a STAT span: pipeline/conventions.py)
QUALIFIERS_BEFORE = (("gt", ("超过", "多于", "高于", "逾", "超")), ("lt", ("将近", "接近", "不到", "不足", "低于", "近")),
                     ("approx", ("大约", "约为", "约")))
QUALIFIERS_AFTER = (("ge", ("以上",)), ("le", ("以下", "以内")))


@dataclass
class Value:
    value: float | int | None
    unit: str
    qualifier: str = "eq"  # eq, gt, ge, lt, le, approx, range
    value_max: float | int | None = None
    reason: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def number(figure: str) -> float | int | None:
    """The number a figure's digits or Chinese numerals write (1,200 · 三十 · 两 · 万), else None."""
    import cn2an

    if re.fullmatch(_ARABIC, figure):
        n = float(figure.replace(",", ""))
        return int(n) if n.is_integer() else n
    if figure == "双":
        return 2
    if figure in _MULT or re.fullmatch("[千百]?[万亿]+", figure):
        product = 1
        for ch in figure:
            product *= {"千": 1000, "百": 100, "万": 10**4, "亿": 10**8}[ch]
        return product
    try:
        n = cn2an.cn2an(figure, "smart")
    except (ValueError, KeyError):
        return None
    return int(n) if float(n).is_integer() else float(n)


def _amount(text: str) -> tuple[float | int | None, str, bool]:
    """(value, unit, has 余/多) of one figure without outside context."""
    m = _FIGURE.match(text.translate(_TRADITIONAL_NUMERALS))  # one character for one: positions hold
    if not m or not (m.group("ar") or m.group("cn")):
        return None, text, False
    base = number(m.group("ar") or m.group("cn"))
    if base is None:
        return None, text, False
    for mult in (m.group("mult"), m.group("mult2")):
        if mult:
            base = base * _MULT[mult]
    if isinstance(base, float):
        base = int(round(base)) if abs(base - round(base)) < 1e-6 else round(base, 6)
    if m.group("sign"):
        base = -base
    return base, text[m.start("unit"):m.end("unit")], bool(m.group("more") or m.group("more2"))


def _outside(before: str, after: str) -> str:
    """The qualifier set by words around the span: 近, 超过 before it; 以上, 以下 after it (which win)."""
    qualifier = "eq"
    for name, words in QUALIFIERS_BEFORE:
        if before.endswith(words):
            qualifier = name
            break
    for name, words in QUALIFIERS_AFTER:
        if after.startswith(words):
            qualifier = name
    return qualifier


def parse_value(text: str, before: str = "", after: str = "") -> Value:
    """The value of a STAT span `text`; `before`/`after` are a few characters around it."""
    text = unicodedata.normalize("NFKC", text).strip()
    percent = _PERCENT_WORDS.match(text.translate(_TRADITIONAL_NUMERALS))
    if percent:  # 百分之五 is 5 %
        n = number(percent.group("n"))
        if n is not None:
            return Value(-n if percent.group("sign") else n, "%", _outside(before, after))
    fraction = _FRACTION.match(text)
    if fraction:
        return Value(round(int(fraction.group(1)) / int(fraction.group(2)), 6), "", "eq")
    qualifier = _outside(before, after)
    rng = _RANGE.match(text)
    if rng:
        high, unit, _ = _amount(rng.group("high"))
        low, low_unit, _ = _amount(rng.group("low") + (unit if not re.search(r"\D$", rng.group("low")) else ""))
        if low is not None and high is not None:
            if low_unit and low_unit != unit:  # 3万至5万元: the multiplier sits on each side
                unit = unit or low_unit
            return Value(low, unit, "range", high)
    value, unit, more = _amount(text)
    if value is None:
        return Value(None, text, qualifier, reason="not a number with a unit")
    if more:
        qualifier = "gt"
    if text.endswith("左右"):
        qualifier = "approx"
    return Value(value, unit, qualifier)


# characters of context the qualifier words (近, 超过, 以上) are looked for in
_CONTEXT = 3


@Language.factory("jianbao_values", assigns=["span._.value"], requires=["doc.ents"])
def make_values(nlp: Language, name: str):
    return set_values


def set_values(doc: Doc) -> Doc:
    """Sets `span._.value` on every STAT."""
    text = doc.text  # built anew on each access: read it once
    for ent in doc.ents:
        if ent.label_ == "STAT":
            ent._.value = parse_value(ent.text, text[max(0, ent.start_char - _CONTEXT):ent.start_char],
                                      text[ent.end_char:ent.end_char + _CONTEXT])
    return doc


Span.set_extension("value", default=None, force=True)
