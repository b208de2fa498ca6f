"""The annotation loop's model side: pre-annotate documents (or sentences) for a tool, and rank
them by how unsure the model is, least certain first (`antq-ner annotate export|rank`)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .annotation_tools import doccano_record, label_studio_task, labeling_config
from .documents import InputDocument, corpus_id, iter_predictions
from .io_utils import atomic_write_text
from .uncertainty import sequence_confidence

__all__ = ["ScoredDocument", "label_config_path", "least_certain_first", "score_documents", "write_tasks"]


@dataclass(frozen=True)
class ScoredDocument:
    id: str
    text: str  # the document (or sentence) as read
    entities: list[dict]  # predict.py's entities, offsets into `text`
    confidence: float  # `uncertainty.sequence_confidence` of its tags: low = uncertain
    syllables: int


def score_documents(tagger, docs: Iterable[InputDocument], per_sentence: bool = False) -> list[ScoredDocument]:
    """Each document's entities and confidence, under its `corpus_id` (made unique with `-2`, `-3`…);
    with `per_sentence`, each sentence as its own document `<id>-sNNN`, its text and offsets cut
    from the document."""
    out = []
    used: set[str] = set()
    for pred in iter_predictions(tagger, docs):
        doc = pred.document
        doc_id = base = corpus_id(doc)
        for k in itertools.count(2):
            if doc_id not in used:
                break
            doc_id = f"{base}-{k}"
        used.add(doc_id)
        if not per_sentence:
            out.append(ScoredDocument(doc_id, doc.text, pred.entities, sequence_confidence(pred.scores),
                                      sum(map(len, pred.sentences))))
            continue
        for k, (tokens, scores) in enumerate(zip(pred.sentences, pred.scores), start=1):
            start, end = tokens[0].start, tokens[-1].end
            entities = [{**e, "start": e["start"] - start, "end": e["end"] - start}
                        for e in pred.entities if start <= e["start"] and e["end"] <= end]
            out.append(ScoredDocument(f"{doc_id}-s{k:03d}", doc.text[start:end], entities,
                                      sequence_confidence([scores]), len(tokens)))
    return out


def least_certain_first(scored: Sequence[ScoredDocument], top: int | None = None) -> list[ScoredDocument]:
    """`scored` by confidence, lowest first (ties in input order); the first `top` if given."""
    ranked = sorted(scored, key=lambda d: d.confidence)
    return ranked if top is None else ranked[:top]


def label_config_path(tasks_path: Path) -> Path:
    """Where `write_tasks` puts the labelling config: `tasks.json` → `tasks.label_config.xml`."""
    return tasks_path.with_name(f"{tasks_path.stem}.label_config.xml")


def write_tasks(scored: Sequence[ScoredDocument], fmt: str, path: Path, model_version: str,
                types: Sequence[str]) -> list[Path]:
    """Write the tasks (Label Studio JSON with its labelling config beside, or doccano JSONL),
    atomically; returns the files written."""
    path = Path(path)
    if fmt == "label-studio":
        tasks = [label_studio_task(d.id, d.text, d.entities, d.confidence, model_version) for d in scored]
        atomic_write_text(path, json.dumps(tasks, ensure_ascii=False, indent=1) + "\n")
        atomic_write_text(label_config_path(path), labeling_config(types))
        return [path, label_config_path(path)]
    if fmt == "doccano":
        atomic_write_text(path, "".join(
            json.dumps(doccano_record(d.id, d.text, d.entities, d.confidence), ensure_ascii=False) + "\n" for d in scored
        ))
        return [path]
    raise ValueError(f"unknown format {fmt!r}")
