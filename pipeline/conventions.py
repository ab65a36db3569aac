"""The annotation guidelines' span conventions, applied to the model's spans after decoding.

The model reads characters; where the guidelines (annotations/GUIDELINES.md) fix a convention
that it gets wrong in a regular way, the convention is written here once and applied to every
span it reads: where to cut, which label a body takes, which campaign names it must not miss.
None of these rules changes a gold span of the dev or test split (tests/test_conventions.py).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from .annotations.prelabel import CAMPAIGN_AFTER_VERB, CAMPAIGN_STRIKE
from .values import QUALIFIERS_AFTER, QUALIFIERS_BEFORE

# Two names written together are two spans (GUIDELINES): where the model reads one span, it is cut after
# the first name. [陕西省纪委][监委]; [陕西省][商洛市][柞水县] (a place inside a larger one).
JOINED = {"AGENCY": re.compile(r"(?<=.)纪委(?=(?:国家)?监委$)"),
          "PLACE": re.compile(r"(?<=..)(?:省|自治区|市|县|区|盟|旗)(?=[^省市县区，、]{1,5}?(?:省|市|县|区|镇|乡|旗|盟)$)")}


# A part of a place is not in its span (GUIDELINES): 宁夏南部 -> [宁夏]南部; 中西部 alone is a place.
DIRECTION = re.compile(r"(?<=..)(?:东|西|南|北|中|东南|东北|西南|西北)部$")
# Short names of zones, not of places: 兰州新区 and 平陆运河 are one place each.
NOT_A_PLACE_NAME = {"新区", "新城", "高新区", "经开区", "开发区", "运河", "地区", "城区", "郊区", "矿区", "林区", "市区"}


@functools.cache
def place_names() -> frozenset[str]:
    """Names of China's provinces, cities and counties, full and short (湖南省, 湖南), from jionlp's
    gazetteer: where a PLACE span is two of them written together (山西太原, 北京平谷) it is two places."""
    from .periods import load_jionlp

    names: set[str] = set()
    for province in load_jionlp().china_location_loader().values():
        levels = [province] + [c for k, c in province.items() if not k.startswith("_")]
        levels += [county for city in levels[1:] for k, county in city.items() if not k.startswith("_")]
        for level in levels:
            alias = level["_alias"]
            names.update(n for n in [level["_full_name"], *(alias if isinstance(alias, list) else [alias])]
                         if n and len(n) >= 2)
    return frozenset(names - NOT_A_PLACE_NAME)


def _split_places(text: str, s: dict) -> list[dict]:
    """[山西][太原], [黑龙江][哈尔滨][南岗区]: a place name followed by one or more others."""
    name = text[s["start"]:s["end"]]
    for k in range(2, len(name) - 1):
        if name[:k] in place_names():
            rest = {**s, "start": s["start"] + k}
            if name[k:] in place_names():
                return [{**s, "end": s["start"] + k}, rest]
            parts = _split_places(text, rest)
            if len(parts) > 1:
                return [{**s, "end": s["start"] + k}, *parts]
    return [s]


# A named facility is one PLACE span with its kind (GUIDELINES, Places): the model stops at the name
# (祁连山|2号隧道, 严坪村|Ⅱ号大桥, 那棱格勒河|水利枢纽). A place that already ends in a facility's kind keeps
# its parts outside ([大兴寨水库]大坝).
FACILITY = re.compile(r"(?:[0-9A-Za-zⅠⅡⅢⅣⅤ]+(?:-[0-9]+)?号?)?(?:隧道|特大桥|大桥|气田|油田|水利枢纽|水库|国际机场|机场|港区|码头|"
                      r"水电站|核电站|电站|大坝|枢纽)")
FACILITY_END = re.compile(r"(?:隧道|桥|气田|油田|枢纽|水库|机场|港区|码头|电站|大坝)$")


def take_heads(text: str, spans: list[dict], label: str, head: re.Pattern, has_head: re.Pattern | None = None) -> list[dict]:
    """Spans of `label` the model stopped right before their `head` take it, unless the name already ends in
    one (`has_head`) or another span starts inside the head."""
    starts = {s["start"] for s in spans}
    out = []
    for s in spans:
        m = head.match(text, s["end"]) if s["label"] == label else None
        if (m and not (has_head and has_head.search(text[s["start"]:s["end"]]))
                and not any(s["end"] <= a < m.end() for a in starts)):
            s = {**s, "end": m.end()}
        out.append(s)
    return out


def facility_names(text: str, spans: list[dict]) -> list[dict]:
    return take_heads(text, spans, "PLACE", FACILITY, FACILITY_END)


def split_joined(text: str, spans: list[dict]) -> list[dict]:
    out = []
    for s in spans:
        rule = JOINED.get(s["label"])
        m = rule.search(text[s["start"]:s["end"]]) if rule else None
        if m is not None:  # the last name is cut off; what is left may hold another (陕西省商洛市)
            out += split_joined(text, [{**s, "end": s["start"] + m.end()}])
            out.append({**s, "start": s["start"] + m.end()})
        elif s["label"] == "PLACE":
            m = DIRECTION.search(text[s["start"]:s["end"]])
            out += _split_places(text, {**s, "end": s["start"] + m.start()} if m else s)
        else:
            out.append(s)
    return out


# No gold span holds half a pair of brackets or quotes; the model's sometimes do (中央党校（, 五健”促进行动计划).
PAIRS = {"（": "）", "(": ")", "“": "”", "‘": "’", "《": "》", "【": "】", "「": "」"}
CLOSING = {v: k for k, v in PAIRS.items()}


def _unmatched(name: str) -> int | None:
    """Where the first bracket or quote without its partner in `name` is."""
    opened: list[int] = []
    for i, ch in enumerate(name):
        if ch in PAIRS:
            opened.append(i)
        elif ch in CLOSING:
            if not opened or name[opened[-1]] != CLOSING[ch]:
                return i
            opened.pop()
    return opened[0] if opened else None


# No gold span starts or ends with a list's separator (none of 11,607); the model's rarely do (巩固[省、]市…).
SEPARATORS = "、，。；：,;:"


def trim_separators(text: str, span: dict) -> dict | None:
    """The span without separators at its edges; None where nothing is left."""
    name = text[span["start"]:span["end"]]
    lead = len(name) - len(name.lstrip(SEPARATORS))
    tail = len(name) - len(name.rstrip(SEPARATORS))
    if lead + tail >= len(name):
        return None
    return {**span, "start": span["start"] + lead, "end": span["end"] - tail}


def trim_unbalanced(text: str, span: dict) -> dict | None:
    """The span cut before its first unpaired bracket or quote (after it, where that comes first);
    None where nothing is left."""
    i = _unmatched(text[span["start"]:span["end"]])
    if i is None:
        return span
    if i == 0 and span["end"] - span["start"] == 1:
        return None
    return trim_unbalanced(text, {**span, "end": span["start"] + i} if i else {**span, "start": span["start"] + 1})


# Words around a figure or a date stay outside it (GUIDELINES: 近[万名], [85%]以上, 截至[2020年10月底], 到[2030年]),
# where values.py reads the qualifier and periods.py the running total; so does a verb (dev: 预计[年内]). No gold
# span starts or ends with one.
AFFIXES = {"STAT": (re.compile("^(?:" + "|".join(w for _, ws in QUALIFIERS_BEFORE for w in ws) + ")"),
                    re.compile("(?:" + "|".join(w for _, ws in QUALIFIERS_AFTER for w in ws) + ")$")),
           "DATE": (re.compile(r"^(?:截至|截止到|截止|自|从|于|到|预计)"), None)}


def trim_affixes(text: str, spans: list[dict]) -> list[dict]:
    out = []
    for s in spans:
        lead, tail = AFFIXES.get(s["label"], (None, None))
        name = text[s["start"]:s["end"]]
        a = lead.match(name) if lead else None
        b = tail.search(name) if tail else None
        start, end = s["start"] + (a.end() if a else 0), s["end"] - (len(b.group()) if b else 0)
        if start < end:
            out.append({**s, "start": start, "end": end})
    return out


# A body's name ends at its head, never at the verb of what it did (GUIDELINES, AGENCY): the model reads
# 贵阳市市场监管系统查处 as one name; the span keeps 贵阳市市场监管系统. (党组织 ends in 组织: not a verb here.)
ACTION = re.compile(r"(?<=..)(?:查处|查办|查获|捣毁|破获|开展|联合|召开|印发|发布|部署|立案|处罚|依法|持续|深入|严厉|打击|"
                    r"出动|检查|抽调)$")


def trim_actions(text: str, spans: list[dict]) -> list[dict]:
    out = []
    for s in spans:
        m = ACTION.search(text[s["start"]:s["end"]]) if s["label"] in ("AGENCY", "ORG") else None
        out.append({**s, "end": s["start"] + m.start()} if m else s)
    return out


# A name right after a role no public office holds is a PERSON, whatever the model read (GUIDELINES:
# residents, reporters, editors, scholars): 记者 王鼎, 北京大学教授易继明, 监理员杨福千.
PRIVATE_ROLE = re.compile(r"(?:记者|编辑|编审|通讯员|教授|科学家|学者|居民|村民|市民|学生|研究员|院士|监理员|"
                          r"医生|农民|游客|志愿者|获得者)\s*$")


# ...and such a role is no post: TITLE is a public office (GUIDELINES); no gold span tags 记者 (32 times
# untagged), 通讯员 or 科学家 as TITLE. (教授 is left to the model: the gold tags it twice of three.)
NOT_A_POST = re.compile(r"记者|通讯员|科学家")


# A photo credit's 摄 ("photographed by") ends the line after a name and is no part of it (记者 王鼎摄).
PHOTO_CREDIT = re.compile(r"(?<=..)摄$")


def photo_credits(text: str, spans: list[dict]) -> list[dict]:
    return [{**s, "end": s["end"] - 1} if s["label"] in ("OFFICIAL", "PERSON")
            and PHOTO_CREDIT.search(text[s["start"]:s["end"]]) and text[s["end"]:s["end"] + 1].strip() in ("", "）", ")")
            else s for s in spans]


def private_roles(text: str, spans: list[dict]) -> list[dict]:
    """A private role makes the name after it a PERSON and is itself no TITLE."""
    out = []
    for s in spans:
        if s["label"] == "TITLE" and NOT_A_POST.search(text[s["start"]:s["end"]]):
            continue
        if s["label"] == "OFFICIAL" and PRIVATE_ROLE.search(text[max(0, s["start"] - 6):s["start"]]):
            s = {**s, "label": "PERSON"}
        out.append(s)
    return out


# Banks, schools, hospitals, media, institutes, federations and trade unions are ORG, not AGENCY, whatever
# the model read (GUIDELINES, Bodies); 中国人民银行 is the one bank that is a State Council department.
ORG_HEADS = (r"(?:公司|集团|银行|大学|学院|学校|中学|小学|幼儿园|医院|研究院|研究所|实验室|博物馆|协会|学会|"
             r"联合会|工会|日报|报社|电视台|新华社|交易所|党校|基金会|商会)")
ORG_HEAD = re.compile(ORG_HEADS + "$")
STATE_BANK = "中国人民银行"
# ...and an organisation's name takes its head (博鳌亚洲|论坛 -> [博鳌亚洲论坛]): no gold ORG or AGENCY span of
# the three splits stands right before one of these heads; forums are ORG only where named as bodies.
ORG_NAME_HEAD = re.compile(ORG_HEADS + "|论坛")


# What names nothing of its label, whatever the model read: a bare relational noun no body (GUIDELINES, AGENCY:
# 有关部门, 各部门, 成员单位; the model read 部门, 办公室, 行业主管部门 in dev), a people no place (黎族, 彝族,
# 中华民族 stand untagged in every split), 任何 ("any": 任何组织和个人) no person, though 任 is a surname.
# No gold span of the three splits is one.
BARE_BODY = re.compile(r"(?:有关|相关|各|其他|其他有关|职能|主管|行业主管|成员|责任)?(?:部门|单位|办公室|机关|机构)")
NOT_A_NAME = {"AGENCY": BARE_BODY, "ORG": BARE_BODY, "PLACE": re.compile(r".+族"),
              "OFFICIAL": re.compile("任何"), "PERSON": re.compile("任何")}


def not_names(text: str, spans: list[dict]) -> list[dict]:
    return [s for s in spans
            if not (s["label"] in NOT_A_NAME and NOT_A_NAME[s["label"]].fullmatch(text, s["start"], s["end"]))]


def org_names(text: str, spans: list[dict]) -> list[dict]:
    return take_heads(text, spans, "ORG", ORG_NAME_HEAD)


def org_heads(text: str, spans: list[dict]) -> list[dict]:
    def is_org(name: str) -> bool:
        return bool(ORG_HEAD.search(name)) and not name.endswith(STATE_BANK)

    return [{**s, "label": "ORG"} if s["label"] == "AGENCY" and is_org(text[s["start"]:s["end"]]) else s
            for s in spans]


# Nothing is tagged inside a 《》 title (GUIDELINES): 《贵阳市开展集中打击整治传销违法犯罪专项行动工作方案》.
BOOK_TITLE = re.compile(r"《[^《》\n]*》")


def missed_campaigns(text: str, spans: list[dict]) -> list[dict]:
    """The spans and every campaign named after the verb that launches it (开展打击传销活动大排查) or from its
    own 打击/严打 (巩固打击传销专项行动) where no span is and not inside a 《》 title: the model misses such names
    in the domain's own documents. Their confidence is None (set by a rule)."""
    taken = [(s["start"], s["end"]) for s in spans] + [m.span() for m in BOOK_TITLE.finditer(text)]
    found = []
    for m in [*CAMPAIGN_AFTER_VERB.finditer(text), *CAMPAIGN_STRIKE.finditer(text)]:
        if not any(a < m.end(1) and m.start(1) < b for a, b in taken):
            found.append({"start": m.start(1), "end": m.end(1), "label": "CAMPAIGN", "confidence": None})
            taken.append(m.span(1))
    return sorted(spans + found, key=lambda s: s["start"])


