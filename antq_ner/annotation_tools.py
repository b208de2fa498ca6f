"""Annotation tools' formats: Label Studio tasks out (with the model's pre-annotations) and its
exports back in (JSON, JSON_MIN), doccano JSONL both ways.

Offsets everywhere are Python code-point offsets into the task text, end exclusive, as both tools
write them. Reading an export only parses it (`read_export`): checking the spans against the
corpus's tokens and writing them into the corpus is `corpus_import`'s work.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

__all__ = [
    "FROM_NAME",
    "TOOL_FORMATS",
    "TO_NAME",
    "ExportError",
    "ExportedSpan",
    "ExportedTask",
    "doccano_record",
    "label_studio_result",
    "label_studio_task",
    "labeling_config",
    "read_export",
]

TOOL_FORMATS = ("label-studio", "doccano")
FROM_NAME, TO_NAME = "label", "text"  # the names of the <Labels> and <Text> tags of `labeling_config`
# Label colours, cycled: distinct at a glance, dark enough for Label Studio's white text.
_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22")


class ExportError(ValueError):
    """An export that cannot be read; the message names the file and the task or line."""


@dataclass(frozen=True)
class ExportedSpan:
    start: int
    end: int
    label: str
    text: str | None  # the region's text as the tool saved it, if it did


@dataclass(frozen=True)
class ExportedTask:
    where: str  # "FILE: task 12" or "FILE:3": how messages name it
    doc_id: str
    text: str
    spans: tuple[ExportedSpan, ...]


# ------------------------------------------------------------------------------------------- export


def labeling_config(types: Sequence[str]) -> str:
    """Label Studio's labelling config for span annotation over `types` (`<Labels>` over `<Text>`)."""
    labels = "\n".join(
        f"    <Label value={quoteattr(t)} background={quoteattr(_COLOURS[i % len(_COLOURS)])}/>"
        for i, t in enumerate(types)
    )
    return (
        "<View>\n"
        f'  <Labels name="{FROM_NAME}" toName="{TO_NAME}">\n{labels}\n  </Labels>\n'
        f'  <Text name="{TO_NAME}" value="${TO_NAME}"/>\n'
        "</View>\n"
    )


def label_studio_result(entities: Sequence[dict], from_name: str = FROM_NAME, to_name: str = TO_NAME) -> list[dict]:
    """predict.py's entities (`type`, `start`, `end`, `text`, `score`) as Label Studio `labels` regions."""
    return [
        {
            "id": f"e{k}",
            "from_name": from_name,
            "to_name": to_name,
            "type": "labels",
            "value": {"start": e["start"], "end": e["end"], "text": e["text"], "labels": [e["type"]]},
            "score": e["score"],
        }
        for k, e in enumerate(entities, start=1)
    ]


def label_studio_task(doc_id: str, text: str, entities: Sequence[dict], confidence: float, model_version: str) -> dict:
    """A task to import, its pre-annotations as `predictions[0]`; `score` is the task's confidence
    (`uncertainty.sequence_confidence`: low = uncertain, served first by uncertainty sampling)."""
    return {
        "data": {TO_NAME: text, "doc_id": doc_id},
        "predictions": [{"model_version": model_version, "score": round(confidence, 6),
                         "result": label_studio_result(entities)}],
    }


def doccano_record(doc_id: str, text: str, entities: Sequence[dict], confidence: float) -> dict:
    """A doccano JSONL line: `{"text", "label": [[start, end, TYPE], …]}` and the id and confidence as metadata."""
    return {"text": text, "label": [[e["start"], e["end"], e["type"]] for e in entities], "doc_id": doc_id,
            "score": round(confidence, 6)}


# ------------------------------------------------------------------------------------------- import


