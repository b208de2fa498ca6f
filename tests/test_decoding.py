"""Constrained IOB2 decoding of word-level predictions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from antq_ner.bio import check_bio
from antq_ner.decoding import viterbi_iob2

LABELS = ["O", "B-ORG", "I-ORG", "B-PERSON", "I-PERSON"]


def brute_force(log_probs):
    best, best_path = -np.inf, None
    for path in itertools.product(range(len(LABELS)), repeat=len(log_probs)):
        if check_bio([LABELS[i] for i in path]):
            continue
        score = sum(log_probs[t, j] for t, j in enumerate(path))
        if score > best:
            best, best_path = score, list(path)
    return best_path


@pytest.mark.parametrize("seed", range(30))
def test_viterbi_finds_the_best_valid_sequence(seed):
    rng = np.random.default_rng(seed)
    log_probs = np.log(rng.dirichlet(np.ones(len(LABELS)), size=int(rng.integers(1, 5))))
    path = viterbi_iob2(log_probs, LABELS)
    assert check_bio([LABELS[i] for i in path]) == []
    assert path == brute_force(log_probs)


def test_an_orphan_inside_tag_becomes_a_valid_entity():
    probs = np.array([[0.4, 0.15, 0.45, 0.0, 0.0], [0.1, 0.1, 0.8, 0.0, 0.0], [0.9, 0.05, 0.05, 0.0, 0.0]])
    path = viterbi_iob2(np.log(probs + 1e-9), LABELS)
    assert [LABELS[i] for i in path] == ["B-ORG", "I-ORG", "O"]


def test_valid_argmax_is_kept_and_empty_input():
    probs = np.eye(len(LABELS))[[1, 2, 0, 3, 4]] * 0.9 + 0.02
    assert viterbi_iob2(np.log(probs), LABELS) == [1, 2, 0, 3, 4]
    assert viterbi_iob2(np.zeros((0, len(LABELS))), LABELS) == []
