"""Word segmentation of syllable sentences: PhoBERT reads words (`Bộ_Công_an`), the corpus syllables.

A segmenter only groups consecutive syllables; it never changes or drops one. Syllable labels
are projected to words (the word takes its first syllable's tag) and word predictions back to
syllables, so scores are always computed on syllables against the gold.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from functools import cache

__all__ = ["SegmenterFallbackWarning", "align_segmented", "get_segmenter", "segmenter_fallbacks", "syllable_to_word_tags", "word_spans", "words_to_syllable_tags"]

WordSpan = tuple[int, int]  # syllable indices [start, end)


class SegmenterFallbackWarning(UserWarning):
    """A sentence the segmenter rewrote: it was read one word per syllable instead."""


@contextlib.contextmanager
def segmenter_fallbacks(report: Callable[[str], None] | None = None) -> Iterator[list[str]]:
    """Collects the message of every `SegmenterFallbackWarning` raised inside (each one, not once per
    place), passing it to `report` as it comes; other warnings are shown as usual."""
    messages: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("always", SegmenterFallbackWarning)
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None) -> None:
            if issubclass(category, SegmenterFallbackWarning):
                messages.append(str(message))
                if report is not None:
                    report(str(message))
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield messages


def align_segmented(syllables: Sequence[str], segmented: str) -> list[WordSpan]:
    """Word spans from a segmenter's output, where `_` joins the syllables of one word.

    The segmenter may split a syllable token further (`09/CTr` → `09 / CTr`): a token is never
    split here; it only joins a word when a `_` stands between it and its neighbour.
    """
    spans: list[WordSpan] = []
    pos = 0
    start = 0
    for i, syl in enumerate(syllables):
        for ch in syl:
            while pos < len(segmented) and segmented[pos] != ch and segmented[pos] in " _":
                pos += 1
            if pos >= len(segmented) or segmented[pos] != ch:
                raise ValueError(f"segmenter output does not follow the input at {syl!r}: {segmented[pos:pos + 30]!r}")
            pos += 1
        if i + 1 < len(syllables):
            gap_end = pos
            while gap_end < len(segmented) and segmented[gap_end] in " _":
                gap_end += 1
            gap = segmented[pos:gap_end]
            if "_" in gap and " " not in gap:
                continue
            spans.append((start, i + 1))
            start = i + 1
    if syllables:
        spans.append((start, len(syllables)))
    return spans


@cache
def get_segmenter(name: str) -> Callable[[str], str]:
    """A function from space-joined syllables to `_`-joined words."""
    if name == "pyvi":
        from pyvi import ViTokenizer

        return ViTokenizer.tokenize
    if name == "underthesea":
        from underthesea import word_tokenize

        # use_token_normalize=False: underthesea rewrites tone placement (hoà → hòa) by default.
        return lambda text: word_tokenize(text, format="text", use_token_normalize=False)
    raise ValueError(f"unknown segmenter {name!r} (pyvi, underthesea or none)")


def word_spans(syllables: Sequence[str], segmenter: str) -> list[WordSpan]:
    if not syllables:
        return []
    if segmenter == "none":
        return [(i, i + 1) for i in range(len(syllables))]
    text = " ".join(syllables)
    try:
        return align_segmented(syllables, get_segmenter(segmenter)(text))
    except ValueError as e:
        # The segmenter rewrote a character (user text is NFC-cleaned first, so this is rare): one
        # word per syllable for this sentence, and a warning callers count (predict.py, evaluation).
        warnings.warn(SegmenterFallbackWarning(f"{segmenter}: {e}; read one word per syllable: {text[:200]}"), stacklevel=2)
        return [(i, i + 1) for i in range(len(syllables))]


def syllable_to_word_tags(tags: Sequence[str], spans: Sequence[WordSpan]) -> list[str]:
    return [tags[start] for start, _ in spans]


def words_to_syllable_tags(word_tags: Sequence[str], spans: Sequence[WordSpan]) -> list[str]:
    out: list[str] = []
    for tag, (start, end) in zip(word_tags, spans):
        out.append(tag)
        inner = "O" if tag == "O" else f"I-{tag[2:]}"
        out.extend([inner] * (end - start - 1))
    return out
