"""`jianbao_relations`: links each figure (STAT) to its agencies, period, place and indicator.

The AGENCY and PERIOD rules are the spec's (../shared/spec/LABELS.md, "Relations"):
agencies acting in the figure's own sentence, else those acting earlier in its
paragraph, none when a place, company or person is the subject; the nearest DATE
before the figure in its paragraph, never a later one, never a comparison baseline,
none for a physical size, and for a rate (每年, 每天) only one in its own sentence.
Rules, not a model, so that readers of these bulletins can see and tune why a link
was made: every rule below is one named constant or one short function.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc, Span

SENTENCE_END = "。！？!?\n"
CLAUSE_END = SENTENCE_END + "，,；;：:"
PART_END = SENTENCE_END + "；;"  # a sentence's ；-parts
# between two agencies of one list: 市场监管、公安和街道办事处; 陕西省纪委监委
LIST_JOINERS = re.compile(r"^(?:|、|和|及|以及|与|同|暨|/|会同|联合)$")
# a body the agent works with in the figure's own ；-part (还会同人社部门…追回基金4.8亿元) acts with it
PARTNER_BEFORE = re.compile(r"(?:会同|联合|协同|携手)$")
# an agent heads its clause: before it stand only dates, punctuation, a body's term (二十届中央) and these words
AGENT_CLAUSE_OPENERS = re.compile(r"^(?:[\s（）()“”\"]|全省|全市|全区|全县|全国|各级|各地|各|同时|此外|另外|其中|并|还|由|"
                                  r"据|今天|今日|近日|日前|目前|第?[一二三四五六七八九十]+届)*$")
# a body that is urged or directed to act, acts (督促指导陕西省纪委监委快查严处，对3个责任单位…追责问责)
PIVOT_BEFORE = re.compile(r"^[^，,；;：:]{0,4}?(?:督促|指导|责成|督导)$")
# a body that only guides or backs an event (由X指导、Y主办) or that qualifies the subject (国资委监管企业利润增长,
# 中央企业完成投资)
# does not act; the event's hosts (由A和B共同主办的…) do
NOT_ACTING_AFTER = re.compile(r"^(?:指导|支持|监制)[、，,]|^(?:监管|所属|直属|下属)?企业|^(?:监管|所属|直属|下属)单位")
HOSTING_AFTER = re.compile(r"^(?:共同|联合)?(?:主办|承办|举办)")
# 记者从X(举行的发布会上)获悉, 来自X的数据显示: X is the source that reports the paragraph's figures
SOURCE_BEFORE, SOURCE_AFTER = ("从", "据", "来自"), re.compile(r"了解到|获悉|获得|得到|发布|消息|数据")
# a work plan names the bodies that carry an item out after it (…1500公里；…（牵头单位：交通厅、公安厅）): they act for
# every figure of the item, across its ；-parts; any other agent that stands after the figure acts only in its ；-part
LEAD_UNITS = re.compile(r"(?:牵头|责任)单位[：:][^）)]*$")
# an organisation listed with the agency (中国物流与采购联合会、国家统计局今天公布) is a co-author, not the
# clause's head that would make the agency an object: the list word after a blanked organisation
CO_AUTHOR_JOINER = re.compile(r"(?<= )[、和与及]")
# what a reporting body does in a paragraph's opening clause (dates and 近日 may stand between)
REPORTING = re.compile(r"^[^，,；;。]{0,16}?(?:发布|通报|公布|介绍|宣布|了解到|获悉|透露)")
# the speaker's own "we" (work reports): the agent is unstated, so the figure has no AGENCY link
UNSTATED_AGENT = "我们"
# a DATE right after one of these is a comparison baseline, not the figure's period (创20年新高: a record)
BASELINE_BEFORE = ("较", "比", "同比", "相比", "对比", "与", "环比", "由", "创")
# dates that restate the year a paragraph opened with (过去一年，…全年实现…): the figure takes the opening one
RESTATING_DATES = ("全年", "当年", "年内")
# a DATE in an earlier sentence governs later ones only as the topic of its clause: before it stand only these
TOPIC_OPENERS = re.compile(r"^(?:[\s（）()“”\"—]|刚刚过去的|过去的|截至|截止|自|从|在|于|到|至|当地时间|据|今天|今日|其中|同时|此外)*$")
# a calendar day or month inside a cluster such as 今天（1月13日）15时: the period a figure is linked to
CALENDAR = re.compile(r"\d+[年月日]|[一二三四五六七八九十]+月")
CLUSTER_JOINERS = re.compile(r"^[\s（）()]*$")
# the day a news item reports, written with its calendar day (X今天（10月28日）闭幕。本届…设立113个): it governs the
# item's later sentences too, though it does not open its clause
NEWS_DAYS = ("今天", "今日", "昨天", "昨日", "昨晚", "今晚", "当天")
# a figure that measures a thing (全长约188公里, 右线长5963米, 设计时速160公里) is not counted over a period: no PERIOD
PHYSICAL_SIZE = re.compile(r"(?:全长|总长|总长度|长度|[线桥坝堤]长|全程|时速|设计时速|面积|跨度|主跨|海拔|深度|宽度|高度|直径|储量|库容)"
                           r"[约达为近超逾]*$")
# a rate (建成后每年可供电550亿千瓦时, 每日对开1列) is not counted over the date of an earlier sentence, the day
# the news reports or the year a paragraph opened with: only a date in its own sentence gives it a PERIOD
RATE = re.compile(r"每(?:年|天|日|小时|周|月)")
# scope words that stand for the article's own place, with the level they name
SCOPE_WORDS = {"全省": "省", "我省": "省", "本省": "省", "全区": "区", "我区": "区", "全市": "市", "我市": "市",
               "本市": "市", "该市": "市", "全县": "县", "我县": "县", "本县": "县", "该县": "县", "该区": "区",
               "全州": "州", "全盟": "盟", "全国": "国"}
# words kept off the front and back of an indicator: they qualify the count, not the thing counted
_LEADING = ("、", "，", ",", "：", ":", "；", ";", "等部门", "等单位", "部门", "联合", "共", "共计", "累计", "总计", "合计",
            "先后", "已", "已经", "依法", "全年", "全省", "全市", "全县", "全区", "全国", "其中", "新增", "另", "还",
            "又", "均", "分别", "相继", "一共", "达到", "达", "为", "是", "有", "约", "近", "超过", "超", "逾", "等")
_TRAILING = ("共", "共计", "累计", "达到", "达", "为", "是", "约", "近", "超过", "超", "逾", "总数", "数量", "人数", "分别", "已")


def _alternatives(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))  # 共计 before 共


INDICATOR_TRIM = re.compile(rf"^(?:{_alternatives(_LEADING)})+|(?:{_alternatives(_TRAILING)})+$")


@dataclass(frozen=True)
class PlaceRef:
    """The place a figure is about: a PLACE span, or a scope word resolved to the article's place."""
    text: str
    start: int | None
    end: int | None
    via: str  # "span" or the scope word


