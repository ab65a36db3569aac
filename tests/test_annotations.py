"""Annotation tooling: validator failure kinds, markup, converters, exports and tool round trips."""

from __future__ import annotations

import json

import pytest

from pipeline.annotations import doccano, labelstudio
from pipeline.annotations.audit import audit
from pipeline.annotations.convert import LabelMap, convert
from pipeline.annotations.export import from_hf_row, to_docbin, to_hf
from pipeline.annotations.markup import from_markup, to_markup
from pipeline.annotations.prelabel import prelabel
from pipeline.annotations.records import AnnotationError, Record, read_records, write_records
from pipeline.annotations.stats import count
from pipeline.annotations.validate import validate
from pipeline.encoding import char_tags

TEXT = "2023年以来，省市场监管局、公安机关捣毁传销窝点202个，劝返87人。\n省长蒋涤非出席会议。"


def span(text: str, part: str, label: str, nth: int = 0) -> dict:
    start = -1
    for _ in range(nth + 1):
        start = text.index(part, start + 1)
    return {"start": start, "end": start + len(part), "label": label}


def gold() -> Record:
    spans = [span(TEXT, "2023年以来", "DATE"), span(TEXT, "省市场监管局", "AGENCY"), span(TEXT, "公安机关", "AGENCY"),
             span(TEXT, "202个", "STAT"), span(TEXT, "87人", "STAT"), span(TEXT, "省长", "TITLE"),
             span(TEXT, "蒋涤非", "OFFICIAL")]
    relations = [{"head": 3, "child": 1, "label": "AGENCY"}, {"head": 3, "child": 2, "label": "AGENCY"},
                 {"head": 3, "child": 0, "label": "PERIOD"}, {"head": 4, "child": 0, "label": "PERIOD"}]
    return Record("hn-1", TEXT, {"source": "test", "published": "2023-08-16"}, spans, relations)


def kinds(record: Record) -> list[str]:
    return [p.kind for p in validate([record])]


def test_valid_record_passes():
    assert validate([gold()]) == []


@pytest.mark.parametrize("change, kind", [
    (lambda r: r.spans.append({"start": 40, "end": 90, "label": "STAT"}), "offsets"),
    (lambda r: r.spans.append({"start": "3", "end": 5, "label": "STAT"}), "offsets"),
    (lambda r: r.spans.__setitem__(5, {**r.spans[5], "label": "POST"}), "label"),
    (lambda r: r.spans.append({"start": 1, "end": 3, "label": "DATE"}), "overlap"),
    (lambda r: r.spans.append({"start": TEXT.index("\n"), "end": TEXT.index("\n") + 2, "label": "TITLE"}), "whitespace"),
    (lambda r: r.relations.append({"head": 5, "child": 1, "label": "AGENCY"}), "relation"),
    (lambda r: r.relations.append({"head": 4, "child": 6, "label": "AGENCY"}), "relation"),
    (lambda r: r.relations.append({"head": 4, "child": 99, "label": "AGENCY"}), "relation"),
    (lambda r: r.relations.append({"head": 4, "child": 1, "label": "PLACE"}), "relation"),
    (lambda r: r.relations.append({"head": 3, "child": 1, "label": "AGENCY"}), "relation"),
])
def test_each_failure_kind_is_reported(change, kind):
    record = gold()
    change(record)
    assert kind in kinds(record)


def test_two_periods_on_one_figure_are_rejected():
    record = gold()
    record.spans.append(span(TEXT, "会议", "DATE"))
    record.relations.append({"head": 3, "child": 7, "label": "PERIOD"})
    problems = validate([record])
    assert [p.kind for p in problems] == ["relation"] and "2 PERIOD links" in problems[0].message


def test_text_must_be_normalized_and_ids_unique():
    record = gold()
    record.text = record.text.replace("，", ",", 1)
    assert "text" in kinds(record)
    assert [p.kind for p in validate([gold(), gold()])] == ["id"]


def test_problem_names_record_and_span():
    record = gold()
    record.spans[3]["label"] = "FIGURE"
    message = str(validate([record])[0])
    assert message.startswith("hn-1: label:") and "'202个'" in message


def test_jsonl_read_errors_give_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(gold().to_json(), ensure_ascii=False) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"bad.jsonl:2: invalid JSON"):
        list(read_records(path))
    path.write_text('{"text": "x"}\n', encoding="utf-8")
    with pytest.raises(AnnotationError, match="lacks id"):
        list(read_records(path))


