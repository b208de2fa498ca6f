"""Deterministic syllable tokenizer and sentence splitter with character offsets.

Offsets always point into the text as given: nothing is normalised here. Tone placement and NFC
are applied to token strings for the model only (`normalize_for_model`), so `text[start:end]`
is the token for every token, whatever the input's normal form or spacing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Token", "normalize_for_model", "split_sentences", "tokenize"]


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def _split_chunk(chunk: str, offset: int) -> list[Token]:
    """Split one whitespace-free chunk (see GUIDELINES.md, "Units")."""
    if chunk.isalnum():  # most chunks: a plain syllable or number, no punctuation to look at
        return [Token(chunk, offset, offset + len(chunk))]
    lead: list[Token] = []
    trail: list[Token] = []
    i, j = 0, len(chunk)
    while i < j and _is_punct(chunk[i]):
        lead.append(Token(chunk[i], offset + i, offset + i + 1))
        i += 1
    # A '%' right after a digit belongs to the number (`100%`).
    while j > i and _is_punct(chunk[j - 1]) and not (chunk[j - 1] == "%" and j - 2 >= i and chunk[j - 2].isdigit()):
        trail.append(Token(chunk[j - 1], offset + j - 1, offset + j))
        j -= 1
    core = chunk[i:j]
    middle: list[Token] = []
    if core:
        if any(c.isdigit() for c in core):
            middle.append(Token(core, offset + i, offset + j))
        else:
            start = i
            for k in range(i, j):
                if _is_punct(chunk[k]) and chunk[k] != "-":
                    if start < k:
                        middle.append(Token(chunk[start:k], offset + start, offset + k))
                    middle.append(Token(chunk[k], offset + k, offset + k + 1))
                    start = k + 1
            if start < j:
                middle.append(Token(chunk[start:j], offset + start, offset + j))
    return lead + middle + trail[::-1]


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[Token]:
    """Tokens of `text[start:end]` with offsets into `text`.

    Whitespace is anything `str.isspace` accepts (non-breaking spaces included).
    """
    end = len(text) if end is None else end
    tokens: list[Token] = []
    for m in re.finditer(r"\S+", text[start:end]):
        tokens.extend(_split_chunk(m.group(), start + m.start()))
    return tokens


_SENTENCE_END = {".", "!", "?", "…"}
_OPENERS = set("“\"'‘([{«")


def _starts_sentence(token: Token) -> bool:
    c = token.text[0]
    return c.isupper() or c.isdigit() or c in _OPENERS


def split_sentences(text: str) -> list[list[Token]]:
    """Sentences as lists of tokens; a line break (`\n` or `\r`) always ends a sentence."""
    sentences: list[list[Token]] = []
    for line in re.finditer(r"[^\n\r]+", text):
        tokens = tokenize(text, line.start(), line.end())
        current: list[Token] = []
        for k, tok in enumerate(tokens):
            current.append(tok)
            nxt = tokens[k + 1] if k + 1 < len(tokens) else None
            if (
                tok.text in _SENTENCE_END
                and nxt is not None
                and nxt.text not in _SENTENCE_END
                and _starts_sentence(nxt)
            ):
                sentences.append(current)
                current = []
        if current:
            sentences.append(current)
    return sentences


# VinAI's pre-training data puts the tone on the second vowel of oa/oe/uy at the end of a
# syllable (`hoà`, `uỷ`); Vietnamese text today mostly writes `hòa`, `ủy`.
_OLD_STYLE = {}
for _plain, _vowel in (("o", "a"), ("o", "e"), ("u", "y")):
    for _mark in ("\u0300", "\u0301", "\u0309", "\u0303", "\u0323"):
        for _case in (str.lower, str.upper, str.capitalize):
            new = _case(unicodedata.normalize("NFC", _plain + _mark) + _vowel)
            old = _case(_plain + unicodedata.normalize("NFC", _vowel + _mark))
            _OLD_STYLE[new] = old
_TONE_RE = re.compile("(" + "|".join(sorted(_OLD_STYLE, key=len, reverse=True)) + r")(?!\w)")


def normalize_for_model(token: str) -> str:
    """NFC, then the old-style tone placement PhoBERT was pre-trained on."""
    return _TONE_RE.sub(lambda m: _OLD_STYLE[m.group(1)], unicodedata.normalize("NFC", token))
