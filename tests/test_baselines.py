"""The CRF and underthesea baselines: pure features, a CRF that fits its training data, alignment."""

from __future__ import annotations

import copy

import pytest
from conftest import ANNOTATIONS, FIXTURES

from antq_ner import baselines
from antq_ner.bio import check_bio, read_conll, repair_tags
from antq_ner.scoring import seqeval_scores

TINY = FIXTURES / "corpus" / "bio" / "tiny.conll"
UNDERTHESEA_TAGS = {"O", "B-PERSON", "I-PERSON", "B-ORG", "I-ORG"}


def test_syllable_features_are_pure() -> None:
    tokens = ["Đại", "tá", "Nguyễn", "Văn", "An", ",", "2.100", "09/CTr-BCA-MTTW"]
    spans = [(0, 2), (2, 5), (5, 6), (6, 7), (7, 8)]
    tokens_before, spans_before = copy.deepcopy(tokens), copy.deepcopy(spans)
    first = baselines.syllable_features(tokens, spans)
    second = baselines.syllable_features(tokens, spans)
    assert tokens == tokens_before and spans == spans_before
    assert first == second and len(first) == len(tokens)
    assert first[0]["lower"] == "đại" and first[0]["is_title"] is True and first[0]["BOS"] is True
    assert first[0]["word_pos"] == "B" and first[1]["word_pos"] == "I" and first[3]["word_len"] == "3"
    assert first[5]["is_punct"] is True and first[6]["shape"] == "d.dd"
    assert first[2]["-2:lower"] == "đại" and first[2]["+2:lower"] == "an"
    assert first[-1]["EOS"] is True and "+1:lower" not in first[-1]
    assert first[2]["prefix3"] == "ngu" and first[2]["suffix2"] == "ễn"
    first[0]["lower"] = "changed"  # the dicts are fresh: changing one does not leak into a later call
    assert baselines.syllable_features(tokens, spans)[0]["lower"] == "đại"
    assert baselines.syllable_features([], []) == []


def test_repair_tags() -> None:
    assert repair_tags(["I-ORG", "I-ORG", "O", "B-PERSON", "I-ORG"]) == [
        "B-ORG", "I-ORG", "O", "B-PERSON", "B-ORG",
    ]


@pytest.mark.parametrize("segmenter", ["pyvi", "none"])
def test_crf_fits_its_training_sentences(segmenter: str) -> None:
    sentences = read_conll(TINY)[:2]
    tagger = baselines.train_crf(sentences, segmenter=segmenter, max_iterations=100)
    pred = tagger.predict([s.tokens for s in sentences])
    assert [len(p) for p in pred] == [len(s.tokens) for s in sentences]
    assert all(not check_bio(p) for p in pred)
    assert seqeval_scores([s.tags for s in sentences], pred)["overall"]["f1"] > 0.8
    assert tagger.predict([[]]) == [[]]
    # deterministic: the same data gives the same model
    again = baselines.train_crf(sentences, segmenter=segmenter, max_iterations=100)
    assert again.predict([s.tokens for s in sentences]) == pred


def test_align_underthesea_rewritten_and_retokenised_words() -> None:
    tokens = ["Ông", "Nguyễn", "Văn", "An", "nghành", "hoà", "09/CTr-BCA-MTTW", "Kiệt", "/", "TTXVN"]
    # underthesea normalises (nghành → ngành, hoà → hòa), splits `09/CTr…`, joins syllables into words
    words = ["Ông", "Nguyễn Văn", "An", "ngành hòa", "09", "/", "CTr-BCA-MTTW", "Kiệt", "/", "TTXVN"]
    tags = ["O", "B-PER", "I-PER", "I-ORG", "O", "O", "B-PER", "B-LOC", "B-LOC", "I-LOC"]
    assert baselines.align_underthesea(tokens, words, tags) == [
        "O", "B-PERSON", "I-PERSON", "I-PERSON", "B-ORG", "I-ORG", "B-PERSON", "O", "O", "O",
    ]


def test_underthesea_on_a_real_article() -> None:
    sentences = read_conll(ANNOTATIONS / "bio" / "bac-lieu-2023-05-31.conll")
    pred = baselines.underthesea_predict([s.tokens for s in sentences])
    assert [len(p) for p in pred] == [len(s.tokens) for s in sentences]
    assert {t for p in pred for t in p} <= UNDERTHESEA_TAGS
    assert all(not check_bio(p) for p in pred)
    assert any(t != "O" for p in pred for t in p)


def test_underthesea_finds_a_person_and_keeps_tricky_tokens() -> None:
    # underthesea's segmenter glues "Tô Lâm trao" into one noun in "Bộ trưởng Tô Lâm trao Bằng khen"
    # (and calls "Bằng" a PER); after "Đồng chí" it finds the name.
    tokens = ["Đồng", "chí", "Tô", "Lâm", ",", "Bộ", "trưởng", "Bộ", "Công", "an", ",", "trao", "Bằng", "khen"]
    [pred] = baselines.underthesea_predict([tokens])
    assert pred[2:4] == ["B-PERSON", "I-PERSON"]
    tricky = ["Chỉ", "thị", "09/CTr-BCA-MTTW", "“", "hoà", "bình", "”", "2.100", "người", "(", "Ảnh", ":",
              "Tuấn", "Kiệt", "/", "TTXVN", ")"]
    [pred] = baselines.underthesea_predict([tricky])
    assert len(pred) == len(tricky) and not check_bio(pred) and set(pred) <= UNDERTHESEA_TAGS
    assert baselines.underthesea_predict([[]]) == [[]]


def test_a_truncated_crf_file_is_named_not_a_crash(tmp_path):
    """crfsuite's reader trusts the header: a truncated model file killed the process (exit 139)."""
    import subprocess
    import sys

    from antq_ner.baselines import train_crf
    from antq_ner.bio import read_conll

    path = tmp_path / "crf.crfsuite"
    train_crf(read_conll(FIXTURES / "corpus" / "bio" / "tiny.conll"), max_iterations=5).save(path)
    whole = path.read_bytes()
    for name, data in (("truncated", whole[: len(whole) // 2]), ("header only", whole[:48]), ("garbage", b"x" * 100)):
        path.write_bytes(data)
        done = subprocess.run([sys.executable, "-c", f"from antq_ner.baselines import CrfTagger; CrfTagger.load({str(path)!r})"],
                              capture_output=True, text=True, check=False, timeout=120)
        assert done.returncode == 1, (name, done.returncode)
        assert f"{path}: not a readable CRF model" in done.stderr, name
    path.write_bytes(whole)
    assert baselines.CrfTagger.load(path).predict([["Bộ", "Công", "an"]])