def test_markup_round_trip_and_same_text_children():
    text = "公安机关查处案件3起。公安机关另查处案件5起，市场监管部门查处7起。"
    spans = [span(text, "公安机关", "AGENCY"), span(text, "3起", "STAT"), span(text, "公安机关", "AGENCY", 1),
             span(text, "5起", "STAT"), span(text, "市场监管部门", "AGENCY"), span(text, "7起", "STAT")]
    # 7起 links to the farther 公安机关 on purpose: the markup must say which one.
    relations = [{"head": 1, "child": 0, "label": "AGENCY"}, {"head": 3, "child": 2, "label": "AGENCY"},
                 {"head": 5, "child": 0, "label": "AGENCY"}]
    record = Record("r", text, {"published": "2024-01-01"}, spans, relations)
    markup = to_markup(record)
    assert "⟦7起|STAT|agency=公安机关@0⟧" in markup
    back = from_markup(markup)[0]
    assert back.to_json() == record.sorted().to_json()
    assert from_markup(to_markup(gold()))[0].to_json() == gold().sorted().to_json()


def test_markup_errors_name_the_problem():
    with pytest.raises(AnnotationError, match="no AGENCY span reading '公安'"):
        from_markup('#doc {"id": "x"}\n⟦公安机关|AGENCY⟧查处⟦3起|STAT|agency=公安⟧')
    with pytest.raises(AnnotationError, match="malformed span"):
        from_markup('#doc {"id": "x"}\n⟦公安机关 AGENCY⟧查处')


