"""The rule stages after NER: periods, figure links, officials' posts, and the article record."""

import logging
from datetime import date

import pytest

from pipeline.io import RecordError, to_record, validate_record
from pipeline.models import FACT_STAGES, rules_pipeline
from pipeline.ner import set_entities
from pipeline.periods import parse_period

PUB = date(2023, 8, 16)


@pytest.fixture(scope="module")
def nlp():
    return rules_pipeline()


def run(nlp, text: str, marked: list[tuple[str, str]], published: str | None = "2023-08-16"):
    """Run the rule stages over `text` with entities given as (surface, label), found left to right."""
    spans, cursor = [], 0
    for surface, label in marked:
        start = text.index(surface, cursor)
        spans.append({"start": start, "end": start + len(surface), "label": label})
        cursor = start + len(surface)
    doc = set_entities(nlp.make_doc(text), spans)
    doc._.published = published
    for name in FACT_STAGES:
        doc = nlp.get_pipe(name)(doc)
    return doc


def ent(doc, surface: str):
    return next(e for e in doc.ents if e.text == surface)


# --- periods -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, before, start, end", [
    ("今年上半年", "", "2023-01-01", "2023-06-30"),
    ("2022年以来", "", "2022-01-01", "2023-08-16"),
    ("2019年至2020年6月", "", "2019-01-01", "2020-06-30"),
    ("2020年10月底", "截至", None, "2020-10-31"),
    ("2021年1-6月", "", "2021-01-01", "2021-06-30"),  # jionlp alone reads the whole year
    ("1—10月", "", "2023-01-01", "2023-10-31"),  # jionlp alone refuses it
    ("2018年1月19日至3月31日", "", "2018-01-19", "2018-03-31"),
    ("8月15日下午", "", "2023-08-15", "2023-08-15"),
    ("2020-01-22 13:42:09", "", "2020-01-22", "2020-01-22"),
    ("年底", "", "2023-12-31", "2023-12-31"),
    ("十四五", "", "2021-01-01", "2025-12-31"),
    ("五年来", "", "2018-01-01", "2022-12-31"),
    ("三十年来", "", "1993-01-01", "2022-12-31"),  # a tens numeral: cn2an reads it, as it reads figures
    ("近二十五年", "", "1998-01-01", "2022-12-31"),
    ("未来十五年", "", "2023-01-01", "2037-12-31"),
    ("近年来", "", None, "2023-08-16"),
    ("党的十八大以来", "", "2012-11-08", "2023-08-16"),
])
def test_periods_resolve_against_the_publication_date(text, before, start, end):
    p = parse_period(text, PUB, before)
    assert (p.start, p.end) == (start, end)


def test_periods_never_invent_what_the_text_does_not_give():
    relative = parse_period("今年上半年", None)
    assert (relative.start, relative.end) == (None, None) and "publication date" in relative.reason
    vague = parse_period("下阶段", PUB)
    assert (vague.start, vague.end) == (None, None) and vague.reason
    assert parse_period("近日", PUB).start is None  # an end, but no start
    for broken in ("近0年", "0年来", "过去0年", "未来0年"):  # a digit lost in scraping: no period, not today
        p = parse_period(broken, PUB)
        assert (p.start, p.end) == (None, None) and "zero years" in p.reason, broken
    since = parse_period("2022年以来", None)  # the start is stated; the end is the unknown publication day
    assert (since.start, since.end) == ("2022-01-01", None) and since.reason


def test_a_date_jionlp_cannot_read_leaves_no_traceback_on_stderr(caplog):
    # jionlp logs a traceback to the root logger for this one; a batch job's stderr must stay readable
    with caplog.at_level(logging.DEBUG):
        p = parse_period("大排查期间每月", PUB)
    assert (p.start, p.end) == (None, None) and p.reason
    assert not caplog.records and logging.root.manager.disable == logging.NOTSET


def test_year_anaphora_take_the_year_the_passage_is_about(nlp):
    doc = run(nlp, "过去一年，全年地区生产总值增长5%，比上年提高1个百分点。今天（8月15日），当天发布。",
              [("过去一年", "DATE"), ("全年", "DATE"), ("5%", "STAT"), ("上年", "DATE"), ("1个百分点", "STAT"),
               ("今天", "DATE"), ("8月15日", "DATE"), ("当天", "DATE")])
    assert (ent(doc, "全年")._.date.start, ent(doc, "全年")._.date.end) == ("2022-01-01", "2022-12-31")
    assert ent(doc, "上年")._.date.start == "2021-01-01"
    assert ent(doc, "当天")._.date.start == "2023-08-15"


