"""A run folder (checkpoint) written by train.py: its file names, writing it, reading it back.

Besides what `save_pretrained` writes (config.json with id2label, model.safetensors, tokenizer files):
`training_config.yaml` (the resolved config), `preprocessing.json` (what the tokenizer must be fed),
`labels.txt`, `metrics.json` (dev scores, the split as trained, provenance), `README.md` (model card),
and for a model pooled with a CRF, `ensemble.json` and `crf.crfsuite`. Readers validate what they
read and name the file when something is wrong.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import yaml

from .config import Config, PreprocessingConfig, config_from_dict, config_to_dict
from .io_utils import atomic_write_json, atomic_write_text, current_umask

__all__ = [
    "CONFIG_FILE",
    "CRF_FILE",
    "ENSEMBLE_FILE",
    "FALLBACKS_FILE",
    "METRICS_FILE",
    "PREPROCESSING_FILE",
    "checkpoint_version",
    "load_crf",
    "load_preprocessing",
    "preprocessing_settings",
    "read_run_config",
    "recorded_split",
    "write_checkpoint",
]

CONFIG_FILE = "training_config.yaml"
PREPROCESSING_FILE = "preprocessing.json"  # what the tokenizer must be fed, read back at inference
METRICS_FILE = "metrics.json"
ENSEMBLE_FILE = "ensemble.json"  # present when the checkpoint pools its encoder with a CRF
CRF_FILE = "crf.crfsuite"
FALLBACKS_FILE = "segmenter_fallbacks.txt"  # training and dev sentences the segmenter could not group (if any)
# preprocessing.json keys that describe a setting for people and set nothing (word_joiner: written
# by earlier versions, now implied by tokenizer_input)
_DESCRIPTIVE_KEYS = {"unicode_normalization", "tone_placement", "tokenizer_input_means", "word_joiner"}


# ---------------------------------------------------------------------------------------- writing


def preprocessing_settings(cfg: Config) -> dict:
    p = cfg.preprocessing
    return {
        "unicode_normalization": "NFC",
        "tone_placement": "old-style (hoà, uỷ)" if p.tone_normalization else "as written",
        "tone_normalization": p.tone_normalization,
        "tokenizer_input": p.tokenizer_input,
        "tokenizer_input_means": (
            "the syllables of each word joined by '_' (Bộ_Công_an), words separated by spaces"
            if p.tokenizer_input == "segmented-words"
            else "syllables as written (NFC), one tokenizer word each; the first subword of a segmenter word "
            "carries the word's label"
        ),
        "segmenter": p.segmenter,
        "label_all_subwords": p.label_all_subwords,
        "max_subwords": p.max_subwords,
        "window_overlap": p.window_overlap,
    }


def write_checkpoint(trainer, cfg: Config, labels: list[str], metrics: dict, crf=None) -> None:
    """Write the run folder's final files next to each other, each by rename: no half-written file is
    ever visible. `trainer` saves the model and tokenizer; `crf` (a `baselines.CrfTagger`) is optional."""
    from .model_card import model_card

    run_dir = cfg.run_dir
    staging = run_dir / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    trainer.save_model(str(staging))
    atomic_write_text(staging / CONFIG_FILE, yaml.safe_dump(config_to_dict(cfg), sort_keys=False, allow_unicode=True))
    atomic_write_json(staging / PREPROCESSING_FILE, preprocessing_settings(cfg))
    atomic_write_text(staging / "labels.txt", "\n".join(labels) + "\n")
    if crf is not None:
        crf.save(staging / CRF_FILE)
        atomic_write_json(staging / ENSEMBLE_FILE, {"crf_file": CRF_FILE, "crf_weight": cfg.model.crf_weight,
                                                     "crf_segmenter": crf.segmenter})
    atomic_write_json(staging / METRICS_FILE, metrics)
    atomic_write_text(staging / "README.md", model_card(cfg, labels, metrics))
    mode = 0o666 & ~current_umask()
    for item in staging.iterdir():
        if item.name == "training_args.bin":
            continue
        if item.is_file():
            os.chmod(item, mode)  # safetensors writes 0600; a checkpoint is shared like any output
        os.replace(item, run_dir / item.name)
    shutil.rmtree(staging, ignore_errors=True)


# ---------------------------------------------------------------------------------------- reading


def read_run_config(model_dir: str | Path) -> Config:
    """The resolved config the run was trained with (`training_config.yaml`), validated."""
    path = Path(model_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {model_dir} is not a checkpoint written by train.py")
    return config_from_dict(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def load_preprocessing(model_dir: Path) -> PreprocessingConfig:
    """The checkpoint's preprocessing settings; an unknown key is an error (a newer project wrote it)."""
    path = Path(model_dir) / PREPROCESSING_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {model_dir} is not a checkpoint written by train.py")
    data = json.loads(path.read_text(encoding="utf-8"))
    if str(data.get("tokenizer_input", "")).startswith("word-segmented"):  # written before the key existed
        data["tokenizer_input"] = "segmented-words"
    fields = PreprocessingConfig.__dataclass_fields__
    unknown = sorted(set(data) - set(fields) - _DESCRIPTIVE_KEYS)
    if unknown:
        raise ValueError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; written by another version of antq-ner? "
            "Use that version, or retrain with this one"
        )
    try:
        return PreprocessingConfig(**{k: v for k, v in data.items() if k in fields})
    except TypeError as e:
        raise ValueError(f"{path}: {e}") from None


def recorded_split(model_dir: Path) -> dict[str, list[str]]:
    """The article ids of each part as the run trained on them (its metrics.json), whatever
    `configs/splits.yaml` says now: an edited split must not put a training article into the test."""
    path = Path(model_dir) / METRICS_FILE
    try:
        split = json.loads(path.read_text(encoding="utf-8"))["split"]
        return {part: list(split[part]) for part in ("train", "dev", "test")}
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found: {model_dir} is not a checkpoint written by train.py") from None
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: no readable 'split' record ({e}); the file is damaged, retrain the run") from None


def load_crf(model_dir: Path):
    """The checkpoint's CRF and its weight (`ensemble.json`), or (None, 0.0) for an encoder alone."""
    path = Path(model_dir) / ENSEMBLE_FILE
    if not path.is_file():
        return None, 0.0
    from .baselines import CrfTagger

    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
        file, weight, segmenter = spec["crf_file"], float(spec["crf_weight"]), spec["crf_segmenter"]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: damaged ({type(e).__name__}: {e}); copy the checkpoint again or retrain") from None
    return CrfTagger.load(Path(model_dir) / file, segmenter), weight


def checkpoint_version(model_dir: str | Path) -> str:
    """`<run name>-<8 hex digits>`: the run folder's name and a hash of what decides its predictions
    (weights, label maps, preprocessing, CRF), e.g. for Label Studio's `model_version`."""
    import hashlib

    from .provenance import file_sha256

    model_dir = Path(model_dir)
    digest = hashlib.sha256()
    for name in ("model.safetensors", "config.json", PREPROCESSING_FILE, ENSEMBLE_FILE, CRF_FILE):
        if (model_dir / name).is_file():
            digest.update(f"{name}:{file_sha256(model_dir / name)}\n".encode())
    return f"{model_dir.resolve().name}-{digest.hexdigest()[:8]}"
