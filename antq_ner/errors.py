"""Error analysis: each gold and predicted entity of a sentence classified by how it was (mis)tagged.

Error kinds (`classify_errors`), over gold spans and repaired predicted spans of one sentence:

- exact: same span, same type;
- wrong_type: same span, other type;
- wrong_boundary: overlapping (not identical) span, same type;
- wrong_boundary_type: overlapping (not identical) span, other type (its own kind, not folded);
- missed: a gold entity that no prediction overlaps;
- spurious: a prediction that overlaps no gold entity.

Pairs are matched one to one (identical spans first, then largest overlap); a gold entity split
into several predictions (or several gold entities merged into one prediction) pairs the leftover
pieces with the entity they overlap most, as boundary errors. So every gold and every predicted
entity appears in at least one case, and the exact + wrong_type + wrong_boundary(_type) + missed
cases number at least the gold entities.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .bio import Span, bio_to_spans, repair_tags

__all__ = [
    "ERROR_DESCRIPTIONS",
    "ERROR_KINDS",
    "NONE_GOLD",
    "NONE_PRED",
    "ErrorCase",
    "case_window",
    "classify_errors",
    "confusion_counts",
    "error_counts",
    "mark_span",
]

ERROR_KINDS = ("exact", "wrong_type", "wrong_boundary", "wrong_boundary_type", "missed", "spurious")
ERROR_DESCRIPTIONS = {
    "exact": "same span, same type (correct)",
    "wrong_type": "same span, other type",
    "wrong_boundary": "overlapping span, same type",
    "wrong_boundary_type": "overlapping span, other type",
    "missed": "gold entity with no overlapping prediction",
    "spurious": "prediction with no overlapping gold entity",
}
NONE_GOLD = "none (spurious)"
NONE_PRED = "none (missed)"


@dataclass(frozen=True)
class ErrorCase:
    kind: str  # one of ERROR_KINDS
    gold_span: Span | None  # None for spurious
    pred_span: Span | None  # None for missed


def _overlap(a: Span, b: Span) -> int:
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def _pair_kind(gold: Span, pred: Span) -> str:
    same_type = gold.label == pred.label
    if (gold.start, gold.end) == (pred.start, pred.end):
        return "exact" if same_type else "wrong_type"
    return "wrong_boundary" if same_type else "wrong_boundary_type"


def classify_errors(gold_tags: Sequence[str], pred_tags: Sequence[str]) -> list[ErrorCase]:
    """The error cases of one sentence, ordered by position (see the module docstring for the kinds).

    Gold tags must be well-formed IOB2 (`BioError` otherwise); predicted tags are read as conlleval
    reads them (`repair_tags`: an I-X that cannot continue an entity starts one).
    """
    if len(gold_tags) != len(pred_tags):
        raise ValueError(f"gold and predicted tags differ in length ({len(gold_tags)} vs {len(pred_tags)})")
    gold = bio_to_spans(gold_tags)
    pred = bio_to_spans(repair_tags(pred_tags))
    cases: list[ErrorCase] = []
    gold_done: set[int] = set()
    pred_done: set[int] = set()
    # 1. identical spans (spans of one sequence never overlap, so at most one match each)
    by_bounds = {(p.start, p.end): j for j, p in enumerate(pred)}
    for i, g in enumerate(gold):
        j = by_bounds.get((g.start, g.end))
        if j is not None:
            cases.append(ErrorCase(_pair_kind(g, pred[j]), g, pred[j]))
            gold_done.add(i)
            pred_done.add(j)
    # 2. one-to-one pairs of the rest, largest overlap first (then same type, then position)
    candidates = sorted(
        (
            (-_overlap(g, p), g.label != p.label, g.start, p.start, i, j)
            for i, g in enumerate(gold)
            if i not in gold_done
            for j, p in enumerate(pred)
            if j not in pred_done and _overlap(g, p) > 0
        )
    )
    for *_, i, j in candidates:
        if i in gold_done or j in pred_done:
            continue
        cases.append(ErrorCase(_pair_kind(gold[i], pred[j]), gold[i], pred[j]))
        gold_done.add(i)
        pred_done.add(j)

    def most_overlapping(span: Span, others: list[Span]) -> Span | None:
        best = max(others, key=lambda o: (_overlap(span, o), o.label == span.label, -o.start), default=None)
        return best if best is not None and _overlap(span, best) > 0 else None

    # 3. leftovers: pieces of a split or merged entity, or entities nothing overlaps
    for i, g in enumerate(gold):
        if i not in gold_done:
            p = most_overlapping(g, pred)
            cases.append(ErrorCase("missed", g, None) if p is None else ErrorCase(_pair_kind(g, p), g, p))
    for j, p in enumerate(pred):
        if j not in pred_done:
            g = most_overlapping(p, gold)
            cases.append(ErrorCase("spurious", None, p) if g is None else ErrorCase(_pair_kind(g, p), g, p))

    def position(case: ErrorCase) -> tuple[int, int]:
        spans = [s for s in (case.gold_span, case.pred_span) if s is not None]
        return min(s.start for s in spans), min(s.end for s in spans)

    return sorted(cases, key=position)


def error_counts(cases: Sequence[ErrorCase]) -> dict[str, int]:
    counts = Counter(c.kind for c in cases)
    return {kind: counts.get(kind, 0) for kind in ERROR_KINDS}


def confusion_counts(cases: Sequence[ErrorCase], types: Sequence[str]) -> dict:
    """Type confusion over matched spans: rows gold types + spurious, columns predicted types + missed."""
    rows = [*types, NONE_GOLD]
    columns = [*types, NONE_PRED]
    counts = [[0] * len(columns) for _ in rows]
    for case in cases:
        r = rows.index(case.gold_span.label) if case.gold_span is not None else len(rows) - 1
        c = columns.index(case.pred_span.label) if case.pred_span is not None else len(columns) - 1
        counts[r][c] += 1
    return {"rows": rows, "columns": columns, "counts": counts}


def case_window(case: ErrorCase, n_tokens: int, context: int = 8) -> tuple[int, int]:
    """Token range `[lo, hi)` around a case's spans, `context` tokens either side."""
    spans = [s for s in (case.gold_span, case.pred_span) if s is not None]
    return max(0, min(s.start for s in spans) - context), min(n_tokens, max(s.end for s in spans) + context)


def mark_span(tokens: Sequence[str], span: Span | None, lo: int, hi: int) -> str:
    """Tokens `lo..hi` with `span` written as markup, `[..](TYPE)`; `…` where the sentence goes on."""
    words = []
    for i in range(lo, hi):
        tok = tokens[i]
        if span is not None and i == span.start:
            tok = "[" + tok
        if span is not None and i == span.end - 1:
            tok = tok + f"]({span.label})"
        words.append(tok)
    return ("… " if lo > 0 else "") + " ".join(words) + (" …" if hi < len(tokens) else "")