# --- relations ------------------------------------------------------------------------------

LIST_TEXT = "2021年以来，市场监管、公安和街道办事处等部门联合捣毁传销窝点5个，劝返传销人员87人。"
LIST_ENTS = [("2021年以来", "DATE"), ("市场监管", "AGENCY"), ("公安", "AGENCY"), ("街道办事处", "AGENCY"),
             ("5个", "STAT"), ("87人", "STAT")]


def test_a_department_list_links_to_each_agency_and_the_governing_date(nlp):
    doc = run(nlp, LIST_TEXT, LIST_ENTS)
    for figure in ("5个", "87人"):
        stat = ent(doc, figure)
        assert [a.text for a in stat._.agencies] == ["市场监管", "公安", "街道办事处"]
        assert stat._.period.text == "2021年以来"
    assert ent(doc, "5个")._.indicator == "捣毁传销窝点"
    assert ent(doc, "87人")._.indicator == "劝返传销人员"
    # relations index doc.ents, heads are STATs
    labels = {(doc.ents[r["head"]].text, doc.ents[r["child"]].text, r["label"]) for r in doc._.relations}
    assert ("5个", "公安", "AGENCY") in labels and ("87人", "2021年以来", "PERIOD") in labels


def test_a_paragraphs_agent_carries_to_sentences_without_one_but_not_past_the_line(nlp):
    doc = run(nlp, "省市场监管局今天发布，全省取缔传销窝点202个。出动执法人员2万多人次。\n另查处案件3起。",
              [("省市场监管局", "AGENCY"), ("今天", "DATE"), ("202个", "STAT"), ("2万多人次", "STAT"), ("3起", "STAT")])
    assert [a.text for a in ent(doc, "2万多人次")._.agencies] == ["省市场监管局"]
    assert ent(doc, "2万多人次")._.indicator == "出动执法人员"
    assert ent(doc, "3起")._.agencies == [] and ent(doc, "3起")._.period is None


def test_a_later_clause_with_its_own_subject_a_partner_and_a_directed_body_act(nlp):
    doc = run(nlp, "市场监管部门捣毁传销窝点6个；公安机关查办网络传销案件2起。"
                   "中央纪委还会同人社部门推动解决问题，追回基金4.8亿元。"
                   "督促指导省纪委监委快查严处，对3个责任单位追责问责。",
              [("市场监管部门", "AGENCY"), ("6个", "STAT"), ("公安机关", "AGENCY"), ("2起", "STAT"),
               ("中央纪委", "AGENCY"), ("人社部门", "AGENCY"), ("4.8亿元", "STAT"),
               ("省纪委", "AGENCY"), ("监委", "AGENCY"), ("3个", "STAT")])
    assert [a.text for a in ent(doc, "6个")._.agencies] == ["市场监管部门"]
    assert [a.text for a in ent(doc, "2起")._.agencies] == ["公安机关"]
    assert [a.text for a in ent(doc, "4.8亿元")._.agencies] == ["中央纪委", "人社部门"]
    assert [a.text for a in ent(doc, "3个")._.agencies] == ["省纪委", "监委"]


def test_a_leading_body_is_not_the_agent(nlp):
    doc = run(nlp, "在市委、市政府的正确领导下，全市共组织开展清查行动120余次。",
              [("市委", "AGENCY"), ("市政府", "AGENCY"), ("120余次", "STAT")])
    assert ent(doc, "120余次")._.agencies == []


