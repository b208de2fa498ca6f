"""Word ↔ subword alignment and windows over long sentences (pure functions).

PhoBERT has 258 position embeddings, two taken by the padding offset, so at most 256 subwords per
input including `<s>` and `</s>`. A longer sentence is cut into overlapping windows of whole words;
each word is *owned* by exactly one window (the one where it sits furthest from an edge), and only
owned words carry labels and give predictions: no word is dropped and none is predicted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["IGNORE_INDEX", "Feature", "Window", "encode_windows", "plan_windows"]

# Positions labelled -100 are ignored by PyTorch's cross-entropy: special tokens, continuation
# subwords (unless every subword is labelled) and words another window owns.
IGNORE_INDEX = -100


@dataclass(frozen=True)
class Window:
    start: int  # first word in the window
    end: int  # one past the last word
    own_start: int  # words [own_start, own_end) are predicted from this window
    own_end: int


def plan_windows(word_lengths: Sequence[int], budget: int, overlap: int) -> list[Window]:
    """Windows of consecutive words, each at most `budget` subwords.

    A word longer than the budget is cut to it (its first subword, which carries the label, stays).
    Consecutive windows share up to `overlap` subwords of context.
    """
    if budget < 1:
        raise ValueError("budget must be at least 1 subword")
    lengths = [min(max(n, 1), budget) for n in word_lengths]
    n = len(lengths)
    if n == 0:
        return []
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        end, used = start, 0
        while end < n and used + lengths[end] <= budget:
            used += lengths[end]
            end += 1
        spans.append((start, end))
        if end == n:
            break
        # Context for the next window, leaving room for its first new word so that it advances.
        nxt, ctx, room = end, 0, min(overlap, budget - lengths[end])
        while nxt - 1 > start and ctx + lengths[nxt - 1] <= room:
            nxt -= 1
            ctx += lengths[nxt]
        start = nxt
    windows: list[Window] = []
    own_start = 0
    for k, (s, e) in enumerate(spans):
        # Words shared with the next window go to whichever window has more context around them.
        own_end = n if k + 1 == len(spans) else (spans[k + 1][0] + e + 1) // 2
        windows.append(Window(s, e, own_start, own_end))
        own_start = own_end
    return windows


@dataclass(frozen=True)
class Feature:
    """One model input: a window of one sentence."""

    input_ids: list[int]
    labels: list[int]  # IGNORE_INDEX where no label is learned
    word_positions: list[int]  # position of the first subword of each owned word, in order
    first_word: int  # index of the first owned word in the sentence


def encode_windows(
    word_pieces: Sequence[Sequence[int]],
    word_labels: Sequence[int] | None,
    cls_id: int,
    sep_id: int,
    max_subwords: int,
    overlap: int,
    label_all_subwords: bool = False,
    continuation_label: dict[int, int] | None = None,
) -> list[Feature]:
    """Model inputs for one sentence given the subword ids of each word.

    `word_labels` (label ids, one per word) may be None at inference. With `label_all_subwords`,
    continuation subwords get `continuation_label[label]` (B-X becomes I-X) instead of -100.
    """
    budget = max_subwords - 2  # <s> and </s>
    if any(len(p) == 0 for p in word_pieces):
        raise ValueError("every word needs at least one subword (use the unknown token for an empty one)")
    pieces = [list(p)[:budget] for p in word_pieces]
    features: list[Feature] = []
    for w in plan_windows([len(p) for p in pieces], budget, overlap):
        ids, labels, positions = [cls_id], [IGNORE_INDEX], []
        for i in range(w.start, w.end):
            owned = w.own_start <= i < w.own_end
            if owned:
                positions.append(len(ids))
            ids.extend(pieces[i])
            if owned and word_labels is not None:
                first = word_labels[i]
                rest = (continuation_label or {}).get(first, first) if label_all_subwords else IGNORE_INDEX
                labels.extend([first] + [rest] * (len(pieces[i]) - 1))
            else:
                labels.extend([IGNORE_INDEX] * len(pieces[i]))
        ids.append(sep_id)
        labels.append(IGNORE_INDEX)
        features.append(Feature(ids, labels, positions, w.own_start))
    return features