class Text(str):
    """A document's text with the positions of its sentence, clause and line ends indexed on first use,
    so that finding the sentence around a figure is a bisect, not a scan of a long report."""

    def bounds(self, i: int, ends: str) -> tuple[int, int]:
        """[a, b): from just after the last of `ends` before i to the first one at or after i."""
        marks = self.__dict__.get(ends)
        if marks is None:
            marks = self.__dict__[ends] = [m.start() for m in re.finditer(f"[{re.escape(ends)}]", self)]
        k = bisect.bisect_left(marks, i)
        return (marks[k - 1] + 1 if k else 0), (marks[k] if k < len(marks) else len(self))


class Ents(list):
    """A paragraph's entities in text order, with their starts indexed, so that the entities inside a
    sentence or clause are a bisect and a slice, not a scan of the paragraph (a scraped page may come as
    one line of many thousand characters)."""

    def __init__(self, ents: list[Span]):
        super().__init__(ents)
        self.starts = [e.start_char for e in ents]
        self.dates = [e for e in ents if e.label_ == "DATE"]

    def inside(self, start: int, end: int) -> list[Span]:
        """The entities that start at or after `start` and end by `end`."""
        lo, hi = bisect.bisect_left(self.starts, start), bisect.bisect_left(self.starts, end)
        return [e for e in self[lo:hi] if e.end_char <= end]

    def position(self, span: Span) -> int:
        """Where `span` stands among them (entities do not overlap, so no two start together)."""
        return bisect.bisect_left(self.starts, span.start_char)

    def starting(self, start: int, end: int) -> list[Span]:
        """The entities that start in [start, end)."""
        return self[bisect.bisect_left(self.starts, start):bisect.bisect_left(self.starts, end)]


