"""Word-aware decoding, measured on the fold checkpoints of one `evaluate.py --cv` run.

For every fold checkpoint (`<output_dir>/<run_name>-fold-*`), its test article is tagged once and
decoded several ways: the encoder alone, the encoder pooled with the checkpoint's CRF, and the CRF
alone, each as it ships and with the constraint that an entity neither starts nor ends inside a word
of a segmenter (`decoding.viterbi_iob2(inside_word=…)`; pyvi and underthesea), plus a CRF whose
word features come from underthesea instead of pyvi (trained on the fold's train and dev articles,
as the checkpoint's). Prints the strict F1 pooled over all
folds, over the selection folds (all but the default split's test article) and mean ± sd per fold.

    python benchmarks/word_decoding.py /work/runs/cv-none [--weights 0.5,0.7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
from seqeval.metrics import classification_report, f1_score
from seqeval.scheme import IOB2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from antq_ner.baselines import train_crf
from antq_ner.checkpoint import read_run_config, recorded_split
from antq_ner.decoding import best_path
from antq_ner.ensemble import crf_distribution, pooled_distribution, syllable_distribution
from antq_ner.inference import Tagger
from antq_ner.segment import word_spans
from antq_ner.training import load_split_sentences

SELECTION_EXCLUDES = "bac-lieu-2023-05-31"  # the default split's test article: never used to choose


def inside(spans: list[tuple[int, int]], n: int) -> list[bool]:
    flags = [False] * n
    for start, end in spans:
        for i in range(start + 1, end):
            flags[i] = True
    return flags


def fold_predictions(run_dir: Path, weights: list[float]) -> tuple[str, list[list[str]], dict[str, list[list[str]]]]:
    cfg = read_run_config(run_dir)
    split = recorded_split(run_dir)
    parts = load_split_sentences(cfg, split)
    sentences = parts["test"]
    # The checkpoint's CRF reads pyvi words; the same CRF trained on underthesea's words, on the same data.
    crf_underthesea = train_crf(parts["train"] + parts["dev"], segmenter="underthesea")
    tagger = Tagger.from_pretrained(run_dir)
    labels = tagger.labels
    tokens = [list(s.tokens) for s in sentences]
    distributions = tagger.word_distributions(tokens)
    segmentations = {seg: [inside(word_spans(t, seg), len(t)) for t in tokens] for seg in ("pyvi", "underthesea")}
    systems: dict[str, list[list[str]]] = {}
    for t_i, (t, (probs, sp)) in enumerate(zip(tokens, distributions)):
        enc = syllable_distribution(probs, sp, labels)
        crf = crf_distribution(tagger.crf.marginals(t), labels) if t else np.zeros((0, len(labels)))
        crf_u = crf_distribution(crf_underthesea.marginals(t), labels) if t else np.zeros((0, len(labels)))
        cands = {"encoder": enc, "crf marginals": crf}
        for w in weights:
            cands[f"pooled {w}"] = pooled_distribution(enc, crf, w)
            cands[f"pooled {w}, CRF on underthesea words"] = pooled_distribution(enc, crf_u, w)
        for name, dist in cands.items():
            systems.setdefault(name, []).append(best_path(dist, labels)[0] if t else [])
            for seg, flags in segmentations.items():
                systems.setdefault(f"{name}, no entity edge inside a {seg} word", []).append(
                    best_path(dist, labels, flags[t_i])[0] if t else []
                )
    systems["crf viterbi"] = tagger.crf.predict(tokens)
    systems["crf viterbi, CRF on underthesea words"] = crf_underthesea.predict(tokens)
    return split["test"][0], [list(s.tags) for s in sentences], systems


def score_table(folds: dict[str, tuple[list[list[str]], dict[str, list[list[str]]]]]) -> dict[str, dict]:
    """Per system: strict F1 pooled over all folds, over the selection folds, mean and sd per fold, per type."""
    names = list(next(iter(folds.values()))[1])
    table = {}
    for name in names:
        per_fold = {a: f1_score(g, s[name], mode="strict", scheme=IOB2) * 100 for a, (g, s) in folds.items()}
        gold = [x for g, _ in folds.values() for x in g]
        pred = [x for _, s in folds.values() for x in s[name]]
        pooled = f1_score(gold, pred, mode="strict", scheme=IOB2) * 100
        sel = [a for a in folds if a != SELECTION_EXCLUDES]
        selection = f1_score([x for a in sel for x in folds[a][0]], [x for a in sel for x in folds[a][1][name]],
                             mode="strict", scheme=IOB2) * 100 if sel else float("nan")
        values = list(per_fold.values())
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        report = classification_report(gold, pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
        per_type = {k: v["f1-score"] * 100 for k, v in report.items() if "avg" not in k}
        table[name] = {"selection": selection, "pooled": pooled, "mean": statistics.mean(values), "sd": sd,
                       "folds": per_fold, "pooled_per_type": per_type}
    return table


def print_table(table: dict[str, dict], run: str, n_folds: int) -> None:
    n_selection = n_folds - (SELECTION_EXCLUDES in next(iter(table.values()))["folds"])
    print(f"| system ({run}) | selection ({n_selection} folds) | pooled ({n_folds} folds) | mean ± sd |")
    print("|---|---|---|---|")
    for name, row in table.items():
        print(f"| {name} | {row['selection']:.1f} | {row['pooled']:.1f} | {row['mean']:.1f} ± {row['sd']:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cv_dir", help="the CV run's folder prefix, e.g. /work/runs/cv-none (its -fold-* siblings are read)")
    parser.add_argument("--weights", default="0.5,0.7", help="CRF weights of the pooled systems")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    prefix = Path(args.cv_dir)
    runs = sorted(p for p in prefix.parent.glob(f"{prefix.name}-fold-*") if (p / "model.safetensors").is_file())
    if not runs:
        raise SystemExit(f"no fold checkpoints {prefix}-fold-*/model.safetensors")
    weights = [float(w) for w in args.weights.split(",")]
    folds = {}
    for run in runs:
        article, gold, systems = fold_predictions(run, weights)
        folds[article] = (gold, systems)
        print(f"{run.name}: {article}", file=sys.stderr)
    table = score_table(folds)
    print_table(table, prefix.name, len(folds))
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