def test_cluener_conversion_maps_drops_and_checks(tmp_path):
    path = tmp_path / "c.json"
    rows = [{"text": "浙江省公安厅厅长王海在杭州观看电影《长津湖》", "label": {
        "government": {"浙江省公安厅": [[0, 5]]}, "position": {"厅长": [[6, 7]]}, "name": {"王海": [[8, 9]]},
        "address": {"杭州": [[11, 12]]}, "movie": {"《长津湖》": [[17, 21]]}}}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    mapping = LabelMap.load("configs/label_maps/cluener.json")
    record = next(convert(path, mapping, "c"))
    assert [(record.text[s["start"]:s["end"]], s["label"]) for s in record.spans] == [
        ("浙江省公安厅", "AGENCY"), ("厅长", "TITLE"), ("王海", "PERSON"), ("杭州", "PLACE")]
    assert mapping.dropped == {"movie": 1}
    rows[0]["label"]["weapon"] = {"枪": [[0, 0]]}
    path.write_text(json.dumps(rows[0], ensure_ascii=False), encoding="utf-8")
    with pytest.raises(AnnotationError, match="'weapon' is not in mapping"):
        list(convert(path, mapping))
    rows[0]["label"] = {"name": {"王海": [[7, 8]]}}
    path.write_text(json.dumps(rows[0], ensure_ascii=False), encoding="utf-8")
    with pytest.raises(AnnotationError, match="reads '长王'"):
        list(convert(path, mapping))


def test_bio_and_bmes_conversion(tmp_path):
    bio = tmp_path / "p.bio"
    bio.write_text("1\tB-TIME\n9\tI-TIME\n9\tI-TIME\n8\tI-TIME\n年\tI-TIME\n江\tB-LOC\n苏\tI-LOC\n好\tO\n\n张\tB-PER\n三\tI-PER\n",
                   encoding="utf-8")
    records = list(convert(bio, LabelMap.load("configs/label_maps/people_daily.json"), "pd"))
    assert [r.text for r in records] == ["1998年江苏好", "张三"]
    assert [(r.text[s["start"]:s["end"]], s["label"]) for r in records for s in r.spans] == [
        ("1998年", "DATE"), ("江苏", "PLACE"), ("张三", "PERSON")]
    bmes = tmp_path / "r.bmes"
    bmes.write_text("高 B-NAME\n勇 E-NAME\n任 O\n总 B-TITLE\n经 M-TITLE\n理 E-TITLE\n汉 S-RACE\n族 O\n", encoding="utf-8")
    mapping = LabelMap.load("configs/label_maps/resume.json")
    record = next(convert(bmes, mapping, "r"))
    assert [(record.text[s["start"]:s["end"]], s["label"]) for s in record.spans] == [("高勇", "PERSON"), ("总经理", "TITLE")]
    assert mapping.dropped == {"RACE": 1}
    bmes.write_text("高 X-NAME\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match="not BMES"):
        list(convert(bmes, mapping))


def _simulated_labelstudio_export(tasks: list[dict]) -> list[dict]:
    """What Label Studio exports after an annotator submits the pre-annotation unchanged."""
    return [{"id": k + 1, "data": t["data"], "annotations": [
        {"id": 10 + k, "was_cancelled": False, "result": t["predictions"][0]["result"]}], "predictions": []}
        for k, t in enumerate(tasks)]


def test_labelstudio_round_trip_is_lossless(tmp_path):
    astral = Record("astral", "𠀀𠀁北京市公安局破案12起", {"source": "t"},
                    [span("𠀀𠀁北京市公安局破案12起", "北京市公安局", "AGENCY"), span("𠀀𠀁北京市公安局破案12起", "12起", "STAT")],
                    [{"head": 1, "child": 0, "label": "AGENCY"}])
    records = [gold().sorted(), astral]
    tasks = labelstudio.to_tasks(records)
    assert tasks[1]["predictions"][0]["result"][0]["value"]["start"] == 4  # two UTF-16 pairs before it
    path = tmp_path / "export.json"
    path.write_text(json.dumps(_simulated_labelstudio_export(tasks), ensure_ascii=False), encoding="utf-8")
    back, skipped = labelstudio.from_export(path)
    assert skipped == [] and [r.to_json() for r in back] == [r.to_json() for r in records]


def test_labelstudio_import_takes_latest_submission_and_reports_problems(tmp_path):
    tasks = _simulated_labelstudio_export(labelstudio.to_tasks([gold().sorted()]))
    corrected = [x for x in tasks[0]["annotations"][0]["result"] if x.get("type") == "labels"][:2]
    tasks[0]["annotations"].append({"id": 99, "was_cancelled": True, "result": []})
    tasks[0]["annotations"].append({"id": 50, "was_cancelled": False, "updated_at": "2099-01-01", "result": corrected})
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    back, _ = labelstudio.from_export(path)
    assert len(back[0].spans) == 2 and back[0].relations == []
    corrected[0]["value"]["text"] = "别的"
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(AnnotationError, match="says '别的'"):
        labelstudio.from_export(path)
    path.write_text(json.dumps(labelstudio.to_tasks([gold()])), encoding="utf-8")
    assert labelstudio.from_export(path) == ([], ["hn-1"])
    assert labelstudio.from_export(path, use_predictions=True)[0][0].to_json() == gold().sorted().to_json()


def test_doccano_round_trip_is_lossless(tmp_path):
    records = [gold().sorted()]
    path = tmp_path / "d.jsonl"
    lines = doccano.to_lines(records)
    # doccano exports its own example id and may nest imported fields under meta
    exported = [{"id": 7, **lines[0]}, {"id": 8, "text": lines[0]["text"], "entities": lines[0]["entities"],
                                         "relations": lines[0]["relations"],
                                         "meta": {"jianbao_id": "hn-1", "meta": lines[0]["meta"]}}]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in exported), encoding="utf-8")
    back = doccano.from_export(path)
    assert [r.to_json() for r in back] == [records[0].to_json()] * 2
    exported[0]["relations"].append({"id": 9, "from_id": 3, "to_id": 42, "type": "AGENCY"})
    path.write_text(json.dumps(exported[0], ensure_ascii=False), encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"d.jsonl:1: relation .* not in this line"):
        doccano.from_export(path)


def test_docbin_and_hf_exports(tmp_path):
    import spacy
    from datasets import load_from_disk
    from spacy.tokens import DocBin

    record = gold().sorted()
    to_docbin([record], tmp_path / "g.spacy")
    doc = next(DocBin().from_disk(tmp_path / "g.spacy").get_docs(spacy.blank("zh").vocab))
    assert [(e.text, e.label_) for e in doc.ents] == [(record.span_text(i), s["label"]) for i, s in enumerate(record.spans)]
    assert list(doc.user_data["relations"]) == record.relations and doc.user_data["id"] == "hn-1"
    to_hf({"train": [record], "dev": [record]}, tmp_path / "hf")
    ds = load_from_disk(str(tmp_path / "hf"))
    assert set(ds) == {"train", "dev"}
    row = ds["train"][0]
    names = ds["train"].features["ner_tags"].feature.names
    assert [names[t] for t in row["ner_tags"]] == char_tags(record.text, record.spans)
    assert from_hf_row(row).to_json() == record.to_json()


