"""doccano round trip (sequence labeling project with relations enabled).

doccano imports JSONL lines {"text", "entities", "relations", ...}; fields it does not
know are kept as metadata and written back on export, which carries our id and meta.
Offsets are code points, as in the spec.
"""

from __future__ import annotations

from pathlib import Path

from .records import AnnotationError, Record, jsonl_objects


def to_lines(records: list[Record]) -> list[dict]:
    out = []
    for r in records:
        entities = [{"id": i, "label": s["label"], "start_offset": s["start"], "end_offset": s["end"]}
                    for i, s in enumerate(r.spans)]
        relations = [{"id": k, "from_id": x["head"], "to_id": x["child"], "type": x["label"]}
                     for k, x in enumerate(r.relations)]
        out.append({"text": r.text, "entities": entities, "relations": relations, "jianbao_id": r.id, "meta": r.meta})
    return out


def _record(line: dict, where: str) -> Record:
    text = line.get("text")
    if not isinstance(text, str):
        raise AnnotationError(f"{where}: line has no text")
    meta = line.get("meta") if isinstance(line.get("meta"), dict) else {}
    rid = str(line.get("jianbao_id") or meta.get("jianbao_id") or line.get("id"))
    spans, index = [], {}
    for e in line.get("entities") or []:
        try:
            start, end, label = int(e["start_offset"]), int(e["end_offset"]), e["label"]
        except (KeyError, TypeError, ValueError):
            raise AnnotationError(f"{where}: entity {e!r} lacks start_offset, end_offset or label") from None
        index[e.get("id")] = len(spans)
        spans.append({"start": start, "end": end, "label": label})
    relations = []
    for x in line.get("relations") or []:
        if x.get("from_id") not in index or x.get("to_id") not in index:
            raise AnnotationError(f"{where}: relation {x!r} points at an entity id that is not in this line")
        relations.append({"head": index[x["from_id"]], "child": index[x["to_id"]], "label": x.get("type")})
    if "jianbao_id" in meta and isinstance(meta.get("meta"), dict):  # export that nests imported fields under meta
        meta = meta["meta"]
    meta = {k: v for k, v in meta.items() if k != "jianbao_id"}
    return Record(rid, text, meta, spans, relations).sorted()


def from_export(path: str | Path) -> list[Record]:
    """Records from a doccano JSONL export."""
    records = []
    for n, data in jsonl_objects(path, "export the project as JSONL"):
        if not isinstance(data, dict):
            raise AnnotationError(f"{path}:{n}: a doccano line must be a JSON object")
        records.append(_record(data, f"{path}:{n}"))
    return records
