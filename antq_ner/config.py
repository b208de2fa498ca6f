"""Run configuration: frozen dataclasses read from YAML; unknown keys are errors.

Every default is documented where it is set; a config file may leave out any key that has one.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .backbone import BackboneError, bundled_name, find_bundled_file
from .labels import ENTITY_TYPES

__all__ = [
    "Config",
    "ConfigError",
    "DataConfig",
    "ModelConfig",
    "OfflineModelConfig",
    "PreprocessingConfig",
    "TrainingConfig",
    "config_from_dict",
    "config_to_dict",
    "list_folds",
    "load_config",
    "load_split",
]


class ConfigError(ValueError):
    """A config value or file that cannot be used; the message names the key or file and the fix."""


@dataclass(frozen=True)
class OfflineModelConfig:
    """A small randomly initialised PhoBERT-architecture model (RoBERTa) for machines without the hub."""

    hidden_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    intermediate_size: int = 256
    bpe_merges: int = 3000  # BPE merges learned from the training articles (vocab.txt / bpe.codes)


@dataclass(frozen=True)
class ModelConfig:
    # Hub name (`vinai/phobert-base-v2`), a local folder with config.json and the tokenizer files,
    # `bundled:multilingual-e5-small` (pre-trained weights a pip package ships, converted on first use
    # into ~/.cache/antq-ner/backbones/; see antq_ner/backbone.py), or null: the from-scratch model of `offline`.
    name_or_path: str | None = "vinai/phobert-base-v2"
    # The encoder pooled with a CRF over syllable features (antq_ner/ensemble.py): the weight of the
    # CRF's per-syllable label probabilities, 0 to 1; the CRF is trained on the train and dev
    # articles and saved in the checkpoint. null: the encoder alone.
    crf_weight: float | None = None
    # The segmenter whose words give the CRF its word features (antq_ner/baselines.py): underthesea
    # or pyvi (docs/training.md: underthesea's words scored 0.9 points higher in the pool, by CV).
    crf_segmenter: str = "underthesea"
    offline: OfflineModelConfig = field(default_factory=OfflineModelConfig)


@dataclass(frozen=True)
class DataConfig:
    bio_dir: str = "annotations/bio"  # one <article id>.conll per article
    splits_file: str = "configs/splits.yaml"
    split: str = "default"  # a split or fold name of splits_file
    labels: tuple[str, ...] = ENTITY_TYPES  # the entity types to learn (labels.py builds their IOB2 labels)
    max_sentences: int | None = None  # keep only the first N sentences of each part (smoke tests)
    # Mention-replacement augmentation: this many extra copies of each training sentence, each mention
    # swapped for another training mention of its type, place names inside ORG from a gazetteer.
    augment_copies: int = 0
    # A folder of .conll files whose every sentence is added to training, e.g. annotations/synthetic/bio
    # (the reports the team wrote), or a list of such folders (with the reports a team imported from
    # its annotation tool); never used for dev or test. null: the split's articles only.
    extra_train_dir: str | tuple[str, ...] | None = None

    @property
    def extra_train_dirs(self) -> tuple[Path, ...]:
        """`extra_train_dir` as a tuple of folders (empty for null)."""
        value = self.extra_train_dir
        return () if value is None else (Path(value),) if isinstance(value, str) else tuple(map(Path, value))


@dataclass(frozen=True)
class PreprocessingConfig:
    # What the tokenizer reads. segmented-words (PhoBERT): the syllables of a word joined by `_`
    # (`Bộ_Công_an`). syllables (SentencePiece/WordPiece models): each syllable as written (NFC), so a
    # segmenter only groups syllables into words that share one label (the first subword's).
    tokenizer_input: str = "segmented-words"
    segmenter: str = "pyvi"  # pyvi | underthesea | none (one syllable = one word)
    tone_normalization: bool = True  # old-style tone placement (hoà, uỷ) as in PhoBERT's pre-training data
    label_all_subwords: bool = False  # false: label the first subword of each word, -100 on the others
    max_subwords: int = 256  # PhoBERT: 258 positions, 2 of them offset by the padding id (checked at train time)
    window_overlap: int = 64  # subwords of context shared by consecutive windows of a long sentence


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = 10
    batch_size: int = 16
    eval_batch_size: int = 32
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    gradient_accumulation_steps: int = 1
    # no | fp16 (GPU) | bf16 | auto: bf16 where the hardware computes it natively (a GPU that supports
    # it, a CPU with AVX512-BF16 or AMX), else no. `accelerate launch --mixed_precision` also works.
    mixed_precision: str = "no"
    seed: int = 42
    logging_steps: int = 10
    # Small-data fine-tuning: frozen word embeddings keep the pre-trained vocabulary of pieces that
    # the five reports never show; the new classification head learns at head_lr_multiplier x lr.
    freeze_word_embeddings: bool = False
    freeze_layers: int = 0  # the lowest N encoder layers (and the embeddings) are not trained
    head_lr_multiplier: float = 1.0
    early_stopping_patience: int | None = None  # stop after N epochs without a better dev F1; null: never


@dataclass(frozen=True)
class Config:
    run_name: str
    output_dir: str = "models"  # the checkpoint is written to <output_dir>/<run_name>/
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    preprocessing: PreprocessingConfig = field(default_factory=PreprocessingConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.run_name


_CHOICES = {
    "preprocessing.tokenizer_input": ("segmented-words", "syllables"),
    "preprocessing.segmenter": ("pyvi", "underthesea", "none"),
    "model.crf_segmenter": ("pyvi", "underthesea"),
    "training.mixed_precision": ("no", "fp16", "bf16", "auto"),
}


def _coerce(value, tp, key: str):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        for option in options[:-1]:  # the first type the value fits, e.g. a folder or a list of folders
            try:
                return _coerce(value, option, key)
            except ConfigError:
                pass
        return _coerce(value, options[-1], key)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping of {tp.__name__} settings, got {value!r}")
        return _build(tp, value, key + ".")
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
        return tuple(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):
        try:
            return float(value)  # YAML reads 5e-5 as a string
        except ValueError:
            pass
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ConfigError(f"{key}: expected {tp.__name__}, got {value!r}")
    if key in _CHOICES and value not in _CHOICES[key]:
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(_CHOICES[key])}")
    return value


def _build(cls, data: dict, prefix: str = ""):
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.5)
            hint = f"; did you mean {prefix}{close[0]!r}?" if close else f"; valid keys: {', '.join(names)}"
            raise ConfigError(f"unknown key {prefix}{key!r}{hint}")
        kwargs[key] = _coerce(value, hints[key], prefix + key)
    missing = [
        f.name for f in dataclasses.fields(cls)
        if f.name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"missing key {prefix}{missing[0]!r}")
    return cls(**kwargs)


_MINIMUM = {  # key -> smallest valid value
    "training.epochs": 1,
    "training.batch_size": 1,
    "training.eval_batch_size": 1,
    "training.gradient_accumulation_steps": 1,
    "training.freeze_layers": 0,
    "training.early_stopping_patience": 1,
    "data.augment_copies": 0,
    "data.max_sentences": 1,
    "preprocessing.max_subwords": 8,
    "preprocessing.window_overlap": 0,
}


def config_from_dict(data: dict) -> Config:
    cfg = _build(Config, data)
    flat = config_to_dict(cfg)
    for key, minimum in _MINIMUM.items():
        section, name = key.split(".")
        value = flat[section][name]
        if value is not None and value < minimum:
            raise ConfigError(f"{key}: {value!r} is below its minimum {minimum}")
    if cfg.training.head_lr_multiplier <= 0 or cfg.training.learning_rate <= 0:
        raise ConfigError("training.learning_rate and training.head_lr_multiplier must be positive")
    types = cfg.data.labels
    if not types:
        raise ConfigError("data.labels: the list is empty; name the entity types to learn, e.g. [PERSON, ORG]")
    repeated = sorted({t for t in types if types.count(t) > 1})
    if repeated:
        raise ConfigError(f"data.labels: {', '.join(repeated)} given more than once; each type once")
    bad = [t for t in types if not t or t != t.strip() or "-" in t or t == "O"]
    if bad:
        raise ConfigError(f"data.labels: {bad!r} cannot be a type (no '-', no space, not 'O')")
    if cfg.model.crf_weight is not None and not 0.0 <= cfg.model.crf_weight <= 1.0:
        raise ConfigError(f"model.crf_weight: {cfg.model.crf_weight} must be between 0 and 1 (or null: no CRF)")
    name = cfg.run_name
    if not name or name in (".", "..") or any(c in name for c in "/\\") or name != name.strip():
        raise ConfigError(
            f"run_name: {name!r} must be one folder name (no '/', '\\', '..' or outer spaces): the run is "
            "written to <output_dir>/<run_name>/ and nowhere else"
        )
    if cfg.preprocessing.window_overlap >= cfg.preprocessing.max_subwords - 2:
        raise ConfigError("preprocessing.window_overlap must be smaller than max_subwords - 2")
    return cfg


def config_to_dict(cfg) -> dict:
    def convert(v):
        if isinstance(v, tuple):
            return list(v)
        return v

    return {k: (config_to_dict(v) if dataclasses.is_dataclass(v) else convert(v)) for k, v in dataclasses.asdict(cfg).items()}


def _apply_override(data: dict, assignment: str) -> None:
    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE, e.g. training.epochs=3")
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {assignment!r}: {part!r} is not a section")
    try:
        node[parts[-1]] = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(
            f"--set {assignment!r}: the value is not valid YAML ({getattr(e, 'problem', None) or e}{where}); "
            "a list is written [A, B], a string with ':' or brackets in quotes"
        ) from None


_PATH_KEYS = ("output_dir", "data.bio_dir", "data.splits_file", "data.extra_train_dir", "model.name_or_path")


def project_root(config_path: Path) -> Path:
    """The folder a config's relative paths start from: the nearest folder above the config file
    holding `pyproject.toml` or `.git` (this repository for configs/*.yaml), else the config's own folder."""
    folder = config_path.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / "pyproject.toml").is_file() or (candidate / ".git").exists():
            return candidate
    return folder


def _resolve_paths(data: dict, base: Path, only: str | None = None) -> None:
    """Make the relative paths of `data` absolute against `base` (in place), so a run works from any
    folder and its saved config names the files it used. A hub name (`vinai/phobert-base-v2`) and
    `bundled:` names stay as they are: `model.name_or_path` is a path only where it exists or starts with `.`."""
    for key in _PATH_KEYS:
        if only is not None and key != only:
            continue
        *sections, name = key.split(".")
        node = data
        for section in sections:
            node = node.get(section) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        if isinstance(node.get(name), list):  # a list of folders (data.extra_train_dir)
            node[name] = [str((base / Path(v).expanduser()).resolve()) if isinstance(v, str) else v for v in node[name]]
            continue
        if not isinstance(node.get(name), str):
            continue
        value = Path(node[name]).expanduser()
        if value.is_absolute():
            continue
        if key == "model.name_or_path" and not (node[name].startswith(".") or (base / value).exists()):
            continue
        node[name] = str((base / value).resolve())


def load_config(path: str | Path, overrides: list[str] = ()) -> Config:
    """Read a YAML config, apply `--set key=value` overrides, validate keys, types and paths.

    Relative paths in the file start from its project folder (`project_root`), relative paths of
    an override from the current folder; both are stored absolute.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found (the configs are in configs/)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    _resolve_paths(data, project_root(path))
    for assignment in overrides:
        _apply_override(data, assignment)
        _resolve_paths(data, Path.cwd(), only=assignment.partition("=")[0])
    try:
        cfg = config_from_dict(data)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    check_paths(cfg)
    return cfg


def load_split(cfg: Config) -> dict[str, list[str]]:
    """Article ids of the config's split: {'train': [...], 'dev': [...], 'test': [...]}."""
    splits = _read_splits(Path(cfg.data.splits_file))
    if cfg.data.split not in splits:
        raise ConfigError(
            f"data.split: {cfg.data.split!r} is not in {cfg.data.splits_file} (there: {', '.join(splits)})"
        )
    return splits[cfg.data.split]


def list_folds(splits_file: str | Path) -> list[str]:
    """Names of the cross-validation folds (the splits whose name starts with 'fold-')."""
    return [name for name in _read_splits(Path(splits_file)) if name.startswith("fold-")]


def _read_splits(path: Path) -> dict[str, dict[str, list[str]]]:
    if not path.is_file():
        raise ConfigError(f"data.splits_file: {path} not found")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    splits = data.get("splits")
    if not isinstance(splits, dict):
        raise ConfigError(f"{path}: expected a 'splits:' mapping of name -> {{train, dev, test}}")
    for name, parts in splits.items():
        if not isinstance(parts, dict) or set(parts) != {"train", "dev", "test"}:
            raise ConfigError(f"{path}: split {name!r} needs exactly the keys train, dev, test")
        seen = {}
        for part, ids in parts.items():
            for doc in ids:
                if doc in seen:
                    raise ConfigError(f"{path}: split {name!r}: article {doc!r} is in both {seen[doc]} and {part}")
                seen[doc] = part
    return splits


def check_paths(cfg: Config, split: dict[str, list[str]] | None = None) -> None:
    """Every input path exists before anything is trained; `split` (default: the config's, read from
    `data.splits_file`) gives the article ids of each part, as `training.load_split_sentences`."""
    bio_dir = Path(cfg.data.bio_dir)
    if not bio_dir.is_dir():
        raise ConfigError(f"data.bio_dir: folder {bio_dir} not found")
    split = split or load_split(cfg)
    for part, ids in split.items():
        for doc in ids:
            if not (bio_dir / f"{doc}.conll").is_file():
                raise ConfigError(f"data.split {cfg.data.split!r} ({part}): {bio_dir / (doc + '.conll')} not found")
    for extra in cfg.data.extra_train_dirs:
        docs = {p.stem for p in extra.glob("*.conll")} if extra.is_dir() else set()
        if not docs:
            raise ConfigError(f"data.extra_train_dir: {extra} is not a folder of .conll files")
        held_out = docs & (set(split["dev"]) | set(split["test"]))
        if held_out:
            raise ConfigError(
                f"data.extra_train_dir: {extra} holds {sorted(held_out)}, a dev or test article of split "
                f"{cfg.data.split!r}; extra training data must never be held out"
            )
    name = cfg.model.name_or_path
    if bundled_name(name) is not None:
        try:
            find_bundled_file(bundled_name(name))
        except BackboneError as e:
            raise ConfigError(f"model.name_or_path: {e}") from None
        return
    local = name is not None and (name.startswith((".", "/")) or Path(name).exists())
    if local and not (Path(name) / "config.json").is_file():
        raise ConfigError(f"model.name_or_path: {name} is not a model folder (no config.json)")