def test_an_events_hosts_act_and_a_guiding_or_qualifying_body_does_not(nlp):
    doc = run(nlp, "由国家电影局指导、中央广播电视总台和上海市人民政府共同主办的电影节昨晚开幕。本届电影节共收到影片3900余部。",
              [("国家电影局", "AGENCY"), ("中央广播电视总台", "ORG"), ("上海市人民政府", "AGENCY"), ("3900余部", "STAT")])
    assert [a.text for a in ent(doc, "3900余部")._.agencies] == ["上海市人民政府"]
    doc = run(nlp, "自治区国资委监管企业利润增长35.4%。", [("自治区国资委", "AGENCY"), ("35.4%", "STAT")])
    assert ent(doc, "35.4%")._.agencies == []
    # 中央 read as a body inside 中央企业 does not take the figure from the paragraph's reporter
    doc = run(nlp, "国资委最新数据显示，1—5月，中央企业完成投资1.7万亿元。",
              [("国资委", "AGENCY"), ("中央", "AGENCY"), ("1.7万亿元", "STAT")])
    assert [a.text for a in ent(doc, "1.7万亿元")._.agencies] == ["国资委"]


def test_an_agent_after_the_figure_acts_only_in_its_part_of_the_sentence_or_as_the_lead_unit(nlp):
    doc = run(nlp, "累计提请省人大常委会审议地方性法规46件；“三公”经费持续压减，党政机关过紧日子习惯日渐养成。",
              [("省人大常委会", "AGENCY"), ("46件", "STAT"), ("党政机关", "AGENCY")])
    assert ent(doc, "46件")._.agencies == []
    doc = run(nlp, "实施公路安全生命防护工程1500公里；开展交通通行质量提升行动（牵头单位：交通厅、公安厅）。",
              [("1500公里", "STAT"), ("交通厅", "AGENCY"), ("公安厅", "AGENCY")])
    assert [a.text for a in ent(doc, "1500公里")._.agencies] == ["交通厅", "公安厅"]


def test_no_agency_for_a_place_subject_an_object_or_an_unstated_we(nlp):
    doc = run(nlp, "许昌市查获传销窝点3个。我们向省政府报送报告12份。",
              [("许昌市", "PLACE"), ("3个", "STAT"), ("省政府", "AGENCY"), ("12份", "STAT")])
    assert ent(doc, "3个")._.agencies == []
    assert ent(doc, "12份")._.agencies == []
    assert ent(doc, "3个")._.place.text == "许昌市"


def test_a_cited_source_and_an_agency_listed_after_an_organisation_are_agents(nlp):
    doc = run(nlp, "来自交通运输部的最新数据显示，假期三天，全社会跨区域人员流动量约7.9亿人次。",
              [("交通运输部", "AGENCY"), ("7.9亿人次", "STAT")])
    assert [a.text for a in ent(doc, "7.9亿人次")._.agencies] == ["交通运输部"]
    doc = run(nlp, "中国物流与采购联合会、国家统计局今天公布，12月份制造业采购经理指数为49%。",
              [("中国物流与采购联合会", "ORG"), ("国家统计局", "AGENCY"), ("49%", "STAT")])
    assert [a.text for a in ent(doc, "49%")._.agencies] == ["国家统计局"]
    # an organisation that heads the clause on its own still makes the agency after it an object
    doc = run(nlp, "中国石油向应急管理部捐赠物资300吨。",
              [("中国石油", "ORG"), ("应急管理部", "AGENCY"), ("300吨", "STAT")])
    assert ent(doc, "300吨")._.agencies == []


def test_a_later_date_never_governs_and_a_baseline_never_does(nlp):
    doc = run(nlp, "查处案件9起，较2020年下降3起。2022年，另查处5起。",
              [("9起", "STAT"), ("2020年", "DATE"), ("3起", "STAT"), ("2022年", "DATE"), ("5起", "STAT")])
    assert ent(doc, "9起")._.period is None
    assert ent(doc, "3起")._.period is None
    assert ent(doc, "5起")._.period.text == "2022年"
    # 创20年新高 is a record, not the period of the figures after it
    doc = run(nlp, "五年来，粮食产量创20年新高，创建产业园13个。",
              [("五年来", "DATE"), ("20年", "DATE"), ("13个", "STAT")])
    assert ent(doc, "13个")._.period.text == "五年来"


