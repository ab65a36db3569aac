"""`jianbao clean` as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], input=stdin,
                          capture_output=True, cwd=EXAMPLES.parent)


def test_clean_bundled_example_restores_the_original(tmp_path):
    offsets = tmp_path / "offsets.json"
    out = run("clean", str(EXAMPLES / "bulletin_scraped.txt"), "--offsets", str(offsets))
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode("utf-8").rstrip("\n")
    assert text == (EXAMPLES / "bulletin_clean.txt").read_text(encoding="utf-8").rstrip("\n")
    mapping = json.loads(offsets.read_text())
    assert len(mapping["offsets"]) == len(text)


def test_clean_gbk_html_example():
    out = run("clean", str(EXAMPLES / "bulletin_gbk.html"))
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode("utf-8")
    assert "捣毁传销窝点12个" in text and "新闻中心" not in text and "分享到" not in text


def test_clean_stdin():
    out = run("clean", "-", stdin="打擊傳銷,取締窩點202個".encode("gbk"))
    assert out.returncode == 0
    assert out.stdout.decode("utf-8").strip() == "打击传销，取缔窝点202个"


def test_clean_errors_are_one_line_with_exit_2(tmp_path):
    missing = run("clean", str(tmp_path / "nope.txt"))
    assert missing.returncode == 2 and b"no such file" in missing.stderr
    folder = run("clean", str(tmp_path))
    assert folder.returncode == 2 and b"is a folder" in folder.stderr and b"Traceback" not in folder.stderr
    binary = tmp_path / "x.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    bad = run("clean", str(binary))
    assert bad.returncode == 2
    assert b"cannot decode" in bad.stderr and b"Traceback" not in bad.stderr
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert run("clean", str(empty)).returncode == 2