def _bounds(text: Text, i: int, ends: str) -> tuple[int, int]:
    return text.bounds(i, ends)


def _masked(text: str, ents: Ents, start: int, end: int, blank: Callable[[Span], bool]) -> str:
    """text[start:end] with the entities inside it for which `blank` holds replaced by spaces."""
    chars = list(text[start:end])
    for e in ents.inside(start, end):
        if blank(e):
            chars[e.start_char - start:e.end_char - start] = " " * len(e.text)
    return "".join(chars)


def _groups(text: str, ents: list[Span]) -> list[list[Span]]:
    """Agencies joined into lists by 、/和/及 or by nothing."""
    groups: list[list[Span]] = []
    for e in ents:
        if groups and LIST_JOINERS.match(text[groups[-1][-1].end_char:e.start_char]):
            groups[-1].append(e)
        else:
            groups.append([e])
    return groups


def _is_agent(text: str, ents: Ents, group: list[Span]) -> bool:
    """The list heads its clause (dates aside), or is the source a reporter cites (记者从X获悉)."""
    start = group[0].start_char
    after = text[group[-1].end_char:_bounds(text, group[-1].end_char, CLAUSE_END)[1] + 1]
    if NOT_ACTING_AFTER.match(after):
        return False
    if HOSTING_AFTER.match(after):
        return True
    # dates and counts may stand before the agent: 今天（…）, 15个中央巡视组
    clause_start = _bounds(text, start, CLAUSE_END)[0]
    before = _masked(text, ents, clause_start, start, lambda e: e.label_ in ("DATE", "STAT"))
    if AGENT_CLAUSE_OPENERS.match(before) or PIVOT_BEFORE.search(before):
        return True
    with_orgs = _masked(text, ents, clause_start, start, lambda e: e.label_ in ("DATE", "STAT", "ORG"))
    if with_orgs != before and AGENT_CLAUSE_OPENERS.match(CO_AUTHOR_JOINER.sub(" ", with_orgs)):
        return True
    clause_end = _bounds(text, group[-1].end_char, CLAUSE_END)[1]
    return before.rstrip().endswith(SOURCE_BEFORE) and bool(SOURCE_AFTER.search(text[group[-1].end_char:clause_end]))


def _agents(text: str, ents: Ents, start: int, end: int, before: int | None = None) -> list[Span]:
    """The agent list of text[start:end]: the last one that stands before offset `before` (a later clause
    may have its own subject: 市场监管部门捣毁…；公安机关查办…2起), else the first one after it in its
    ；-part or named as the item's lead unit (see LEAD_UNITS); without `before`, the first one."""
    inside = [e for e in ents.inside(start, end) if e.label_ == "AGENCY"]
    agents = [group for group in _groups(text, inside) if _is_agent(text, ents, group)]
    if before is None:
        return agents[0] if agents else []
    earlier = [group for group in agents if group[-1].end_char <= before]
    part_end = _bounds(text, before, PART_END)[1]
    later = [group for group in agents if before <= group[0].start_char and
             (group[0].start_char < part_end or LEAD_UNITS.search(text[before:group[0].start_char]))]
    return earlier[-1] if earlier else later[0] if later else []


def _non_agency_subject(text: str, ents: Ents, start: int, stat: Span) -> bool:
    """A place, company or person heads the clause that holds the figure (许昌市查获…)."""
    clause_start = _bounds(text, stat.start_char, CLAUSE_END)[0]
    first = ents.starting(max(start, clause_start), stat.start_char)
    if not first:
        return False
    head = first[0]
    return head.label_ in ("PLACE", "ORG", "PERSON", "OFFICIAL") and \
        not text[clause_start:head.start_char].strip()


