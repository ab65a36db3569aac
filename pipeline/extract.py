"""`jianbao extract`: many scraped articles in, one record per article out, in input order.

Inputs are read lazily into `Item`s that carry a stable key (a path, or path:line for
a JSONL feed), so a killed run can `--resume`: records and rejects are appended in
whole batches (one write, flushed and synced), a torn last line is cut off, and every
key already written is skipped. A bad input becomes a reject {"source", "error"} and
the batch goes on. Workers (`--n-process`) each load the pipeline once and get plain
items and return plain records, so no Doc crosses a process boundary.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .decode import NormalizeError

TEXT_SUFFIXES = {".txt", ".text", ".htm", ".html"}
FEED_SUFFIXES = {".jsonl", ".json", ".ndjson"}
DEFAULT_MAX_BYTES = 50_000_000
# a longer article goes through the pipeline in pieces of at most this many characters, cut at line ends
# (every link rule stays inside a paragraph), and comes out as one record: memory and time stay linear
PIECE_CHARS = 100_000


class ExtractError(ValueError):
    """Arguments that name no usable input or output."""


@dataclass
class Item:
    """One input document before normalization."""
    key: str  # unique and stable across runs: where it came from
    id: str
    raw: bytes | str | None = None
    meta: dict = field(default_factory=dict)  # published, title, url
    error: str | None = None  # known bad before processing


# --- reading inputs -------------------------------------------------------------------------

def expand(inputs: list[str]) -> tuple[list[str | Path], list[Path]]:
    """Files in the order given; folders recursively and globs each sorted; "-" stays stdin. Second, the
    files inside folders that are of no kind read here (a .pdf, an image), so the summary can name them."""
    out: list[str | Path] = []
    left_out: list[Path] = []
    for spec in inputs:
        if spec == "-":
            out.append("-")
            continue
        path = Path(spec)
        if path.is_dir():
            for p in sorted(p for p in path.rglob("*") if p.is_file()):
                (out if p.suffix.lower() in TEXT_SUFFIXES | FEED_SUFFIXES else left_out).append(p)
        elif path.is_file():
            out.append(path)
        elif glob.has_magic(spec):
            matched = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
            if not matched:
                raise ExtractError(f"{spec}: the pattern matches no file")
            out += matched
        else:
            raise ExtractError(f"{spec}: no such file or folder; give files, folders, globs or - for JSONL on stdin")
    return out, left_out


def _feed_item(obj: object, key: str, default_id: str) -> Item:
    if not isinstance(obj, dict):
        return Item(key, default_id, error=f"expected a JSON object with a text or html field, got {type(obj).__name__}")
    meta = {k: obj.get(k) for k in ("published", "title", "url") if obj.get(k) is not None}
    ident = str(obj.get("id") or default_id)
    body = obj.get("text") if obj.get("text") is not None else obj.get("html")
    if not isinstance(body, str) or not body.strip():
        return Item(key, ident, meta=meta, error="no text: give a non-empty 'text' or 'html' field")
    return Item(key, ident, body, meta)


def _feed_lines(lines: Iterable[bytes], name: str, max_bytes: int) -> Iterator[Item]:
    for n, line in enumerate(lines, 1):
        key = f"{name}:{n}"
        if not line.strip():
            continue
        if len(line) > max_bytes:
            yield Item(key, key, error=f"line of {len(line):,} bytes is over --max-bytes {max_bytes:,}")
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            yield Item(key, key, error=f"invalid JSON line: {e}")
            continue
        yield _feed_item(obj, key, key)


def read_items(inputs: list[str], max_bytes: int = DEFAULT_MAX_BYTES, stdin=None) -> Iterator[Item]:
    """Every document of every input, in order."""
    return _items(expand(inputs)[0], max_bytes, stdin)


def _items(sources: list[str | Path], max_bytes: int, stdin) -> Iterator[Item]:
    for source in sources:
        if source == "-":
            yield from _feed_lines(stdin or sys.stdin.buffer, "<stdin>", max_bytes)
            continue
        name = str(source)
        try:
            size = source.stat().st_size
            if source.suffix.lower() in (".jsonl", ".ndjson"):
                with open(source, "rb") as f:
                    yield from _feed_lines(f, name, max_bytes)
                continue
            if size > max_bytes:
                yield Item(name, source.stem, error=f"file of {size:,} bytes is over --max-bytes {max_bytes:,}")
                continue
            data = source.read_bytes()
        except OSError as e:
            yield Item(name, source.stem, error=f"cannot read: {e.strerror}")
            continue
        if source.suffix.lower() == ".json":
            try:
                obj = json.loads(data)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                yield Item(name, source.stem, error=f"invalid JSON: {e}")
                continue
            objs = obj if isinstance(obj, list) else [obj]
            for n, o in enumerate(objs, 1):
                key = name if len(objs) == 1 and not isinstance(obj, list) else f"{name}:{n}"
                yield _feed_item(o, key, source.stem if key == name else key)
            continue
        yield Item(name, source.stem, data)


# --- processing -----------------------------------------------------------------------------

class Processor:
    """Loads the pipeline once; turns a batch of items into ("record" | "reject", object) pairs."""

    def __init__(self, model: str | None = None, segmenter: str | None = None, threads: int = 0):
        from .models import load_pipeline

        if threads:
            import torch

            torch.set_num_threads(threads)
        self.nlp = load_pipeline(model, segmenter=segmenter)

    def _pieces(self, item: Item) -> list[tuple[int, object]]:
        """(offset, Doc) pieces of the normalized article."""
        from .normalize import normalize

        if item.error:
            raise NormalizeError(item.error)
        text = normalize(item.raw, source=item.key).text
        if not text.strip():
            raise NormalizeError("no article text left after normalization (empty page or only markup)")
        pieces = []
        for offset, piece in split_pieces(text, PIECE_CHARS):
            doc = self.nlp.make_doc(piece)
            doc._.published = item.meta.get("published")
            pieces.append((offset, doc))
        return pieces

    def _record(self, item: Item, pieces: list[tuple[int, object]]) -> dict:
        from .io import merge_records, to_record

        return merge_records([(offset, to_record(doc, item.id, source=item.key, published=item.meta.get("published"),
                                                 title=item.meta.get("title"), url=item.meta.get("url")))
                              for offset, doc in pieces])

    def __call__(self, items: list[Item]) -> list[tuple[str, dict]]:
        out: list[tuple[str, dict] | None] = [None] * len(items)
        pieces: dict[int, list] = {}
        for i, item in enumerate(items):
            try:
                pieces[i] = self._pieces(item)
            except (NormalizeError, ValueError) as e:
                out[i] = ("reject", {"source": item.key, "error": _message(e, item.key)})
        flat = [(i, offset, doc) for i, ps in pieces.items() for offset, doc in ps]
        try:
            done = list(self.nlp.pipe(doc for _, _, doc in flat))
        except Exception:  # one bad document must not cost the batch: redo one by one to find it
            done = []
            for _, _, doc in flat:
                try:
                    done.append(self.nlp(doc))
                except Exception as e:  # noqa: BLE001  (any failure of one document becomes its reject)
                    done.append(e)
        processed: dict[int, list] = {i: [] for i in pieces}
        for (i, offset, _), doc in zip(flat, done):
            processed[i].append((offset, doc))
        for i, ps in processed.items():
            failed = next((d for _, d in ps if isinstance(d, Exception)), None)
            if failed is not None:
                out[i] = ("reject", {"source": items[i].key,
                                     "error": f"pipeline failed: {type(failed).__name__}: {failed}"})
            else:
                out[i] = ("record", self._record(items[i], ps))
        return out  # type: ignore[return-value]


def split_pieces(text: str, size: int) -> list[tuple[int, str]]:
    """Consecutive pieces of at most `size` characters, cut after a line end where there is one in reach,
    else after a sentence end, else anywhere; joined they give `text` back."""
    pieces, start = [], 0
    while len(text) - start > size:
        window = text[start:start + size]
        cut = window.rfind("\n") + 1 or max(window.rfind(c) for c in "。！？；") + 1 or size
        pieces.append((start, window[:cut]))
        start += cut
    pieces.append((start, text[start:]))
    return pieces


def _message(e: Exception, key: str) -> str:
    """The error without the source name the normalizer puts in front (the reject names it)."""
    text = str(e)
    return text[len(key) + 2:] if text.startswith(key + ": ") else text


_worker: Processor | None = None


def _init_worker(model, segmenter, threads):
    global _worker
    _worker = Processor(model, segmenter, threads)


def _run_batch(items: list[Item]) -> list[tuple[str, dict]]:
    return _worker(items)


# --- writing --------------------------------------------------------------------------------

def rejects_path(out: Path) -> Path:
    stem = out.name[:-len(".jsonl")] if out.name.endswith(".jsonl") else out.name
    return out.with_name(stem + ".rejects.jsonl")


def _repair_tail(path: Path) -> None:
    """Cut a last line that a kill left half written."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as f:
        data = f.read()
        if not data.endswith(b"\n"):
            f.truncate(data.rfind(b"\n") + 1)


