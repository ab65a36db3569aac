"""Word segmentation for the spaCy pipeline: pkuseg's pretrained model or single characters.

spaCy's own Chinese tokenizer serializes the pkuseg model (about 180 MB) into
every saved pipeline. This one stores only the setting and the user dictionary,
and finds pkuseg's default model at load time (fetched once by
`jianbao model pkuseg`), so a committed pipeline stays small. pkuseg's models are
released for research use; `segmenter = "char"` needs nothing.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import zipfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import spacy
from spacy import util
from spacy.tokens import Doc
from spacy.vocab import Vocab

from .wheels import fetch_wheel

SEGMENTERS = ("pkuseg", "char")
PKUSEG_WHEEL = "pkuseg==0.0.25"
_MODEL_FILES = ("features.pkl", "weights.npz")


class SegmenterError(RuntimeError):
    """The segmenter cannot run as configured."""


def pkuseg_model_dir() -> Path:
    """Where pkuseg's default model lives: $JIANBAO_PKUSEG_MODEL, else ~/.cache/jianbao/pkuseg/default."""
    env = os.environ.get("JIANBAO_PKUSEG_MODEL")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jianbao" / "pkuseg" / "default"


def drop_training_features(features: Path) -> bool:
    """Empty the word-bigram set in pkuseg's features.pkl. Only pkuseg's training reads it (inference looks
    bigram features up in feature_to_idx); without its 1.1M strings the model loads 160 MB lighter at its
    peak and a little faster, and segments identically. Returns whether the file changed."""
    import pickle

    data = pickle.loads(features.read_bytes())
    if not data.get("bigram"):
        return False
    data["bigram"] = []
    part = features.with_suffix(".part")
    part.write_bytes(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
    part.replace(features)
    return True


def fetch_pkuseg(target: Path | None = None, cache: Path = Path(".cache/wheels")) -> Path:
    """Download the pkuseg 0.0.25 wheel (manylinux, cp37: it carries the default model) and unpack
    pkuseg/models/default/ to `target`, its features without what only training reads. Nothing is
    installed."""
    target = target or pkuseg_model_dir()
    if not all((target / f).is_file() for f in _MODEL_FILES):
        wheel = fetch_wheel(PKUSEG_WHEEL, "pkuseg-0.0.25-*.whl", cache, SegmenterError,
                            extra=("--platform", "manylinux1_x86_64", "--python-version", "3.7", "--implementation",
                                   "cp", "--abi", "cp37m"),
                            hint="check that PyPI is reachable or use segmenter 'char'")
        target.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as z:
            for name in _MODEL_FILES:
                (target / name).write_bytes(z.read(f"pkuseg/models/default/{name}"))
    drop_training_features(target / "features.pkl")  # also for a model fetched before this step existed
    return target


@lru_cache(maxsize=2)
def _load_pkuseg(model_dir: str):
    import spacy_pkuseg

    # spacy-pkuseg prints "WARNING: features.msgpack does not exist" before it reads features.pkl, the format
    # pkuseg's wheel ships (its msgpack form loads slower here: 3.4 s against 2.5 s); in a batch that line
    # came once per worker, in the middle of the progress bar, about nothing wrong
    with contextlib.redirect_stderr(io.StringIO()):
        return spacy_pkuseg.pkuseg(model_name=model_dir, user_dict=[])


class ChineseTokenizer:
    """Segments text into words (pkuseg) or characters; whitespace becomes token spacing."""

    def __init__(self, vocab: Vocab, segmenter: str = "pkuseg", user_dict: Iterable[str] = ()):
        if segmenter not in SEGMENTERS:
            raise SegmenterError(f"unknown segmenter {segmenter!r}; use one of {', '.join(SEGMENTERS)}")
        self.vocab = vocab
        self.segmenter = segmenter
        self.user_dict = sorted(set(w.strip() for w in user_dict if w.strip()))
        self._seg = None

    def _pkuseg(self):
        if self._seg is None:
            model = pkuseg_model_dir()
            if not all((model / f).is_file() for f in _MODEL_FILES):
                raise SegmenterError(
                    f"pkuseg's default model is not at {model}: run `jianbao model pkuseg` once to fetch it "
                    f"(or set JIANBAO_PKUSEG_MODEL), or load the pipeline with segmenter 'char'")
            import copy

            import spacy_pkuseg

            seg = copy.copy(_load_pkuseg(str(model)))
            seg.preprocesser = spacy_pkuseg.Preprocesser(None)
            for word in self.user_dict:
                seg.preprocesser.insert(word, "")
            self._seg = seg
        return self._seg

    def __call__(self, text: str) -> Doc:
        words = self._pkuseg().cut(text) if self.segmenter == "pkuseg" else list(text)
        words, spaces = util.get_words_and_spaces([w for w in words if w], text)
        return Doc(self.vocab, words=words, spaces=spaces)

    def pipe(self, texts, batch_size: int = 1000):
        for text in texts:
            yield self(text)

    def to_bytes(self, **kwargs) -> bytes:
        return json.dumps({"segmenter": self.segmenter, "user_dict": self.user_dict}, ensure_ascii=False).encode()

    def from_bytes(self, data: bytes, **kwargs) -> "ChineseTokenizer":
        cfg = json.loads(data)
        self.user_dict = cfg["user_dict"]
        self._seg = None
        return self

    def to_disk(self, path, **kwargs) -> None:
        Path(path).write_bytes(self.to_bytes())

    def from_disk(self, path, **kwargs) -> "ChineseTokenizer":
        return self.from_bytes(Path(path).read_bytes())


@spacy.registry.tokenizers("jianbao.ChineseTokenizer.v1")
def create_tokenizer(segmenter: str = "pkuseg"):
    def make(nlp):
        return ChineseTokenizer(nlp.vocab, segmenter)

    return make
