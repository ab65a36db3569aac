"""The training recipe's data preparation: public sets with masked and silver labels, label ids per window."""

from __future__ import annotations

import json

import pytest

from pipeline.annotations.records import AnnotationError, Record
from pipeline.encoding import BIO
from training.train_ner import Config, encode, public_records


class Tok:
    cls_token_id, sep_token_id, unk_token_id, pad_token_id = 0, 2, 3, 1

    def get_vocab(self):
        return {}


def test_public_sets_mask_ignored_labels_and_add_silver_figures(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"text": "市长王海说杭州破案12起", "label": {
        "name": {"王海": [[2, 3]]}, "address": {"杭州": [[5, 6]]}, "position": {"市长": [[0, 1]]}}},
        ensure_ascii=False), encoding="utf-8")
    cfg = Config(output_dir=str(tmp_path), public=[{"path": str(path), "mapping": "configs/label_maps/cluener.json",
                                                    "ignore": ["PERSON"], "silver": ["STAT"]}])
    record = public_records(cfg)[0]
    labels = {(record.span_text(i), s["label"]) for i, s in enumerate(record.spans)}
    assert labels == {("市长", "TITLE"), ("王海", "PERSON"), ("杭州", "PLACE"), ("12起", "STAT")}
    from pipeline.encoding import CharEncoder

    row = encode([record], CharEncoder(Tok(), max_length=32, stride=2))["labels"][0]
    tags = [None if i == -100 else BIO[i] for i in row[1:-1]]
    assert tags[:5] == ["B-TITLE", "I-TITLE", None, None, "O"]  # the name is kept out of the loss
    assert tags[-3:] == ["B-STAT", "I-STAT", "I-STAT"]


def test_config_errors_are_clear(tmp_path):
    (tmp_path / "c.json").write_text('{"output_dir": "x", "epochz": 3}')
    with pytest.raises(AnnotationError, match="unknown config keys \\['epochz'\\]"):
        Config.load(tmp_path / "c.json")
    with pytest.raises(AnnotationError, match="no such config"):
        Config.load(tmp_path / "missing.json")
    cfg = Config(output_dir="x", public=[{"path": str(tmp_path / "nope.json"), "mapping": "configs/label_maps/cluener.json"}])
    with pytest.raises(AnnotationError, match="public corpus not found"):
        public_records(cfg)


def test_gold_windows_label_every_character_once():
    record = Record("g", "县公安局破案3起", {}, [{"start": 1, "end": 4, "label": "AGENCY"}])
    from pipeline.encoding import CharEncoder

    rows = encode([record], CharEncoder(Tok(), max_length=32, stride=2))
    assert [BIO[i] for i in rows["labels"][0][1:-1]] == ["O", "B-AGENCY", "I-AGENCY", "I-AGENCY", "O", "O", "O", "O"]