def test_a_news_day_governs_the_items_later_sentences_and_a_size_has_no_period(nlp):
    text = "2024年成都世界园艺博览会今天（10月28日）闭幕。本届世园会设立113个展园。线路于2023年开工，全长约188公里，投资9亿元。"
    doc = run(nlp, text, [("2024年", "DATE"), ("今天", "DATE"), ("10月28日", "DATE"), ("113个", "STAT"),
                          ("2023年", "DATE"), ("188公里", "STAT"), ("9亿元", "STAT")])
    assert ent(doc, "113个")._.period.text == "10月28日"  # not the year inside the expo's name
    assert ent(doc, "188公里")._.period is None  # a length measures the line; it is not counted over a period
    assert ent(doc, "9亿元")._.period.text == "2023年"
    doc = run(nlp, "隧道今天（7月3日）贯通。隧道右线长5963米。", [("今天", "DATE"), ("7月3日", "DATE"), ("5963米", "STAT")])
    assert ent(doc, "5963米")._.period is None
    # a date in an earlier sentence that is neither its clause's topic nor a news day still governs nothing
    doc = run(nlp, "该园于2020年建成。园内设立展区5个。",
              [("2020年", "DATE"), ("5个", "STAT")])
    assert ent(doc, "5个")._.period is None


def test_a_rate_takes_a_period_only_from_its_own_sentence(nlp):
    text = "核电机组今天（5月10日）开工。建成后每年可供电约550亿千瓦时。2024年，每天接待游客3万人次。"
    doc = run(nlp, text, [("今天", "DATE"), ("5月10日", "DATE"), ("550亿千瓦时", "STAT"), ("2024年", "DATE"),
                          ("3万人次", "STAT")])
    assert ent(doc, "550亿千瓦时")._.period is None  # a capacity, not what was supplied on the news day
    assert ent(doc, "3万人次")._.period.text == "2024年"


def test_a_scope_word_resolves_to_the_articles_place(nlp):
    doc = run(nlp, "湖南省召开会议。全省共捣毁传销窝点202个。",
              [("湖南省", "PLACE"), ("202个", "STAT")])
    place = ent(doc, "202个")._.place
    assert (place.text, place.via) == ("湖南省", "全省")
    # in a paragraph about another city of the article, 全市 is that city
    doc = run(nlp, "张家界市召开会议，全市捣毁窝点5个。\n湘潭市打击传销工作稳步推进。全市共开展清查行动120余次。",
              [("张家界市", "PLACE"), ("5个", "STAT"), ("湘潭市", "PLACE"), ("120余次", "STAT")])
    assert ent(doc, "5个")._.place.text == "张家界市"
    assert (ent(doc, "120余次")._.place.text, ent(doc, "120余次")._.place.via) == ("湘潭市", "全市")


# --- officials ------------------------------------------------------------------------------

def test_officials_take_the_titles_and_agency_written_before_the_name(nlp):
    doc = run(nlp, "省市场监管局党组书记、局长钱俊君出席。中队长张阁说。",
              [("省市场监管局", "AGENCY"), ("党组书记", "TITLE"), ("局长", "TITLE"), ("钱俊君", "OFFICIAL"),
               ("中队长", "TITLE"), ("张阁", "OFFICIAL")])
    qian = ent(doc, "钱俊君")
    assert [t.text for t in qian._.titles] == ["党组书记", "局长"] and qian._.agency.text == "省市场监管局"
    zhang = ent(doc, "张阁")
    assert [t.text for t in zhang._.titles] == ["中队长"] and zhang._.agency is None


def test_a_bare_mention_repeats_the_posts_of_the_same_name_nearest_first(nlp):
    text = "王建国强调。市长王建国、市公安局局长李明出席。李明指出，王建国要求。副市长刘强说。张三说。"
    doc = run(nlp, text, [("王建国", "OFFICIAL"), ("市长", "TITLE"), ("王建国", "OFFICIAL"),
                          ("市公安局", "AGENCY"), ("局长", "TITLE"), ("李明", "OFFICIAL"), ("李明", "OFFICIAL"),
                          ("王建国", "OFFICIAL"), ("副市长", "TITLE"), ("刘强", "OFFICIAL"), ("张三", "OFFICIAL")])
    record = to_record(doc, "officials-1")
    validate_record(record)
    got = [(o["name"], o["titles"], o["agency"], o["posts_from"]) for o in record["officials"]]
    wang, li = text.index("市长王建国") + 2, text.index("李明")
    assert got == [("王建国", ["市长"], None, wang),            # a headline-like first mention takes the later posts
                   ("王建国", ["市长"], None, None),
                   ("李明", ["局长"], "市公安局", None),
                   ("李明", ["局长"], "市公安局", li),
                   ("王建国", ["市长"], None, wang),
                   ("刘强", ["副市长"], None, None),              # another name's posts are not borrowed
                   ("张三", [], None, None)]                      # a name never given posts keeps none


