"""Finding and loading the shipped spaCy pipeline."""

from __future__ import annotations

from pathlib import Path

SHIPPED = Path(__file__).resolve().parent.parent / "models" / "jianbao-ner"


class ModelError(RuntimeError):
    """A pipeline that cannot be found or loaded."""


RULES = "rules"


def rules_pipeline():
    """The rules-only baseline pipeline, on characters."""
    import spacy

    from . import rules_ner, segment  # noqa: F401  (register the component and the tokenizer)

    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"@tokenizers": "jianbao.ChineseTokenizer.v1",
                                                           "segmenter": "char"}}})
    nlp.add_pipe("jianbao_rules_ner")
    return nlp


def load_pipeline(path: str | Path | None = None, segmenter: str | None = None):
    """spacy.load with our components registered; `segmenter` overrides the saved word segmenter.
    The name "rules" gives the rules-only baseline."""
    import spacy

    from . import ner, segment  # noqa: F401  (register the factory and the tokenizer)

    if str(path) == RULES:
        return rules_pipeline()
    path = Path(path) if path else SHIPPED
    if not (path / "config.cfg").is_file():
        raise ModelError(f"{path}: not a spaCy pipeline folder (config.cfg missing); "
                         f"train one with `jianbao train --config configs/...` or pass --model")
    config = {"nlp": {"tokenizer": {"segmenter": segmenter}}} if segmenter else {}
    try:
        return spacy.load(path, config=config)
    except (segment.SegmenterError, ner.NERModelError) as e:
        raise ModelError(str(e)) from None
