"""The encoder and the CRF together: the mean of their per-syllable label distributions, decoded as IOB2.

The encoder reads context; the CRF's features see a syllable's shape, affixes and exact neighbours
(codes, capitalisation, digits). Where one is unsure the other decides: each syllable's
distribution is `(1 − crf_weight) × encoder + crf_weight × CRF` (a linear opinion pool), and the
best valid IOB2 path through the pooled log-probabilities is the answer (`decoding.best_path`).
A checkpoint trained with `model.crf_weight` holds its CRF (`crf.crfsuite`) and tags this way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .decoding import best_path

__all__ = [
    "ENSEMBLE_NAME",
    "crf_distribution",
    "pooled_distribution",
    "pooled_sentence",
    "syllable_distribution",
]

ENSEMBLE_NAME = "encoder + CRF (mean of marginals)"


def syllable_distribution(word_probs: np.ndarray, spans: Sequence[tuple[int, int]], labels: Sequence[str]) -> np.ndarray:
    """Word distributions (words × labels) spread over the syllables (syllables × labels).

    A word's first syllable takes the word's distribution; its other syllables continue whatever the
    word is: the mass of `B-X` and `I-X` goes to `I-X`, `O` stays `O` (as `words_to_syllable_tags`).
    """
    index = {label: i for i, label in enumerate(labels)}
    inner = np.arange(len(labels))
    for label, i in index.items():
        if label.startswith("B-"):
            inner[i] = index[f"I-{label[2:]}"]
    n = spans[-1][1] if spans else 0
    out = np.zeros((n, len(labels)), dtype=np.float64)
    for w, (start, end) in enumerate(spans):
        out[start] = word_probs[w]
        if end - start > 1:
            cont = np.zeros(len(labels))
            np.add.at(cont, inner, word_probs[w])
            out[start + 1 : end] = cont
    return out


def crf_distribution(marginals: Sequence[dict[str, float]], labels: Sequence[str]) -> np.ndarray:
    """sklearn-crfsuite's `predict_marginals_single` output as an array (syllables × labels).

    A label the CRF never saw in training gets probability 0.
    """
    out = np.zeros((len(marginals), len(labels)), dtype=np.float64)
    for t, m in enumerate(marginals):
        for j, label in enumerate(labels):
            out[t, j] = m.get(label, 0.0)
    return out


def pooled_distribution(encoder: np.ndarray, crf: np.ndarray, crf_weight: float) -> np.ndarray:
    """`(1 − crf_weight) × encoder + crf_weight × crf` (syllables × labels)."""
    if encoder.shape != crf.shape:
        raise ValueError(f"encoder distribution {encoder.shape} and CRF distribution {crf.shape} differ in shape")
    if not 0.0 <= crf_weight <= 1.0:
        raise ValueError(f"crf_weight {crf_weight}: expected a value in [0, 1]")
    return (1.0 - crf_weight) * encoder + crf_weight * crf


def pooled_sentence(
    tokens: Sequence[str], word_probs: np.ndarray, spans: Sequence[tuple[int, int]], crf, labels: Sequence[str],
    crf_weight: float,
) -> tuple[list[str], list[float]]:
    """One sentence's tags and per-syllable probability of its tag, from the encoder's word
    distributions and a `baselines.CrfTagger`."""
    if not tokens:
        return [], []
    encoder = syllable_distribution(word_probs, spans, labels)
    return best_path(pooled_distribution(encoder, crf_distribution(crf.marginals(tokens), labels), crf_weight), labels)
