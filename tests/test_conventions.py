"""The guidelines' span conventions applied after decoding (pipeline/conventions.py)."""

import json
from pathlib import Path

import pytest

from pipeline.conventions import (conform, facility_names, join_ranges, missed_campaigns, not_names, org_heads,
                                  org_names, photo_credits, private_roles, split_joined, trim_actions, trim_affixes,
                                  trim_separators, trim_unbalanced)

ANNOTATIONS = Path(__file__).resolve().parent.parent / "annotations"


def test_joined_names_become_separate_spans():
    text = "经陕西省纪委监委和中央纪委国家监委核查，陕西省商洛市柞水县境内，纪委书记到广州白云国际机场"
    spans = [{"start": a, "end": b, "label": label, "confidence": 0.8} for a, b, label in
             [(1, 8, "AGENCY"), (9, 17, "AGENCY"), (20, 29, "PLACE"), (32, 34, "AGENCY"), (37, 45, "PLACE")]]
    out = split_joined(text, spans)
    assert [(text[s["start"]:s["end"]], s["label"]) for s in out] == [
        ("陕西省纪委", "AGENCY"), ("监委", "AGENCY"), ("中央纪委", "AGENCY"), ("国家监委", "AGENCY"),
        ("陕西省", "PLACE"), ("商洛市", "PLACE"), ("柞水县", "PLACE"), ("纪委", "AGENCY"), ("广州白云国际机场", "PLACE")]
    assert {s["confidence"] for s in out} == {0.8}


def test_spans_never_hold_half_a_pair_of_brackets():
    text = "中央党校（国家行政学院）教授，实施“五健”促进行动计划，“双一流”建设"
    read = lambda a, b: (lambda s: s and text[s["start"]:s["end"]])(
        trim_unbalanced(text, {"start": a, "end": b, "label": "ORG"}))
    assert read(0, 5) == "中央党校" and read(5, 12) == "国家行政学院"  # 中央党校（ and 国家行政学院）
    assert read(18, 27) == "五健"  # 五健”促进行动计划
    assert read(28, 33) == "“双一流”"  # a whole pair stays
    assert read(4, 5) is None


def test_spans_never_start_or_end_with_a_separator():
    text = "巩固省、市打击传销专项行动，由县公安局、县教育局组成"
    read = lambda a, b: (lambda s: s and text[s["start"]:s["end"]])(
        trim_separators(text, {"start": a, "end": b, "label": "AGENCY"}))
    assert read(2, 4) == "省" and read(15, 20) == "县公安局" and read(19, 24) == "县教育局"
    assert read(3, 4) is None and read(13, 14) is None
    assert read(2, 13) == "省、市打击传销专项行动"  # a separator inside a span is not an edge


def test_qualifiers_and_prefixes_stay_outside_figures_and_dates():
    text = "近万名群众，85%以上，超过3起，截至2020年10月底，预计年内，约"
    names = [("近万名", "STAT"), ("85%以上", "STAT"), ("超过3起", "STAT"), ("截至2020年10月底", "DATE"),
             ("预计年内", "DATE"), ("约", "STAT")]
    out = trim_affixes(text, _spans(text, names))
    assert [text[s["start"]:s["end"]] for s in out] == ["万名", "85%", "3起", "2020年10月底", "年内"]


def test_bare_nouns_peoples_and_pronouns_name_nothing():
    text = "由县公安局等相关部门组成，办公室设在县打传办，已交由行业主管部门和公安机关处理，黎族群众，任何组织，任何同志"
    names = [("县公安局", "AGENCY"), ("相关部门", "AGENCY"), ("办公室", "AGENCY"), ("县打传办", "AGENCY"),
             ("行业主管部门", "ORG"), ("公安机关", "AGENCY"), ("黎族", "PLACE"), ("任何", "PERSON"), ("任何同", "OFFICIAL")]
    out = not_names(text, _spans(text, names))
    assert [text[s["start"]:s["end"]] for s in out] == ["县公安局", "县打传办", "公安机关", "任何同"]


