import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# `evaluation` (the damage generator) lives beside the package at the repo root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import settings  # noqa: E402

# Fixed examples in CI so a run is reproducible; locally `--hypothesis-profile=explore` searches wider.
settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=400)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
