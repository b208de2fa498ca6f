"""Deterministic syllable tokenizer and sentence splitter with character offsets.

Offsets always point into the text as given. `split_sentences` and `tokenize` normalise nothing;
`read_sentences`, the reader of user text, cleans it first (`clean_text`: NFC, zero-width spaces
as spaces, invisible format characters dropped) and maps every token back, so `text[start:end]`
is always the token as written while the token string is the clean one. Tone placement is applied
to token strings for the model only (`normalize_for_model`).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "Token",
    "clean_text",
    "is_clean",
    "normalize_for_model",
    "read_sentences",
    "span_in_clean",
    "split_sentences",
    "tokenize",
]


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


# Characters that change nothing a reader sees. A zero-width space separates words (it is written
# where a line may break); the others join or hide: soft hyphen, zero-width (non-)joiner, word
# joiner, and U+FEFF (a byte-order mark at the start of a file, a zero-width no-break space inside).
# Control characters (NUL, escape, DEL, C1) are read as spaces too: they cannot be part of a word.
_SEPARATORS = {"\u200b"} | {chr(c) for c in (*range(0x20), *range(0x7F, 0xA0)) if not chr(c).isspace()}
_IGNORABLE = {"\u00ad", "\u200c", "\u200d", "\u2060", "\ufeff"}


_TO_CLEAN = re.compile("[" + re.escape("".join(sorted(_SEPARATORS | _IGNORABLE))) + "]")


def _joins_emoji(text: str, k: int) -> bool:
    """Whether `text[k]` is a zero-width joiner between two pictographs (an emoji sequence), which
    keeps it: dropped, the sequence falls apart into several emoji."""
    return (text[k] == "\u200d" and 0 < k < len(text) - 1 and unicodedata.category(text[k + 1]) == "So"
            and (unicodedata.category(text[k - 1]) in ("So", "Sk") or text[k - 1] == "\ufe0f"))


def clean_text(text: str) -> tuple[str, list[int], list[int]]:
    """`text` in NFC with zero-width spaces as spaces and invisible format characters removed, and
    for each character of the result the `[start, end)` in `text` of what it came from.

    Each base character is normalised together with the combining marks that follow it, so the
    result's characters map to whole characters of the input (NFD `e` + marks → one `ế`).
    """
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _IGNORABLE:
            if _joins_emoji(text, i):  # 👨‍👩‍👧 stays one emoji, as written
                out.append(ch)
                starts.append(i)
                ends.append(i + 1)
            i += 1
            continue
        if ch in _SEPARATORS:
            out.append(" ")
            starts.append(i)
            ends.append(i + 1)
            i += 1
            continue
        j = i + 1
        while j < n and (unicodedata.combining(text[j]) or (text[j] in _IGNORABLE and not _joins_emoji(text, j))):
            j += 1
        cluster = "".join(c for c in text[i:j] if c not in _IGNORABLE)
        for c in unicodedata.normalize("NFC", cluster):
            out.append(c)
            starts.append(i)
            ends.append(j)
        i = j
    return "".join(out), starts, ends


def is_clean(text: str) -> bool:
    """Whether `clean_text` would leave `text` as it is (most text: NFC, no invisible characters)."""
    return unicodedata.is_normalized("NFC", text) and not _TO_CLEAN.search(text)


def span_in_clean(starts: list[int], ends: list[int], start: int, end: int) -> tuple[int, int]:
    """`[start, end)` of the original text as offsets into `clean_text`'s result (whose `starts`,
    `ends` are given): the clean characters that came from inside it."""
    return bisect.bisect_left(starts, start), bisect.bisect_right(ends, end)


def read_sentences(text: str) -> list[list[Token]]:
    """Sentences of user text: token strings from `clean_text`, offsets into `text` as given."""
    if is_clean(text):
        return split_sentences(text)  # nothing to clean (most text): skip clean_text's per-character loop
    clean, starts, ends = clean_text(text)
    return [[Token(t.text, starts[t.start], ends[t.end - 1]) for t in sent] for sent in split_sentences(clean)]


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
