"""Finding and loading the shipped spaCy pipeline."""

from __future__ import annotations

from pathlib import Path

SHIPPED = Path(__file__).resolve().parent.parent / "models" / "jianbao-ner"


class ModelError(RuntimeError):
    """A pipeline that cannot be found or loaded."""


RULES = "rules"

# the rule stages after NER, in order: normalized values and periods, figure links, officials' posts
FACT_STAGES = ("jianbao_values", "jianbao_periods", "jianbao_relations", "jianbao_officials")


def register() -> None:
    """Import the modules that register our tokenizer and components with spaCy."""
    from . import ner, officials, periods, relations, rules_ner, segment, values  # noqa: F401


# spaCy refuses texts over 1M characters to protect its parser's memory; ours has no parser and the NER
# stage reads text in windows, so a long report is processed whole rather than refused or cut.
MAX_LENGTH = 100_000_000


def add_fact_stages(nlp) -> None:
    """Append the rule stages that turn entities into facts, where missing; lift spaCy's length limit."""
    register()
    nlp.max_length = max(nlp.max_length, MAX_LENGTH)
    for name in FACT_STAGES:
        if name not in nlp.pipe_names:
            nlp.add_pipe(name)


def rules_pipeline():
    """The rules-only baseline pipeline, on characters."""
    import spacy

    register()
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"@tokenizers": "jianbao.ChineseTokenizer.v1",
                                                           "segmenter": "char"}}})
    nlp.add_pipe("jianbao_rules_ner")
    add_fact_stages(nlp)
    return nlp


def load_pipeline(path: str | Path | None = None, segmenter: str | None = None):
    """spacy.load with our components registered; `segmenter` overrides the saved word segmenter.
    The name "rules" gives the rules-only baseline. A pipeline saved before the rule stages
    existed (an NER-only training run) gets them appended."""
    import spacy

    from . import ner, segment

    register()
    if str(path) == RULES:
        return rules_pipeline()
    path = Path(path) if path else SHIPPED
    if not (path / "config.cfg").is_file():
        raise ModelError(f"{path}: not a spaCy pipeline folder (config.cfg missing); "
                         f"train one with `jianbao train --config configs/...` or pass --model")
    config = {"nlp": {"tokenizer": {"segmenter": segmenter}}} if segmenter else {}
    try:
        nlp = spacy.load(path, config=config)
    except (segment.SegmenterError, ner.NERModelError) as e:
        raise ModelError(str(e)) from None
    add_fact_stages(nlp)
    return nlp