def _partners(text: str, ents: Ents, stat: Span) -> list[Span]:
    """Agencies named as the agent's partners (会同X) before the figure in its ；-part of the sentence."""
    part = _bounds(text, stat.start_char, PART_END)[0]
    inside = [e for e in ents.inside(part, stat.start_char) if e.label_ == "AGENCY"]
    return [e for group in _groups(text, inside) if PARTNER_BEFORE.search(text[part:group[0].start_char])
            for e in group]


def link_agencies(text: str, ents: Ents, stat: Span) -> list[Span]:
    s0, s1 = _bounds(text, stat.start_char, SENTENCE_END)
    if UNSTATED_AGENT in text[s0:stat.start_char]:
        return []
    own = _agents(text, ents, s0, s1, stat.start_char)
    if own:
        return own + [p for p in _partners(text, ents, stat) if p not in own]
    p0 = _bounds(text, stat.start_char, "\n")[0]
    lead = _agents(text, ents, *_bounds(text, p0, SENTENCE_END)) if p0 < s0 else []
    if lead and REPORTING.match(text[lead[-1].end_char:_bounds(text, lead[-1].end_char, CLAUSE_END)[1]]):
        return lead  # 农业农村部今天发布，…: the body that reports the paragraph's figures, whatever their subject
    if _non_agency_subject(text, ents, s0, stat):
        return []
    # the paragraph's acting agencies: those of its opening sentence (农业农村部今天发布，…), which the
    # paragraph reports; an agency that opens a later sentence acts in that sentence only
    return lead


def _clause_prefix(text: str, ents: Ents, span: Span) -> str:
    """The text from the clause start to `span`, other DATEs blanked out."""
    return _masked(text, ents, _bounds(text, span.start_char, CLAUSE_END)[0], span.start_char,
                   lambda e: e.label_ == "DATE")


def _cluster(text: str, dates: list[Span], chosen: Span) -> list[Span]:
    """今天（1月13日）15时: the dates standing together with `chosen`."""
    i = dates.index(chosen)
    lo = hi = i
    while lo > 0 and CLUSTER_JOINERS.match(text[dates[lo - 1].end_char:dates[lo].start_char]):
        lo -= 1
    while hi + 1 < len(dates) and CLUSTER_JOINERS.match(text[dates[hi].end_char:dates[hi + 1].start_char]):
        hi += 1
    return dates[lo:hi + 1]


def _cluster_day(text: str, dates: list[Span], chosen: Span) -> Span:
    """Of dates standing together, the calendar day."""
    return next((d for d in _cluster(text, dates, chosen) if CALENDAR.search(d.text)), chosen)


def _news_day(text: str, dates: list[Span], date: Span) -> bool:
    cluster = _cluster(text, dates, date)
    return any(d.text in NEWS_DAYS for d in cluster) and any(CALENDAR.search(d.text) for d in cluster)


def link_period(text: str, ents: Ents, stat: Span) -> Span | None:
    prefix = _clause_prefix(text, ents, stat)
    if PHYSICAL_SIZE.search(prefix):
        return None
    p0 = _bounds(text, stat.start_char, "\n")[0]
    s0 = _bounds(text, stat.start_char, SENTENCE_END)[0]
    dates = [e for e in ents.dates if p0 <= e.start_char]
    rate = RATE.search(prefix)
    for e in reversed([d for d in dates if d.end_char <= stat.start_char]):
        if text[max(p0, e.start_char - 2):e.start_char].endswith(BASELINE_BEFORE):
            continue
        if e.start_char < s0 and rate:
            return None
        if (e.start_char < s0 and not TOPIC_OPENERS.match(_clause_prefix(text, ents, e))
                and not _news_day(text, dates, e)):
            continue
        if e.text in RESTATING_DATES:
            opening = dates[0]
            if opening.end_char <= e.start_char and TOPIC_OPENERS.match(_clause_prefix(text, ents, opening)):
                return _cluster_day(text, dates, opening)
        return _cluster_day(text, dates, e)
    return None


