"""Word-level decoding: the most probable tag sequence that is valid IOB2.

Taking each word's most probable tag independently can give `I-X` after `O` or after another
type; a Viterbi pass over the per-word log-probabilities with those transitions forbidden returns
the best valid sequence instead (no CRF layer needed: the constraints alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

__all__ = ["allowed_transitions", "best_path", "viterbi_iob2"]


@lru_cache(maxsize=16)
def allowed_transitions(labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(start[j], trans[i, j]) booleans: may a sentence start with j, may j follow i."""
    n = len(labels)
    start = np.array([not lab.startswith("I-") for lab in labels])
    trans = np.ones((n, n), dtype=bool)
    for j, lab in enumerate(labels):
        if lab.startswith("I-"):
            for i, prev in enumerate(labels):
                trans[i, j] = prev in (f"B-{lab[2:]}", lab)
    return start, trans


def viterbi_iob2(log_probs: np.ndarray, labels: Sequence[str]) -> list[int]:
    """Label ids of the best valid IOB2 path through `log_probs` (words × labels)."""
    if len(log_probs) == 0:
        return []
    start, trans = allowed_transitions(tuple(labels))
    penalty = np.where(trans, 0.0, -np.inf)
    score = np.where(start, log_probs[0], -np.inf)
    back = np.zeros(log_probs.shape, dtype=np.int64)
    for t in range(1, len(log_probs)):
        cand = score[:, None] + penalty  # previous i → current j
        back[t] = cand.argmax(0)
        score = cand.max(0) + log_probs[t]
    path = [int(score.argmax())]
    for t in range(len(log_probs) - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


def best_path(probs: np.ndarray, labels: Sequence[str]) -> tuple[list[str], list[float]]:
    """Tags of the best valid IOB2 path through per-position probabilities (positions × labels), and
    each position's probability of its tag."""
    best = viterbi_iob2(np.log(np.maximum(probs, 1e-12)), labels)
    return [labels[i] for i in best], [float(probs[t, i]) for t, i in enumerate(best)]
