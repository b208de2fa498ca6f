"""Mention-replacement augmentation of training sentences (for small corpora).

A copy of a sentence swaps each mention, with probability `p`, for another training mention of the
same type; the place name at the end of an ORG mention (`UBND tỉnh [Bạc Liêu]`) is swapped for a
place of the same level from the `vietnamadminunits` gazetteer (MIT; old and new provinces,
districts and wards). Only training sentences are augmented, and inputs are never modified.
"""

from __future__ import annotations

import importlib.util
import random
import sqlite3
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from .bio import Sentence, Span, bio_to_spans, spans_to_bio

__all__ = ["augment_sentences", "gazetteer", "replace_place"]

# The word before a place name says its level (lower-case and capitalised forms both occur).
_LEVEL_WORDS = {
    ("tỉnh",): "province",
    ("thành", "phố"): "province",
    ("huyện",): "district",
    ("quận",): "district",
    ("thị", "xã"): "district",
    ("xã",): "ward",
    ("phường",): "ward",
    ("thị", "trấn"): "ward",
}


@cache
def gazetteer() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Place names by level (`province`, `district`, `ward`), each as a tuple of syllables."""
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("mention-replacement augmentation needs the gazetteer: pip install vietnamadminunits")
    db = Path(next(iter(spec.submodule_search_locations))) / "data" / "dataset.db"
    if not db.is_file():
        raise ImportError(f"{db} not found: reinstall vietnamadminunits")
    queries = {
        "province": "SELECT provinceShort FROM admin_units_legacy UNION SELECT provinceShort FROM admin_units",
        "district": "SELECT districtShort FROM admin_units_legacy",
        "ward": "SELECT wardShort FROM admin_units_legacy UNION SELECT wardShort FROM admin_units",
    }
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        # Numbered wards (`Phường 3`) are not names; sorted, so that a seed gives the same copies.
        return {
            level: tuple(sorted({tuple(n.split()) for (n,) in con.execute(q) if n and not n[0].isdigit()}))
            for level, q in queries.items()
        }


def replace_place(
    tokens: Sequence[str], places: dict[str, tuple[tuple[str, ...], ...]], known: dict[str, frozenset],
    rng: random.Random,
) -> list[str]:
    """The tokens of one ORG mention with a trailing known place name swapped for another of its level.

    `known` holds `places` as sets (built once per call of `augment_sentences`)."""
    tokens = list(tokens)
    for level_words, level in _LEVEL_WORDS.items():
        k = len(level_words)
        for i in range(len(tokens) - k):
            if tuple(t.lower() for t in tokens[i : i + k]) != level_words:
                continue
            if tuple(tokens[i + k :]) in known[level]:
                return tokens[: i + k] + list(rng.choice(places[level]))
    return tokens


def augment_sentences(
    sentences: Sequence[Sentence], copies: int, seed: int, p: float = 0.5, places=None
) -> list[Sentence]:
    """`copies` new sentences per input sentence that has a mention; the inputs are returned unchanged.

    The new sentences' `sent_id` ends with `-aug<k>`; their `text` is the tokens joined by spaces.
    """
    if copies <= 0:
        return []
    places = gazetteer() if places is None else places
    known = {level: frozenset(names) for level, names in places.items()}
    rng = random.Random(seed)
    pool: dict[str, list[tuple[str, ...]]] = {}
    parsed = []
    for s in sentences:
        spans = bio_to_spans(s.tags)
        parsed.append(spans)
        for sp in spans:
            pool.setdefault(sp.label, []).append(tuple(s.tokens[sp.start : sp.end]))
    out: list[Sentence] = []
    for s, spans in zip(sentences, parsed):
        if not spans:
            continue
        for k in range(copies):
            tokens: list[str] = []
            new_spans: list[Span] = []
            pos = 0
            for sp in spans:
                tokens.extend(s.tokens[pos : sp.start])
                mention = list(s.tokens[sp.start : sp.end])
                if rng.random() < p:
                    mention = list(rng.choice(pool[sp.label]))
                if sp.label == "ORG":
                    mention = replace_place(mention, places, known, rng)
                new_spans.append(Span(len(tokens), len(tokens) + len(mention), sp.label))
                tokens.extend(mention)
                pos = sp.end
            tokens.extend(s.tokens[pos:])
            out.append(
                Sentence(s.doc_id, f"{s.sent_id}-aug{k + 1}", " ".join(tokens), tuple(tokens),
                         tuple(spans_to_bio(len(tokens), new_spans)))
            )
    return out
