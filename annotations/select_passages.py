"""Choose and normalize the passages that make up the in-domain gold corpus.

Run once to (re)build the unannotated drafts; the gold files in this folder
are what it produced after pre-annotation and correction. Reads the corpora
under --data (../shared/data by default), which the repository does not hold.

    python annotations/select_passages.py --out /tmp/drafts.jsonl

Passages are scored by how many figures, bodies and campaign words they hold,
so annotation time goes where the model has the most to learn: two windows of
consecutive paragraphs per provincial work report, the 新闻联播 items that
report on enforcement, public security and market regulation (at most one per
day), and further items densest in named bodies. `meta.selection` records
which rule chose each passage; annotations/split.py fixes the split afterwards.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.annotations.prelabel import _AGENCY_RE  # noqa: E402
from pipeline.annotations.records import Record, write_records  # noqa: E402
from pipeline.normalize import normalize, normalize_file  # noqa: E402

_FIGURE = re.compile(r"\d+(?:\.\d+)?(?:万|亿)?(?:[余多])?(?:个|人|起|件|家|次|元|%|户|条|项|名|所|亩|吨|公里)")
_BODY = re.compile(r"政府|公安|市场监管|检察|法院|部门|局|厅|委员会|办公室|派出所|海关|税务")
_DRIVE = re.compile(r"专项行动|专项整治|行动|专项|攻坚|打击|整治|工程")
_FOREIGN = re.compile(r"^美|苏丹|国际联播|俄|乌|美国|美军|美以|以色列|以军|伊朗|韩国|日本|叙利亚|黎巴嫩|欧洲|欧盟|总统|联合国|会见|外长")
_ENFORCEMENT = re.compile(r"公安|打击|整治|市场监管|执法|查处|违法|犯罪|传销|诈骗|案件|检察|法院|侦破|抓获|专项行动|缉私|扫黑")

# The three seeds: what the article itself states about its origin.
SEEDS = {
    "000": ("seed-000", {"source": "道道网 news report on the Hunan anti-pyramid-selling TV conference (seed 000)", "published": "2023-08-15"}),
    "001": ("seed-001", {"source": "天眼新闻 / 贵州日报 feature on Guiyang anti-pyramid-selling work, 2020 (seed 001)"}),
    "002": ("seed-002", {"source": "永清县人民政府办公室 notice 永政办〔2018〕15号 (seed 002)", "published": "2018-02-06"}),
}


def _score(text: str, with_drives: bool = True) -> float:
    n = len(_FIGURE.findall(text)) + 2 * len(_BODY.findall(text))
    if with_drives:
        n += 3 * len(_DRIVE.findall(text))
    return n / max(len(text), 1)


def _best_window(paragraphs: list[str], size: tuple[int, int], score, skip: set[int]) -> tuple[list[int], float]:
    best: tuple[list[int], float] = ([], -1.0)
    for i in range(len(paragraphs)):
        window: list[int] = []
        for j in range(i, len(paragraphs)):
            if j in skip:
                break
            window.append(j)
            if sum(len(paragraphs[k]) for k in window) >= size[0]:
                break
        text = "\n".join(paragraphs[k] for k in window)
        if window and size[0] <= len(text) <= size[1] and score(text) > best[1]:
            best = (window, score(text))
    return best


# passage a: the window densest in figures, bodies and drives; b: a shorter one densest in figures and bodies
REPORT_WINDOWS = ((1100, 1700), (600, 1000))


def _reports(path: Path) -> Iterator[tuple[int, list[str], dict]]:
    """(number, paragraphs of 40 characters or more, meta) of each normalized work report."""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        report = json.loads(line)
        paragraphs = [p for p in normalize(report["full_text"]).text.split("\n") if len(p) >= 40]
        meta = {"source": f"{report['title']} ({report['province']}), provincial_gov_reports_2026", "published": report["publish_date"]}
        yield n, paragraphs, meta


def _near(window: list[int]) -> set[int]:
    """The window's paragraphs and one on each side: a later window keeps off them."""
    return set(range(min(window, default=0) - 1, max(window, default=-2) + 2))


def _report_windows(paragraphs: list[str]) -> tuple[list[int], list[int]]:
    """The paragraph indices of passages a and b of one report."""
    first, _ = _best_window(paragraphs, REPORT_WINDOWS[0], _score, set())
    other, _ = _best_window(paragraphs, REPORT_WINDOWS[1], lambda t: _score(t, False), _near(first))
    return first, other


def report_passages(path: Path) -> list[Record]:
    """Passages a and b of each report."""
    out = []
    for n, paragraphs, meta in _reports(path):
        for part, window in zip("ab", _report_windows(paragraphs)):
            if window:
                out.append(Record(f"rpt26-{n:02d}{part}", "\n".join(paragraphs[k] for k in window), dict(meta)))
    return out


def _item_text(title: str, body: str) -> str:
    body = re.sub(r"<br\s*/?>|</p>\s*<p[^>]*>", "\n", body)  # <p style=…> too: a roundup keeps its item breaks
    body = re.sub(r"\n\s*\n+", "\n", re.sub(r"<[^>]+>", "", body))
    body = re.sub(r"^央视网消息（新闻联播）：", "", body.strip()).strip()
    return normalize(title.strip() + "\n" + body).text


