"""`jianbao annotations` as an ML engineer runs it: raw bulletin to corrected gold, and the committed corpus."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.annotations.records import read_records

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "annotations"
SPLITS = ("train", "dev", "test")


def run(*args):
    out = subprocess.run([sys.executable, "-m", "pipeline.cli", "annotations", *map(str, args)],
                         capture_output=True, cwd=ROOT, text=True)
    return out


def test_raw_bulletin_to_gold_through_labelstudio(tmp_path):
    draft, tasks, gold = tmp_path / "draft.jsonl", tmp_path / "tasks.json", tmp_path / "gold.jsonl"
    assert run("prelabel", ROOT / "examples/bulletin_scraped.txt", "--published", "2024-03-13", "-o", draft).returncode == 0
    assert run("to-labelstudio", draft, "-o", tasks).returncode == 0
    assert "<Relation value=\"PERIOD\"/>" in tasks.with_suffix(".xml").read_text()
    exported = [{"id": 1, "data": t["data"], "annotations": [{"id": 1, "result": t["predictions"][0]["result"]}]}
                for t in json.loads(tasks.read_text(encoding="utf-8"))]
    (tmp_path / "export.json").write_text(json.dumps(exported, ensure_ascii=False), encoding="utf-8")
    out = run("from-labelstudio", tmp_path / "export.json", "-o", gold)
    assert out.returncode == 0, out.stderr
    assert [r.to_json() for r in read_records(gold)] == [r.to_json() for r in read_records(draft)]
    assert run("validate", gold).returncode == 0


def test_validate_reports_and_fails_on_bad_records(tmp_path):
    record = {"id": "bad", "text": "公安机关破案3起", "spans": [{"start": 6, "end": 9, "label": "STAT"}], "relations": []}
    (tmp_path / "bad.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    out = run("validate", tmp_path / "bad.jsonl")
    assert out.returncode == 1 and "bad: offsets: span 0 [6:9]" in out.stdout
    out = run("validate", tmp_path / "missing.jsonl")
    assert out.returncode == 2 and out.stderr.startswith("jianbao annotations: error:") and "no such file" in out.stderr
    (tmp_path / "gbk.jsonl").write_bytes(json.dumps(record, ensure_ascii=False).encode("gbk") + b"\n")
    out = run("validate", tmp_path / "gbk.jsonl")
    assert out.returncode == 2 and out.stderr.startswith("jianbao annotations: error:"), out.stderr
    assert "gbk.jsonl:1: not UTF-8 text" in out.stderr and "save the file as UTF-8" in out.stderr
    bom = tmp_path / "bom.jsonl"  # what Windows editors write: read as the UTF-8 it is
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps({**record, "spans": []}, ensure_ascii=False).encode() + b"\n")
    assert run("validate", bom).returncode == 0


def test_committed_corpus_is_valid_split_and_large_enough():
    out = run("validate", GOLD)
    assert out.returncode == 0, out.stdout[-2000:]
    ids = {split: [r.id for r in read_records(GOLD / f"{split}.jsonl")] for split in SPLITS}
    every = [i for split in SPLITS for i in ids[split]]
    assert len(every) == len(set(every)) >= 60
    for split in SPLITS:
        assert all(r.meta.get("split") == split for r in read_records(GOLD / f"{split}.jsonl"))
    records = [r for split in SPLITS for r in read_records(GOLD / f"{split}.jsonl")]
    counts: dict[str, int] = {}
    for r in records:
        for s in r.spans:
            counts[s["label"]] = counts.get(s["label"], 0) + 1
    assert sum(len(r.text) for r in records) >= 60_000
    assert counts["STAT"] >= 1500 and counts["AGENCY"] >= 800 and counts["DATE"] >= 300
    assert counts["CAMPAIGN"] >= 100 and counts["OFFICIAL"] + counts["TITLE"] >= 100
    # passages a and b of one work report share a split
    docs = {}
    for split in SPLITS:
        for i in ids[split]:
            docs.setdefault(i.rstrip("ab") if i.startswith("rpt26-") else i, set()).add(split)
    assert all(len(s) == 1 for s in docs.values())


def test_stats_prints_counts_per_split():
    out = run("stats", GOLD)
    assert out.returncode == 0
    header = out.stdout.splitlines()[0].split()
    assert header == ["dev", "test", "train", "all"]
    assert any(line.startswith("STAT") for line in out.stdout.splitlines())


def test_audit_lists_places_to_look_at_and_counts_them(tmp_path):
    text = "公安机关破案3起。"
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps({"id": "x", "text": text, "spans": [{"start": 0, "end": 4, "label": "ORG"}]},
                                ensure_ascii=False) + "\n", encoding="utf-8")
    out = run("audit", batch, "--against", GOLD / "train.jsonl")
    assert out.returncode == 0, out.stderr
    lines = [line.split("\t") for line in out.stdout.splitlines()]
    assert ["x", "LABEL", "0-4", "公安机关"] == lines[0][:4] and "AGENCY" in lines[0][4]
    assert ["x", "FIGURE", "6-8", "3起"] in [line[:4] for line in lines]
    assert "places to look at again: LABEL 1, UNTAGGED 0, FIGURE 1, NO_PERIOD 0" in out.stderr
    missing = run("audit", batch, "--against", tmp_path / "none.jsonl")
    assert missing.returncode == 2 and "none.jsonl" in missing.stderr and "--against" in missing.stderr


@pytest.mark.slow
def test_prelabel_with_the_shipped_model_drafts_entities_and_links(tmp_path):
    draft = tmp_path / "draft.jsonl"
    out = run("prelabel", ROOT / "examples/bulletin_scraped.txt", "--published", "2024-03-13",
              "--model", ROOT / "models/jianbao-ner", "-o", draft)
    assert out.returncode == 0, out.stderr
    [record] = read_records(draft)
    assert record.meta["published"] == "2024-03-13"
    labels = {s["label"] for s in record.spans}
    assert {"STAT", "DATE", "AGENCY"} <= labels
    assert {r["label"] for r in record.relations} == {"AGENCY", "PERIOD"}
    assert run("validate", draft).returncode == 0
    missing = run("prelabel", ROOT / "examples/bulletin_scraped.txt", "--model", tmp_path / "none", "-o", draft)
    assert missing.returncode == 2 and "none" in missing.stderr and "Traceback" not in missing.stderr
