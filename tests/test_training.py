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
    for bad, message in (('"epochs": "many"', "epochs must be float, not 'many'"),
                         ('"bf16": "yes"', "bf16 must be bool | None"), ('"seed": 1.5', "seed must be int"),
                         ('"patience": true', "patience must be int"), ('"public": {}', "public must be list")):
        (tmp_path / "c.json").write_text('{"output_dir": "x", %s}' % bad)
        with pytest.raises(AnnotationError, match=message.replace("|", "\\|")):
            Config.load(tmp_path / "c.json")
    (tmp_path / "c.json").write_text('{"output_dir": "x", "epochs": 2, "bf16": null, "init_model": "m"}')
    assert Config.load(tmp_path / "c.json").epochs == 2  # an int where a float is asked is fine
    cfg = Config(output_dir="x", public=[{"path": str(tmp_path / "nope.json"), "mapping": "configs/label_maps/cluener.json"}])
    with pytest.raises(AnnotationError, match="public corpus not found"):
        public_records(cfg)


def test_a_recipe_whose_stage_starts_elsewhere_is_refused_before_training(tmp_path):
    from training.train_ner import train

    (tmp_path / "one.json").write_text(json.dumps({"output_dir": str(tmp_path / "one")}))
    (tmp_path / "two.json").write_text(json.dumps({"output_dir": str(tmp_path / "two"), "init_model": "models/other"}))
    (tmp_path / "recipe.json").write_text(json.dumps({"stages": [str(tmp_path / "one.json"), str(tmp_path / "two.json")]}))
    with pytest.raises(AnnotationError, match=f"two.json does not continue the stage before it.*{tmp_path}/one/model"):
        train(str(tmp_path / "recipe.json"))
    assert not (tmp_path / "one").exists()  # refused before the first stage's hours


def test_gold_windows_label_every_character_once():
    record = Record("g", "县公安局破案3起", {}, [{"start": 1, "end": 4, "label": "AGENCY"}])
    from pipeline.encoding import CharEncoder

    rows = encode([record], CharEncoder(Tok(), max_length=32, stride=2))
    assert [BIO[i] for i in rows["labels"][0][1:-1]] == ["O", "B-AGENCY", "I-AGENCY", "I-AGENCY", "O", "O", "O", "O"]


def test_bulletins_can_weigh_more_than_the_other_gold():
    from training.augment import oversample

    records = [Record("a", "x", {"selection": "seed"}), Record("b", "y", {"selection": "report"})]
    assert [r.id for r in oversample(records, 2, {"seed": 3})] == ["a"] * 6 + ["b"] * 2
    with pytest.raises(AnnotationError, match="'seed' must map to a whole number"):
        oversample(records, 1, {"seed": 0})


def test_mention_replacement_swaps_names_and_keeps_spans_on_their_text():
    from training.augment import replace_mentions

    records = [Record("a", "县公安局破案3起，张三表示", {}, [{"start": 0, "end": 4, "label": "AGENCY"},
                                                          {"start": 6, "end": 8, "label": "STAT"},
                                                          {"start": 9, "end": 11, "label": "PERSON"}]),
               Record("b", "市场监管总局约谈欧阳娜娜", {}, [{"start": 0, "end": 6, "label": "AGENCY"},
                                                    {"start": 8, "end": 12, "label": "PERSON"}])]
    copies = replace_mentions(records, copies=3, rate=1.0, seed=1)
    assert len(copies) == 6 and not any(c.relations for c in copies)
    seen = set()
    for c in copies:
        original = next(r for r in records if c.id.startswith(r.id + "~"))
        assert [s["label"] for s in c.spans] == [s["label"] for s in original.spans]
        for i, s in enumerate(c.spans):
            pool = {r.span_text(j) for r in records for j, t in enumerate(r.spans) if t["label"] == s["label"]}
            assert c.span_text(i) in pool
            seen.add(c.span_text(i))
        if c.id.startswith("a~"):  # the words between the names, and the figure, stay as they were
            assert c.text == c.span_text(0) + "破案3起，" + c.span_text(2) + "表示" and c.span_text(1) == "3起"
    assert {"市场监管总局", "县公安局", "欧阳娜娜", "张三"} <= seen  # swaps happened both ways
    assert [c.text for c in replace_mentions(records, 3, rate=1.0, seed=1)] == [c.text for c in copies]
    with pytest.raises(AnnotationError, match="cannot be swapped"):
        replace_mentions(records, 1, labels=("STAT",))


def test_every_bundled_config_loads_and_each_recipe_chains_its_stages():
    """A newcomer's `jianbao train --config configs/X.json` must not fail on a key after the first stage's
    hours: every config parses, every recipe stage continues the stage before it, and the README lists it."""
    from pathlib import Path

    from training.pretrain_mlm import MLMConfig
    from training.train_ner import read_json

    listed = Path("configs/README.md").read_text(encoding="utf-8")
    configs = sorted(Path("configs").glob("*.json"))
    assert configs
    for path in configs:
        data = read_json(path, "config", "")
        if "stages" in data:
            stages = [Config.load(stage) for stage in data["stages"]]
            for before, stage in zip(stages, stages[1:]):
                assert stage.init_model == f"{before.output_dir}/model", (path, stage.output_dir)
            assert f"`{path.name}`" in listed, path
        elif path.name.startswith("mlm_"):
            MLMConfig.load(path)
            assert f"`{path.name}`" in listed, path
        else:
            cfg = Config.load(path)
            for public in cfg.public:
                assert Path(public["mapping"]).is_file(), (path, public["mapping"])
            assert f"`{path.stem.split('_stage')[0]}.json`" in listed, path  # a stage is listed with its recipe
