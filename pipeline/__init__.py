"""jianbao: information extraction from Chinese government bulletins."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas


def load_facts(path: str | Path | Iterable[str | Path]) -> pandas.DataFrame:
    """The figures of extracted JSONL file(s) or globs, one row each (pipeline.query; imports duckdb and pandas)."""
    from .query import load_facts

    return load_facts(path)
