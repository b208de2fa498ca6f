"""Word ↔ subword alignment, windows and segmentation projection (pure functions)."""

from __future__ import annotations

import itertools
import random
import unicodedata
import warnings

import pytest

from antq_ner import segment
from antq_ner.align import IGNORE_INDEX, encode_windows, plan_windows
from antq_ner.data import assemble_word_predictions
from antq_ner.segment import align_segmented, syllable_to_word_tags, words_to_syllable_tags
from antq_ner.text import read_sentences

CLS, SEP = 0, 2


def owned_words(windows):
    return [i for w in windows for i in range(w.own_start, w.own_end)]


@pytest.mark.parametrize("seed", range(200))
def test_windows_cover_every_word_once_within_budget(seed):
    rng = random.Random(seed)
    lengths = [rng.choice([1, 1, 2, 3, 7, 40]) for _ in range(rng.randint(0, 120))]
    budget, overlap = rng.randint(1, 60), rng.randint(0, 30)
    windows = plan_windows(lengths, budget, overlap)
    assert owned_words(windows) == list(range(len(lengths)))
    for w in windows:
        assert w.start <= w.own_start <= w.own_end <= w.end
        assert sum(min(n, budget) for n in lengths[w.start : w.end]) <= budget


def test_short_sentence_is_one_window():
    assert [(w.start, w.end, w.own_start, w.own_end) for w in plan_windows([1, 2, 1], 10, 4)] == [(0, 3, 0, 3)]


def test_600_word_sentence_windows_share_context():
    windows = plan_windows([2] * 600, 254, 64)
    assert len(windows) > 1
    assert owned_words(windows) == list(range(600))
    # consecutive windows overlap, and each owned word has context on both sides but at the ends
    for a, b in itertools.pairwise(windows):
        assert b.start < a.end
        assert a.own_end == b.own_start


def test_word_over_the_budget_is_cut_but_keeps_its_label():
    pieces = [[5], [6] * 300, [7]]
    features = encode_windows(pieces, [1, 2, 0], CLS, SEP, max_subwords=256, overlap=64)
    labelled = [(f.input_ids[p], f.labels[p]) for f in features for p in f.word_positions]
    assert labelled == [(5, 1), (6, 2), (7, 0)]
    assert all(len(f.input_ids) <= 256 for f in features)


def test_empty_tokenisation_is_rejected_not_silently_dropped():
    with pytest.raises(ValueError, match="at least one subword"):
        encode_windows([[5], []], [0, 0], CLS, SEP, 256, 64)


def test_first_subword_policy_and_label_all_subwords():
    pieces = [[10, 11], [12], [13, 14, 15]]
    first = encode_windows(pieces, [1, 2, 0], CLS, SEP, 256, 64)[0]
    assert first.input_ids == [CLS, 10, 11, 12, 13, 14, 15, SEP]
    assert first.labels == [IGNORE_INDEX, 1, IGNORE_INDEX, 2, 0, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]
    assert first.word_positions == [1, 3, 4]
    every = encode_windows(pieces, [1, 2, 0], CLS, SEP, 256, 64, label_all_subwords=True, continuation_label={1: 2})[0]
    assert every.labels == [IGNORE_INDEX, 1, 2, 2, 0, 0, 0, IGNORE_INDEX]


def test_windows_reassembled_give_every_word_once():
    import numpy as np

    n_words = 600
    pieces = [[100 + i % 50] * (1 + i % 3) for i in range(n_words)]
    labels = [i % 5 for i in range(n_words)]
    features = encode_windows(pieces, labels, CLS, SEP, 256, 64)
    assert len(features) > 1
    width = max(len(f.input_ids) for f in features)
    # fake logits: one-hot of the gold label at each labelled position
    logits = np.zeros((len(features), width, 5), dtype=np.float32)
    for row, f in enumerate(features):
        for pos, lab in enumerate(f.labels):
            if lab != IGNORE_INDEX:
                logits[row, pos, lab] = 1.0
    words = assemble_word_predictions(
        [0] * len(features), [f.first_word for f in features], [f.word_positions for f in features], logits, [n_words]
    )[0]
    assert words.argmax(-1).tolist() == labels


def test_align_segmented_groups_syllables_and_never_splits_a_token():
    syllables = ["Bộ", "Công", "an", "09/CTr-BCA-MTTW", "2.100", "mô", "hình"]
    out = "Bộ_Công_an 09 / CTr - BCA - MTTW 2.100 mô_hình"
    assert align_segmented(syllables, out) == [(0, 3), (3, 4), (4, 5), (5, 7)]


def test_align_segmented_rejects_rewritten_text():
    with pytest.raises(ValueError):
        align_segmented(["hòa"], "hoà")


def test_tags_projected_to_words_and_back():
    spans = [(0, 2), (2, 3), (3, 5)]
    tags = ["B-ORG", "I-ORG", "O", "B-PERSON", "I-PERSON"]
    words = syllable_to_word_tags(tags, spans)
    assert words == ["B-ORG", "O", "B-PERSON"]
    assert words_to_syllable_tags(words, spans) == tags


def test_a_segmenter_fallback_is_a_warning_with_the_sentence(monkeypatch):
    monkeypatch.setattr(segment, "get_segmenter", lambda name: str.upper)  # a segmenter that rewrites
    with pytest.warns(segment.SegmenterFallbackWarning, match="read one word per syllable: Bộ Công an"):
        assert segment.word_spans(["Bộ", "Công", "an"], "pyvi") == [(0, 1), (1, 2), (2, 3)]
    monkeypatch.undo()
    # NFD text (pyvi answers in NFC) no longer falls back: user text is cleaned before segmenting
    nfd = unicodedata.normalize("NFD", "Thiếu tướng Trần Thị Ngọc Đẹp phát biểu.")
    tokens = [t.text for t in read_sentences(nfd)[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error", segment.SegmenterFallbackWarning)
        assert segment.word_spans(tokens, "pyvi")[:2] == [(0, 2), (2, 6)]  # Thiếu_tướng Trần_Thị_Ngọc_Đẹp
