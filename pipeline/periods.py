"""Normalized periods of DATE spans: ISO first and last day, resolved against the publication date.

jionlp's `parse_time` does the reading. Around it this module rewrites the forms it
misreads (`2021年1-6月` read as the whole year, `1—10月` refused, `十四五`), applies the
project's conventions (`年底` is 31 December, `五年来` in a report is the previous five
calendar years, `截至X` runs from an open start) and refuses to invent precision: a
relative expression without a publication date, or a vague one (`近日` has an end but no
start), keeps `start` None and says why.
"""

from __future__ import annotations

import calendar
import contextlib
import io
import logging
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from spacy.language import Language
from spacy.tokens import Doc, Span

from .charmodel import t2s
from .values import number

# (first year, last year) of the five-year plans by their short names
_PLANS = {"十二五": (2011, 2015), "十三五": (2016, 2020), "十四五": (2021, 2025), "十五五": (2026, 2030)}
# up to publication, open start: a running state or a recent, unbounded past
_UNTIL_NOW = ("有记录以来", "有监测记录以来", "近年来", "近年", "近些年", "近几年", "这些年", "多年来", "连日来", "近日", "日前", "近期", "最近",
              "前不久", "以前", "以往", "此前")
# the publication day itself
_NOW = ("记者发稿", "发稿时", "目前", "当前", "现在", "至今", "如今", "现如今", "今", "今天", "今日", "今晚", "当下")
# refer back to a date named earlier in the text
# dated events that 以来 and 后 count from
_EVENTS = {"新中国成立": date(1949, 10, 1), "改革开放": date(1978, 12, 18), "党的十八大": date(2012, 11, 8),
           "党的十九大": date(2017, 10, 18), "党的二十大": date(2022, 10, 16)}
# restate the year the text is about (全年 after 过去一年), or the one before it (上年)
YEAR_ANAPHORA = {"全年": 0, "当年": 0, "年内": 0, "上年": -1, "上年同期": -1}
ANAPHORA = ("当天", "当日", "同日", "同天", "那时", "其间", "此时")
_CUMULATIVE_PREFIX = ("截至", "截止到", "截止")
_RANGE_SEP = "[-－—–~～至到]"


@dataclass(frozen=True)
class Period:
    start: str | None  # ISO day, None = open or unknown
    end: str | None
    granularity: str | None = None  # day, month, quarter, half, year, span, open
    reason: str | None = None  # why start or end is missing

    def as_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "granularity": self.granularity, "reason": self.reason}


# a relative expression in a document without a publication date: nothing to resolve it against
NEEDS_PUBLISHED = Period(None, None, reason="relative to a publication date the document lacks")
NO_YEARS = Period(None, None, reason="a count of zero years names no period")


def load_jionlp():
    """jionlp, imported once; it prints a banner on import, kept off stdout (JSONL may go there)."""
    with contextlib.redirect_stdout(io.StringIO()):
        import jionlp
    return jionlp


def _last_day(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def _granularity(start: date, end: date) -> str:
    if start == end:
        return "day"
    if start.day == 1 and end == _last_day(end.year, end.month):
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        if months == 1:
            return "month"
        if start.month in (1, 4, 7, 10) and months == 3:
            return "quarter"
        if start.month in (1, 7) and months == 6:
            return "half"
        if start.month == 1 and months == 12:
            return "year"
    return "span"


_YEAR_WORDS = {"今年": 0, "本年": 0, "明年": 1, "去年": -1, "上年": -1}
_MONTHS = re.compile(rf"(?:(\d{{4}})年|(今年|本年|明年|去年|上年))?(\d{{1,2}})月?(?:{_RANGE_SEP}(\d{{1,2}}))?月份?([初底末]?)")
_DAY = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]?")
_CN_DIGIT = "零〇一二三四五六七八九"
# spellings that mean the same period
_SYNONYMS = (("前半年", "上半年"), ("后半年", "下半年"), ("–", "-"), ("—", "-"))


def _months(text: str, published: date | None) -> Period | None:
    """3月份, 1—10月, 2021年1-6月, 今年1—5月, 明年5—6月: jionlp refuses a month without a year and
    reads a month range as the whole year, so these are counted here."""
    m = _MONTHS.fullmatch(text)
    if not m:
        return None
    year, word, m1, m2, edge = m.groups()
    if year is None and published is None:
        return NEEDS_PUBLISHED
    y = int(year) if year else published.year + _YEAR_WORDS.get(word, 0)
    first, last = int(m1), int(m2 or m1)
    if not (1 <= first <= 12 and 1 <= last <= 12):
        return Period(None, None, reason="not a calendar month")
    start = date(y, first, 1)
    end = _last_day(y if last >= first else y + 1, last)  # 8月至2月 runs into the next year
    if edge == "初":
        end = date(y, last, 10)
    elif edge:
        start = end
    return Period(start.isoformat(), end.isoformat(), _granularity(start, end))


