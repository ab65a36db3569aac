"""Exports of spec records for training: a spaCy DocBin and a HF `datasets` dataset."""

from __future__ import annotations

import json
from pathlib import Path

from ..encoding import BIO, char_tags
from .records import AnnotationError, Record


def to_docbin(records: list[Record], path: str | Path):
    """Docs on spaCy's character segmenter, so every span aligns; relations and meta ride in user_data."""
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("zh")
    docbin = DocBin(store_user_data=True)
    for r in records:
        doc = nlp.make_doc(r.text)
        ents = []
        for s in r.spans:
            span = doc.char_span(s["start"], s["end"], label=s["label"], alignment_mode="strict")
            if span is None:
                raise AnnotationError(f"{r.id}: span [{s['start']}:{s['end']}] {r.text[s['start']:s['end']]!r} "
                                      f"does not fall on token boundaries")
            ents.append(span)
        doc.ents = ents
        doc.user_data.update({"id": r.id, "meta": r.meta, "relations": r.relations})
        docbin.add(doc)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    docbin.to_disk(path)
    return docbin


def to_hf(groups: dict[str, list[Record]], path: str | Path):
    """A DatasetDict with one split per group: the spec fields plus `tokens` (characters)
    and `ner_tags` (BIO class labels) ready for token classification."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Sequence, Value

    features = Features({
        "id": Value("string"),
        "text": Value("string"),
        "meta": Value("string"),
        "spans": [{"start": Value("int32"), "end": Value("int32"), "label": Value("string")}],
        "relations": [{"head": Value("int32"), "child": Value("int32"), "label": Value("string")}],
        "tokens": Sequence(Value("string")),
        "ner_tags": Sequence(ClassLabel(names=BIO)),
    })
    splits = {}
    for name, records in groups.items():
        rows = [{"id": r.id, "text": r.text, "meta": json.dumps(r.meta, ensure_ascii=False), "spans": r.spans,
                 "relations": r.relations, "tokens": list(r.text), "ner_tags": char_tags(r.text, r.spans)} for r in records]
        splits[name] = Dataset.from_list(rows, features=features)
    dataset = DatasetDict(splits)
    dataset.save_to_disk(str(path))
    return dataset


def from_hf_row(row: dict) -> Record:
    return Record(row["id"], row["text"], json.loads(row["meta"]), [dict(s) for s in row["spans"]],
                  [dict(x) for x in row["relations"]])