def test_an_org_the_model_stopped_before_its_head_takes_it():
    text = "博鳌亚洲论坛年会举行，清华大学和华为公司，教育部学校规划建设发展中心"
    spans = _spans(text, [("博鳌亚洲", "ORG"), ("清华", "ORG"), ("华为", "ORG"), ("公司", "ORG"), ("教育部", "AGENCY")])
    out = org_names(text, spans)
    assert [(text[s["start"]:s["end"]], s["label"]) for s in out] == [
        ("博鳌亚洲论坛", "ORG"), ("清华大学", "ORG"), ("华为", "ORG"), ("公司", "ORG"), ("教育部", "AGENCY")]
    assert {s["confidence"] for s in out} == {0.9}


def test_a_name_after_a_private_role_is_a_person():
    text = "宁夏日报记者 王鼎摄，北京大学教授易继明讲解，局长钱俊君说"
    spans = [{"start": text.index(n), "end": text.index(n) + len(n), "label": "OFFICIAL"} for n in ("王鼎", "易继明", "钱俊君")]
    assert [s["label"] for s in private_roles(text, spans)] == ["PERSON", "PERSON", "OFFICIAL"]
    posts = _spans(text, [("记者", "TITLE"), ("教授", "TITLE"), ("局长", "TITLE")])
    assert [text[s["start"]:s["end"]] for s in private_roles(text, posts)] == ["教授", "局长"]  # 记者 is no post


def test_a_photo_credit_is_no_part_of_a_name():
    text = "宁夏日报记者 王鼎摄\n（张摄摄）李摄影"
    spans = _spans(text, [("王鼎摄", "PERSON"), ("张摄摄", "PERSON"), ("李摄", "OFFICIAL")])
    assert [(text[s["start"]:s["end"]], s["label"]) for s in photo_credits(text, spans)] == [
        ("王鼎", "PERSON"), ("张摄", "PERSON"), ("李摄", "OFFICIAL")]  # 李摄影: 摄 runs on, no credit


def test_places_written_together_are_split_by_the_gazetteer_and_lose_direction_parts():
    text = "山西太原、黑龙江哈尔滨南岗区、宁夏南部、中西部、兰州新区、广州白云国际机场、四角坪遗址"
    places = ["山西太原", "黑龙江哈尔滨南岗区", "宁夏南部", "中西部", "兰州新区", "广州白云国际机场", "四角坪遗址"]
    spans, at = [], 0
    for p in places:
        at = text.index(p, at)
        spans.append({"start": at, "end": at + len(p), "label": "PLACE", "confidence": 0.9})
    spans.append({"start": 0, "end": 4, "label": "ORG", "confidence": 0.9})  # only PLACE spans are split
    out = split_joined(text, spans)
    assert [(text[s["start"]:s["end"]], s["label"]) for s in out] == [
        ("山西", "PLACE"), ("太原", "PLACE"), ("黑龙江", "PLACE"), ("哈尔滨", "PLACE"), ("南岗区", "PLACE"),
        ("宁夏", "PLACE"), ("中西部", "PLACE"), ("兰州新区", "PLACE"), ("广州白云国际机场", "PLACE"),
        ("四角坪遗址", "PLACE"), ("山西太原", "ORG")]


def _spans(text: str, names: list[tuple[str, str]]) -> list[dict]:
    out, at = [], 0
    for name, label in names:
        at = text.index(name, at)
        out.append({"start": at, "end": at + len(name), "label": label, "confidence": 0.9})
    return out


def test_banks_schools_media_and_unions_are_org_not_agency():
    text = "中央党校、全国总工会、省人民医院、中国进出口银行、中国人民银行、省市场监管局、宁夏日报"
    names = [("中央党校", "AGENCY"), ("全国总工会", "AGENCY"), ("省人民医院", "AGENCY"), ("中国进出口银行", "AGENCY"),
             ("中国人民银行", "AGENCY"), ("省市场监管局", "AGENCY"), ("宁夏日报", "ORG")]
    out = org_heads(text, _spans(text, names))
    assert [s["label"] for s in out] == ["ORG", "ORG", "ORG", "ORG", "AGENCY", "AGENCY", "ORG"]
    assert {s["confidence"] for s in out} == {0.9}