def article_places(ents: list[Span]) -> dict[str, Span]:
    """For each scope level (省, 市, …) the article's first PLACE whose name ends in it (全省 → 湖南省);
    a level with no such place is absent: the article's place is not guessed."""
    first: dict[str, Span] = {}
    for e in ents:
        if e.label_ == "PLACE":
            for level in set(SCOPE_WORDS.values()) - first.keys():
                if e.text.endswith(level):
                    first[level] = e
    return first


def link_place(text: str, ents: Ents, stat: Span, places: dict[str, Span]) -> PlaceRef | None:
    """The nearest PLACE or scope word before the figure in its sentence. A scope word stands for the last
    place of its level named earlier in the paragraph (湘潭市…。全市共…), else for the article's (`places`)."""
    s0 = _bounds(text, stat.start_char, SENTENCE_END)[0]
    best: PlaceRef | None = None
    for e in ents.inside(s0, stat.start_char):
        if e.label_ == "PLACE":
            best = PlaceRef(e.text, e.start_char, e.end_char, "span")
    window = text[s0:stat.start_char]
    scope = max(((window.rfind(w), w) for w in SCOPE_WORDS), default=(-1, ""))
    if scope[0] >= 0 and (best is None or s0 + scope[0] > best.start):
        level = SCOPE_WORDS[scope[1]]
        earlier = [e for e in ents.inside(0, stat.start_char) if e.label_ == "PLACE" and e.text.endswith(level)]
        place = earlier[-1] if earlier else places.get(level)
        if scope[1] == "全国":
            return PlaceRef("中国", None, None, "全国")
        if place is not None:
            return PlaceRef(place.text, place.start_char, place.end_char, scope[1])
    return best


def indicator(text: str, ents: Ents, stat: Span) -> str | None:
    """What the figure counts: the words before it in its clause (取缔传销窝点202个), else the words after it
    (202个传销窝点); entity names, dates and qualifiers taken out so that equal things group together."""
    c0, c1 = _bounds(text, stat.start_char, CLAUSE_END)
    # other entities in the clause are not part of the counted thing
    clause = _masked(text, ents, c0, c1, lambda e: e.label_ != "CAMPAIGN" and e != stat)
    before = clause[:stat.start_char - c0].split()
    after = clause[stat.end_char - c0:].split()
    for words in ((before[-1] if before else ""), (after[0] if after else "")):
        words = INDICATOR_TRIM.sub("", re.sub(r"[“”\"‘’《》（）()·\s]", "", words))
        if len(words) >= 2:
            return words
    return None


@Language.factory("jianbao_relations", assigns=["doc._.relations", "span._.agencies", "span._.period",
                                                "span._.place", "span._.indicator"], requires=["doc.ents"])
def make_relations(nlp: Language, name: str):
    return link


def link(doc: Doc) -> Doc:
    """Every rule looks no further than the figure's paragraph (and the article's places), so each
    paragraph is handled with its own entities: a long report costs its length, not its length squared."""
    text = Text(doc.text)  # doc.text is built anew on each access: read it once
    ents = list(doc.ents)
    places = article_places(ents)
    relations = []
    first = 0
    while first < len(ents):
        end = text.bounds(ents[first].start_char, "\n")[1]
        last = first
        while last < len(ents) and ents[last].start_char < end:
            last += 1
        paragraph = Ents(ents[first:last])
        for i, stat in enumerate(paragraph, first):
            if stat.label_ != "STAT":
                continue
            agencies = link_agencies(text, paragraph, stat)
            period = link_period(text, paragraph, stat)
            stat._.agencies, stat._.period = agencies, period
            stat._.place = link_place(text, paragraph, stat, places)
            stat._.indicator = indicator(text, paragraph, stat)
            relations += [{"head": i, "child": first + paragraph.position(a), "label": "AGENCY"} for a in agencies]
            if period is not None:
                relations.append({"head": i, "child": first + paragraph.position(period), "label": "PERIOD"})
        first = last
    doc._.relations = relations
    return doc


Doc.set_extension("relations", default=[], force=True)
for _name in ("agencies", "period", "place", "indicator"):
    Span.set_extension(_name, default=None, force=True)
