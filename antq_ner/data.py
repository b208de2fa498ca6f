"""Sentences → `datasets.Dataset` of model inputs, and model outputs → syllable tags."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import lru_cache, partial

import numpy as np

from .align import encode_windows
from .bio import Sentence
from .config import PreprocessingConfig
from .decoding import best_path
from .segment import syllable_to_word_tags, word_spans, words_to_syllable_tags
from .text import normalize_for_model

__all__ = ["SentenceEncoder", "assemble_word_predictions", "decode_words", "sentences_to_dataset", "softmax"]


class SentenceEncoder:
    """Segments syllables into words, tokenises words into subwords and builds windows.

    Called on batches by `Dataset.map`; also used alone at inference.
    """

    def __init__(self, tokenizer, labels: Sequence[str], prep: PreprocessingConfig):
        self.tokenizer = tokenizer
        self.prep = prep
        self.label2id = {label: i for i, label in enumerate(labels)}
        self.continuation = {
            i: self.label2id.get("I-" + label[2:], i) for label, i in self.label2id.items() if label.startswith("B-")
        }
        self._pieces = lru_cache(maxsize=200_000)(self._word_pieces)

    def words(self, syllables: Sequence[str]) -> tuple[list[tuple[int, int]], list[str]]:
        """Word spans over the syllables, and each word as the model reads it.

        `Bộ_Công_an` for PhoBERT (segmented-words); `Bộ Công an` for a syllable-level model, whose
        tokenizer then marks each syllable as a word start (`▁Bộ ▁Công ▁an`).
        """
        spans = word_spans(syllables, self.prep.segmenter)
        norm = normalize_for_model if self.prep.tone_normalization else partial(unicodedata.normalize, "NFC")
        joiner = "_" if self.prep.tokenizer_input == "segmented-words" else " "
        return spans, [joiner.join(norm(s) for s in syllables[a:b]) for a, b in spans]

    def _word_pieces(self, word: str) -> tuple[int, ...]:
        ids = self.tokenizer.convert_tokens_to_ids(self.tokenizer.tokenize(word))
        # A word the tokenizer turns into nothing (a lone control character) still gets a position.
        return tuple(ids) or (self.tokenizer.unk_token_id,)

    def encode(self, syllables: Sequence[str], tags: Sequence[str] | None = None) -> tuple[list, list[tuple[int, int]]]:
        spans, words = self.words(syllables)
        word_labels = None
        if tags is not None:
            word_labels = [self.label2id[t] for t in syllable_to_word_tags(tags, spans)]
        features = encode_windows(
            [self._pieces(w) for w in words],
            word_labels,
            self.tokenizer.cls_token_id,
            self.tokenizer.sep_token_id,
            self.prep.max_subwords,
            self.prep.window_overlap,
            self.prep.label_all_subwords,
            self.continuation,
        )
        return features, spans

    def __call__(self, batch: dict) -> dict:
        out = {k: [] for k in ("input_ids", "attention_mask", "labels", "sentence_index", "word_positions", "first_word")}
        for tokens, tags, index in zip(batch["tokens"], batch["tags"], batch["sentence_index"]):
            features, _ = self.encode(tokens, tags)
            for f in features:
                out["input_ids"].append(f.input_ids)
                out["attention_mask"].append([1] * len(f.input_ids))
                out["labels"].append(f.labels)
                out["sentence_index"].append(index)
                out["word_positions"].append(f.word_positions)
                out["first_word"].append(f.first_word)
        return out


def sentences_to_dataset(sentences: Sequence[Sentence], encoder: SentenceEncoder):
    """A `datasets.Dataset` with one row per window; `sentence_index` points into `sentences`."""
    from datasets import Dataset

    raw = Dataset.from_dict(
        {
            "tokens": [list(s.tokens) for s in sentences],
            "tags": [list(s.tags) for s in sentences],
            "sentence_index": list(range(len(sentences))),
        }
    )
    return raw.map(encoder, batched=True, remove_columns=raw.column_names, desc="encoding")


def assemble_word_predictions(
    sentence_index: Sequence[int],
    first_word: Sequence[int],
    word_positions: Sequence[Sequence[int]],
    rows: np.ndarray,
    n_words: Sequence[int] | None = None,
    out: list[np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Per sentence, the row (logits or probabilities) of each word's first subword, gathered from the
    window that owns the word. Fills `out` in place when given (batch after batch at inference), else
    new arrays of `n_words[i]` rows."""
    if out is None:
        out = [np.zeros((n, rows.shape[-1]), dtype=np.float32) for n in n_words]
    for row, (s, first, positions) in enumerate(zip(sentence_index, first_word, word_positions)):
        out[s][first : first + len(positions)] = rows[row, positions]
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


def decode_words(word_probs: np.ndarray, spans, labels: Sequence[str]) -> tuple[list[str], list[float]]:
    """The one decoding of the encoder's output (dev scoring, evaluation, predict.py): syllable tags of
    the best valid IOB2 word sequence, and each syllable's probability of its word's tag."""
    word_tags, word_scores = best_path(word_probs, labels)
    return words_to_syllable_tags(word_tags, spans), [word_scores[w] for w, (a, b) in enumerate(spans) for _ in range(b - a)]
