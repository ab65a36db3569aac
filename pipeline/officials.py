"""`jianbao_officials`: each OFFICIAL's posts, read from the titles and agency written before the name.

'省市场监管局党组书记、局长钱俊君' gives 钱俊君, [党组书记, 局长], 省市场监管局: walking back from the
name over TITLE and AGENCY spans that touch it or are joined by 、 or 兼. The agency is the
nearest one; titles keep reading order.
"""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc, Span

POST_JOINERS = re.compile(r"^(?:|、|兼|\s+)$")


def posts(doc: Doc, ents: list[Span], official: Span) -> tuple[list[Span], Span | None]:
    titles: list[Span] = []
    agency: Span | None = None
    cursor = official.start_char
    for e in reversed([e for e in ents if e.end_char <= official.start_char]):
        if e.label_ not in ("TITLE", "AGENCY") or not POST_JOINERS.match(doc.text[e.end_char:cursor]):
            break
        if e.label_ == "TITLE":
            titles.insert(0, e)
        elif agency is None:
            agency = e
        cursor = e.start_char
    return titles, agency


@Language.factory("jianbao_officials", assigns=["span._.titles", "span._.agency"], requires=["doc.ents"])
def make_officials(nlp: Language, name: str):
    return attach_posts


def attach_posts(doc: Doc) -> Doc:
    ents = list(doc.ents)
    for ent in ents:
        if ent.label_ == "OFFICIAL":
            ent._.titles, ent._.agency = posts(doc, ents, ent)
    return doc


Span.set_extension("titles", default=None, force=True)
Span.set_extension("agency", default=None, force=True)
