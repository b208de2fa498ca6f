"""Mention-replacement augmentation: same-type swaps, gazetteer places in ORG, inputs untouched."""

from __future__ import annotations

import random

from antq_ner.augment import augment_sentences, gazetteer, replace_place
from antq_ner.bio import Sentence, bio_to_spans, check_bio

PLACES = {"province": (("Bạc", "Liêu"), ("Thái", "Bình")), "district": (("Sơn", "Tịnh"),), "ward": (("Tân", "An"),)}


def sentence(sent_id, tokens_tags):
    tokens = tuple(t for t, _ in tokens_tags)
    return Sentence("doc", sent_id, " ".join(tokens), tokens, tuple(tag for _, tag in tokens_tags))


A = sentence("a", [("Chủ", "B-RANK"), ("tịch", "I-RANK"), ("UBND", "B-ORG"), ("tỉnh", "I-ORG"), ("Bạc", "I-ORG"),
                   ("Liêu", "I-ORG"), ("phát", "O"), ("biểu", "O")])
B = sentence("b", [("Giám", "B-RANK"), ("đốc", "I-RANK"), ("Công", "B-ORG"), ("an", "I-ORG"), ("huyện", "I-ORG"),
                   ("Sơn", "I-ORG"), ("Tịnh", "I-ORG"), ("dự", "O"), ("họp", "O"), (".", "O")])
C = sentence("c", [("Không", "O"), ("có", "O"), ("gì", "O")])


def test_copies_swap_mentions_of_the_same_type_and_keep_valid_iob2():
    before = (A, B, C)
    out = augment_sentences([A, B, C], copies=3, seed=1, p=1.0, places=PLACES)
    assert (A, B, C) == before  # inputs unchanged
    assert len(out) == 6  # C has no mention: no copy
    pool = {"RANK": {("Chủ", "tịch"), ("Giám", "đốc")}}
    for s in out:
        assert not check_bio(s.tags) and len(s.tokens) == len(s.tags)
        assert s.sent_id.rsplit("-aug", 1)[0] in ("a", "b")
        spans = bio_to_spans(s.tags)
        assert [sp.label for sp in spans] == ["RANK", "ORG"]
        assert tuple(s.tokens[spans[0].start : spans[0].end]) in pool["RANK"]
        org = s.tokens[spans[1].start : spans[1].end]
        assert org[:2] in (("UBND", "tỉnh"), ("Công", "an"))
        assert s.tokens[spans[1].end :] in (("phát", "biểu"), ("dự", "họp", "."))


def test_same_seed_same_copies():
    assert augment_sentences([A, B], 2, 7, places=PLACES) == augment_sentences([A, B], 2, 7, places=PLACES)
    assert augment_sentences([A, B], 0, 7, places=PLACES) == []


def test_a_trailing_place_is_replaced_by_one_of_its_level():
    rng = random.Random(0)
    known = {level: frozenset(names) for level, names in PLACES.items()}
    assert replace_place(["UBND", "tỉnh", "Bạc", "Liêu"], PLACES, known, rng)[:2] == ["UBND", "tỉnh"]
    assert replace_place(["Công", "an", "huyện", "Sơn", "Tịnh"], PLACES, known, rng) == ["Công", "an", "huyện", "Sơn", "Tịnh"]
    # An unknown place, or no level word, leaves the mention alone.
    assert replace_place(["UBND", "tỉnh", "Atlantis"], PLACES, known, rng) == ["UBND", "tỉnh", "Atlantis"]
    assert replace_place(["Bộ", "Công", "an"], PLACES, known, rng) == ["Bộ", "Công", "an"]


def test_the_gazetteer_lists_old_and_new_units():
    places = gazetteer()
    assert ("Bạc", "Liêu") in places["province"] and ("Hà", "Nội") in places["province"]
    assert ("Sơn", "Tịnh") in places["district"]
    assert len(places["province"]) >= 34 and len(places["ward"]) > 3000
