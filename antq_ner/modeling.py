"""Model and tokenizer: PhoBERT from the hub or a local folder, or the offline PhoBERT-shaped model."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from .config import ModelConfig, OfflineModelConfig
from .io_utils import atomic_write_text

__all__ = [
    "PHOBERT_MAX_POSITIONS",
    "ModelNotFoundError",
    "build_model",
    "build_phobert_vocab",
    "load_tokenizer",
    "max_input_subwords",
]

PHOBERT_MAX_POSITIONS = 258  # 256 usable positions + 2 offset by RoBERTa's padding index (1)


class ModelNotFoundError(OSError):
    """The model could not be loaded; the message says where to put it."""


def build_phobert_vocab(words: Iterable[str], out_dir: Path, merges: int) -> Path:
    """Learn `bpe.codes` and `vocab.txt` in PhoBERT's (fastBPE) format from segmented words.

    Uses the `tokenizers` BPE trainer with fastBPE's end-of-word marker `</w>`; PhoBERT writes a
    non-final piece with `@@` and a final one bare.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    words = list(words)
    counts = Counter(words)
    bpe = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
    bpe.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    alphabet = len({c for w in counts for c in w}) * 2
    trainer = trainers.BpeTrainer(
        vocab_size=alphabet + merges, min_frequency=1, end_of_word_suffix="</w>", show_progress=False
    )
    bpe.train_from_iterator(words, trainer)
    model = json.loads(bpe.to_str())["model"]
    merge_list = [m if isinstance(m, list) else m.split(" ") for m in model["merges"]]
    # fastBPE writes "left right count"; PhoBERT reads the pair and ignores the count.
    atomic_write_text(out_dir / "bpe.codes", "".join(f"{a} {b} 1\n" for a, b in merge_list))
    # The trainer numbers its alphabet in no fixed order: sort it, then add merges in rank order,
    # so the same words always give the same vocab.txt (and the same seed the same model).
    merged = [a + b for a, b in merge_list]
    symbols = sorted(set(model["vocab"]) - set(merged)) + merged
    vocab = [sym[: -len("</w>")] if sym.endswith("</w>") else sym + "@@" for sym in symbols]
    atomic_write_text(out_dir / "vocab.txt", "".join(f"{v} 1\n" for v in dict.fromkeys(vocab)))
    return out_dir


def load_tokenizer(name_or_path: str | Path):
    """PhoBERT's tokenizer (slow-only) from the hub, a checkpoint or a folder with vocab.txt/bpe.codes."""
    from transformers import AutoTokenizer, PhobertTokenizer

    path = Path(name_or_path)
    if path.is_dir() and not (path / "tokenizer_config.json").is_file() and (path / "bpe.codes").is_file():
        return PhobertTokenizer(str(path / "vocab.txt"), str(path / "bpe.codes"))
    try:
        return AutoTokenizer.from_pretrained(str(name_or_path))
    except OSError as e:
        raise ModelNotFoundError(_not_found_message(str(name_or_path), e)) from None


def _not_found_message(name: str, error: Exception) -> str:
    return (
        f"could not load {name!r}: it is not a local model folder and the Hugging Face Hub did not answer "
        f"({type(error).__name__}). Where the hub is unreachable, download the model on a machine that "
        f"reaches it (`hf download {name} --local-dir /path/to/{name.split('/')[-1]}`), copy the folder "
        "here and set model.name_or_path to that folder (e.g. --set model.name_or_path=/path/to/folder); "
        "or fine-tune the bundled pre-trained encoder with configs/offline.yaml (no hub needed)."
    )


def max_input_subwords(config) -> int:
    """Subwords one input may hold: RoBERTa-style models offset positions by the padding id + 1."""
    offset = config.pad_token_id + 1 if config.model_type in ("roberta", "xlm-roberta", "camembert") else 0
    return config.max_position_embeddings - offset


def build_model(model_cfg: ModelConfig, labels: list[str], vocab_size: int | None = None):
    """A token classifier with `id2label`/`label2id` in its config.

    Pre-trained weights when `name_or_path` is set (a fresh classification head), otherwise the
    randomly initialised offline model sized by `model_cfg.offline` and `vocab_size`.
    """
    from transformers import AutoModelForTokenClassification, RobertaForTokenClassification

    id2label = dict(enumerate(labels))
    label2id = {label: i for i, label in id2label.items()}  # labels: bio_labels(types), labels.py
    if model_cfg.name_or_path is not None:
        from .backbone import resolve_backbone

        try:
            return AutoModelForTokenClassification.from_pretrained(
                resolve_backbone(model_cfg.name_or_path), num_labels=len(labels), id2label=id2label, label2id=label2id
            )
        except OSError as e:
            raise ModelNotFoundError(_not_found_message(model_cfg.name_or_path, e)) from None
    if vocab_size is None:
        raise ValueError("the offline model needs the vocabulary size of its tokenizer")
    return RobertaForTokenClassification(_offline_config(model_cfg.offline, vocab_size, id2label, label2id))


def _offline_config(cfg: OfflineModelConfig, vocab_size: int, id2label, label2id):
    from transformers import RobertaConfig

    return RobertaConfig(
        vocab_size=vocab_size,
        hidden_size=cfg.hidden_size,
        num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads,
        intermediate_size=cfg.intermediate_size,
        max_position_embeddings=PHOBERT_MAX_POSITIONS,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        id2label=id2label,
        label2id=label2id,
        tokenizer_class="PhobertTokenizer",
    )
