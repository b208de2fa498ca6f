"""Several encoders averaged: the fold checkpoints of two or more `evaluate.py --cv` runs that differ
only in `training.seed`, measured one by one and with their syllable distributions averaged.

For every fold, each run's checkpoint tags the fold's test article; the systems are each encoder
alone, the mean of the encoders' distributions, and each of those pooled with the first run's CRF
at the given weights (the CRF does not depend on the seed). Prints the strict F1 pooled over all
folds, over the selection folds and mean ± sd per fold (`word_decoding.score_table`).

    python benchmarks/seed_average.py /work/runs/cv-seed42 /work/runs/cv-seed7 [--weights 0.5]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from word_decoding import print_table, score_table

from antq_ner.checkpoint import read_run_config, recorded_split
from antq_ner.decoding import best_path
from antq_ner.ensemble import crf_distribution, pooled_distribution, syllable_distribution
from antq_ner.inference import Tagger
from antq_ner.training import load_split_sentences


def fold_predictions(run_dirs: list[Path], weights: list[float]) -> tuple[str, list[list[str]], dict[str, list[list[str]]]]:
    splits = [recorded_split(d) for d in run_dirs]
    if any(s != splits[0] for s in splits[1:]):
        raise SystemExit(f"{', '.join(map(str, run_dirs))}: the runs' splits differ; expected the same fold")
    sentences = load_split_sentences(read_run_config(run_dirs[0]), splits[0])["test"]
    tokens = [list(s.tokens) for s in sentences]
    taggers = [Tagger.from_pretrained(d) for d in run_dirs]
    labels = taggers[0].labels
    if taggers[0].crf is None:
        raise SystemExit(f"{run_dirs[0]}: no crf.crfsuite; train with model.crf_weight set")
    encoders = [[syllable_distribution(p, sp, labels) for p, sp in t.word_distributions(tokens)] for t in taggers]
    crf = [crf_distribution(taggers[0].crf.marginals(t), labels) if t else np.zeros((0, len(labels))) for t in tokens]
    candidates = {f"encoder, seed {i + 1}": e for i, e in enumerate(encoders)}
    candidates[f"encoder, {len(encoders)} seeds averaged"] = [np.mean(d, axis=0) for d in zip(*encoders)]
    for name in list(candidates):
        for w in weights:
            candidates[f"{name} + CRF {w}"] = [pooled_distribution(d, c, w) for d, c in zip(candidates[name], crf)]
    systems = {name: [best_path(d, labels)[0] if len(d) else [] for d in dists] for name, dists in candidates.items()}
    return splits[0]["test"][0], [list(s.tags) for s in sentences], systems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cv_dirs", nargs="+", help="the CV runs' folder prefixes (their -fold-* siblings are read)")
    parser.add_argument("--weights", default="0.5", help="CRF weights of the pooled systems")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    prefixes = [Path(p) for p in args.cv_dirs]
    if len(prefixes) < 2:
        raise SystemExit("give at least two CV runs to average")
    folds = {}
    for run in sorted(prefixes[0].parent.glob(f"{prefixes[0].name}-fold-*")):
        fold = run.name[len(prefixes[0].name):]
        dirs = [p.parent / f"{p.name}{fold}" for p in prefixes]
        missing = [d for d in dirs if not (d / "model.safetensors").is_file()]
        if missing:
            raise SystemExit(f"{missing[0]}/model.safetensors: missing; every run needs the fold {fold}")
        article, gold, systems = fold_predictions(dirs, [float(w) for w in args.weights.split(",")])
        folds[article] = (gold, systems)
        print(f"{fold}: {article}", file=sys.stderr)
    if not folds:
        raise SystemExit(f"no fold checkpoints {prefixes[0]}-fold-*")
    table = score_table(folds)
    print_table(table, " + ".join(p.name for p in prefixes), len(folds))
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
