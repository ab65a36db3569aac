"""`jianbao_officials`: each OFFICIAL's posts, read from the titles and agency written before the name.

'省市场监管局党组书记、局长钱俊君' gives 钱俊君, [党组书记, 局长], 省市场监管局: walking back from the
name over TITLE and AGENCY spans that touch it or are joined by 、 or 兼. The agency is the
nearest one; titles keep reading order. A later bare mention of the same name (王建国指出) is the
same person: it repeats the posts of the nearest mention that has them, earlier before later, and
`span._.posts_from` points to that mention, so that a report counts one official, not a second
one without posts.
"""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc, Span

POST_JOINERS = re.compile(r"^(?:|、|兼|\s+)$")


def posts(text: str, ents: list[Span], i: int) -> tuple[list[Span], Span | None]:
    """The titles and agency before `ents[i]` (an OFFICIAL); `ents` in text order."""
    titles: list[Span] = []
    agency: Span | None = None
    cursor = ents[i].start_char
    for j in range(i - 1, -1, -1):
        e = ents[j]
        if e.label_ not in ("TITLE", "AGENCY") or not POST_JOINERS.match(text[e.end_char:cursor]):
            break
        if e.label_ == "TITLE":
            titles.insert(0, e)
        elif agency is None:
            agency = e
        cursor = e.start_char
    return titles, agency


@Language.factory("jianbao_officials", assigns=["span._.titles", "span._.agency", "span._.posts_from"],
                  requires=["doc.ents"])
def make_officials(nlp: Language, name: str):
    return attach_posts


def attach_posts(doc: Doc) -> Doc:
    ents, text = list(doc.ents), doc.text
    for i, ent in enumerate(ents):
        if ent.label_ == "OFFICIAL":
            ent._.titles, ent._.agency = posts(text, ents, i)
            ent._.posts_from = None
    officials = [ent for ent in ents if ent.label_ == "OFFICIAL"]
    written = [ent for ent in officials if ent._.titles or ent._.agency is not None]
    for ent in officials:
        if ent not in written and (source := nearest_same_name(ent, written)) is not None:
            ent._.titles, ent._.agency, ent._.posts_from = source._.titles, source._.agency, source
    return doc


def nearest_same_name(ent: Span, written: list[Span]) -> Span | None:
    """The last mention of `ent`'s name before it, else the first after it; `written` in text order."""
    same = [o for o in written if o.text == ent.text]
    earlier = [o for o in same if o.start_char < ent.start_char]
    return earlier[-1] if earlier else next(iter(same), None)


Span.set_extension("titles", default=None, force=True)
Span.set_extension("agency", default=None, force=True)
Span.set_extension("posts_from", default=None, force=True)
