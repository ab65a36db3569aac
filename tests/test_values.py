"""Values of figures: numerals, multipliers, approximation markers inside and around the span, ranges."""

import pytest

from pipeline.values import parse_value


@pytest.mark.parametrize("text, before, after, value, unit, qualifier", [
    ("3万余人次", "", "", 30000, "人次", "gt"),
    ("4122次", "", "", 4122, "次", "eq"),
    ("2.39万条", "", "", 23900, "条", "eq"),
    ("51.69%", "", "", 51.69, "%", "eq"),
    ("63597.913万元", "", "", 635979130, "元", "eq"),
    ("1.6亿元", "", "", 160000000, "元", "eq"),
    ("20000名", "超过", "", 20000, "名", "gt"),
    ("万名", "近", "", 10000, "名", "lt"),
    ("五期", "", "", 5, "期", "eq"),
    ("两组", "分为", "", 2, "组", "eq"),
    ("三万四千人", "", "", 34000, "人", "eq"),
    ("30多起", "", "", 30, "起", "gt"),
    ("5%左右", "", "", 5, "%", "approx"),
    ("85%", "", "以上", 85, "%", "ge"),
    ("1500人", "约", "", 1500, "人", "approx"),
    ("0.5个百分点", "", "", 0.5, "个百分点", "eq"),
    ("1,200名", "", "", 1200, "名", "eq"),
    ("１２个", "", "", 12, "个", "eq"),
    ("-52.3℃", "", "", -52.3, "°C", "eq"),  # units come out in NFKC form
    ("千亿级", "", "", 10**11, "级", "eq"),
    ("796元/月", "", "", 796, "元/月", "eq"),
])
def test_values(text, before, after, value, unit, qualifier):
    v = parse_value(text, before, after)
    assert (v.value, v.unit, v.qualifier) == (value, unit, qualifier)


def test_ranges_keep_both_ends():
    v = parse_value("20--30人")
    assert (v.value, v.value_max, v.unit, v.qualifier) == (20, 30, "人", "range")
    v = parse_value("3万至5万元")
    assert (v.value, v.value_max, v.unit) == (30000, 50000, "元")


def test_vague_figures_stay_text_with_a_reason():
    v = parse_value("数十台")
    assert v.value is None and v.reason and v.unit == "数十台"