def done_keys(out: Path) -> set[str]:
    """Sources already written to the records or rejects file."""
    keys = set()
    for path in (out, rejects_path(out)):
        _repair_tail(path)
        if path.exists():
            with open(path, encoding="utf-8") as f:
                keys.update(json.loads(line)["source"] for line in f if line.strip())
    return keys


class Writer:
    """Appends whole batches: one write per file, flushed and synced before the next batch."""

    def __init__(self, out: Path, resume: bool):
        mode = "a" if resume else "w"
        out.parent.mkdir(parents=True, exist_ok=True)
        self.records = open(out, mode, encoding="utf-8")
        self.rejects = open(rejects_path(out), mode, encoding="utf-8")

    def write(self, results: list[tuple[str, dict]]) -> None:
        for kind, f in (("record", self.records), ("reject", self.rejects)):
            lines = [json.dumps(obj, ensure_ascii=False) + "\n" for k, obj in results if k == kind]
            if lines:
                f.write("".join(lines))
                f.flush()
                os.fsync(f.fileno())

    def close(self) -> None:
        self.records.close()
        self.rejects.close()


# --- the run --------------------------------------------------------------------------------

@dataclass
class Summary:
    records: int = 0
    rejects: int = 0
    skipped: int = 0
    chars: int = 0
    seconds: float = 0.0
    left_out: list[Path] = field(default_factory=list)  # files in folders of no kind read here

    def line(self, out: Path) -> str:
        rate = f"{self.records / self.seconds:.1f} docs/s, {self.chars / self.seconds:,.0f} chars/s" \
            if self.seconds else "-"
        skipped = f", {self.skipped} already done" if self.skipped else ""
        line = (f"jianbao extract: {self.records} records, {self.rejects} rejects{skipped}, "
                f"{self.chars:,} chars in {self.seconds:.1f} s ({rate}) -> {out}, {rejects_path(out)}")
        if self.left_out:
            kinds = Counter(p.suffix.lower() or "(no suffix)" for p in self.left_out)
            line += (f"\njianbao extract: {len(self.left_out)} file(s) in the folders were not read, being of no "
                     f"kind read here ({', '.join(f'{k} ×{n}' for k, n in kinds.most_common())}; first: "
                     f"{self.left_out[0]}); give .txt/.html text or a .jsonl/.json feed")
        return line


