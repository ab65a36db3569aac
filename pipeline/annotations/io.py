"""Loading annotations from whatever a person points at: a spec JSONL file, a
markup (.md) file, or a folder of JSONL files."""

from __future__ import annotations

from pathlib import Path

from .markup import read_markup
from .records import AnnotationError, Record, read_records


def annotation_files(path: str | Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.jsonl") if p.is_file())
        if not files:
            raise AnnotationError(f"{path}: folder holds no .jsonl files")
        return files
    if not path.is_file():
        raise AnnotationError(f"{path}: no such file or folder")
    return [path]


def load(path: str | Path) -> dict[Path, list[Record]]:
    """Records per file, in file order."""
    out = {}
    for f in annotation_files(path):
        out[f] = read_markup(f) if f.suffix == ".md" else list(read_records(f))
    return out