def _day(text: str, published: date | None) -> Period | None:
    """2月29日, 2024年12月22日: read here, since jionlp checks a day against a year before it knows which."""
    m = _DAY.fullmatch(text)
    if not m:
        return None
    if m.group(1) is None and published is None:
        return NEEDS_PUBLISHED
    try:
        d = date(int(m.group(1)) if m.group(1) else published.year, int(m.group(2)), int(m.group(3)))
    except ValueError:
        return Period(None, None, reason="no such day")
    return Period(d.isoformat(), d.isoformat(), "day")


def _half_month_or_year(text: str, published: date | None) -> Period | None:
    """上半月/下半月 of the publication month; 上个半年/下个半年 next to the publication half-year."""
    m = re.fullmatch(r"([上下])(个半年|半月)", text)
    if not m:
        return None
    if published is None:
        return NEEDS_PUBLISHED
    y, month = published.year, published.month
    if m.group(2) == "半月":
        start, end = (date(y, month, 1), date(y, month, 15)) if m.group(1) == "上" else \
            (date(y, month, 16), _last_day(y, month))
    else:
        half = (month - 1) // 6 + (-1 if m.group(1) == "上" else 1)  # 0 = first half of y
        y, half = y + half // 2, half % 2
        start, end = date(y, 6 * half + 1, 1), _last_day(y, 6 * half + 6)
    return Period(start.isoformat(), end.isoformat(), _granularity(start, end))


def _arabic(text: str) -> str:
    """二零零四年八月十五 → 2004年8月15: numerals of a year, month or day become digits."""
    import cn2an

    def year(m: re.Match) -> str:
        return "".join(str(_CN_DIGIT.index(c) - 1) if c not in "零〇" else "0" for c in m.group(1)) + "年"

    def numeral(m: re.Match) -> str:
        return str(cn2an.cn2an(m.group(1), "smart")) + m.group(2)

    text = re.sub(rf"([{_CN_DIGIT}]{{4}})年", year, text)
    return re.sub(rf"(?<![{_CN_DIGIT}十])([{_CN_DIGIT}十]{{1,3}})([月日号]|$)",
                  lambda m: numeral(m) if re.search(r"月", text[:m.start()] + m.group(2)) else m.group(0), text)


def _plan(text: str) -> Period | None:
    for name, (y0, y1) in _PLANS.items():
        if name in text:
            return Period(date(y0, 1, 1).isoformat(), date(y1, 12, 31).isoformat(), "span")
    return None


def _years(m: re.Match | None) -> int | None:
    """The whole number of years a match's group 1 writes (五, 三十, 10), or None where it writes none."""
    n = number(m.group(1)) if m else None
    return int(n) if n is not None and float(n).is_integer() else None


def _past_years(text: str, published: date | None) -> Period | None:
    """五年来, 过去五年, 近5年, 这五年: the previous N calendar years before the publication year."""
    m = re.fullmatch(r"(?:过去的?|近|这|最近)?([一二两三四五六七八九十\d]{1,3})年(?:来|间)?", text)
    n = _years(m)
    if n is None or not re.search(r"来|过去|近|这", text):
        return None
    if n == 0:  # 近0年: a digit lost in scraping, not today (jionlp's reading)
        return NO_YEARS
    if published is None:
        return NEEDS_PUBLISHED
    return Period(date(published.year - n, 1, 1).isoformat(), date(published.year - 1, 12, 31).isoformat(), "span")


def _next_years(text: str, published: date | None) -> Period | None:
    """未来五年, 今后一年: the calendar years from the publication year on."""
    n = _years(re.fullmatch(r"(?:未来|今后)([一二两三四五六七八九十\d]{1,3})年", text))
    if n is None:
        return None
    if n == 0:
        return NO_YEARS
    if published is None:
        return NEEDS_PUBLISHED
    return Period(date(published.year, 1, 1).isoformat(), date(published.year + n - 1, 12, 31).isoformat(), "span")


