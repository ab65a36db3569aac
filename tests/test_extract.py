"""`jianbao extract`: messy inputs in, one record per good document and one reject per bad one out,
in input order, resumable after a kill without duplicates or losses."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.extract import ExtractError, read_items, rejects_path, run
from pipeline.io import validate_record

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CLEAN = (EXAMPLES / "bulletin_clean.txt").read_text(encoding="utf-8")


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """A folder like a scraper's: dirty text, HTML, a GBK file, a feed with a bad line, empty and binary files."""
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for f in EXAMPLES.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "sub" / "gbk.txt").write_bytes(CLEAN.encode("gbk"))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "sub" / "blob.txt").write_bytes(bytes(range(256)) * 8)
    (folder / "sub" / "big.html").write_bytes(b"<html>" + b"x" * 5000 + b"</html>")
    (folder / "sub" / "scan.PDF").write_bytes(b"%PDF-1.4")  # of no kind read here: named in the summary
    feed = [json.dumps({"id": "f1", "published": "2023-08-16", "title": "t", "url": "http://x/1", "text": CLEAN},
                       ensure_ascii=False),
            "{not json",
            json.dumps({"id": "f3", "html": f"<html><body><article><p>{CLEAN}</p></article></body></html>"},
                       ensure_ascii=False),
            json.dumps({"id": "f4", "title": "no body"}),
            json.dumps(["not", "an", "object"])]
    (folder / "feed.jsonl").write_text("\n".join(feed) + "\n", encoding="utf-8")
    return folder


def test_every_good_document_is_a_record_and_every_bad_one_a_reject(mixed, tmp_path):
    out = tmp_path / "out.jsonl"
    summary = run([str(mixed)], out, model="rules", max_bytes=4000, progress=False)
    records, rejects = lines(out), lines(rejects_path(out))
    assert [r["source"].replace(str(mixed) + "/", "") for r in records] == [
        "bulletin_clean.txt", "bulletin_gbk.html", "bulletin_scraped.txt", "feed.jsonl:1", "feed.jsonl:3",
        "sub/gbk.txt"]  # input order: folders sorted, feed lines in order
    for r in records:
        validate_record(r)
        assert r["facts"] and any(f["value"] == 356 for f in r["facts"])
    feed_record = records[3]
    assert (feed_record["id"], feed_record["published"], feed_record["url"]) == ("f1", "2023-08-16", "http://x/1")
    assert feed_record["facts"][0]["period"]["start"] == "2023-01-01"  # resolved against the feed's date
    reasons = {r["source"].replace(str(mixed) + "/", ""): r["error"] for r in rejects}
    assert set(reasons) == {"empty.txt", "feed.jsonl:2", "feed.jsonl:4", "feed.jsonl:5", "sub/blob.txt",
                            "sub/big.html"}
    assert "empty" in reasons["empty.txt"]
    assert "invalid JSON" in reasons["feed.jsonl:2"]
    assert "no text" in reasons["feed.jsonl:4"]
    assert "JSON object" in reasons["feed.jsonl:5"]
    assert "decode" in reasons["sub/blob.txt"]
    assert "--max-bytes" in reasons["sub/big.html"]
    assert (summary.records, summary.rejects) == (6, 6)
    assert summary.left_out == [mixed / "sub" / "scan.PDF"]
    assert "1 file(s) in the folders were not read" in summary.line(out) and ".pdf ×1" in summary.line(out)


