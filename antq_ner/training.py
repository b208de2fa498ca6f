"""`train(cfg) -> metrics`: fine-tune a token classifier on the config's split, keep the best dev epoch.

Runs unchanged under `accelerate launch` (transformers' Trainer handles devices, mixed precision
and gradient synchronisation); only the main process writes the final checkpoint.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .augment import augment_sentences
from .backbone import resolve_backbone
from .bio import Sentence, check_bio
from .checkpoint import FALLBACKS_FILE, write_checkpoint
from .config import Config, ConfigError, load_split
from .corpus import load_sentences
from .data import (
    SentenceEncoder,
    assemble_word_predictions,
    decode_words,
    sentences_to_dataset,
    softmax,
)
from .io_utils import atomic_write_text
from .labels import bio_labels
from .modeling import build_model, build_phobert_vocab, load_tokenizer, max_input_subwords
from .provenance import provenance
from .scoring import seqeval_scores
from .segment import segmenter_fallbacks

__all__ = ["DevScorer", "data_files", "load_split_sentences", "train"]



def load_split_sentences(cfg: Config, split: dict[str, list[str]] | None = None) -> dict[str, list[Sentence]]:
    """Sentences of each part of the split (train also gets `data.extra_train_dir`).

    `split` gives the article ids of each part (evaluation passes the one recorded in the checkpoint);
    by default the config's split is read from `data.splits_file`. Every file's tags must be
    well-formed IOB2 of the config's types; a problem is an error naming the file and line.
    """
    types = list(cfg.data.labels)
    parts = {}
    for part, doc_ids in (split or load_split(cfg)).items():
        sources = [(Path(cfg.data.bio_dir), load_sentences(Path(cfg.data.bio_dir), doc_ids)[: cfg.data.max_sentences])]
        if part == "train":
            sources += [(extra, load_sentences(extra, [p.stem for p in sorted(extra.glob("*.conll"))]))
                        for extra in cfg.data.extra_train_dirs]
        for folder, sentences in sources:
            for s in sentences:
                problems = check_bio(s.tags, types)
                if problems:
                    index, message = problems[0]
                    label = s.tags[index].partition("-")[2]
                    close = difflib.get_close_matches(label, types, n=1, cutoff=0.6) if label not in types else []
                    if close:  # the data's type is near one of the config's: a misspelling in data.labels?
                        message += f"; data.labels has {close[0]!r}: is that a misspelling of {label!r}?"
                    raise ConfigError(
                        f"{folder / (s.doc_id + '.conll')}:{s.token_lines[index] if s.token_lines else s.line}: "
                        f"{message}; fix the file (antq-ner corpus validate lists every problem) or, for a "
                        "type outside data.labels, add it there"
                    )
        parts[part] = [s for _, sentences in sources for s in sentences]
    if not parts["train"] or not parts["dev"]:
        raise ConfigError(f"data.split {cfg.data.split!r}: the train and dev parts need at least one sentence")
    return parts


def data_files(cfg: Config, split: dict[str, list[str]]) -> list[Path]:
    """Every file a run's sentences come from: the split's articles, the extra training data, the splits."""
    files = [Path(cfg.data.bio_dir) / f"{doc}.conll" for ids in split.values() for doc in ids]
    for extra in cfg.data.extra_train_dirs:
        files += sorted(extra.glob("*.conll"))
    return [*files, Path(cfg.data.splits_file)]


class DevScorer:
    """`compute_metrics` for the Trainer: syllable-level seqeval F1 on the dev sentences."""

    def __init__(self, dataset, sentences: Sequence[Sentence], encoder: SentenceEncoder, labels: Sequence[str]):
        self.rows = (dataset["sentence_index"], dataset["first_word"], dataset["word_positions"])
        self.gold = [list(s.tags) for s in sentences]
        self.spans = [encoder.words(s.tokens)[0] for s in sentences]
        self.labels = list(labels)  # in the model's label-id order

    def __call__(self, eval_pred) -> dict[str, float]:
        logits = eval_pred.predictions[0] if isinstance(eval_pred.predictions, tuple) else eval_pred.predictions
        word_probs = assemble_word_predictions(*self.rows, softmax(np.asarray(logits, dtype=np.float32)),
                                               [len(s) for s in self.spans])
        pred = [decode_words(p, sp, self.labels)[0] for p, sp in zip(word_probs, self.spans)]
        return seqeval_scores(self.gold, pred)["overall"]


def _prepare_tokenizer(cfg: Config, train_sentences: Sequence[Sentence], encoder_prep, resume: bool):
    if cfg.model.name_or_path is not None:
        return load_tokenizer(resolve_backbone(cfg.model.name_or_path))
    from accelerate import PartialState

    vocab_dir = cfg.run_dir / "offline-vocab"
    # Under `accelerate launch` the main process writes the files and the others then read them.
    with PartialState().main_process_first():
        if PartialState().is_main_process and not (resume and (vocab_dir / "bpe.codes").is_file()):
            # Learned from the training articles only: dev and test text never shapes the vocabulary.
            probe = SentenceEncoder(None, ["O"], encoder_prep)
            words = [w for s in train_sentences for w in probe.words(s.tokens)[1]]
            build_phobert_vocab(words, vocab_dir, cfg.model.offline.bpe_merges)
        return load_tokenizer(vocab_dir)


def native_bf16() -> bool:
    """Whether bf16 matrix products run natively here (else bf16 autocast is slower than fp32)."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolved_precision(setting: str) -> str:
    return ("bf16" if native_bf16() else "no") if setting == "auto" else setting


