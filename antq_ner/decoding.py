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


def viterbi_iob2(log_probs: np.ndarray, labels: Sequence[str], inside_word: Sequence[bool] | None = None) -> list[int]:
    """Label ids of the best valid IOB2 path through `log_probs` (positions × labels).

    With `inside_word` (True where a position continues the word before it), an entity neither
    starts nor ends inside a word: there the tag can only continue the previous one (O after O,
    I-X after B-X or I-X)."""
    if len(log_probs) == 0:
        return []
    if inside_word is not None and len(inside_word) != len(log_probs):
        raise ValueError(f"inside_word has {len(inside_word)} positions, log_probs {len(log_probs)}")
    start, trans = allowed_transitions(tuple(labels))
    penalty = np.where(trans, 0.0, -np.inf)
    within = np.where(_continuations(tuple(labels)), 0.0, -np.inf)
    score = np.where(start, log_probs[0], -np.inf)
    back = np.zeros(log_probs.shape, dtype=np.int64)
    for t in range(1, len(log_probs)):
        cand = score[:, None] + (within if inside_word is not None and inside_word[t] else penalty)
        back[t] = cand.argmax(0)
        score = cand.max(0) + log_probs[t]
    path = [int(score.argmax())]
    for t in range(len(log_probs) - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


@lru_cache(maxsize=16)
def _continuations(labels: tuple[str, ...]) -> np.ndarray:
    """cont[i, j]: does j continue i inside one word (O after O, I-X after B-X or I-X)."""
    cont = np.zeros((len(labels), len(labels)), dtype=bool)
    for i, prev in enumerate(labels):
        for j, lab in enumerate(labels):
            cont[i, j] = (prev == "O" and lab == "O") or (lab.startswith("I-") and prev[2:] == lab[2:] and prev != "O")
    return cont


def best_path(probs: np.ndarray, labels: Sequence[str], inside_word: Sequence[bool] | None = None) -> tuple[list[str], list[float]]:
    """Tags of the best valid IOB2 path through per-position probabilities (positions × labels), and
    each position's probability of its tag (`inside_word`: see `viterbi_iob2`)."""
    best = viterbi_iob2(np.log(np.maximum(probs, 1e-12)), labels, inside_word)
    return [labels[i] for i in best], [float(probs[t, i]) for t, i in enumerate(best)]