def test_command_exit_status_and_stdin_feed(tmp_path):
    out = tmp_path / "o.jsonl"
    feed = json.dumps({"id": "s1", "text": CLEAN}, ensure_ascii=False) + "\n{bad\n"
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "extract", "-", "-o", str(out), "--model", "rules"],
                          input=feed.encode(), capture_output=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr.decode()
    assert [r["id"] for r in lines(out)] == ["s1"]
    assert lines(rejects_path(out))[0]["source"] == "<stdin>:2"
    assert b"1 records, 1 rejects" in done.stderr
    # nothing processable: exit 1 and say where the reasons are
    nothing = subprocess.run([sys.executable, "-m", "pipeline.cli", "extract", "-", "-o", str(out), "--model", "rules"],
                             input=b"{bad\n", capture_output=True, cwd=ROOT)
    assert nothing.returncode == 1 and b"no input could be processed" in nothing.stderr
    # wrong arguments: exit 2, one line, no traceback
    missing = subprocess.run([sys.executable, "-m", "pipeline.cli", "extract", str(tmp_path / "nope"), "-o", str(out)],
                             capture_output=True, cwd=ROOT)
    assert missing.returncode == 2 and b"no such file or folder" in missing.stderr and b"Traceback" not in missing.stderr
    into_folder = subprocess.run([sys.executable, "-m", "pipeline.cli", "extract", str(EXAMPLES), "-o", str(tmp_path),
                                  "--model", "rules"], capture_output=True, cwd=ROOT)
    assert into_folder.returncode == 2 and b"is a folder" in into_folder.stderr and b"Traceback" not in into_folder.stderr


def test_a_glob_that_matches_nothing_is_an_argument_error(tmp_path):
    with pytest.raises(ExtractError, match="matches no file"):
        list(read_items([str(tmp_path / "*.txt")]))


def _feed(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"d{i}", "text": f"今年以来，全市查处传销案件{i % 50 + 1}起，劝返{i}人。"},
                               ensure_ascii=False) + "\n")


def test_ten_thousand_tiny_documents(tmp_path):
    feed, out = tmp_path / "tiny.jsonl", tmp_path / "tiny.out.jsonl"
    _feed(feed, 10_000)
    summary = run([str(feed)], out, model="rules", batch_size=256, progress=False)
    records = lines(out)
    assert summary.records == len(records) == 10_000
    assert [r["id"] for r in records] == [f"d{i}" for i in range(10_000)]
    assert records[9_999]["facts"][1]["value"] == 9_999


def test_resume_after_a_kill_loses_and_duplicates_nothing(tmp_path):
    feed, out = tmp_path / "feed.jsonl", tmp_path / "out.jsonl"
    _feed(feed, 3_000)
    cmd = [sys.executable, "-m", "pipeline.cli", "extract", str(feed), "-o", str(out), "--model", "rules",
           "--batch-size", "50", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or out.stat().st_size < 20_000):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    written = len(lines(out)) if out.read_bytes().endswith(b"\n") else None
    assert written is None or 0 < written < 3_000, "the kill should land mid-run"
    with open(out, "ab") as f:  # a torn last line, as a kill during a write leaves
        f.write(b'{"id": "d99999", "sou')
    subprocess.run(cmd + ["--resume"], cwd=ROOT, check=True, capture_output=True)
    ids = [r["id"] for r in lines(out)]
    assert ids == [f"d{i}" for i in range(3_000)]


@pytest.mark.slow
def test_a_ten_megabyte_document_is_processed_whole(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text((CLEAN + "\n") * (10_000_000 // len(CLEAN.encode()) + 1), encoding="utf-8")
    out = tmp_path / "big.out.jsonl"
    run([str(big)], out, model="rules", progress=False)
    (record,) = lines(out)
    assert len(record["text"]) > 3_000_000  # not cut at spaCy's 1M-character default
    last = record["facts"][-1]
    assert record["text"][last["start"]:last["end"]] == last["text"] and last["start"] > 3_000_000


@pytest.mark.slow
def test_ray_engine_writes_the_same_records_as_the_local_one(mixed, tmp_path):
    pytest.importorskip("ray", reason="the ray extra is not installed")
    local, distributed = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    run([str(mixed)], local, model="rules", max_bytes=4000, progress=False)
    run([str(mixed)], distributed, model="rules", max_bytes=4000, progress=False, engine="ray", n_process=2,
        batch_size=2)
    assert distributed.read_bytes() == local.read_bytes()
    assert rejects_path(distributed).read_bytes() == rejects_path(local).read_bytes()
    assert len(lines(distributed)) == 6