def _items(path: Path) -> list[tuple[str, str, str]]:
    """(title, body, url) of each item of a 新闻联播 transcript; items without a body are skipped."""
    out = []
    for chunk in path.read_text(encoding="utf-8").split("\n### ")[1:]:
        m = re.match(r"([^\n]+)\n\n(.+?)\n\n\[查看原文\]\((\S+)\)", chunk, re.S)
        if m and not m.group(2).startswith("[查看原文]"):
            out.append(m.groups())
    return out


def news_items(folder: Path, count: int, size: tuple[int, int]) -> list[Record]:
    best_per_day = []
    for path in sorted(folder.glob("*.md")):
        day = path.stem
        items = _items(path)
        scored = []
        for k, (title, body, url) in enumerate(items, 1):
            text = _item_text(title, body)
            hits = len(_ENFORCEMENT.findall(text))
            if size[0] <= len(text) <= size[1] and hits >= 4 and not _FOREIGN.search(title):
                scored.append((hits / len(text) + _score(text, False), k, text, url))
        if scored:
            s, k, text, url = max(scored)
            published = f"{day[:4]}-{day[4:6]}-{day[6:]}"
            best_per_day.append((s, Record(f"xwlb-{day}-{k:02d}", text, {"source": f"新闻联播 {day}: {url}", "published": published})))
    best_per_day.sort(key=lambda x: -x[0])
    return sorted((r for _, r in best_per_day[:count]), key=lambda r: r.id)


def agency_news(folder: Path, exclude: set[str], max_chars: int, size: tuple[int, int],
                least: tuple[int, int]) -> list[Record]:
    """Further items densest in named bodies (the first sets run short of AGENCY): at least
    `least` = (bodies, enforcement words), at most two per day, until `max_chars`."""
    scored = []
    for path in sorted(folder.glob("*.md")):
        day = path.stem
        items = _items(path)
        for k, (title, body, url) in enumerate(items, 1):
            rid = f"xwlb-{day}-{k:02d}"
            if rid in exclude or _FOREIGN.search(title):
                continue
            text = _item_text(title, body)
            bodies, hits = len(_AGENCY_RE.findall(text)), len(_ENFORCEMENT.findall(text))
            if size[0] <= len(text) <= size[1] and bodies >= least[0] and hits >= least[1]:
                score = (2 * bodies + hits + len(_FIGURE.findall(text))) / len(text)
                scored.append((score, rid, text, url, day))
    chosen: list[Record] = []
    per_day: dict[str, int] = {}
    for _, rid, text, url, day in sorted(scored, reverse=True):
        if per_day.get(day, 0) >= 2:
            continue
        per_day[day] = per_day.get(day, 0) + 1
        chosen.append(Record(rid, text, {"source": f"新闻联播 {day}: {url}", "published": f"{day[:4]}-{day[4:6]}-{day[6:]}"}))
        if sum(len(r.text) for r in chosen) > max_chars:
            break
    return sorted(chosen, key=lambda r: r.id)


# markers of named places, organisations and drives: the labels the first corpus taught worst
_NAMES = re.compile(r"[省市县区镇乡村州]|公司|集团|大学|学院|协会|银行|医院|研究院|专项行动|行动|工程|创建")


def _names_score(text: str) -> float:
    return (len(_NAMES.findall(text)) + len(_FIGURE.findall(text))) / max(len(text), 1)


# markers of organisations and of persons who are not officials: the labels model 0.3.0 read worst
_ORG_PERSON = re.compile(r"公司|集团|大学|学院|协会|学会|商会|基金会|合作社|银行|医院|研究院|研究所|实验室|日报|晚报|报社|"
                         r"电视台|出版社|论坛|俱乐部|记者|编辑|教授|院士|研究员|工程师|董事长|总经理|创始人|负责人|嫌疑人|居民|"
                         r"村民|获得者|选手|运动员")


def _org_person_score(text: str) -> float:
    return len(_ORG_PERSON.findall(text)) / max(len(text), 1)


# meta.selection of the passages each later round added to train (round 1 is everything else)
ROUNDS = {2: "more", **{n: f"more-{n}" for n in range(3, 12)}}
# the least a news item of rounds 2-4 names: (bodies, enforcement words); by round 3 the days left hold
# almost no enforcement item, and any domestic item naming bodies teaches the weak labels. From round 5 on
# the score alone chooses.
NEWS_LEAST = {2: (2, 1), 3: (2, 0), 4: (2, 0)}


