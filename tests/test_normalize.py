"""The normalizer: each damage type, encodings, HTML, offsets, properties."""

import codecs
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.damage import add_glosses, damage, misalign, to_traditional
from pipeline.normalize import NormalizeError, normalize

CLEAN = (
    "8月15日下午，湖南省打击传销工作电视电话会议在省政府召开。"
    "全省市场监管系统共出动执法人员2万多人次，取缔传销窝点202个，劝返遣散传销人员1517人。\n"
    "2021年以来，全市市场监管、公安和街道办事处等部门联合捣毁聚集式传销窝点5个。"
)


def check_offsets(result):
    assert len(result.offsets) == len(result.text)
    previous = 0
    for start, end in result.offsets:
        assert 0 <= start <= end <= len(result.raw)
        assert start >= previous
        previous = start


def test_clean_text_is_unchanged():
    result = normalize(CLEAN)
    assert result.text == CLEAN
    assert result.offsets == [(i, i + 1) for i in range(len(CLEAN))]


def test_pinyin_glosses_are_stripped():
    result = normalize("打擊網(wǎng)絡傳銷(xiāo)活動")
    assert result.text == "打击网络传销活动"
    check_offsets(result)
    # the kept character still points at itself in the raw text
    assert result.raw[slice(*result.offsets[2])] == "網"


def test_seed_misalignment_is_repaired():
    # exactly as scraped: 涉傳投訴 with the lead byte of 傳 lost and an orphan gloss
    result = normalize("群眾獲得感持續提升。涉?zhèn)魍对V持續下降，幸福感持續提升。")
    assert result.text == "群众获得感持续提升。涉传投诉持续下降，幸福感持续提升。"
    assert any(n.startswith("gbk-realigned") for n in result.notes)
    check_offsets(result)


def test_generated_misalignment_is_repaired():
    clean = "全省共出动执法人员2万多人次，取缔传销窝点202个。"
    damaged = misalign(to_traditional(clean), clean.index("执") + 1)
    assert damaged != to_traditional(clean)
    assert normalize(damaged).text == clean


def test_full_stop_lost_before_paragraph_indent_is_restored():
    # 。　　科學 shifted by one byte: ?! 】茖W
    assert normalize("坦言,?! 】茖W合理的方案").text == "坦言。科学合理的方案"


def test_traditional_is_converted_only_when_traditional():
    assert normalize("省市場監管局黨組書記").text == "省市场监管局党组书记"
    # a simplified text quoting one traditional name stays as it is
    text = "湖南省市场监管局召开会议，部署打击传销工作，" * 5 + "会上提到台湾的「臺北」。"
    assert normalize(text).text.endswith("「臺北」。")


def test_punctuation_between_han_becomes_full_width():
    assert normalize("会议召开,研究部署;时间:今天").text == "会议召开，研究部署；时间：今天"
    assert normalize("联系电话:0316-6681122(传真)").text == "联系电话：0316-6681122（传真）"
    # ASCII context is left alone
    assert normalize("see https://a.cn/s?id=1&x=2, ok").text == "see https://a.cn/s?id=1&x=2, ok"


def test_question_marks_real_and_stray():
    assert normalize("如何提升群众的积极性呢?").text == "如何提升群众的积极性呢？"
    assert normalize("道道网讯? 8月15日下午").text == "道道网讯8月15日下午"


def test_debris_is_removed():
    assert normalize("现象经常发生,。”居民说").text == "现象经常发生。”居民说"
    assert normalize("明确目标任务,、明晰工作重点").text == "明确目标任务、明晰工作重点"
    assert normalize("提升打传效率\ufffd。").text == "提升打传效率。"
    assert normalize("收集到的涉传€索").text == "收集到的涉传索"


def test_whitespace_is_folded_and_paragraphs_kept():
    result = normalize("会议\u3000\u3000召开。\r\n\r\n\r\n联 系 人：刘卫兵\u00a0\n编辑 邬建玲 陆维刚")
    assert result.text == "会议召开。\n\n联系人：刘卫兵\n编辑 邬建玲 陆维刚"
    check_offsets(result)


def test_character_references_left_in_plain_text_are_decoded():
    raw = "省市场监管局&amp;公安机关捣毁窝点&#50;02个。&nbsp;&nbsp;\n&ldquo;亮剑&rdquo;行动&foo;继续"
    result = normalize(raw)
    assert result.text == "省市场监管局&公安机关捣毁窝点202个。\n“亮剑”行动&foo;继续"  # an unknown name stays
    assert result.notes == ["entities-decoded: 6"]
    check_offsets(result)
    amp = result.text.index("&")
    assert result.raw[slice(*result.offsets[amp])] == "&amp;"
    assert result.raw[slice(*result.offsets[result.text.index("“")])] == "&ldquo;"
    assert normalize("R&D; AT&T").text == "R&D; AT&T"  # no reference there


