"""Scores at syllable level, and metrics.json's scores of the model and the baselines.

Everything is scored against the gold BIO, so word-segmentation errors count against the model. The
headline is seqeval's strict IOB2 mode (an entity counts only when its B- and every I- tag match);
seqeval's default conlleval-style mode, which also accepts an entity that starts with I-, is
reported beside it and labelled as such. Error kinds: `antq_ner.errors`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .bio import Sentence, bio_to_spans
from .errors import classify_errors, confusion_counts, error_counts

__all__ = [
    "MODEL_NAME",
    "SystemPredictions",
    "evaluation_metrics",
    "restrict_tags",
    "score_block",
    "seqeval_scores",
]

MODEL_NAME = "model"  # the model's name beside the baselines' (tables, cross-validation's per-fold scores)


def seqeval_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], strict: bool = True) -> dict:
    """{'overall': {precision, recall, f1}, 'macro': {...}, 'per_type': {TYPE: {..., support}}}.

    Strict mode counts an entity only when its B- and every I- tag match exactly; the default
    (conlleval) mode also accepts a predicted entity that starts with I-.
    """
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    if len(gold) != len(pred) or any(len(g) != len(p) for g, p in zip(gold, pred)):
        raise ValueError("gold and predicted tag sequences differ in length")
    kwargs = {"mode": "strict", "scheme": IOB2} if strict else {}
    report = classification_report(
        [list(g) for g in gold], [list(p) for p in pred], output_dict=True, zero_division=0, **kwargs
    )

    def pick(row: dict, support: bool = False) -> dict:
        out = {k: float(row[k]) for k in ("precision", "recall")}
        out["f1"] = float(row["f1-score"])
        if support:
            out["support"] = int(row["support"])
        return out

    per_type = {k: pick(v, True) for k, v in report.items() if not k.endswith(" avg")}
    empty = {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    return {
        "overall": pick(report["micro avg"]) if "micro avg" in report else dict(empty),
        "macro": pick(report["macro avg"]) if "macro avg" in report else dict(empty),
        "per_type": per_type,
    }


def score_block(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """{'strict': {overall, macro, per_type}, 'conlleval': {...same}} (seqeval, syllable level).

    `overall` is the micro average; `macro` averages over the types present in gold or predictions.
    """
    return {"strict": seqeval_scores(gold, pred, strict=True), "conlleval": seqeval_scores(gold, pred, strict=False)}


def restrict_tags(tags: Sequence[str], types: Sequence[str]) -> list[str]:
    """A copy where the tags of every type outside `types` become O."""
    keep = set(types)
    return [t if t == "O" or t[2:] in keep else "O" for t in tags]


@dataclass(frozen=True)
class SystemPredictions:
    """A baseline's syllable tags for the evaluated sentences; `types` None means all types are scored."""

    tags: list[list[str]]
    types: tuple[str, ...] | None = None


def _system_metrics(sentences: Sequence[Sentence], pred: Sequence[Sequence[str]], types: Sequence[str] | None) -> dict:
    gold = [list(s.tags) for s in sentences]
    if types is not None:
        gold = [restrict_tags(g, types) for g in gold]
        pred = [restrict_tags(p, types) for p in pred]
    block = score_block(gold, pred)
    by_doc: dict[str, list[int]] = {}
    for i, s in enumerate(sentences):
        by_doc.setdefault(s.doc_id, []).append(i)
    for mode in ("strict", "conlleval"):
        block[mode]["per_article"] = {
            doc: seqeval_scores([gold[i] for i in idx], [pred[i] for i in idx], strict=mode == "strict")["overall"]
            for doc, idx in by_doc.items()
        }
    cases = [c for g, p in zip(gold, pred) for c in classify_errors(g, p)]
    block["errors"] = error_counts(cases)
    return block


def evaluation_metrics(
    sentences: Sequence[Sentence],
    pred: Sequence[Sequence[str]],
    baselines: Mapping[str, SystemPredictions] = {},
    labels: Sequence[str] | None = None,
) -> dict:
    """metrics.json's scores for the model's `pred` and each baseline on the same sentences."""
    if len(sentences) != len(pred):
        raise ValueError(f"{len(sentences)} sentences but {len(pred)} predictions")
    model = _system_metrics(sentences, pred, None)
    labels = list(labels) if labels is not None else sorted(
        {s.label for sent in sentences for s in bio_to_spans(sent.tags)}
    )
    cases = [c for s, p in zip(sentences, pred) for c in classify_errors(s.tags, p)]
    out = {
        "strict": model["strict"],
        "conlleval": model["conlleval"],
        "baselines": {},
        "errors": model["errors"],
        "confusion": confusion_counts(cases, labels),
        "labels": labels,
        "articles": list(dict.fromkeys(s.doc_id for s in sentences)),
        "sentences": len(sentences),
        "gold_entities": sum(len(bio_to_spans(s.tags)) for s in sentences),
    }
    for name, system in baselines.items():
        block = _system_metrics(sentences, system.tags, system.types)
        block["types"] = list(system.types) if system.types is not None else list(labels)
        out["baselines"][name] = block
    return out