def more_passages(data: Path, gold: dict[str, str], reports: int, items: int, round_: int = 2) -> list[Record]:
    """A later round, for the train split only: a third window (c) of each work report whose a and b are
    in train and that has none yet, away from them, and 新闻联播 items from days no dev or test passage
    comes from (rounds 3 and 4: no passage at all); both densest in names of places, organisations and
    drives. From round 5 on, a fourth window (d) of the reports densest in organisations and persons, and
    items so chosen from any day no dev or test passage comes from. `gold` maps each id annotated before
    this round to its split."""
    late = round_ >= 5  # the rounds chosen for organisations and persons
    part = "d" if late else "c"
    windows: list[tuple[float, Record]] = []
    for n, paragraphs, meta in _reports(data / "unlabeled/provincial_gov_reports_2026/reports.jsonl"):
        if not late and len(windows) == reports:
            break
        if gold.get(f"rpt26-{n:02d}a") != "train" or f"rpt26-{n:02d}{part}" in gold:
            continue
        first, other = _report_windows(paragraphs)
        window, score = _best_window(paragraphs, REPORT_WINDOWS[1], _names_score, _near(first) | _near(other))
        if late:
            window, score = _best_window(paragraphs, REPORT_WINDOWS[1], _org_person_score,
                                         _near(first) | _near(other) | _near(window))
        if window:
            windows.append((score, Record(f"rpt26-{n:02d}{part}", "\n".join(paragraphs[k] for k in window), meta)))
    if late:  # rounds 2-4 take reports in order, later ones the windows densest in organisations and persons
        windows.sort(key=lambda x: -x[0])
    out = [r for _, r in windows[:reports]]
    # from round 5 on, a train day may give a further item: items of one day are different stories
    held_out_days = {rid.split("-")[1] for rid, split in gold.items()
                     if rid.startswith("xwlb") and (split != "train" or (round_ > 2 and not late))}
    bodies, hits = (0, 0) if late else NEWS_LEAST[round_]
    scored = []
    for path in sorted((data / "unlabeled/xinwenlianbo/news").glob("*.md")):
        if path.stem in held_out_days:
            continue
        for k, (title, body, url) in enumerate(_items(path), 1):
            rid = f"xwlb-{path.stem}-{k:02d}"
            text = _item_text(title, body)
            if rid in gold or _FOREIGN.search(title) or not 300 <= len(text) <= 1200:
                continue
            if len(_AGENCY_RE.findall(text)) >= bodies and len(_ENFORCEMENT.findall(text)) >= hits:
                score = _org_person_score(text) if late else _names_score(text)
                scored.append((score, rid, text, url, path.stem))
    days: set[str] = set()
    for _, rid, text, url, day in sorted(scored, reverse=True):
        if day not in days and len(days) < items:
            days.add(day)
            out.append(Record(rid, text, {"source": f"新闻联播 {day}: {url}", "published": f"{day[:4]}-{day[4:6]}-{day[6:]}"}))
    for r in out:
        r.meta.update(selection=ROUNDS[round_], split="train")
    return out


def seeds(folder: Path) -> list[Record]:
    out = []
    for path in sorted(folder.glob("*.txt")):
        rid, meta = SEEDS[path.name[:3]]
        out.append(Record(rid, normalize_file(path).text, dict(meta)))
    return out


SELECTIONS = ("seed", "report", "news-enforcement", "news-agency", "news-agency-2")  # and "more" (--more)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../shared/data", help="folder holding seeds/ and unlabeled/")
    ap.add_argument("--out", required=True, help="JSONL of unannotated passages (split later by annotations/split.py)")
    ap.add_argument("--news", type=int, default=30, help="how many 新闻联播 items")
    ap.add_argument("--more", nargs=2, type=int, metavar=("REPORTS", "ITEMS"),
                    help="a later round instead: that many further report windows and news items for train, "
                         "away from the earlier rounds' passages in annotations/*.jsonl and from dev/test documents")
    ap.add_argument("--round", type=int, choices=sorted(ROUNDS), default=2, help="which later round --more makes")
    args = ap.parse_args()
    data = Path(args.data)
    if args.more:
        from pipeline.annotations.records import read_records

        here = Path(__file__).parent
        # a round is chosen against the earlier rounds alone, so that this recreates it once it is in the gold files
        later = {ROUNDS[k] for k in ROUNDS if k >= args.round}
        gold = {r.id: split for split in ("train", "dev", "test") for r in read_records(here / f"{split}.jsonl")
                if r.meta.get("selection") not in later}
        records = more_passages(data, gold, *args.more, args.round)
        write_records(records, args.out)
        print(f"{len(records)} passages, {sum(len(r.text) for r in records)} characters -> {args.out}", file=sys.stderr)
        return
    news = data / "unlabeled/xinwenlianbo/news"
    parts = {"seed": seeds(data / "seeds"),
             "report": report_passages(data / "unlabeled/provincial_gov_reports_2026/reports.jsonl"),
             "news-enforcement": news_items(news, args.news, (400, 1800))}
    parts["news-agency"] = agency_news(news, {r.id for r in parts["news-enforcement"]}, 13000, (300, 1400), (4, 2))
    taken = {r.id for r in parts["news-enforcement"] + parts["news-agency"]}
    parts["news-agency-2"] = agency_news(news, taken, 7000, (300, 1400), (3, 1))
    records = []
    for kind in SELECTIONS:
        for r in parts[kind]:
            r.meta["selection"] = kind
            records.append(r)
    write_records(records, args.out)
    chars = sum(len(r.text) for r in records)
    print(f"{len(records)} passages, {chars} characters -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