def test_trailing_chrome_is_cut_but_body_kept():
    body = "全省取缔传销窝点202个。\n记者 高艳飞"
    page = body + "\n相关新闻\n湖南召开打击传销会议\n贵阳打传成效显著\n分享到：微信 微博\n评论(0)"
    assert normalize(page).text == body
    # a short last line without a teaser header is body
    assert normalize("全省取缔传销窝点202个。\n相关部门要加强协作。").text == "全省取缔传销窝点202个。\n相关部门要加强协作。"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "big5", "utf-16"])
def test_encodings(encoding):
    text = CLEAN if encoding != "big5" else to_traditional(CLEAN)
    result = normalize(text.encode(encoding))
    assert result.text == CLEAN
    check_offsets(result)


def test_utf16_without_bom():
    data = CLEAN.encode("utf-16-le")
    assert not data.startswith(codecs.BOM_UTF16_LE)
    assert normalize(data).text == CLEAN


def test_short_binary_is_not_read_as_utf16_without_bom():
    """Any even run of bytes decodes as BOM-less UTF-16; ten random bytes used to come out as five
    characters of Hangul, Yi and ideographs about half the time."""
    rng = random.Random(0)
    blobs = [bytes(rng.randrange(256) for _ in range(10)) for _ in range(200)]
    decoded = []
    for blob in blobs:
        try:
            decoded.append(normalize(blob, source="blob.bin").text)
        except NormalizeError as err:
            assert "blob.bin" in str(err)
    assert len(decoded) < 10, decoded
    assert normalize(CLEAN.encode("utf-16-be")).text == CLEAN  # real text without a BOM still reads


@pytest.mark.parametrize("data", [b"", b"\x00\x01\x02\xff\xfe\x00" * 50, bytes(range(256)) * 8])
def test_undecodable_input_gives_clear_error(data):
    with pytest.raises(NormalizeError) as err:
        normalize(data, source="bad.bin")
    assert "bad.bin" in str(err.value)


HTML = """<!DOCTYPE html><html><head><title>打击传销</title><style>p{color:red}</style></head>
<body><nav><a href="/">首页</a> | <a href="/news">新闻中心</a> | <a href="/about">关于我们</a></nav>
<div class="article"><h1>湖南召开打击传销工作电视电话会议</h1>
<p>8月15日下午，湖南省打击传销工作电视电话会议在省政府召开。会议回顾总结前段打击传销工作成效，研究部署下阶段重点工作。</p>
<p>全省市场监管系统共出动执法人员2万多人次，开展排查活动3539次，取缔传销窝点202个，劝返遣散传销人员1517人，查办传销案件68起&amp;更多。</p>
<p>2021年以来，全市市场监管、公安和街道办事处等部门联合捣毁聚集式传销窝点5个，劝返遣散传销人员87人。</p>
</div><footer>版权所有 湖南省市场监督管理局 备案号：湘ICP备12345678号</footer>
<script>var x = "不应出现";</script></body></html>"""


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_html_body_extracted_with_offsets(encoding):
    result = normalize(HTML.encode(encoding))
    assert "取缔传销窝点202个" in result.text
    assert "劝返遣散传销人员87人" in result.text
    assert "不应出现" not in result.text and "p{color" not in result.text
    assert "新闻中心" not in result.text
    check_offsets(result)
    k = result.text.index("取缔")
    assert result.raw[result.offsets[k][0]:result.offsets[k + 1][1]] == "取缔"
    amp = result.text.index("&")
    assert result.raw[slice(*result.offsets[amp])] == "&amp;"


def test_html_without_body_is_an_error():
    with pytest.raises(NormalizeError, match="no article body"):
        normalize("<html><body><div></div><p></p></body></html>", source="empty.html")


# --- properties ---------------------------------------------------------------

# Han characters that OpenCC leaves as they are in both directions' checks.
HAN = "打击传销工作会议省政府召开全市场监管部门联合捣毁窝点劝返人员查办案件宣传活动排查执法出动今年以来上半年湖南贵阳"
sentence = st.lists(st.text(alphabet=HAN, min_size=1, max_size=12), min_size=1, max_size=4).map("，".join).map(lambda s: s + "。")
paragraph = st.lists(sentence, min_size=1, max_size=4).map("".join)
clean_text = st.lists(paragraph, min_size=1, max_size=4).map("\n".join)


@settings(max_examples=60, deadline=None)
@given(clean_text)
def test_property_clean_text_unchanged(text):
    assert normalize(text).text == text


@settings(max_examples=40, deadline=None)
@given(clean_text, st.integers(0, 10_000))
def test_property_idempotent_and_offsets_valid(text, seed):
    damaged = damage(text, seed=seed, runs=2)
    once = normalize(damaged)
    check_offsets(once)
    assert normalize(once.text).text == once.text


def test_glossed_text_round_trips():
    rng = random.Random(1)
    glossed = add_glosses(to_traditional(CLEAN), rng, rate=0.3)
    assert "(" in glossed
    assert normalize(glossed).text == CLEAN