# A range of dates is one DATE (GUIDELINES: [2019年至2020年6月]; all 66 ranges in train and dev are one span).
RANGE_LINK = re.compile(r"起?[至到—–\-－~～]")


def join_ranges(text: str, spans: list[dict]) -> list[dict]:
    """Two DATEs linked only by 至/到/— (1月19日起至3月31日) become one, as sure as the less sure of them."""
    out: list[dict] = []
    for s in sorted(spans, key=lambda s: s["start"]):
        last = out[-1] if out else None
        if (last and last["label"] == s["label"] == "DATE"
                and RANGE_LINK.fullmatch(text, last["end"], s["start"])):
            sure = [c for c in (last.get("confidence"), s.get("confidence")) if c is not None]
            out[-1] = {**last, "end": s["end"], "confidence": min(sure) if sure else None}
        else:
            out.append(s)
    return out


def conform(text: str, spans: list[dict], keep: Callable[[dict], bool] = lambda s: True) -> list[dict]:
    """Every convention, in order, on the decoded spans of `text`. `keep` (the confidence thresholds) runs
    between the cuts and the label rules: it judges the label the model read, so an AGENCY it was sure of
    stays when it becomes ORG, and a campaign added by rule has no model confidence to judge."""
    spans = [s for s in (trim_unbalanced(text, s) for s in spans) if s]
    spans = [s for s in (trim_separators(text, s) for s in spans) if s]
    spans = trim_affixes(text, split_joined(text, org_names(text, facility_names(text, spans))))
    spans = photo_credits(text, private_roles(text, not_names(text, trim_actions(text, spans))))
    return missed_campaigns(text, join_ranges(text, org_heads(text, [s for s in spans if keep(s)])))
