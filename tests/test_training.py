"""The real training pipeline on a few sentences, offline: checkpoint contents and reuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import REPO, tiny_config_overrides

from antq_ner.cli import train_main
from antq_ner.config import ConfigError, load_config
from antq_ner.training import load_split_sentences, train


def test_checkpoint_holds_everything_a_user_needs(tiny_checkpoint):
    import os

    names = {p.name for p in tiny_checkpoint.iterdir()}
    umask = os.umask(0)
    os.umask(umask)
    for p in tiny_checkpoint.iterdir():  # readable as a plain open() would make them, safetensors included
        if p.is_file():
            assert p.stat().st_mode & 0o777 == 0o666 & ~umask, p.name
    for name in ("model.safetensors", "config.json", "vocab.txt", "bpe.codes", "tokenizer_config.json",
                 "training_config.yaml", "preprocessing.json", "labels.txt", "metrics.json", "train.log", "README.md"):
        assert name in names, name
    config = json.loads((tiny_checkpoint / "config.json").read_text())
    assert config["model_type"] == "roberta"
    assert config["max_position_embeddings"] == 258 and config["pad_token_id"] == 1
    labels = (tiny_checkpoint / "labels.txt").read_text().split()
    assert config["id2label"] == {str(i): label for i, label in enumerate(labels)}
    assert labels[0] == "O" and "B-PROGRAM" in labels
    metrics = json.loads((tiny_checkpoint / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["dev_per_epoch"]] == [1, 2]
    assert metrics["best_dev"]["f1"] == max(e["f1"] for e in metrics["dev_per_epoch"])
    resolved = yaml.safe_load((tiny_checkpoint / "training_config.yaml").read_text())
    assert resolved["training"]["epochs"] == 2 and resolved["data"]["max_sentences"] == 6
    assert json.loads((tiny_checkpoint / "preprocessing.json").read_text())["segmenter"] == "pyvi"
    card = (tiny_checkpoint / "README.md").read_text()
    assert "MIT" in card
    # the card tells what it was trained on, which system chose the epoch, and no path of the training machine
    assert f"Trained on {metrics['sentences']['train']} sentences ({metrics['syllables_train']} syllables)" in card
    assert "chosen on the dev scores of the encoder alone" in card and metrics["dev_system"] == "encoder alone"
    assert str(REPO) not in card and "/tmp" not in card
    assert not (tiny_checkpoint / ".staging").exists()
    assert not (tiny_checkpoint / "checkpoints").exists()


def test_checkpoint_loads_with_auto_classes_and_runs_in_the_pipeline(tiny_checkpoint):
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    model = AutoModelForTokenClassification.from_pretrained(tiny_checkpoint)
    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoint)
    assert type(tokenizer).__name__ == "PhobertTokenizer"
    ner = pipeline("token-classification", model=model, tokenizer=tokenizer)
    out = ner("Bộ_trưởng Tô_Lâm dự hội_nghị của Bộ_Công_an")
    labels = set(model.config.id2label.values())
    assert out and all(o["entity"] in labels for o in out)


def phobert_shaped_folder(path):
    """A local folder laid out like vinai/phobert-base-v2 (RoBERTa weights + PhoBERT tokenizer), tiny."""
    from transformers import PhobertTokenizer, RobertaConfig, RobertaForMaskedLM

    from antq_ner.modeling import build_phobert_vocab

    build_phobert_vocab(["Bộ_Công_an", "hội_nghị", "Tô_Lâm", "tỉnh", "Thái_Bình"] * 3, path / "bpe", merges=50)
    tokenizer = PhobertTokenizer(str(path / "bpe" / "vocab.txt"), str(path / "bpe" / "bpe.codes"))
    config = RobertaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=258, pad_token_id=1, bos_token_id=0,
                           eos_token_id=2, type_vocab_size=1, tokenizer_class="PhobertTokenizer")
    RobertaForMaskedLM(config).save_pretrained(path / "phobert-base-v2")
    tokenizer.save_pretrained(path / "phobert-base-v2")
    return path / "phobert-base-v2"


@pytest.mark.integration
def test_phobert_base_v2_config_trains_from_a_local_phobert_folder(tmp_path):
    local = phobert_shaped_folder(tmp_path)
    overrides = [o for o in tiny_config_overrides(tmp_path / "models", "v2") if not o.startswith("model.")]
    cfg = load_config(REPO / "configs" / "phobert-base-v2.yaml", [*overrides, f"model.name_or_path={local}"])
    metrics = train(cfg)
    assert metrics["best_epoch"] in (1, 2)
    card = (tmp_path / "models" / "v2" / "README.md").read_text()
    assert "license: agpl-3.0" in card and "AGPL-3.0, inherited from vinai/phobert-base-v2" in card
    from transformers import AutoModelForTokenClassification

    model = AutoModelForTokenClassification.from_pretrained(tmp_path / "models" / "v2")
    assert model.config.num_labels == 11


def test_unreachable_hub_model_says_how_to_use_a_local_folder(tmp_path, capsys):
    args = ["--config", str(REPO / "configs" / "phobert-base-v2.yaml")]
    args += [a for o in tiny_config_overrides(tmp_path, "hub") if not o.startswith("model.") for a in ("--set", o)]
    assert train_main(args) == 1
    err = capsys.readouterr().err
    assert "vinai/phobert-base-v2" in err and "model.name_or_path" in err and "local" in err
    assert not (tmp_path / "hub").exists()  # nothing left behind


def test_labels_the_config_does_not_know_are_an_error(tmp_path):
    overrides = tiny_config_overrides(tmp_path, "labels") + ["data.labels=[PERSON, ORG]"]
    with pytest.raises(ConfigError, match=r"\.conll:\d+: unknown label .\w+. in .B-\w+."):
        train(load_config(REPO / "configs" / "scratch.yaml", overrides))


def test_resume_without_checkpoint_is_an_error(tmp_path, capsys):
    args = ["--config", str(REPO / "configs" / "scratch.yaml"), "--resume"]
    args += [a for o in tiny_config_overrides(tmp_path, "none") for a in ("--set", o)]
    assert train_main(args) == 1
    assert "no checkpoint" in capsys.readouterr().err


def test_same_seed_same_model_and_resume_continues(tmp_path, tiny_checkpoint):
    from safetensors.torch import load_file

    cfg = load_config(REPO / "configs" / "scratch.yaml", tiny_config_overrides(tmp_path, "tiny"))
    train(cfg, keep_checkpoints=True)
    assert any((tmp_path / "tiny" / "checkpoints").glob("checkpoint-*"))  # kept, for the resume below
    a = load_file(tiny_checkpoint / "model.safetensors")
    b = load_file(tmp_path / "tiny" / "model.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)

    longer = load_config(REPO / "configs" / "scratch.yaml", tiny_config_overrides(tmp_path, "tiny") + ["training.epochs=3"])
    metrics = train(longer, resume=True)
    assert [e["epoch"] for e in metrics["dev_per_epoch"]] == [1, 2, 3]
    with pytest.raises(ConfigError, match="the run finished and its resume state was removed"):
        train(longer, resume=True)


def test_training_batches_are_grouped_by_length_but_evaluation_keeps_dataset_order(tmp_path):
    """DevScorer maps dev predictions back to sentences by row: evaluation must not be reordered."""
    from datasets import Dataset
    from torch.utils.data import SequentialSampler
    from transformers import RobertaConfig, RobertaForTokenClassification
    from transformers.trainer_pt_utils import LengthGroupedSampler

    from antq_ner.training import _trainer_class, _training_arguments

    cfg = load_config(REPO / "configs" / "scratch.yaml", tiny_config_overrides(tmp_path, "order"))
    model = RobertaForTokenClassification(RobertaConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1,
                                                        num_attention_heads=1, intermediate_size=8))
    rows = Dataset.from_dict({"input_ids": [[0] * n for n in (3, 9, 1, 7, 5, 2, 8, 4, 6)]})
    trainer = _trainer_class()(model=model, args=_training_arguments(cfg, tmp_path / "ckpt"), train_dataset=rows,
                                 eval_dataset=rows)
    assert isinstance(trainer._get_train_sampler(rows), LengthGroupedSampler)
    assert isinstance(trainer._get_eval_sampler(rows), SequentialSampler)


def test_freezing_and_the_head_learning_rate(tmp_path):
    import dataclasses

    from transformers import RobertaConfig, RobertaForTokenClassification

    from antq_ner.training import apply_freezing, build_optimizer

    cfg = load_config(REPO / "configs" / "scratch.yaml", tiny_config_overrides(tmp_path, "frozen"))
    t = dataclasses.replace(cfg.training, learning_rate=1e-4, head_lr_multiplier=10.0, freeze_layers=1)
    model = RobertaForTokenClassification(RobertaConfig(vocab_size=30, hidden_size=8, num_hidden_layers=2,
                                                        num_attention_heads=1, intermediate_size=8, num_labels=3))
    apply_freezing(model, t)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert not any(n.startswith(("roberta.embeddings.", "roberta.encoder.layer.0.")) for n in trainable)
    assert any(n.startswith("roberta.encoder.layer.1.") for n in trainable)
    optimizer = build_optimizer(model, t)
    head = {id(p) for p in model.classifier.parameters()}
    for group in optimizer.param_groups:
        is_head = {id(p) in head for p in group["params"]}
        assert len(is_head) == 1
        assert group["lr"] == pytest.approx(1e-3 if is_head.pop() else 1e-4)
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(trainable)
    with pytest.raises(ConfigError, match="freeze_layers: 5, but the model has 2 layers"):
        apply_freezing(model, dataclasses.replace(t, freeze_layers=5))


def test_a_checkpoint_written_before_tokenizer_input_existed_still_reads_words(tmp_path):
    from antq_ner.checkpoint import load_preprocessing

    legacy = {"segmenter": "pyvi", "tokenizer_input": "word-segmented syllables joined by '_', words separated by spaces",
              "word_joiner": "_", "max_subwords": 256}
    (tmp_path / "preprocessing.json").write_text(json.dumps(legacy), encoding="utf-8")
    assert load_preprocessing(tmp_path).tokenizer_input == "segmented-words"


@pytest.mark.parametrize("part", ["train", "test"])
def test_malformed_iob2_in_any_part_names_file_and_line(tmp_path, part):
    import shutil

    import yaml

    bio = tmp_path / "bio"
    shutil.copytree(REPO / "annotations" / "bio", bio)
    split = yaml.safe_load((REPO / "configs" / "splits.yaml").read_text(encoding="utf-8"))["splits"]["default"]
    path = bio / f"{split[part][0]}.conll"
    lines = path.read_text(encoding="utf-8").split("\n")
    # the first entity of the file loses its B-: an I- after O
    index = next(i for i, line in enumerate(lines) if "\tB-" in line and "\tI-" not in lines[i + 1])
    lines[index] = lines[index].replace("\tB-", "\tI-")
    path.write_text("\n".join(lines), encoding="utf-8")
    overrides = tiny_config_overrides(tmp_path, "iob2") + [f"data.bio_dir={bio}", "data.max_sentences=null"]
    with pytest.raises(ConfigError, match=rf"{path.name}:{index + 1}: 'I-\w+' follows 'O'"):
        load_split_sentences(load_config(REPO / "configs" / "scratch.yaml", overrides))


def test_max_subwords_beyond_the_model_positions_is_refused_before_training(tmp_path):
    overrides = tiny_config_overrides(tmp_path, "long") + ["preprocessing.max_subwords=300"]
    with pytest.raises(ConfigError, match=r"max_subwords: 300, but the model reads at most 256 subwords"):
        train(load_config(REPO / "configs" / "scratch.yaml", overrides))
    assert not (tmp_path / "long").exists()


def test_preprocessing_json_with_an_unknown_key_is_refused(tmp_path):
    from antq_ner.checkpoint import load_preprocessing

    (tmp_path / "preprocessing.json").write_text(json.dumps({"segmenter": "pyvi", "lowercase": True}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"preprocessing\.json: unknown setting\(s\) lowercase"):
        load_preprocessing(tmp_path)


@pytest.mark.integration
def test_training_runs_in_two_cpu_processes_under_torchrun(tmp_path):
    import os
    import shutil
    import subprocess
    import sys

    torchrun = Path(sys.executable).parent / "torchrun"
    overrides = [a for o in tiny_config_overrides(tmp_path, "ddp") for a in ("--set", o)]
    proc = subprocess.run(
        [str(torchrun if torchrun.exists() else shutil.which("torchrun")), "--nproc_per_node", "2", "train.py",
         "--config", str(REPO / "configs" / "scratch.yaml"), *overrides],
        check=False, capture_output=True, text=True, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["processes"] == 2 and len(metrics["dev_per_epoch"]) == 2


@pytest.mark.integration
def test_segmenter_fallbacks_are_one_line_and_a_file(tmp_path, monkeypatch, capsys, recwarn):
    """On a corpus of thousands of sentences one warning per sentence was hundreds of lines."""
    from antq_ner import segment

    monkeypatch.setattr(segment, "get_segmenter", lambda name: str.upper)  # a segmenter that rewrites everything
    metrics = train(load_config(REPO / "configs" / "scratch.yaml", tiny_config_overrides(tmp_path, "fallbacks")))
    assert not [w for w in recwarn if issubclass(w.category, segment.SegmenterFallbackWarning)]  # none escapes
    err = capsys.readouterr().err
    n = metrics["segmenter_fallbacks"]  # every sentence upper-casing changes
    assert n >= metrics["sentences"]["train"] // 2
    assert err.count("read one word per syllable") == 1 and f"warning: {n} training or dev sentence(s)" in err
    listed = (tmp_path / "fallbacks" / "segmenter_fallbacks.txt").read_text(encoding="utf-8").splitlines()
    assert len(listed) == n and all("read one word per syllable" in line for line in listed)
