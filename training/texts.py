"""Unlabeled text for training, without what evaluation reads.

Masked-LM pretraining (pretrain_mlm) and distillation (train_ner's `unlabeled`) read the same
government text; a paragraph that shares a run of characters with a held-out gold split (dev, test)
is dropped, so no evaluation text is seen, not even unlabeled.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.annotations.records import AnnotationError, read_records

EXCLUDE_RUN = 20  # characters in common with held-out gold that make a paragraph held-out text


def read_texts(sources: list[dict]) -> list[str]:
    """The documents these sources name, in a fixed order: each {"path": a JSONL file, "field": its text
    key} or {"path": a folder, "glob": "*.md"}."""
    docs = []
    for source in sources:
        path = Path(source.get("path", ""))
        if path.is_dir():
            files = sorted(path.glob(source.get("glob", "*.txt")))
            if not files:
                raise AnnotationError(f"{path}: no files match {source.get('glob', '*.txt')!r}; fix 'glob' in the config")
            docs += [f.read_text(encoding="utf-8") for f in files]
        elif path.is_file() and "field" in source:
            with path.open(encoding="utf-8") as fh:
                for n, line in enumerate(fh, 1):
                    if line.strip():
                        try:
                            row = json.loads(line)
                        except json.JSONDecodeError as err:
                            raise AnnotationError(f"{path}:{n}: not a JSON object ({err.msg}); fix or drop that line") from None
                        if not isinstance(row, dict) or not isinstance(row.get(source["field"]), str):
                            raise AnnotationError(f"{path}:{n}: no text field {source['field']!r}")
                        docs.append(row[source["field"]])
        else:
            raise AnnotationError(f"text source {source}: give an existing folder (with 'glob') or a JSONL file "
                                  "(with 'field'); fix its path in the config")
    return docs


def _compact(text: str) -> str:
    return "".join(text.split())


def held_out_runs(paths: list[str], run: int) -> set[str]:
    """Every run of `run` characters (whitespace removed) in the gold files that must stay unseen."""
    runs = set()
    for path in paths:
        for r in read_records(path):
            t = _compact(r.text)
            runs.update(t[i:i + run] for i in range(len(t) - run + 1))
    return runs


def keep_paragraphs(doc: str, runs: set[str], run: int) -> tuple[str, int]:
    """The document without paragraphs that share a run with held-out text (or are shorter than a run:
    headings and page furniture), and how many were dropped."""
    kept, dropped = [], 0
    for para in doc.split("\n"):
        t = _compact(para)
        if not t:
            continue
        if len(t) < run or any(t[i:i + run] in runs for i in range(len(t) - run + 1)):
            dropped += 1
        else:
            kept.append(para)
    return "\n".join(kept), dropped