def batches(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class RayBatch:
    """A Ray Data actor: loads the pipeline once, maps a batch of items to (kind, JSON) rows."""

    def __init__(self, model: str | None, segmenter: str | None):
        self.processor = Processor(model, segmenter, threads=1)

    def __call__(self, batch: dict) -> dict:
        items = []
        for row in batch["item"]:
            d = json.loads(row)
            raw = d["raw"].encode("latin-1") if d.pop("raw_bytes") and d["raw"] is not None else d["raw"]
            items.append(Item(d["key"], d["id"], raw, d["meta"], d["error"]))
        results = self.processor(items)
        return {"kind": [k for k, _ in results], "json": [json.dumps(o, ensure_ascii=False) for _, o in results]}


def _ray_results(items: Iterable[Item], model, segmenter, n_process: int, batch_size: int,
                 address: str | None) -> Iterator[list[tuple[str, dict]]]:
    """The same (kind, object) batches as the local engine, computed by a Ray Data actor pool."""
    import ray

    ray.init(address=address, ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().execution_options.preserve_order = True  # records in input order
    rows = [{"item": json.dumps({"key": i.key, "id": i.id, "meta": i.meta, "error": i.error,
                                 "raw": i.raw.decode("latin-1") if isinstance(i.raw, bytes) else i.raw,
                                 "raw_bytes": isinstance(i.raw, bytes)}, ensure_ascii=False)} for i in items]
    if not rows:
        return
    ds = ray.data.from_items(rows).map_batches(
        RayBatch, fn_constructor_kwargs={"model": model, "segmenter": segmenter}, batch_size=batch_size,
        concurrency=n_process, num_cpus=1)
    batch: list[tuple[str, dict]] = []
    for row in ds.iter_rows():
        batch.append((row["kind"], json.loads(row["json"])))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def run(inputs: list[str], out: Path, model: str | None = None, segmenter: str | None = None,
        n_process: int = 1, batch_size: int = 16, resume: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
        progress: bool = True, stdin=None, engine: str = "local", address: str | None = None,
        threads: int = 0) -> Summary:
    """`threads`: torch threads per process; 0 shares the machine's cores among the processes."""
    from tqdm import tqdm

    if n_process < 1 or batch_size < 1 or threads < 0:
        raise ExtractError("--n-process and --batch-size must be at least 1, --threads at least 0")
    sources, left_out = expand(inputs)  # argument errors before any work or any output file
    if Path(out).is_dir():
        raise ExtractError(f"-o {out}: is a folder; give the records' file, e.g. {Path(out) / 'records.jsonl'}")
    done = done_keys(out) if resume else set()
    summary = Summary(skipped=0, left_out=left_out)

    def todo() -> Iterator[Item]:
        for item in _items(sources, max_bytes, stdin):
            if item.key in done:
                summary.skipped += 1
            else:
                yield item

    writer = Writer(out, resume)
    bar = tqdm(unit="doc", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    start = time.perf_counter()
    try:
        pool = None
        if engine == "ray":
            results = _ray_results(todo(), model, segmenter, n_process, batch_size, address)
        elif n_process == 1:
            processor = Processor(model, segmenter, threads)
            results = map(processor, batches(todo(), batch_size))
        else:
            import multiprocessing

            per_worker = threads or max(1, (os.cpu_count() or 1) // n_process)
            pool = multiprocessing.get_context("spawn").Pool(n_process, _init_worker, (model, segmenter, per_worker))
            results = pool.imap(_run_batch, batches(todo(), batch_size))
        for result in results:
            writer.write(result)
            for kind, obj in result:
                if kind == "record":
                    summary.records += 1
                    summary.chars += len(obj["text"])
                else:
                    summary.rejects += 1
            bar.update(len(result))
            elapsed = time.perf_counter() - start
            bar.set_postfix_str(f"{summary.chars / elapsed:,.0f} chars/s, {summary.rejects} rejects", refresh=False)
        if pool is not None:
            pool.close()
            pool.join()
    finally:
        bar.close()
        writer.close()
    summary.seconds = time.perf_counter() - start
    return summary


def add_command(sub) -> None:
    ex = sub.add_parser("extract", help="extract records from many articles into JSONL (rejects beside it)",
                        description="Normalize and run the pipeline over files, folders, globs or a JSONL feed on "
                                    "stdin (-); write one JSON record per article (pipeline/schema.json) in input "
                                    "order, and each bad input to OUT.rejects.jsonl with the reason.")
    ex.add_argument("inputs", nargs="+", metavar="INPUT",
                    help=".txt/.html files in any encoding, .jsonl/.json feeds (id, url, title, published, text or "
                         "html), folders (recursive), globs, or - for JSONL on stdin")
    ex.add_argument("-o", "--output", required=True, type=Path, metavar="OUT.jsonl")
    ex.add_argument("--model", default=None, help="a spaCy pipeline folder (default: the shipped model), or 'rules'")
    ex.add_argument("--segmenter", choices=("pkuseg", "char"), help="override the pipeline's word segmenter")
    ex.add_argument("--n-process", type=int, default=1, help="worker processes, each with its own pipeline")
    ex.add_argument("--batch-size", type=int, default=16, help="documents per batch (and per atomic write)")
    ex.add_argument("--threads", type=int, default=0,
                    help="torch threads per process (default 0: the machine's cores shared among the processes)")
    ex.add_argument("--resume", action="store_true",
                    help="continue a killed run: keep OUT and its rejects, skip every input already in them")
    ex.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="inputs larger than this are rejected")
    ex.add_argument("--quiet", action="store_true", help="no progress bar")
    ex.add_argument("--engine", choices=("local", "ray"), default="local",
                    help="ray: a Ray Data actor pool (--n-process actors, each loading the pipeline once); "
                         "needs the ray extra")
    ex.add_argument("--address", help="Ray cluster address (default: start a local Ray instance)")
    ex.set_defaults(func=_extract)


def _extract(args) -> int:
    if args.engine == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ExtractError("--engine ray needs Ray: pip install 'jianbao[ray]'") from None
    summary = run(args.inputs, args.output, args.model, args.segmenter, args.n_process, args.batch_size,
                  args.resume, args.max_bytes, progress=not args.quiet, engine=args.engine, address=args.address,
                  threads=args.threads)
    print(summary.line(args.output), file=sys.stderr)
    if summary.records == 0 and summary.rejects and not summary.skipped:
        print(f"jianbao extract: error: no input could be processed; the reasons are in {rejects_path(args.output)}",
              file=sys.stderr)
        return 1
    return 0