def _jionlp(text: str, base: date) -> tuple[date, date] | None:
    jionlp, before = load_jionlp(), logging.root.manager.disable
    logging.disable(logging.ERROR)  # jionlp logs a traceback to the root logger for each text it cannot read
    try:
        r = jionlp.parse_time(text, time_base={"year": base.year, "month": base.month, "day": base.day})
    except Exception:  # jionlp raises bare ValueError/TypeError/KeyError for what it cannot read
        return None
    finally:
        logging.disable(before)
    if r.get("type") not in ("time_point", "time_span") or not isinstance(r.get("time"), list):
        return None
    a, b = r["time"]
    if not all(isinstance(x, str) and re.match(r"\d{4}-\d\d-\d\d", x) for x in (a, b)):
        return None  # an open bound (-inf/inf): handled by the callers' own rules
    return date.fromisoformat(a[:10]), date.fromisoformat(b[:10])


@lru_cache(maxsize=4096)
def parse_period(text: str, published: date | None = None, before: str = "") -> Period:
    """Period of one DATE span; `before` is the text just before it: 截至X is a running total up to X."""
    t = t2s().convert(re.sub(r"\s+", "", text))
    for a, b in _SYNONYMS:
        t = t.replace(a, b)
    period = _read(re.sub(r"^[从自]", "", t), published, before)
    if before.endswith(_CUMULATIVE_PREFIX) and period.end and period.start:
        return Period(None, period.end, "open", reason="no stated start")
    return period


def _read(t: str, published: date | None, before: str) -> Period:
    plan = _plan(t)
    if plan:
        return plan
    if t in _UNTIL_NOW or t in _NOW:
        if published is None:
            return NEEDS_PUBLISHED
        p = published.isoformat()
        if t in _NOW:
            return Period(p, p, "day")
        return Period(None, p, "open", reason="no stated start")
    event = re.fullmatch(r"(.+?)(以来|后)", t)
    if event and event.group(1) in _EVENTS:
        if published is None:
            return NEEDS_PUBLISHED
        return Period(_EVENTS[event.group(1)].isoformat(), published.isoformat(), "span")
    if t in ANAPHORA:
        return Period(None, None, reason="refers to an earlier date")
    years = _past_years(t, published) or _next_years(t, published)
    if years:
        return years
    since = re.fullmatch(r"(.+?)(?:以来|至今)", t)
    if since:  # 2022年以来: from the start of 2022 to publication (an open end when that date is unknown)
        head = parse_period(since.group(1), published)
        if head.start and published is not None:
            return Period(head.start, published.isoformat(), "span")
        if head.start:
            return Period(head.start, None, "open", reason="runs to the publication date, which the document lacks")
    t = _arabic(t)
    for read in (_months, _day, _half_month_or_year):
        found = read(t, published)
        if found:
            return found
    # a deadline (2018年4月1日前) covers its own day or year, as 到2027年 does
    rewritten = t[:-1] if t.endswith("前") and not t.endswith("以前") else t
    # a reading that changes with the reference day is relative: it needs the publication date
    probe = _jionlp(rewritten, date(2098, 6, 15))
    if probe is None:
        return Period(None, None, reason="not a calendar expression")
    relative = probe != _jionlp(rewritten, date(2097, 3, 10))
    if relative and published is None:
        return NEEDS_PUBLISHED
    read = _jionlp(rewritten, published) if relative else probe
    if read is None:  # readable against other days but open against this one (a range ending after it)
        return Period(None, None, reason="not a closed period relative to the publication date")
    start, end = read
    if re.search(r"[底末]前?$", t):  # 年底, 2024年12月底前: the last day
        start = end
    elif re.search(r"年初$", t):
        end = _last_day(start.year, 1)
    return Period(start.isoformat(), end.isoformat(), _granularity(start, end))


def published_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


@Language.factory("jianbao_periods", assigns=["span._.date"], requires=["doc.ents"])
def make_periods(nlp: Language, name: str):
    return resolve_dates


def resolve_dates(doc: Doc) -> Doc:
    """Sets `span._.date` on every DATE. 当天 takes the previous resolved date; 全年 and 上年 take
    the year of the previous resolved date (the year the passage is about), not the publication year."""
    published = published_date(doc._.published)
    text = doc.text  # built anew on each access: read it once
    previous: Period | None = None
    for ent in doc.ents:
        if ent.label_ != "DATE":
            continue
        before = text[max(0, ent.start_char - 3):ent.start_char]
        period = parse_period(ent.text, published, before)
        if previous is not None and (previous.start or previous.end):
            year = int((previous.start or previous.end)[:4])
            if ent.text in ANAPHORA:
                period = previous
            elif ent.text in YEAR_ANAPHORA:
                y = year + YEAR_ANAPHORA[ent.text]
                period = Period(f"{y}-01-01", f"{y}-12-31", "year")
        if period.start or period.end:
            previous = period
        ent._.date = period
    return doc


Doc.set_extension("published", default=None, force=True)
Span.set_extension("date", default=None, force=True)
