"""Rule pre-annotation: a first draft of spans and relations for a person to correct.

Figures and dates come from patterns; places, names and bodies from jieba's
part-of-speech tags (ns, nr, nt) widened by agency suffixes and a list of posts.
It is a draft and a rules-only baseline, not a model: every span it writes is
read and corrected before it becomes gold.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .records import Record

_CN_DIGIT = "零〇一二两三四五六七八九十百千万亿"
_NUM = rf"(?:\d+(?:[,，]\d{{3}})*(?:\.\d+)?|[{_CN_DIGIT}]+)"
_UNITS = ("个百分点|万亿元|亿元|万元|千元|元|万亩|亩|平方公里|平方米|万千瓦|千瓦时|公里|千米|万吨|吨|万户|户|人次|万人|名|人|"
          "起|次|家|条|件|个|项|所|台|辆|场|期|类|组|处|座|张|份|篇|部|宗|块|套|只|头|倍|批次|批|艘|架|例|支|层|级|种|箱|盒|瓶|元/")
_STAT = re.compile(rf"(?<![第\d.{_CN_DIGIT}]){_NUM}(?:\s*[-—~至到]{{1,2}}\s*{_NUM})?(?:万|亿|千)?[余多]?(?:{_UNITS})[余多]?(?:左右)?|"
                   rf"(?<![\d.]){_NUM}(?:\.\d+)?%")
_DATE = re.compile(
    r"(?:\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}(?::\d{2})?)?)|"
    r"(?:(?:\d{4}|[今去明前]|上)年(?:度)?)?(?:(?:\d{1,2}|[一二三四五六七八九十]{1,3})月(?:份)?(?:\d{1,2}日|[上中下]旬)?)?"
    r"(?:(?:至|到|—|-)(?:\d{4}年)?(?:\d{1,2}月)?(?:\d{1,2}日)?)?"
    r"(?:上半年|下半年|[一二三四]季度|以来|期间|底|初|末|前|上午|下午|晚)?"
)
_DEICTIC = re.compile(r"近年来|近日|日前|目前|当前|当天|当日|近期|今天|昨天|过去一年|过去五年|五年来|近五年")
_AGENCY_SUFFIX = re.compile(
    r"(?:人民政府|政府|委员会|办公厅|办公室|领导小组|协调小组|工作组|打传办|总局|局|厅|委|署|部|院|所|中心|机关|部门|支队|大队|中队|"
    r"街道办事处|办事处|居委会|村委会|纪委|监委|人大常委会|常委会|政协)$")
_DOMAINS = ("市场监督管理|市场监管|公安|工商|商务|教育|民政|财政|人力资源和社会保障|人社|自然资源|生态环境|住房和城乡建设|住建|"
            "交通运输|水利|农业农村|文化和旅游|卫生健康|卫健|应急管理|审计|统计|税务|海关|金融监管|网信|宣传|组织|统战|政法|"
            "纪检监察|纪委监委|司法|信访|发展和改革|发展改革|发改|工业和信息化|工信|科技|体育|医疗保障|医保|林业和草原|粮食和物资储备|"
            "消防救援|退役军人事务|国有资产监督管理|国资|知识产权|药品监督管理|药监|外事|侨务|人民|检察|打击传销|打传|经侦|刑侦|网安|治安|"
            "执法|监管|行政审批|城市管理|城管|综合执法|数据")
_PLACE_CHAR = r"[^\W\d\sA-Za-z在于和与及的会是为对向将把由从被等了着过到开召合同各全]"
_AGENCY_RE = re.compile(
    rf"(?:(?:{_PLACE_CHAR}{{1,6}}?[省市县区州旗镇乡])|国家|中央|国务院|全国|中共|省|市|县|区)?(?:{_DOMAINS})"
    r"(?:人民政府|政府|委员会|总局|厅|局|委|部门|机关|部|法院|检察院|办公室|办|分局|支队|大队|派出所|工作领导小组|领导小组|协调小组)"
    rf"|(?:[省市县区镇乡]|{_PLACE_CHAR}{{2,6}}?[省市县区])(?:人民政府|政府|委|人大常委会|政协)(?:办公厅|办公室)?|国务院|党中央|全国人大(?:常委会)?|全国政协|公安机关|派出所|街道办事处|居委会|村委会")
_TITLES = ("党组书记 副书记 书记 副省长 省长 副市长 市长 副县长 县长 区长 副区长 局长 副局长 厅长 副厅长 主任 副主任 组长 副组长 "
           "处长 副处长 科长 副科长 中队长 大队长 支队长 所长 总书记 主席 副主席 总理 副总理 委员长 部长 副部长 检察长 院长 "
           "政委 委员 常委 秘书长 负责人 队长 镇长 乡长 村主任 支部书记 巡视员 调研员 警官 民警").split()
_TITLE_RE = re.compile("|".join(sorted(_TITLES, key=len, reverse=True)))
# A campaign named after the verb that launches it: 开展[打击传销活动大排查]. The verb is matched whole, so
# that the name starts after 开展, not after 开.
CAMPAIGN_AFTER_VERB = re.compile(r"(?<=开展|实施|组织|推进|深化|部署)([\u4e00-\u9fff]{2,16}?(?:专项行动|专项整治|大排查|攻坚战))")
# A drive against something, named from its own verb wherever it stands (巩固省、市[打击传销专项行动], 贯穿[打击
# 传销活动大排查]全过程), but not where the name runs on into a body's or a plan's (…专项行动领导小组, …大排查实施方案).
CAMPAIGN_STRIKE = re.compile(r"((?:打击|严打)[\u4e00-\u9fff]{1,14}?(?:专项行动|专项整治|大排查|攻坚战))"
                             r"(?!领导小组|实施方案|工作方案|方案|办公室|指挥部)")
_CAMPAIGN = re.compile(r"[“《]([^”》]{2,30}?(?:行动|专项整治|专案|专项|工程|计划|创建|大排查|攻坚战|三年行动))[”》]|"
                       + CAMPAIGN_AFTER_VERB.pattern + "|" + CAMPAIGN_STRIKE.pattern)


@lru_cache(maxsize=1)
def _posseg():
    import jieba
    import jieba.posseg

    jieba.setLogLevel(60)
    return jieba.posseg


def _add(spans: list[dict], taken: bytearray, start: int, end: int, label: str) -> None:
    """Keep the span unless a character of it is already taken (`taken` marks them: a long page has
    thousands of spans, and comparing each new one with all of them made this quadratic)."""
    if end <= start or any(taken[start:end]):
        return
    taken[start:end] = b"\x01" * (end - start)
    spans.append({"start": start, "end": end, "label": label})


def prelabel_spans(text: str) -> list[dict]:
    spans: list[dict] = []
    taken = bytearray(len(text))
    for m in _CAMPAIGN.finditer(text):
        g = next(i for i in (1, 2, 3) if m.group(i))
        _add(spans, taken, m.start(g), m.end(g), "CAMPAIGN")
    for m in _DATE.finditer(text):
        if m.group() and re.search(r"[年月日旬季]|\d{4}-|上半|下半|以来", m.group()) and len(m.group()) > 1:
            _add(spans, taken, m.start(), m.end(), "DATE")
    for m in _DEICTIC.finditer(text):
        _add(spans, taken, m.start(), m.end(), "DATE")
    for m in _AGENCY_RE.finditer(text):
        _add(spans, taken, m.start(), m.end(), "AGENCY")
    for m in _STAT.finditer(text):
        if not re.fullmatch(r"一(?:批|方|个|次|项|件|种|场|支|部|处|层|级|条|张)", m.group()):
            _add(spans, taken, m.start(), m.end(), "STAT")
    words = [(w.word, w.flag) for w in _posseg().cut(text)]
    pos, i = 0, 0
    while i < len(words):
        word, flag = words[i]
        start, end = pos, pos + len(word)
        # agencies: a run of place/organisation/noun words ending in an agency suffix
        j, run_end = i, end
        while j + 1 < len(words) and words[j + 1][1] in ("ns", "nt", "n", "nz", "vn", "j") and run_end - start < 16:
            j += 1
            run_end += len(words[j][0])
            if _AGENCY_SUFFIX.search(text[start:run_end]) and words[i][1] in ("ns", "nt", "j"):
                break
        if words[i][1] in ("ns", "nt", "j") and _AGENCY_SUFFIX.search(text[start:run_end]) and j > i:
            _add(spans, taken, start, run_end, "AGENCY")
            pos, i = run_end, j + 1
            continue
        if flag == "nt" or (flag == "j" and _AGENCY_SUFFIX.search(word)):
            label = "ORG" if re.search(r"公司|集团|报|网|大学|学院|协会|银行", word) else "AGENCY"
            _add(spans, taken, start, end, label)
        elif flag == "ns":
            _add(spans, taken, start, end, "PLACE")
        elif flag == "nr" and len(word) >= 2:
            before = text[max(0, start - 8):start]
            _add(spans, taken, start, end, "OFFICIAL" if _TITLE_RE.search(before) else "PERSON")
        elif _TITLE_RE.fullmatch(word):
            _add(spans, taken, start, end, "TITLE")
        pos, i = end, i + 1
    return sorted(spans, key=lambda s: s["start"])


_SENTENCE_END = re.compile(r"[。！？；\n]")


def prelabel_relations(text: str, spans: list[dict]) -> list[dict]:
    """Each STAT to the agencies of its sentence (else of its paragraph so far) and to
    the nearest earlier DATE in its sentence or paragraph."""
    relations = []
    for h, s in enumerate(spans):
        if s["label"] != "STAT":
            continue
        par_start = text.rfind("\n", 0, s["start"]) + 1
        sent_start = max(par_start, max((m.end() for m in _SENTENCE_END.finditer(text, 0, s["start"])), default=0))
        m = _SENTENCE_END.search(text, s["end"])
        sent_end = m.start() if m else len(text)
        in_sentence = [i for i, c in enumerate(spans) if c["label"] == "AGENCY" and sent_start <= c["start"] and c["end"] <= sent_end]
        agencies = in_sentence or [i for i, c in enumerate(spans) if c["label"] == "AGENCY" and par_start <= c["start"] and c["end"] <= s["start"]]
        relations += [{"head": h, "child": a, "label": "AGENCY"} for a in agencies]
        dates = [i for i, c in enumerate(spans) if c["label"] == "DATE" and par_start <= c["start"] and c["end"] <= s["start"]]
        if dates:
            relations.append({"head": h, "child": dates[-1], "label": "PERIOD"})
    return relations


def prelabel(record: Record) -> Record:
    spans = prelabel_spans(record.text)
    return Record(record.id, record.text, record.meta, spans, prelabel_relations(record.text, spans)).sorted()
