"""The PhoBERT path with PhoBERT's real tokenizer (../shared/phobert-tokenizer, never copied here)."""

from __future__ import annotations

import json

import pytest
from conftest import ANNOTATIONS, REPO, tiny_config_overrides

from antq_ner.align import plan_windows
from antq_ner.config import PreprocessingConfig
from antq_ner.corpus import load_sentences
from antq_ner.data import SentenceEncoder
from antq_ner.labels import bio_labels

PHOBERT_TOKENIZER = REPO.parent / "shared" / "phobert-tokenizer"
pytestmark = pytest.mark.skipif(
    not (PHOBERT_TOKENIZER / "bpe.codes").is_file(),
    reason="PhoBERT's tokenizer files are not in ../shared/phobert-tokenizer beside this checkout",
)


@pytest.fixture(scope="module")
def phobert():
    from transformers import PhobertTokenizer

    return PhobertTokenizer(str(PHOBERT_TOKENIZER / "vocab.txt"), str(PHOBERT_TOKENIZER / "bpe.codes"))


def corpus():
    return load_sentences(ANNOTATIONS / "bio", sorted(p.stem for p in (ANNOTATIONS / "bio").glob("*.conll")))


def test_real_phobert_ids(phobert):
    assert len(phobert) == 64001
    assert phobert.encode("Tôi là sinh_viên trường đại_học Công_nghệ .") == [0, 218, 8, 649, 212, 956, 2413, 5, 2]


def test_the_corpus_in_real_phobert_subwords(phobert):
    """PhoBERT's input as the pipeline builds it: pyvi words, old-style tones; few unknown pieces."""
    encoder = SentenceEncoder(phobert, bio_labels(["ORG"]), PreprocessingConfig())
    pieces = longest = 0
    unknown = 0
    for s in corpus():
        features, _ = encoder.encode(list(s.tokens))
        ids = [i for f in features for i in f.input_ids[1:-1]]
        pieces += len(ids)
        unknown += ids.count(phobert.unk_token_id)
        longest = max(longest, len(ids) + 2)
    assert unknown / pieces < 0.01
    assert longest <= 256  # no corpus sentence needs a window


def test_windows_on_real_subword_counts(phobert):
    """The longest sentence, cut for a 64-subword model: every word predicted exactly once."""
    prep = PreprocessingConfig(max_subwords=64, window_overlap=16)
    encoder = SentenceEncoder(phobert, bio_labels(["ORG"]), prep)
    sentence = max(corpus(), key=lambda s: len(s.tokens))
    _, words = encoder.words(list(sentence.tokens))
    lengths = [len(encoder._pieces(w)) for w in words]
    windows = plan_windows(lengths, 62, 16)
    assert len(windows) > 1
    assert all(sum(lengths[w.start : w.end]) <= 62 for w in windows)
    owned = [i for w in windows for i in range(w.own_start, w.own_end)]
    assert owned == list(range(len(words)))
    features, _ = encoder.encode(list(sentence.tokens))
    assert all(len(f.input_ids) <= 64 for f in features)
    assert sum(len(f.word_positions) for f in features) == len(words)


@pytest.mark.integration
def test_phobert_base_shaped_model_trains_evaluates_and_predicts(phobert, tmp_path, monkeypatch):
    """A randomly initialised PhoBERT-base-sized model with the real tokenizer through the whole path."""
    from transformers import RobertaConfig, RobertaForMaskedLM

    from antq_ner.cli import predict_main as predict
    from antq_ner.config import load_config
    from antq_ner.evaluation import evaluate_run
    from antq_ner.training import train

    folder = tmp_path / "phobert-base-shaped"
    config = RobertaConfig(vocab_size=len(phobert), hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                           intermediate_size=3072, max_position_embeddings=258, pad_token_id=1, bos_token_id=0,
                           eos_token_id=2, type_vocab_size=1, tokenizer_class="PhobertTokenizer")
    RobertaForMaskedLM(config).save_pretrained(folder)
    phobert.save_pretrained(folder)
    overrides = [o for o in tiny_config_overrides(tmp_path / "models", "pb") if not o.startswith("model.")]
    overrides += [f"model.name_or_path={folder}", "data.max_sentences=3", "training.epochs=1"]
    monkeypatch.chdir(REPO)
    train(load_config(REPO / "configs" / "phobert-base-v2.yaml", overrides))
    run = tmp_path / "models" / "pb"
    assert json.loads((run / "config.json").read_text())["vocab_size"] == 64001
    result = evaluate_run(run, "test", baselines=False)
    assert result.metrics["articles"] == ["bac-lieu-2023-05-31"]
    out = tmp_path / "pred.jsonl"
    assert predict(["--model", str(run), str(ANNOTATIONS / "raw" / "bac-lieu-2023-05-31.txt"), "-o", str(out)]) == 0
    text = (ANNOTATIONS / "raw" / "bac-lieu-2023-05-31.txt").read_text(encoding="utf-8")
    for entity in json.loads(out.read_text().splitlines()[0])["entities"]:
        assert text[entity["start"] : entity["end"]] == entity["text"]