def _int(value, where: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ExportError(f"{where}: {what} must be an integer, got {value!r}")
    return value


def _doc_id(value, where: str) -> str:
    doc_id = str(value)
    if (not doc_id or doc_id != doc_id.strip() or doc_id.startswith(".") or any(c in doc_id for c in "/\\\n\r\t")
            or doc_id.endswith(".txt")):
        raise ExportError(
            f"{where}: document id {doc_id!r} cannot be a file name in the corpus (no '/', '\\', line break, "
            "leading dot or outer space): set data.doc_id to a plain name"
        )
    return doc_id


def _span(region: dict, where: str) -> ExportedSpan:
    """A region `{"start", "end", "text"?, "labels": [TYPE]}` (Label Studio's `value`, JSON_MIN's items)."""
    if not isinstance(region, dict):
        raise ExportError(f"{where}: a region must be an object, got {type(region).__name__}")
    labels = region.get("labels")
    if not isinstance(labels, list) or len(labels) != 1 or not isinstance(labels[0], str):
        raise ExportError(
            f"{where}: region {region.get('text', '')!r} has labels {labels!r}; each region needs exactly one type "
            "(a syllable has one tag)"
        )
    text = region.get("text")
    return ExportedSpan(_int(region.get("start"), where, "a region's start"), _int(region.get("end"), where, "a region's end"),
                        labels[0], text if isinstance(text, str) else None)


def _latest(annotations: list[dict], where: str) -> tuple[dict | None, list[str]]:
    """The annotation to import: the latest (by `updated_at`, then `created_at`, then id) not cancelled."""
    notes = []
    kept = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled")]
    if not kept:
        return None, [f"{where}: skipped by the annotator (cancelled annotation); not imported"]
    kept.sort(key=lambda a: (str(a.get("updated_at") or ""), str(a.get("created_at") or ""), str(a.get("id") or "")))
    if len(annotations) > 1:
        cancelled = len(annotations) - len(kept)
        notes.append(
            f"{where}: {len(annotations)} annotations ({cancelled} cancelled); took the latest not cancelled "
            f"(annotation {kept[-1].get('id')}, by {kept[-1].get('completed_by')}, updated {kept[-1].get('updated_at')})"
        )
    return kept[-1], notes


def _from_label_studio(task: dict, where: str) -> tuple[ExportedTask | None, list[str]]:
    data = task.get("data")
    if not isinstance(data, dict) or not isinstance(data.get(TO_NAME), str):
        raise ExportError(f"{where}: no text in data.{TO_NAME}; export a project whose <Text> reads $text")
    if not task.get("annotations"):
        return None, [f"{where}: no annotation; not imported"]
    annotation, notes = _latest(task["annotations"], where)
    if annotation is None:
        return None, notes
    result = annotation.get("result") or []
    if not isinstance(result, list):
        raise ExportError(f"{where}: annotation {annotation.get('id')}: result must be a list")
    spans = []
    for item in result:
        if not isinstance(item, dict):
            raise ExportError(f"{where}: annotation {annotation.get('id')}: a result item must be an object")
        if item.get("type") != "labels":
            notes.append(f"{where}: result item of type {item.get('type')!r} ignored (only span labels are imported)")
            continue
        spans.append(_span(item.get("value"), where))
    doc_id = _doc_id(data.get("doc_id", f"task-{task.get('id')}"), where)
    return ExportedTask(where, doc_id, data[TO_NAME], tuple(spans)), notes


def _from_json_min(task: dict, where: str) -> tuple[ExportedTask | None, list[str]]:
    if not isinstance(task.get(TO_NAME), str):
        raise ExportError(f"{where}: no \"{TO_NAME}\" field; export a project whose <Text> reads $text")
    spans = []
    for value in task.values():  # the regions stand under the <Labels> tag's name
        if isinstance(value, list) and all(isinstance(v, dict) and "labels" in v for v in value) and value:
            spans.extend(_span(v, where) for v in value)
    doc_id = _doc_id(task.get("doc_id", f"task-{task.get('id')}"), where)
    return ExportedTask(where, doc_id, task[TO_NAME], tuple(spans)), []


def _from_doccano(record: dict, where: str) -> ExportedTask:
    if not isinstance(record.get("text"), str):
        raise ExportError(f"{where}: no \"text\" string")
    labels = record.get("label", record.get("labels", []))
    if not isinstance(labels, list):
        raise ExportError(f"{where}: \"label\" must be a list of [start, end, TYPE]")
    spans = []
    for item in labels:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[2], str)):
            raise ExportError(f"{where}: label {item!r} is not [start, end, TYPE]")
        spans.append(ExportedSpan(_int(item[0], where, "a label's start"), _int(item[1], where, "a label's end"), item[2], None))
    meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
    doc_id = record.get("doc_id", meta.get("doc_id", f"doccano-{record['id']}" if "id" in record else None))
    if doc_id is None:
        raise ExportError(f"{where}: no \"doc_id\" or \"id\": give each line a document id")
    return ExportedTask(where, _doc_id(doc_id, where), record["text"], tuple(spans))


def read_export(path: Path) -> tuple[list[ExportedTask], list[str]]:
    """The annotated tasks of a Label Studio JSON or JSON_MIN export or a doccano JSONL file, and
    notes on what was left out or decided (skipped, unannotated, several annotations).

    The format is recognised from the content: a JSON array whose items hold `data` (Label Studio
    JSON) or the text at the top (JSON_MIN), else one JSON object per line (doccano).
    """
    path = Path(path)
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise ExportError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    tasks: list[ExportedTask] = []
    notes: list[str] = []
    if raw.lstrip().startswith("["):
        try:
            items = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ExportError(f"{path}:{e.lineno}: malformed JSON ({e.msg})") from None
        for k, item in enumerate(items):
            if not isinstance(item, dict):
                raise ExportError(f"{path}: item {k + 1} is not an object")
            where = f"{path}: task {item.get('id', k + 1)}"
            task, task_notes = (_from_label_studio if "data" in item else _from_json_min)(item, where)
            notes.extend(task_notes)
            if task is not None:
                tasks.append(task)
        return tasks, notes
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise ExportError(f"{path}:{lineno}: malformed JSON ({e.msg} at column {e.colno}); expected a Label "
                              "Studio JSON array or doccano JSONL") from None
        if not isinstance(record, dict):
            raise ExportError(f"{path}:{lineno}: expected an object {{\"text\", \"label\"}}")
        tasks.append(_from_doccano(record, f"{path}:{lineno}"))
    return tasks, notes
