"""Held-out evaluation of a checkpoint, with its baselines, and cross-validation over the fold-* splits.

`evaluate.py --model models/<run> [--split test|dev] [--no-baselines]` (`cli.evaluate_main`) writes
`models/<run>/eval/<split>/` (`report.FILES`); `evaluate.py --cv --config configs/NAME.yaml
[--folds a,b]` trains one model per fold and writes the pooled results to `<output_dir>/<run_name>-cv/`.
Scores: `antq_ner.scoring`; error kinds: `antq_ner.errors`; report, tables and plots: `antq_ner.report`.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .bio import Sentence
from .checkpoint import read_run_config, recorded_split
from .config import Config, ConfigError, check_paths, list_folds, load_config
from .provenance import provenance
from .report import _f, write_evaluation
from .scoring import MODEL_NAME, SystemPredictions, evaluation_metrics
from .segment import segmenter_fallbacks

__all__ = [
    "ENCODER_NAME",
    "MODEL_NAME",
    "EvalResult",
    "cross_validate",
    "evaluate_run",
    "run_baselines",
    "seen_in_training",
]

# MODEL_NAME is scoring's (report reads it too, and report must not import this module, which imports it).
ENCODER_NAME = "encoder alone (the checkpoint without its CRF)"


@dataclass
class EvalResult:
    metrics: dict
    sentences: list[Sentence]
    predictions: list[list[str]]
    baselines: dict[str, SystemPredictions] = field(default_factory=dict)
    out_dir: Path | None = None


def seen_in_training(parts: Mapping[str, Sequence[Sentence]], split: str) -> list[tuple[Sentence, Sentence]]:
    """(held-out sentence, training sentence) pairs with the same tokens: a score on them measures
    memory, not generalisation (a photo credit repeated across articles is one)."""
    seen = {tuple(s.tokens): s for s in parts["train"]}
    return [(s, seen[tuple(s.tokens)]) for s in parts[split] if tuple(s.tokens) in seen]


def run_baselines(
    train_sentences: Sequence[Sentence],
    sentences: Sequence[Sentence],
    segmenter: str = "pyvi",
    encoder: tuple[Sequence[tuple], Sequence[str]] | None = None,
    crf=None,
    types: Sequence[str] | None = None,
) -> tuple[dict[str, SystemPredictions], dict[str, str]]:
    """The CRF (trained on `train_sentences`, unless `crf` is that CRF already) and underthesea
    zero-shot on `sentences`.

    With `encoder` (the model's `Tagger.word_distributions` for `sentences`, and its labels), also the
    ensemble of the model and this CRF (`ensemble.pooled_sentence`, equal weights).
    underthesea is scored on the types it knows that `types` (the model's) has; with none, it is n/a.
    Returns (predictions by name, reasons for the baselines that could not run, e.g. a missing package).
    """
    from .baselines import CRF_NAME, UNDERTHESEA_NAME, UNDERTHESEA_TYPES, train_crf, underthesea_predict
    from .ensemble import ENSEMBLE_NAME, pooled_sentence

    tokens = [list(s.tokens) for s in sentences]
    out: dict[str, SystemPredictions] = {}
    skipped: dict[str, str] = {}
    try:
        crf = crf or train_crf(train_sentences, segmenter=segmenter)
    except ImportError as e:
        skipped[CRF_NAME] = f"not installed ({e}); pip install 'antq-ner[eval]'"
    else:
        out[CRF_NAME] = SystemPredictions(crf.predict(tokens))
        if encoder is not None:
            distributions, labels = encoder
            out[ENSEMBLE_NAME] = SystemPredictions(
                [pooled_sentence(t, p, sp, crf, labels, 0.5)[0] for t, (p, sp) in zip(tokens, distributions)]
            )
    shared = tuple(t for t in UNDERTHESEA_TYPES if types is None or t in types)
    try:
        if shared:
            out[UNDERTHESEA_NAME] = SystemPredictions(underthesea_predict(tokens), shared)
        else:
            skipped[UNDERTHESEA_NAME] = f"n/a: it knows {', '.join(UNDERTHESEA_TYPES)}, which this label set has not"
    except ImportError as e:
        skipped[UNDERTHESEA_NAME] = f"not installed ({e}); pip install 'antq-ner[eval]'"
    return out, skipped


def evaluate_run(
    model_dir: str | Path, split: str = "test", baselines: bool = True, examples: int = 5, write: bool = True,
    allow_seen: bool = False, precision: str = "fp32",
) -> EvalResult:
    """Tag the held-out part `split` of the run's own split with the checkpoint; score; write `eval/<split>/`
    (`eval/<split>-<precision>/` for a reduced precision).

    The CRF baseline trains on the run's train and dev articles (train only when evaluating on dev).
    A held-out sentence that is also a training sentence is an error unless `allow_seen`; they are
    listed in metrics.json either way.
    """
    from .inference import Tagger
    from .training import data_files, load_split_sentences

    model_dir = Path(model_dir)
    if split not in ("test", "dev"):
        raise ValueError(f"--split {split!r}: expected test or dev")
    cfg = read_run_config(model_dir)
    recorded = recorded_split(model_dir)
    check_paths(cfg, recorded)
    parts = load_split_sentences(cfg, recorded)
    seen = seen_in_training(parts, split)
    if seen and not allow_seen:
        held, twin = seen[0]
        raise ValueError(
            f"{len(seen)} {split} sentence(s) are also training sentences, e.g. {held.sent_id} ({held.doc_id}) = "
            f"{twin.sent_id} ({twin.doc_id}): a score on them measures memory, not generalisation; remove one "
            "of each pair and retrain, or pass --allow-seen to score anyway (they are listed in metrics.json)"
        )
    sentences = parts[split]
    if not sentences:
        raise ConfigError(f"data.split {cfg.data.split!r}: the {split} part has no sentences")
    tagger = Tagger.from_pretrained(model_dir, precision=precision)
    tokens = [list(s.tokens) for s in sentences]
    with segmenter_fallbacks() as fallbacks:
        distributions = tagger.word_distributions(tokens)
    encoder_pred = [t.tags for t in tagger.decode(distributions)]
    pred = encoder_pred
    if tagger.crf is not None:
        pred = [t.tags for t in tagger.pool(tokens, distributions)]
    systems: dict[str, SystemPredictions] = {}
    skipped: dict[str, str] = {}
    if baselines:
        crf_train = parts["train"] + (parts["dev"] if split == "test" else [])
        # The CRF's features use the words of `model.crf_segmenter`, whatever the encoder's segmenter.
        # Beside it, the model's other form: the encoder alone for a checkpoint with a CRF, else the
        # encoder pooled with this CRF. The checkpoint's CRF was trained on train and dev: on test it
        # is the baseline itself.
        pooled_with = None if tagger.crf is not None else (distributions, tagger.labels)
        systems, skipped = run_baselines(crf_train, sentences, cfg.model.crf_segmenter, encoder=pooled_with,
                                         crf=tagger.crf if split == "test" else None, types=cfg.data.labels)
        if tagger.crf is not None:
            systems[ENCODER_NAME] = SystemPredictions(encoder_pred)
    metrics = {
        "model": str(model_dir),
        "split": split,
        "data_split": cfg.data.split,
        "articles_by_part": recorded,  # from the checkpoint's metrics.json, as trained
        "precision": precision,
        "seen_in_training": [[held.sent_id, twin.sent_id] for held, twin in seen],
        "segmenter_fallbacks": fallbacks,  # sentences read one word per syllable (segment.word_spans)
        **provenance(data_files(cfg, recorded)),
        **evaluation_metrics(sentences, pred, systems, cfg.data.labels),
    }
    if skipped:
        metrics["baselines_skipped"] = skipped
    result = EvalResult(metrics, sentences, pred, systems)
    if write:
        title = f"Evaluation of {model_dir.name} on its {split} article(s)" + (f", {precision}" if precision != "fp32" else "")
        folder = split if precision == "fp32" else f"{split}-{precision}"
        result.out_dir = write_evaluation(model_dir / "eval" / folder, metrics, sentences, pred, examples, title)
    return result


def _mean_std(values: Sequence[float]) -> dict[str, float]:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    if not vals:
        return {"mean": None, "std": None}
    return {"mean": statistics.fmean(vals), "std": statistics.stdev(vals) if len(vals) > 1 else 0.0}


def cross_validate(
    config: str | Path | Config,
    overrides: Sequence[str] = (),
    folds: Sequence[str] | None = None,
    baselines: bool = True,
    examples: int = 5,
    log=print,
    allow_seen: bool = False,
) -> EvalResult:
    """Train and evaluate one model per fold; write the pooled evaluation to `<output_dir>/<run_name>-cv/`."""
    from .training import train

    cfg = config if isinstance(config, Config) else load_config(config, list(overrides))
    available = list_folds(cfg.data.splits_file)
    if not available:
        raise ConfigError(f"{cfg.data.splits_file}: no fold-* splits to cross-validate on")
    folds = list(folds) if folds else available
    unknown = [f for f in folds if f not in available]
    if unknown:
        raise ConfigError(f"--folds: {', '.join(unknown)} not in {cfg.data.splits_file} (folds: {', '.join(available)})")
    results: dict[str, EvalResult] = {}
    for fold in folds:
        fold_cfg = dataclasses.replace(
            cfg, run_name=f"{cfg.run_name}-{fold}", data=dataclasses.replace(cfg.data, split=fold)
        )
        check_paths(fold_cfg)
        log(f"[{fold}] training {fold_cfg.run_dir}")
        train(fold_cfg)  # removes the Trainer's resume state once the fold's checkpoint is written
        results[fold] = evaluate_run(fold_cfg.run_dir, "test", baselines, examples, allow_seen=allow_seen)
        log(f"[{fold}] strict F1 {_f(results[fold].metrics['strict']['overall']['f1'])}")

    sentences = [s for r in results.values() for s in r.sentences]
    pred = [p for r in results.values() for p in r.predictions]
    names = list(next(iter(results.values())).baselines)
    pooled_baselines = {
        n: SystemPredictions(
            [p for r in results.values() for p in r.baselines[n].tags], next(iter(results.values())).baselines[n].types
        )
        for n in names
        if all(n in r.baselines for r in results.values())
    }
    metrics = evaluation_metrics(sentences, pred, pooled_baselines, cfg.data.labels)
    fold_rows = {}
    for fold, r in results.items():
        m = r.metrics
        fold_rows[fold] = {
            "run_dir": m["model"],
            "articles": m["articles"],
            "strict_f1": {MODEL_NAME: m["strict"]["overall"]["f1"]}
            | {n: b["strict"]["overall"]["f1"] for n, b in m["baselines"].items()},
            "conlleval_f1": {MODEL_NAME: m["conlleval"]["overall"]["f1"]}
            | {n: b["conlleval"]["overall"]["f1"] for n, b in m["baselines"].items()},
            "scores": {"strict": m["strict"], "conlleval": m["conlleval"], "baselines": m["baselines"]},
        }
    summary = {
        n: {mode: _mean_std([f[mode].get(n) for f in fold_rows.values()]) for mode in ("strict_f1", "conlleval_f1")}
        for n in [MODEL_NAME, *pooled_baselines]
    }
    metrics = {
        "config": str(config) if not isinstance(config, Config) else None,
        "run_name": cfg.run_name,
        "model": [row["run_dir"] for row in fold_rows.values()],  # one checkpoint per fold
        "split": "cv",
        **provenance(),
        "data_sha256": {k: v for r in results.values() for k, v in r.metrics["data_sha256"].items()},
        **metrics,
        "cv": {
            "folds": fold_rows,
            "summary": summary,
            "std": "sample standard deviation (n-1) of the per-fold micro F1; 0 for one fold",
            "pooled": "all folds' held-out predictions concatenated, then scored (the top-level scores)",
        },
    }
    skipped = {n: why for r in results.values() for n, why in r.metrics.get("baselines_skipped", {}).items()}
    if skipped:
        metrics["baselines_skipped"] = skipped
    out_dir = Path(cfg.output_dir) / f"{cfg.run_name}-cv"
    title = f"Cross-validation of {cfg.run_name} ({len(folds)} folds, pooled)"
    write_evaluation(out_dir, metrics, sentences, pred, examples, title)
    return EvalResult(metrics, sentences, pred, pooled_baselines, out_dir)
