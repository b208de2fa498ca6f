"""seqeval scores at syllable level: strict IOB2 (headline) and the conlleval-style default."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["seqeval_scores"]


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