def _training_arguments(cfg: Config, output_dir: Path):
    import torch
    from transformers import TrainingArguments

    t = cfg.training
    precision = resolved_precision(t.mixed_precision)
    return TrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=t.epochs,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.eval_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        learning_rate=t.learning_rate,
        weight_decay=t.weight_decay,
        warmup_steps=t.warmup_ratio,  # a float below 1 is a fraction of the training steps
        max_grad_norm=t.max_grad_norm,
        fp16=precision == "fp16",
        use_cpu=not torch.cuda.is_available(),  # also lets bf16 autocast run on a CPU
        # CPU processes under torchrun talk over gloo (set only then: a backend makes a single process
        # look for a process group)
        ddp_backend="gloo" if not torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1 else None,
        bf16=precision == "bf16",
        seed=t.seed,
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=2,  # the best epoch and the last one (for --resume)
        load_best_model_at_end=True,
        metric_for_best_model="f1",
        greater_is_better=True,
        logging_steps=t.logging_steps,
        report_to="none",
        dataloader_num_workers=0,
        train_sampling_strategy="group_by_length",
        dataloader_pin_memory=torch.cuda.is_available(),
    )


def apply_freezing(model, t) -> None:
    """Freeze the word embeddings and/or the embeddings and lowest `t.freeze_layers` encoder layers."""
    base = model.base_model
    if t.freeze_word_embeddings:
        base.embeddings.word_embeddings.weight.requires_grad_(False)
    if t.freeze_layers:
        layers = base.encoder.layer
        if t.freeze_layers > len(layers):
            raise ConfigError(f"training.freeze_layers: {t.freeze_layers}, but the model has {len(layers)} layers")
        for module in [base.embeddings, *layers[: t.freeze_layers]]:
            module.requires_grad_(False)


def build_optimizer(model, t):
    """AdamW over the trainable parameters: no weight decay on biases and LayerNorm, and the new
    classification head at `head_lr_multiplier` times the learning rate."""
    import torch

    groups: dict[tuple[bool, bool], list] = {}
    head = {id(p) for p in model.classifier.parameters()}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        decay = param.ndim > 1 and "LayerNorm" not in name
        groups.setdefault((id(param) in head, decay), []).append(param)
    return torch.optim.AdamW(
        [
            {"params": params, "lr": t.learning_rate * (t.head_lr_multiplier if is_head else 1.0),
             "weight_decay": t.weight_decay if decay else 0.0}
            for (is_head, decay), params in groups.items()
        ],
        lr=t.learning_rate,
    )


def _trainer_class():
    from torch.utils.data import SequentialSampler
    from transformers import Trainer

    class LengthGroupedTrainer(Trainer):
        """Training batches of similar length (on a CPU every padded position costs as much as a real
        one: random batches of this corpus are half padding); evaluation in dataset order, which
        `DevScorer` relies on (transformers would group evaluation batches by length too)."""

        def _get_eval_sampler(self, eval_dataset):
            if eval_dataset is None or self.args.world_size > 1:
                return None  # as transformers does without grouping: accelerate shards evaluation in order
            return SequentialSampler(eval_dataset)

    return LengthGroupedTrainer