# --- the article record ---------------------------------------------------------------------

def test_the_record_follows_the_schema(nlp):
    doc = run(nlp, LIST_TEXT, LIST_ENTS)
    record = to_record(doc, "hunan-1", source="a.txt")
    validate_record(record)
    fact = record["facts"][0]
    assert (fact["value"], fact["unit"], fact["qualifier"]) == (5, "个", "eq")
    assert fact["agency"] == ["市场监管", "公安", "街道办事处"]
    assert fact["period"] == {"text": "2021年以来", "start": "2021-01-01", "end": "2023-08-16",
                              "granularity": "span", "reason": None}
    assert fact["sentence"] == LIST_TEXT
    assert record["facts"][1]["value"] == 87


def test_pieces_of_a_long_article_merge_into_one_valid_record(nlp):
    """extract runs an article over 100,000 characters in pieces: offsets, links and posts_from move with them."""
    from pipeline.io import merge_records

    first = LIST_TEXT + "\n"
    second = "市长王建国出席。王建国指出，市公安局捣毁窝点3个。"
    records = [to_record(run(nlp, first, LIST_ENTS), "long-1"),
               to_record(run(nlp, second, [("市长", "TITLE"), ("王建国", "OFFICIAL"), ("王建国", "OFFICIAL"),
                                           ("市公安局", "AGENCY"), ("3个", "STAT")]), "long-1")]
    merged = merge_records([(0, records[0]), (len(first), records[1])])
    validate_record(merged)
    assert merged["text"] == first + second
    assert len(merged["entities"]) == sum(len(r["entities"]) for r in records)
    assert [(merged["entities"][r["head"]]["text"], merged["entities"][r["child"]]["text"])
            for r in merged["relations"]][-1] == ("3个", "市公安局")
    assert len(merged["relations"]) == len(records[0]["relations"]) + 1
    bare = merged["officials"][1]
    assert merged["text"][bare["start"]:bare["end"]] == "王建国" and bare["titles"] == ["市长"]
    assert bare["posts_from"] == merged["officials"][0]["start"] == len(first) + 2


def test_a_broken_record_names_the_record_and_the_field(nlp):
    record = to_record(run(nlp, LIST_TEXT, LIST_ENTS), "hunan-1")
    record["facts"][0]["qualifier"] = "about"
    with pytest.raises(RecordError, match=r"hunan-1.*facts/0/qualifier"):
        validate_record(record)
    record = to_record(run(nlp, LIST_TEXT, LIST_ENTS), "hunan-1")
    record["entities"][0]["start"] += 1
    with pytest.raises(RecordError, match="does not match"):
        validate_record(record)


# --- long paragraphs -------------------------------------------------------------------------

def test_a_page_on_one_line_links_each_figure_in_its_own_sentence(nlp):
    """A scraped page may come as one line: the rules index the paragraph's entities (relations.Ents)."""
    from pipeline.relations import Ents

    bodies = ["市场监管局", "公安局", "商务局"] * 40
    text = "".join(f"{i + 2000}年，{b}查处传销案件{i + 1}起。" for i, b in enumerate(bodies))
    marked = [m for i, b in enumerate(bodies) for m in ((f"{i + 2000}年", "DATE"), (b, "AGENCY"), (f"{i + 1}起", "STAT"))]
    doc = run(nlp, text, marked)
    stats = [e for e in doc.ents if e.label_ == "STAT"]
    assert len(stats) == len(bodies)
    for i, stat in enumerate(stats):
        assert [a.text for a in stat._.agencies] == [bodies[i]] and stat._.period.text == f"{i + 2000}年"
        assert stat._.agencies[0].end_char < stat.start_char < stat._.agencies[0].start_char + 20
    ents = Ents(list(doc.ents))
    for start, end in ((0, 40), (13, 200), (500, 517), (len(text) - 30, len(text))):
        assert ents.inside(start, end) == [e for e in doc.ents if start <= e.start_char and e.end_char <= end]
        assert ents.starting(start, end) == [e for e in doc.ents if start <= e.start_char < end]
