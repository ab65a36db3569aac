"""`jianbao_rules_ner`: the pre-annotation patterns as an NER component, the rules-only baseline."""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

from .annotations.prelabel import prelabel_spans
from .ner import set_entities


@Language.component("jianbao_rules_ner")
def rules_ner(doc: Doc) -> Doc:
    return set_entities(doc, prelabel_spans(doc.text))