def test_prelabel_drafts_figures_dates_and_links():
    record = prelabel(Record("p", TEXT))
    found = {(record.span_text(i), s["label"]) for i, s in enumerate(record.spans)}
    assert {("202个", "STAT"), ("87人", "STAT"), ("2023年以来", "DATE"), ("公安机关", "AGENCY")} <= found
    stat = next(i for i, s in enumerate(record.spans) if record.span_text(i) == "202个")
    assert any(r["head"] == stat and r["label"] == "PERIOD" and record.span_text(r["child"]) == "2023年以来"
               for r in record.relations)
    assert validate([record]) == []



def test_prelabel_drafts_a_campaign_from_after_its_verb():
    record = prelabel(Record("p", "在全县开展打击传销活动大排查。"))
    assert [(record.span_text(i), s["label"]) for i, s in enumerate(record.spans)
            if s["label"] == "CAMPAIGN"] == [("打击传销活动大排查", "CAMPAIGN")]  # was 展打击传销活动大排查

def test_stats_counts_labels_and_relations():
    c = count([gold(), gold()])
    assert c["documents"] == 2 and c["STAT"] == 4 and c["rel:PERIOD"] == 4 and c["PLACE"] == 0


def test_write_then_read_is_identity(tmp_path):
    write_records([gold()], tmp_path / "a.jsonl")
    assert [r.to_json() for r in read_records(tmp_path / "a.jsonl")] == [gold().to_json()]


def test_audit_points_at_disagreements_with_the_reference():
    reference = [gold(), Record("hn-2", "省长蒋涤非到公安机关调研。", {}, [span("省长蒋涤非到公安机关调研。", "公安机关", "AGENCY")])]
    text = "2024年，公安机关破案3起，省长蒋涤非讲话。"
    batch = Record("new", text, {}, [span(text, "2024年", "DATE"), span(text, "公安机关", "ORG"),
                                     span(text, "省长", "TITLE")])
    found = {(f.kind, f.text) for f in audit([batch], reference)}
    assert ("LABEL", "公安机关") in found  # the reference says AGENCY twice
    assert ("UNTAGGED", "蒋涤非") not in found  # tagged once in the reference: too little to go on
    assert ("FIGURE", "3起") in found
    fixed = Record("new", text, {}, [span(text, "2024年", "DATE"), span(text, "公安机关", "AGENCY"),
                                     span(text, "3起", "STAT"), span(text, "省长", "TITLE")])
    assert {(f.kind, f.text) for f in audit([fixed], reference)} == {("NO_PERIOD", "3起")}
    fixed.relations = [{"head": 2, "child": 0, "label": "PERIOD"}, {"head": 2, "child": 1, "label": "AGENCY"}]
    assert audit([fixed], reference) == []
    reference.append(Record("hn-3", "蒋涤非", {}, [span("蒋涤非", "蒋涤非", "OFFICIAL")]))
    assert [(f.kind, f.text) for f in audit([fixed], reference)] == [("UNTAGGED", "蒋涤非")]


def test_audit_lists_an_untagged_place_once_not_again_for_each_shorter_name_inside_it():
    reference = [Record(f"r{k}", "四川省四川", {}, [span("四川省四川", "四川省", "PLACE"), span("四川省四川", "四川", "PLACE", 1)])
                 for k in range(2)]
    text = "四川省和四川"
    batch = Record("new", text, {}, [])
    assert [(f.text, f.start) for f in audit([batch], reference)] == [("四川省", 0), ("四川", 4)]


def test_audit_of_a_split_against_itself_leaves_out_each_records_own_spans():
    text = "公安机关"
    one = Record("a", text, {}, [span(text, "公安机关", "ORG")])
    two = Record("b", text, {}, [span(text, "公安机关", "AGENCY")])
    # against itself: each record meets only the other's label, one to one
    assert {(f.record, f.kind) for f in audit([one, two], [one, two])} == {("a", "LABEL"), ("b", "LABEL")}
    assert audit([one], [one]) == []