def test_a_campaign_named_after_its_verb_is_not_missed():
    text = "在全县开展打击传销活动大排查，公安机关深化“净网”专项行动，组织召开会议，印发《关于开展清源专项行动的方案》"
    out = missed_campaigns(text, [])
    assert [(text[s["start"]:s["end"]], s["label"], s["confidence"]) for s in out] == [
        ("打击传销活动大排查", "CAMPAIGN", None)]  # after 开展, not after 开; nothing inside 《》
    model = _spans(text, [("全县", "PLACE"), ("打击传销活动", "CAMPAIGN"), ("公安机关", "AGENCY")])
    assert missed_campaigns(text, model) == model  # where the model has a span, its span stands


def test_a_drive_against_something_is_named_from_its_own_verb():
    text = ("巩固省、市打击传销专项行动成果，贯穿打击传销活动大排查全过程。印发永清县打击传销活动大排查实施方案，"
            "成立打击整治传销违法犯罪专项行动领导小组，开展严打专项行动")
    out = missed_campaigns(text, [])
    assert [text[s["start"]:s["end"]] for s in out] == ["打击传销专项行动", "打击传销活动大排查", "严打专项行动"]
    assert {s["label"] for s in out} == {"CAMPAIGN"}  # a plan's or a body's name that runs on is left alone


def test_a_body_ends_at_its_head_not_at_what_it_did():
    text = "贵阳市市场监管系统查处传销案件，社区党组织开展排查，公安查处"
    out = trim_actions(text, _spans(text, [("贵阳市市场监管系统查处", "AGENCY"), ("社区党组织", "AGENCY"),
                                           ("公安查处", "AGENCY")]))
    assert [text[s["start"]:s["end"]] for s in out] == ["贵阳市市场监管系统", "社区党组织", "公安"]


def test_a_named_facility_is_one_place_with_its_kind():
    text = "祁连山2号隧道贯通，严坪村Ⅱ号大桥垮塌，大兴寨水库大坝加固，西安咸阳国际机场，长江大桥通车"
    spans = _spans(text, [("祁连山", "PLACE"), ("严坪村", "PLACE"), ("大兴寨水库", "PLACE"), ("西安咸阳", "PLACE"),
                          ("长江", "PLACE"), ("大桥通车", "ORG")])
    out = split_joined(text, facility_names(text, spans))
    assert [text[s["start"]:s["end"]] for s in out] == [
        "祁连山2号隧道", "严坪村Ⅱ号大桥", "大兴寨水库", "西安咸阳国际机场", "长江", "大桥通车"]


def test_a_range_of_dates_is_one_date():
    text = "排查时间从1月19日起至3月31日结束，1—5月和6月；2020年，2021年至今"
    spans = _spans(text, [("1月19日", "DATE"), ("3月31日", "DATE"), ("1—", "DATE"), ("5月", "DATE"), ("6月", "DATE"),
                          ("2020年", "DATE"), ("2021年", "DATE")])
    spans[2]["end"] -= 1  # 1, not 1—
    spans[0]["confidence"], spans[1]["confidence"] = 0.7, None
    out = join_ranges(text, spans)
    assert [text[s["start"]:s["end"]] for s in out] == ["1月19日起至3月31日", "1—5月", "6月", "2020年", "2021年"]
    assert out[0]["confidence"] == 0.7  # 和, a comma and 至今 (no second date) join nothing


@pytest.mark.parametrize("split", ["dev", "test"])
def test_no_convention_changes_a_gold_span(split):
    """The rules follow the guidelines the gold was annotated by: run over every gold span, they change none."""
    changed = []
    for line in (ANNOTATIONS / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        text, gold = record["text"], [{**s, "confidence": 1.0} for s in record["spans"]]
        out = conform(text, gold)
        key = lambda s: (s["start"], s["end"], s["label"])
        changed += [text[a:b] for a, b, _ in {key(s) for s in gold} ^ {key(s) for s in out}]
    assert changed == []
