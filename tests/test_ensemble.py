"""The encoder + CRF ensemble: word → syllable distributions, CRF marginals, pooled IOB2 decoding."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, REPO, tiny_config_overrides

from antq_ner import baselines
from antq_ner.bio import check_bio, read_conll
from antq_ner.decoding import best_path
from antq_ner.ensemble import ENSEMBLE_NAME, crf_distribution, pooled_distribution, syllable_distribution
from antq_ner.evaluation import run_baselines
from antq_ner.labels import bio_labels

LABELS = bio_labels(["PERSON", "ORG"])  # O, B-PERSON, I-PERSON, B-ORG, I-ORG
TINY = FIXTURES / "corpus" / "bio" / "tiny.conll"


def one_hot(*rows: dict[str, float]) -> np.ndarray:
    return np.array([[row.get(label, 0.0) for label in LABELS] for row in rows])


def test_syllable_distribution_continues_multi_syllable_words() -> None:
    words = one_hot({"B-ORG": 0.7, "I-ORG": 0.1, "O": 0.2}, {"O": 1.0})
    out = syllable_distribution(words, [(0, 2), (2, 3)], LABELS)
    assert out.shape == (3, len(LABELS))
    np.testing.assert_allclose(out[0], words[0])
    np.testing.assert_allclose(out[1], one_hot({"I-ORG": 0.8, "O": 0.2})[0])
    np.testing.assert_allclose(out[2], words[1])
    assert syllable_distribution(np.zeros((0, len(LABELS))), [], LABELS).shape == (0, len(LABELS))


def test_crf_distribution_gives_unseen_labels_zero() -> None:
    out = crf_distribution([{"O": 0.25, "B-PERSON": 0.75}], LABELS)
    np.testing.assert_allclose(out, one_hot({"O": 0.25, "B-PERSON": 0.75}))


def pooled_tags(encoder, crf, labels, crf_weight=0.5) -> list[str]:
    return best_path(pooled_distribution(encoder, crf, crf_weight), labels)[0]


def test_pooled_tags_follow_the_surer_system_and_stay_valid_iob2() -> None:
    encoder = one_hot({"B-PERSON": 0.9, "O": 0.1}, {"I-PERSON": 0.55, "O": 0.45}, {"O": 1.0})
    crf = one_hot({"B-ORG": 0.6, "O": 0.4}, {"O": 0.9, "I-ORG": 0.1}, {"O": 1.0})
    assert pooled_tags(encoder, crf, LABELS, crf_weight=0.0) == ["B-PERSON", "I-PERSON", "O"]
    assert pooled_tags(encoder, crf, LABELS, crf_weight=1.0) == ["B-ORG", "O", "O"]
    # equal weights: B-PERSON (0.45) beats B-ORG (0.30); O (0.675) beats I-PERSON (0.275)
    assert pooled_tags(encoder, crf, LABELS) == ["B-PERSON", "O", "O"]
    # an I- tag no system can start with never opens a sentence
    assert pooled_tags(one_hot({"I-ORG": 1.0}), one_hot({"I-ORG": 1.0}), LABELS)[0] != "I-ORG"


def test_pooled_tags_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="shape"):
        pooled_tags(one_hot({"O": 1.0}), one_hot({"O": 1.0}, {"O": 1.0}), LABELS)
    with pytest.raises(ValueError, match="crf_weight"):
        pooled_tags(one_hot({"O": 1.0}), one_hot({"O": 1.0}), LABELS, crf_weight=1.5)


def test_run_baselines_adds_the_ensemble_of_a_confident_encoder_and_the_crf() -> None:
    sentences = read_conll(TINY)[:2]
    labels = bio_labels(["PERSON", "RANK", "ORG", "PROGRAM", "QUANTITY"])
    gold = [list(s.tags) for s in sentences]

    def encoder(sure: bool) -> list:
        """Sure of the gold, or uniform (no opinion): one distribution per syllable-word."""
        out = []
        for s in sentences:
            probs = np.full((len(s.tokens), len(labels)), 1 / len(labels))
            if sure:
                probs[:] = 0.0
                probs[np.arange(len(s.tags)), [labels.index(t) for t in s.tags]] = 1.0
            out.append((probs, [(i, i + 1) for i in range(len(s.tokens))]))
        return out

    # the CRF fits its training sentences: with an encoder that agrees, or one without an opinion,
    # the ensemble gives the gold
    for sure in (True, False):
        systems, skipped = run_baselines(sentences, sentences, encoder=(encoder(sure), labels))
        assert not skipped
        assert systems[ENSEMBLE_NAME].tags == gold
    # a CRF that saw only the first sentence: a sure encoder moves the pooled tags towards the gold
    systems, _ = run_baselines(sentences[:1], sentences, encoder=(encoder(True), labels))
    pooled, crf_only = systems[ENSEMBLE_NAME].tags, systems[baselines.CRF_NAME].tags
    assert all(not check_bio(p) for p in pooled)
    matches = lambda pred: sum(p == g for ps, gs in zip(pred, gold) for p, g in zip(ps, gs))
    assert matches(pooled) > matches(crf_only)
    crf = baselines.train_crf(sentences[:1])
    marginals = crf.marginals(sentences[0].tokens)
    assert len(marginals) == len(sentences[0].tokens)
    assert all(abs(sum(m.values()) - 1.0) < 1e-6 for m in marginals)
    assert crf.marginals([]) == []


@pytest.fixture(scope="module")
def crf_checkpoint(tmp_path_factory) -> Path:
    from antq_ner.config import load_config
    from antq_ner.training import train

    out = tmp_path_factory.mktemp("models")
    train(load_config(REPO / "configs" / "scratch.yaml", [*tiny_config_overrides(out, "crf"), "model.crf_weight=0.7",
                                                                   "model.crf_segmenter=pyvi"]))
    return out / "crf"


def test_a_checkpoint_with_a_crf_tags_with_both(crf_checkpoint: Path, tmp_path: Path, capsys):
    from transformers import pipeline

    from antq_ner.cli import predict_main
    from antq_ner.evaluation import ENCODER_NAME, evaluate_run
    from antq_ner.inference import Tagger

    assert json.loads((crf_checkpoint / "ensemble.json").read_text(encoding="utf-8"))["crf_weight"] == 0.7
    assert json.loads((crf_checkpoint / "metrics.json").read_text(encoding="utf-8"))["crf"]["weight"] == 0.7
    tagger = Tagger.from_pretrained(crf_checkpoint)
    assert tagger.crf is not None and tagger.crf_weight == 0.7
    # The CRF reads the words of the segmenter it was trained with, not the default (underthesea).
    assert json.loads((crf_checkpoint / "ensemble.json").read_text(encoding="utf-8"))["crf_segmenter"] == "pyvi"
    assert tagger.crf.segmenter == "pyvi"
    sentences = read_conll(REPO / "annotations" / "bio" / "bac-lieu-2023-05-31.conll")[:4]
    tokens = [list(s.tokens) for s in sentences]
    tagged = tagger.tag(tokens)
    distributions = tagger.word_distributions(tokens)
    for t, got, (probs, spans) in zip(tokens, tagged, distributions):
        labels = tagger.labels
        crf = crf_distribution(tagger.crf.marginals(t), labels)
        want = pooled_tags(syllable_distribution(probs, spans, labels), crf, labels, crf_weight=0.7)
        assert got.tags == want and len(got.scores) == len(t) and all(0 < x <= 1 for x in got.scores)
    # the CRF changes something here, so the check above tells pooling from the encoder alone
    assert any(g.tags != e.tags for g, e in zip(tagged, tagger.decode(distributions)))
    # evaluation scores the pooled tags and shows the encoder alone beside them
    result = evaluate_run(crf_checkpoint, "test", baselines=True, write=False)
    assert ENCODER_NAME in result.metrics["baselines"] and ENSEMBLE_NAME not in result.metrics["baselines"]
    # predict.py uses the CRF; the folder still loads in a plain pipeline (the encoder alone)
    doc = tmp_path / "r.txt"
    doc.write_text("Đại tá Nguyễn Văn Hùng, Giám đốc Công an tỉnh Thái Bình.", encoding="utf-8")
    assert predict_main(["--model", str(crf_checkpoint), str(doc)]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == str(doc)
    assert pipeline("token-classification", model=str(crf_checkpoint))("Bộ Công an") is not None


def test_a_damaged_crf_is_named(crf_checkpoint: Path, tmp_path: Path):
    import shutil

    from antq_ner.inference import Tagger

    model = tmp_path / "model"
    shutil.copytree(crf_checkpoint, model)
    (model / "crf.crfsuite").write_bytes(b"not a crf")
    with pytest.raises(ValueError, match=r"crf\.crfsuite: not a readable CRF model"):
        Tagger.from_pretrained(model)
    (model / "ensemble.json").write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match=r"ensemble\.json: damaged"):
        Tagger.from_pretrained(model)
