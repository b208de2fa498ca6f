"""Constrained IOB2 decoding of word-level predictions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from antq_ner.bio import check_bio
from antq_ner.decoding import viterbi_iob2

LABELS = ["O", "B-ORG", "I-ORG", "B-PERSON", "I-PERSON"]


def brute_force(log_probs, inside=None):
    """The best valid path by enumeration; with `inside`, one in which no entity starts or ends inside a word."""
    best, best_path = -np.inf, None
    for path in itertools.product(range(len(LABELS)), repeat=len(log_probs)):
        tags = [LABELS[i] for i in path]
        if check_bio(tags):
            continue
        if inside and any(inside[t] and (tags[t].startswith("B-") or (tags[t] == "O") != (tags[t - 1] == "O"))
                          for t in range(1, len(tags))):
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


@pytest.mark.parametrize("seed", range(30))
def test_viterbi_within_words_finds_the_best_path_that_keeps_words_whole(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5))
    log_probs = np.log(rng.dirichlet(np.ones(len(LABELS)), size=n))
    inside = [False] + [bool(x) for x in rng.integers(0, 2, size=n - 1)]
    assert viterbi_iob2(log_probs, LABELS, inside) == brute_force(log_probs, inside)


def test_an_entity_edge_inside_a_word_moves_to_the_word_edge():
    # `[40 nguồn] tin` with `nguồn tin` one word: the entity takes the whole word or stops before it.
    probs = np.array([[0.1, 0.8, 0.05, 0.05, 0.0], [0.2, 0.0, 0.7, 0.05, 0.05], [0.55, 0.0, 0.45, 0.0, 0.0]])
    assert viterbi_iob2(np.log(probs + 1e-9), LABELS) == [1, 2, 0]
    assert viterbi_iob2(np.log(probs + 1e-9), LABELS, [False, False, True]) == [1, 2, 2]
    with pytest.raises(ValueError, match="inside_word has 2 positions"):
        viterbi_iob2(np.log(probs + 1e-9), LABELS, [False, True])
