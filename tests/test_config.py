"""Config loading: unknown keys, types, overrides and paths are checked before training."""

from __future__ import annotations

import dataclasses

import pytest
import yaml
from conftest import REPO

from antq_ner.config import ConfigError, config_to_dict, list_folds, load_config, load_split

CONFIGS = sorted((REPO / "configs").glob("*.yaml"))


def write(tmp_path, data, name="c.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def base(monkeypatch) -> dict:
    monkeypatch.chdir(REPO)
    return yaml.safe_load((REPO / "configs" / "offline.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", [p for p in CONFIGS if p.name != "splits.yaml"], ids=lambda p: p.name)
def test_every_shipped_config_loads_and_writes_every_setting(path, monkeypatch):
    monkeypatch.chdir(REPO)
    cfg = load_config(path)
    written = yaml.safe_load(path.read_text(encoding="utf-8"))
    resolved = config_to_dict(cfg)
    for section in ("data", "preprocessing", "training"):
        assert set(written[section]) == set(resolved[section]), f"{path.name}: {section} does not write every key"


def test_config_is_frozen(base, tmp_path):
    cfg = load_config(write(tmp_path, base))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.training.epochs = 3


def test_unknown_key_names_the_key_and_the_closest_valid_one(base, tmp_path):
    base["training"]["learning_rte"] = 1e-3
    with pytest.raises(ConfigError, match=r"unknown key training\.'learning_rte'.*did you mean training\.'learning_rate'"):
        load_config(write(tmp_path, base))


def test_unknown_top_level_key(base, tmp_path):
    base["trainig"] = {}
    with pytest.raises(ConfigError, match="did you mean 'training'"):
        load_config(write(tmp_path, base))


def test_wrong_type_and_bad_choice(base, tmp_path):
    base["training"]["epochs"] = "many"
    with pytest.raises(ConfigError, match="training.epochs: expected int"):
        load_config(write(tmp_path, base))
    base["training"]["epochs"] = 2
    base["preprocessing"]["segmenter"] = "vncorenlp"
    with pytest.raises(ConfigError, match="preprocessing.segmenter: 'vncorenlp' is not one of pyvi, underthesea, none"):
        load_config(write(tmp_path, base))


def test_overrides_are_typed_and_checked(base, tmp_path):
    path = write(tmp_path, base)
    cfg = load_config(path, ["training.epochs=3", "training.learning_rate=2e-5", "data.max_sentences=4"])
    assert (cfg.training.epochs, cfg.training.learning_rate, cfg.data.max_sentences) == (3, 2e-5, 4)
    with pytest.raises(ConfigError, match="did you mean training.'epochs'"):
        load_config(path, ["training.epoch=3"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_config(path, ["training.epochs"])


def test_missing_paths_are_errors_before_training(base, tmp_path):
    bad = dict(base, data=dict(base["data"], bio_dir="no/such/folder"))
    with pytest.raises(ConfigError, match="data.bio_dir: folder no/such/folder not found"):
        load_config(write(tmp_path, bad))
    bad = dict(base, data=dict(base["data"], split="fold-nowhere"))
    with pytest.raises(ConfigError, match="'fold-nowhere' is not in"):
        load_config(write(tmp_path, bad))
    bad = dict(base, model={"name_or_path": str(tmp_path)})
    with pytest.raises(ConfigError, match="is not a model folder"):
        load_config(write(tmp_path, bad))
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_a_split_may_not_put_an_article_in_two_parts(base, tmp_path):
    splits = {"splits": {"default": {"train": ["a", "b"], "dev": ["b"], "test": ["c"]}}}
    bad = dict(base, data=dict(base["data"], splits_file=str(write(tmp_path, splits, "splits.yaml"))))
    with pytest.raises(ConfigError, match="article 'b' is in both (dev and train|train and dev)"):
        load_config(write(tmp_path, bad))


def test_shipped_splits_hold_out_whole_articles(monkeypatch):
    monkeypatch.chdir(REPO)
    cfg = load_config(REPO / "configs" / "offline.yaml")
    folds = list_folds(cfg.data.splits_file)
    assert len(folds) == 5
    tested = []
    for name in ["default", *folds]:
        parts = load_split(dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, split=name)))
        assert not set(parts["test"]) & (set(parts["train"]) | set(parts["dev"]))
        assert not set(parts["dev"]) & set(parts["train"])
        if name != "default":
            tested += parts["test"]
    assert sorted(tested) == sorted(p.stem for p in (REPO / "annotations" / "bio").glob("*.conll"))
