"""Label Studio round trip: tasks with pre-annotations out, the JSON export back in.

Label Studio counts text offsets in UTF-16 code units (JavaScript strings); the spec
counts code points. They differ only beside characters outside the BMP (rare Han
extensions, emoji), and both directions convert, so the round trip is exact.
The labeling config for the project is annotations/labelstudio.xml.
"""

from __future__ import annotations

from pathlib import Path

from ..labels import ENTITY_LABELS, RELATIONS
from .records import AnnotationError, Record, read_json

FROM_NAME, TO_NAME = "label", "text"


def _utf16_offsets(text: str) -> list[int]:
    """UTF-16 offset of every code point offset 0..len(text)."""
    out, pos = [0], 0
    for ch in text:
        pos += 2 if ord(ch) > 0xFFFF else 1
        out.append(pos)
    return out


def labeling_config() -> str:
    labels = "\n".join(f'    <Label value="{label}"/>' for label in ENTITY_LABELS)
    relations = "\n".join(f'    <Relation value="{label}"/>' for label in RELATIONS)
    return (f'<View>\n  <Relations>\n{relations}\n  </Relations>\n  <Labels name="{FROM_NAME}" toName="{TO_NAME}">\n'
            f'{labels}\n  </Labels>\n  <Text name="{TO_NAME}" value="$text" granularity="symbol"/>\n</View>\n')


def _result(record: Record) -> list[dict]:
    u16 = _utf16_offsets(record.text)
    result = []
    for i, s in enumerate(record.spans):
        result.append({"id": f"s{i}", "from_name": FROM_NAME, "to_name": TO_NAME, "type": "labels",
                       "value": {"start": u16[s["start"]], "end": u16[s["end"]],
                                 "text": record.text[s["start"]:s["end"]], "labels": [s["label"]]}})
    for r in record.relations:
        result.append({"type": "relation", "from_id": f"s{r['head']}", "to_id": f"s{r['child']}",
                       "direction": "right", "labels": [r["label"]]})
    return result


def to_tasks(records: list[Record], model_version: str = "jianbao-prelabel") -> list[dict]:
    """Tasks whose pre-annotations show as predictions to correct."""
    return [{"data": {"text": r.text, "jianbao_id": r.id, "meta": r.meta},
             "predictions": [{"model_version": model_version, "result": _result(r)}]} for r in records]


def _record(task: dict, result: list[dict], where: str) -> Record:
    data = task.get("data") or {}
    text = data.get("text")
    if not isinstance(text, str):
        raise AnnotationError(f"{where}: task has no data.text")
    rid = str(data.get("jianbao_id") or task.get("id"))
    u16 = _utf16_offsets(text)
    to_cp = {u: i for i, u in enumerate(u16)}
    spans, index = [], {}
    for item in result:
        if item.get("type") != "labels":
            continue
        value = item.get("value") or {}
        labels = value.get("labels") or []
        if len(labels) != 1:
            raise AnnotationError(f"{where}: region {item.get('id')} has labels {labels}; give each region exactly one")
        if value.get("start") not in to_cp or value.get("end") not in to_cp:
            raise AnnotationError(f"{where}: region {item.get('id')} [{value.get('start')}:{value.get('end')}] "
                                  f"does not fall on characters of the text")
        start, end = to_cp[value["start"]], to_cp[value["end"]]
        if "text" in value and value["text"] != text[start:end]:
            raise AnnotationError(f"{where}: region {item.get('id')} says {value['text']!r} but the text "
                                  f"there reads {text[start:end]!r}")
        index[item.get("id")] = len(spans)
        spans.append({"start": start, "end": end, "label": labels[0]})
    relations = []
    for item in result:
        if item.get("type") != "relation":
            continue
        labels = item.get("labels") or []
        if len(labels) != 1:
            raise AnnotationError(f"{where}: relation {item.get('from_id')} -> {item.get('to_id')} has labels {labels}; "
                                  f"choose exactly one of {', '.join(RELATIONS)}")
        head, child = item.get("from_id"), item.get("to_id")
        if item.get("direction") == "left":
            head, child = child, head
        if head not in index or child not in index:
            raise AnnotationError(f"{where}: relation {head} -> {child} points at a region that is not there")
        relations.append({"head": index[head], "child": index[child], "label": labels[0]})
    return Record(rid, text, data.get("meta") or {}, spans, relations).sorted()


def from_export(path: str | Path, use_predictions: bool = False) -> tuple[list[Record], list[str]]:
    """Records from a Label Studio JSON export; the latest submitted annotation of each task.

    A task nobody annotated is skipped and listed, unless `use_predictions` takes its
    pre-annotation as it stands."""
    tasks = read_json(path, "Label Studio JSON export", "export the project as JSON, not JSON-MIN or CSV")
    if not isinstance(tasks, list):
        raise AnnotationError(f"{path}: a Label Studio JSON export is a list of tasks")
    records, skipped = [], []
    for k, task in enumerate(tasks):
        where = f"{path} task {task.get('id', k)}"
        done = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
        if done:
            latest = max(done, key=lambda a: (a.get("updated_at") or a.get("created_at") or "", a.get("id") or 0))
            records.append(_record(task, latest.get("result") or [], where))
        elif use_predictions and task.get("predictions"):
            records.append(_record(task, task["predictions"][-1].get("result") or [], where))
        else:
            skipped.append(str((task.get("data") or {}).get("jianbao_id") or task.get("id", k)))
    return records, skipped