def _log_callback(path: Path):
    from transformers import TrainerCallback

    class JsonLinesLog(TrainerCallback):
        """Appends every Trainer log record to the run's training log."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs:
                with open(path, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"step": state.global_step, **logs}) + "\n")

    return JsonLinesLog()


def train(cfg: Config, resume: bool = False, keep_checkpoints: bool = False) -> dict:
    """Train, keep the best dev epoch, write the checkpoint to `cfg.run_dir`; return metrics.json's content.

    The Trainer's resume state (`checkpoints/`, three times the model's size) is there while the run
    is unfinished, for `resume`; it is removed once the checkpoint is written, unless `keep_checkpoints`.
    """
    from transformers import DataCollatorForTokenClassification, EarlyStoppingCallback, set_seed

    started = time.time()
    set_seed(cfg.training.seed)
    # the split and the data's hashes as they are now, before the hours of training they describe
    split = load_split(cfg)
    prov = provenance(data_files(cfg, split))
    parts = load_split_sentences(cfg, split)
    labels = bio_labels(cfg.data.labels)
    run_dir = cfg.run_dir
    checkpoints = run_dir / "checkpoints"
    if resume and not any(checkpoints.glob("checkpoint-*")):
        finished = (run_dir / "model.safetensors").is_file()
        raise ConfigError(f"--resume: no checkpoint in {checkpoints} to continue from" + (
            " (the run finished and its resume state was removed; train.py --keep-checkpoints keeps it)"
            if finished else ""))
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        # Every step that segments sentences (the scratch model's vocabulary, the datasets, the dev
        # scorer) inside one collector: one line for them all, each sentence once, not one per sentence.
        with segmenter_fallbacks() as seen:
            tokenizer = _prepare_tokenizer(cfg, parts["train"], cfg.preprocessing, resume)
            encoder = SentenceEncoder(tokenizer, labels, cfg.preprocessing)
            augmented = augment_sentences(parts["train"], cfg.data.augment_copies, cfg.training.seed)
            train_ds = sentences_to_dataset([*parts["train"], *augmented], encoder)
            dev_ds = sentences_to_dataset(parts["dev"], encoder)
            scorer = DevScorer(dev_ds, parts["dev"], encoder, labels)
        fallbacks = list(dict.fromkeys(seen))
        (run_dir / FALLBACKS_FILE).unlink(missing_ok=True)  # an earlier run's list
        if fallbacks:
            atomic_write_text(run_dir / FALLBACKS_FILE, "\n".join(fallbacks) + "\n")
            print(f"warning: {len(fallbacks)} training or dev sentence(s) read one word per syllable (segmenter "
                  f"fallback); the list: {run_dir / FALLBACKS_FILE}", file=sys.stderr)
        model = build_model(cfg.model, labels, vocab_size=len(tokenizer))
        limit = max_input_subwords(model.config)
        if cfg.preprocessing.max_subwords > limit:
            raise ConfigError(
                f"preprocessing.max_subwords: {cfg.preprocessing.max_subwords}, but the model reads at most {limit} "
                f"subwords per input (its position embeddings); set it to {limit} or less"
            )
        apply_freezing(model, cfg.training)
    except BaseException:
        if created:  # a model that cannot be loaded (no hub, bad folder) leaves no empty run behind
            shutil.rmtree(run_dir, ignore_errors=True)
        raise

    log_path = run_dir / "train.log"
    if not resume and log_path.exists():
        log_path.unlink()
    callbacks = [_log_callback(log_path)]
    if cfg.training.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=cfg.training.early_stopping_patience))
    trainer = _trainer_class()(
        model=model,
        args=_training_arguments(cfg, checkpoints),
        train_dataset=train_ds,
        eval_dataset=dev_ds,
        data_collator=DataCollatorForTokenClassification(tokenizer),
        processing_class=tokenizer,
        compute_metrics=scorer,
        callbacks=callbacks,
        optimizers=(build_optimizer(model, cfg.training), None),  # the Trainer adds the linear schedule
    )
    trainer.train(resume_from_checkpoint=True if resume else None)

    epochs = [
        {"epoch": round(r["epoch"]), **{k[5:]: r[k] for k in ("eval_precision", "eval_recall", "eval_f1")}}
        for r in trainer.state.log_history
        if "eval_f1" in r
    ]
    best = max(epochs, key=lambda e: e["f1"])
    metrics = {
        "run_name": cfg.run_name,
        "split": {"name": cfg.data.split, **split},
        "sentences": {part: len(s) for part, s in parts.items()},
        "augmented_train_sentences": len(augmented),
        "best_epoch": best["epoch"],
        "best_dev": {k: best[k] for k in ("precision", "recall", "f1")},
        "dev_per_epoch": epochs,
        "dev_metric": "seqeval micro F1, strict IOB2, syllable level",
        # The epoch is chosen on the encoder: the CRF is trained afterwards, on train and dev.
        "dev_system": "encoder alone",
        "syllables_train": sum(len(s.tokens) for s in parts["train"]),
        "segmenter_fallbacks": len(fallbacks),
        "train_runtime_s": round(time.time() - started, 1),
        "mixed_precision": resolved_precision(cfg.training.mixed_precision),
        "processes": trainer.args.world_size,  # data-parallel processes (torchrun, accelerate launch)
        **prov,
    }
    if trainer.is_world_process_zero():
        crf = None
        if cfg.model.crf_weight is not None:
            from .baselines import train_crf

            # Train and dev: the dev article chose the encoder's epoch; the CRF has no epochs to choose.
            crf = train_crf([*parts["train"], *parts["dev"]], segmenter=cfg.model.crf_segmenter)
            metrics["crf"] = {"weight": cfg.model.crf_weight, "segmenter": cfg.model.crf_segmenter,
                              "trained_on": "train and dev sentences"}
        write_checkpoint(trainer, cfg, labels, metrics, crf)
        if not keep_checkpoints:
            shutil.rmtree(checkpoints, ignore_errors=True)
    return metrics


