"""Counts per label and relation, per split, for `jianbao annotations stats`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..labels import ENTITY_LABELS, RELATIONS
from .records import Record


def split_of(record: Record, default: str) -> str:
    return str(record.meta.get("split") or default)


def by_split(files: dict[Path, list[Record]]) -> dict[str, list[Record]]:
    """Records grouped by meta.split, else by the name of the file they came from, in split order."""
    groups: dict[str, list[Record]] = {}
    for path, records in files.items():
        for r in records:
            groups.setdefault(split_of(r, path.stem), []).append(r)
    return dict(sorted(groups.items()))


def count(records: list[Record]) -> dict[str, int]:
    c: Counter = Counter()
    for r in records:
        c["documents"] += 1
        c["characters"] += len(r.text)
        c.update(s["label"] for s in r.spans)
        c.update("rel:" + x["label"] for x in r.relations)
    keys = ["documents", "characters", *ENTITY_LABELS, *("rel:" + k for k in RELATIONS)]
    return {k: c.get(k, 0) for k in keys}


def table(groups: dict[str, list[Record]]) -> str:
    columns = {name: count(rs) for name, rs in groups.items()}
    if len(columns) > 1:
        columns["all"] = count([r for rs in groups.values() for r in rs])
    rows = list(next(iter(columns.values())).keys()) if columns else []
    width = max([len(r) for r in rows] + [5])
    out = ["".join([" " * width] + [f"{name:>12}" for name in columns])]
    for row in rows:
        out.append(f"{row:<{width}}" + "".join(f"{columns[name][row]:>12}" for name in columns))
    return "\n".join(out)
